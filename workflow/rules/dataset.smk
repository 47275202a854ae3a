# MIDI to chord events, then compositions and their split.


rule convert:
    input:
        source_manifests(config),
    output:
        events=f"{DATASET_DIR}/events.parquet",
        rejects=f"{DATASET_DIR}/rejects.parquet",
    log:
        f"{LOGS_DIR}/dataset/convert.log",
    conda:
        "../envs/bayesbach.yaml"
    threads: config["workers"]  # capped to --cores when run locally
    params:
        code=code("dataset.midi"),
    script:
        "../scripts/convert.py"


# The key of every file (score analysis, key signature or Krumhansl-Schmuckler estimate): a rule of its own,
# so that changing how keys are labelled reruns the key decoding, never the conversion and the training.
rule file_keys:
    input:
        events=f"{DATASET_DIR}/events.parquet",
        manifests=source_manifests(config),
    output:
        file_keys=f"{DATASET_DIR}/file_keys.parquet",
    log:
        f"{LOGS_DIR}/dataset/file_keys.log",
    priority: 1  # the evaluation waits for it (split: the longest chain)
    conda:
        "../envs/bayesbach.yaml"
    threads: config["workers"]  # capped to --cores when run locally
    params:
        code=code("dataset.keys"),
    script:
        "../scripts/file_keys.py"


rule split:
    input:
        events=f"{DATASET_DIR}/events.parquet",
    output:
        pieces=f"{DATASET_DIR}/pieces.parquet",
    log:
        f"{LOGS_DIR}/dataset/split.log",
    priority: 1  # the study's longest chain (split, training, evaluation) goes before the side branches
    conda:
        "../envs/bayesbach.yaml"
    params:
        seed=config["seed"],
        ratios=config["dataset"]["split"],
        families=config["dataset"]["families"],
        code=code("dataset.split"),
    script:
        "../scripts/split.py"
