# Evaluation (SCIENCE.md, "Evaluation" and "Prediction-error encoding"): one job per trained
# network (so adding a run evaluates that run alone), then the long tables and the statistics.


rule evaluate_network:
    wildcard_constraints:
        arch="elman|lstm|gru",
        hidden=r"\d+",
        noise=NOISE_PATTERN,
        run=r"\d+",
    input:
        events="results/dataset/events.parquet",
        pieces="results/dataset/pieces.parquet",
        decoder="results/models/{arch}/h{hidden}/s{noise}/r{run}/decoder.pt",
        probe="results/models/{arch}/h{hidden}/s{noise}/r{run}/probe.pt",
        meta="results/models/{arch}/h{hidden}/s{noise}/r{run}/meta.json",
    output:
        errors="results/evaluation/networks/{arch}/h{hidden}/s{noise}/r{run}/errors.parquet",
        encoding="results/evaluation/networks/{arch}/h{hidden}/s{noise}/r{run}/encoding.parquet",
    params:
        seed=config["seed"],
        code=code("evaluation"),
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
        errors=network_cells("results/evaluation/networks/{arch}/h{hidden}/s{noise}/r{run}/errors.parquet")
        + [p for p in reference_targets() if p.endswith("errors.parquet")],
        encoding=network_cells("results/evaluation/networks/{arch}/h{hidden}/s{noise}/r{run}/encoding.parquet"),
    output:
        errors="results/evaluation/errors.parquet",
        encoding="results/evaluation/encoding.parquet",
    params:
        code=code("evaluation"),
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
        code=code("stats"),
    log:
        "results/logs/evaluation/stats.log",
    conda:
        "../envs/bayesbach.yaml"
    script:
        "../scripts/stats.py"
