# Evaluation (SCIENCE.md, "Evaluation" and "Prediction-error encoding"): one job per trained
# network (so adding a run evaluates that run alone), then the long tables and the statistics.


rule evaluate_network:
    input:
        events="results/dataset/events.parquet",
        pieces="results/dataset/pieces.parquet",
        decoder=MODEL_DIR + "/decoder.pt",
        probe=MODEL_DIR + "/probe.pt",
        meta=MODEL_DIR + "/meta.json",
    output:
        errors=NETWORK_EVALUATION_DIR + "/errors.parquet",
        encoding=NETWORK_EVALUATION_DIR + "/encoding.parquet",
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
        errors=network_cells(NETWORK_EVALUATION_DIR + "/errors.parquet")
        + [p for p in reference_targets() if p.endswith("errors.parquet")],
        encoding=network_cells(NETWORK_EVALUATION_DIR + "/encoding.parquet"),
    output:
        errors="results/evaluation/errors.parquet",
        encoding="results/evaluation/encoding.parquet",
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
        errors="results/evaluation/errors.parquet",
    output:
        stats="results/evaluation/stats.csv",
    params:
        code=code("evaluation.stats"),
    log:
        "results/logs/evaluation/stats.log",
    conda:
        "../envs/bayesbach.yaml"
    script:
        "../scripts/stats.py"
