# Evaluation (SCIENCE.md, "Evaluation", "Prediction-error encoding" and the key of "Extensions"): one job
# per trained network (so adding a run evaluates that run alone), then the long tables and the statistics.


rule evaluate_network:
    input:
        events=f"{DATASET_DIR}/events.parquet",
        pieces=f"{DATASET_DIR}/pieces.parquet",
        file_keys=f"{DATASET_DIR}/file_keys.parquet",
        decoder=f"{MODEL_DIR}/decoder.pt",
        probe=f"{MODEL_DIR}/probe.pt",
        meta=f"{MODEL_DIR}/meta.json",
    output:
        errors=f"{NETWORK_EVALUATION_DIR}/errors.parquet",
        encoding=f"{NETWORK_EVALUATION_DIR}/encoding.parquet",
        key_decoding=f"{NETWORK_EVALUATION_DIR}/keys.parquet",  # evaluation.key_decoding
    params:
        seed=config["seed"],
        code=code("evaluation.jobs"),
    threads: 1
    log:
        "results/logs/evaluation/{arch}/h{hidden}/s{noise}/r{run}.log",
    conda:
        "../envs/bayesbach.yaml"
    script:
        "../scripts/evaluate_network.py"


rule collect_evaluation:
    localrule: True  # seconds of work: not worth a cluster queue
    input:
        errors=network_cells(f"{NETWORK_EVALUATION_DIR}/errors.parquet")
        + [p for p in reference_targets() if p.endswith("errors.parquet")],
        encoding=network_cells(f"{NETWORK_EVALUATION_DIR}/encoding.parquet"),
        key_decoding=network_cells(f"{NETWORK_EVALUATION_DIR}/keys.parquet"),
    output:
        errors=f"{EVALUATION_DIR}/errors.parquet",
        encoding=f"{EVALUATION_DIR}/encoding.parquet",
        key_decoding=f"{EVALUATION_DIR}/keys.parquet",
    params:
        code=code("evaluation.collect"),
    log:
        "results/logs/evaluation/collect.log",
    conda:
        "../envs/bayesbach.yaml"
    script:
        "../scripts/collect_evaluation.py"


rule stats:
    localrule: True  # seconds of work: not worth a cluster queue
    input:
        errors=f"{EVALUATION_DIR}/errors.parquet",
    output:
        stats=f"{EVALUATION_DIR}/stats.csv",
    params:
        code=code("evaluation.stats"),
    log:
        "results/logs/evaluation/stats.log",
    conda:
        "../envs/bayesbach.yaml"
    script:
        "../scripts/stats.py"


rule orders:
    localrule: True  # seconds of work: not worth a cluster queue
    input:
        errors=f"{EVALUATION_DIR}/errors.parquet",
    output:
        orders=f"{EVALUATION_DIR}/orders.csv",
    params:
        code=code("evaluation.effective_order"),
    log:
        "results/logs/evaluation/orders.log",
    conda:
        "../envs/bayesbach.yaml"
    script:
        "../scripts/orders.py"
