# The reference ladder (SCIENCE.md, "Reference models"): one job per reference and noise level,
# each writing results/references/s{noise}/{name}/ with its per-piece test errors in the long
# format of errors.parquet, so the evaluation only concatenates.


rule reference_counted:
    wildcard_constraints:
        name="|".join(references("counted")),
    input:
        events=f"{DATASET_DIR}/events.parquet",
        pieces=f"{DATASET_DIR}/pieces.parquet",
    output:
        errors=f"{REFERENCE_DIR}/errors.parquet",
        meta=f"{REFERENCE_DIR}/meta.json",
    params:
        seed=config["seed"],
        encoding=config["train"]["encoding"],
        code=code("references.counted"),
    threads: 1
    log:
        "results/logs/references/s{noise}/{name}.log",
    conda:
        "../envs/bayesbach.yaml"
    script:
        "../scripts/reference_counted.py"


# Trained with the networks' trainer; like them they want a GPU when device is not cpu.
# checkpoint.pt beside the outputs is deliberately not an output (a failed job resumes from it).
rule reference_network:
    wildcard_constraints:
        name="|".join(references("trained")),
    input:
        events=f"{DATASET_DIR}/events.parquet",
        pieces=f"{DATASET_DIR}/pieces.parquet",
    output:
        model=f"{REFERENCE_DIR}/model.pt",
        history=f"{REFERENCE_DIR}/history.parquet",
        errors=f"{REFERENCE_DIR}/errors.parquet",
        meta=f"{REFERENCE_DIR}/meta.json",
    params:
        seed=config["seed"],
        gap=config["dataset"]["gap"],
        device=config["device"],
        refs=reference_params,
        train=reference_train_params(),
        code=code("references.trained"),
    threads: config["references"]["threads"]
    resources:
        gpu=0 if config["device"] == "cpu" else 1,
        runtime=lambda wildcards, attempt: reference_job(wildcards, attempt)["runtime"],
        mem_mb=lambda wildcards, attempt: reference_job(wildcards, attempt)["mem_mb"],
    log:
        "results/logs/references/s{noise}/{name}.log",
    conda:
        "../envs/bayesbach.yaml"
    script:
        "../scripts/reference_network.py"
