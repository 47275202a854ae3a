# The two-stage networks: one job per (arch, hidden, noise, run) cell of the sweep.
# The job's checkpoint (checkpoint.pt beside the outputs) is deliberately not an
# output, so Snakemake's clean-up of a failed job leaves it for the rerun to resume.


rule train_network:
    input:
        events=f"{DATASET_DIR}/events.parquet",
        pieces=f"{DATASET_DIR}/pieces.parquet",
    output:
        decoder=f"{MODEL_DIR}/decoder.pt",
        probe=f"{MODEL_DIR}/probe.pt",
        history=f"{MODEL_DIR}/history.parquet",
        meta=f"{MODEL_DIR}/meta.json",
    params:
        seed=config["seed"],
        gap=config["dataset"]["gap"],
        device=config["device"],
        train=train_params(),
        code=code("networks.job"),
    threads: config["train"]["threads"]
    resources:
        gpu=0 if config["device"] == "cpu" else 1,
        runtime=lambda wildcards, attempt: network_job(wildcards, attempt)["runtime"],
        mem_mb=lambda wildcards, attempt: network_job(wildcards, attempt)["mem_mb"],
    log:
        "results/logs/models/{arch}/h{hidden}/s{noise}/r{run}.log",
    conda:
        "../envs/bayesbach.yaml"
    script:
        "../scripts/train.py"
