# The two-stage networks: one job per (arch, hidden, noise, run) cell of the sweep.
# The job's checkpoint (checkpoint.pt beside the outputs) is deliberately not an
# output, so Snakemake's clean-up of a failed job leaves it for the rerun to resume.


rule train_network:
    wildcard_constraints:
        arch="elman|lstm|gru",
        hidden=r"\d+",
        noise=r"\d+\.\d+(e-\d+)?|\d+(\.\d+)?e[-+]\d+",  # repr(float): 0.5, 1.0, 0.001, 1e-05
        run=r"\d+",
    input:
        events="results/dataset/events.parquet",
        pieces="results/dataset/pieces.parquet",
    output:
        decoder="results/models/{arch}/h{hidden}/s{noise}/r{run}/decoder.pt",
        probe="results/models/{arch}/h{hidden}/s{noise}/r{run}/probe.pt",
        history="results/models/{arch}/h{hidden}/s{noise}/r{run}/history.parquet",
        meta="results/models/{arch}/h{hidden}/s{noise}/r{run}/meta.json",
    params:
        seed=config["seed"],
        gap=config["dataset"]["gap"],
        device=config["device"],
        train=train_params(),
        code=code("train"),
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
