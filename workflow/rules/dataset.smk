# MIDI to chord events, then compositions and their split.


rule convert:
    input:
        source_manifests(),
    output:
        events=f"{DATASET_DIR}/events.parquet",
        rejects=f"{DATASET_DIR}/rejects.parquet",
    params:
        code=code("dataset.midi"),
    threads: 8  # capped to --cores when run locally
    log:
        "results/logs/dataset/convert.log",
    conda:
        "../envs/bayesbach.yaml"
    script:
        "../scripts/convert.py"


rule split:
    input:
        events=f"{DATASET_DIR}/events.parquet",
    output:
        pieces=f"{DATASET_DIR}/pieces.parquet",
    params:
        seed=config["seed"],
        ratios=config["dataset"]["split"],
        families=config["dataset"]["families"],
        code=code("dataset.split"),
    log:
        "results/logs/dataset/split.log",
    conda:
        "../envs/bayesbach.yaml"
    script:
        "../scripts/split.py"
