# The two-stage networks: one job per pack (train.pack; bayesbach.core.packing): K cells of one
# architecture and size trained as one model, each writing its usual files to its own
# results/models/{arch}/h{hidden}/s{noise}/r{run}/. The pack's checkpoint (checkpoint.pt beside its
# first network's files) is deliberately not an output, so Snakemake's clean-up of a failed job leaves
# it for the rerun to resume.


for _pack in network_packs():

    rule:
        name:
            f"train_{_pack.name}"
        input:
            events=f"{DATASET_DIR}/events.parquet",
            pieces=f"{DATASET_DIR}/pieces.parquet",
        output:
            files_in(pack_dirs(_pack), MODEL_FILES),
        log:
            f"{LOGS_DIR}/models/{_pack.arch}/h{_pack.hidden}/p{_pack.index}.log",
        priority: 1  # the longest chain (dataset.smk, split)
        conda:
            "../envs/bayesbach.yaml"
        threads: config["train"]["threads"]
        resources:
            gpu=0 if config["device"] == "cpu" else 1,
            runtime=pack_resource(_pack, "runtime"),
            mem_mb=pack_resource(_pack, "mem_mb"),
        params:
            arch=_pack.arch,
            hidden=_pack.hidden,
            cells=[list(c) for c in _pack.cells],
            outs=pack_dirs(_pack),
            seed=config["seed"],
            gap=config["dataset"]["gap"],
            device=config["device"],
            train=train_params(),
            code=code("networks.training_job"),
        script:
            "../scripts/train.py"
