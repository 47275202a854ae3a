# The reference ladder (docs/science.md, "Reference models"), each writing results/references/s{noise}/{name}/
# with its per-piece test errors in the long format of errors.parquet, so the evaluation only concatenates.
# A reference whose results depend on the noise level is one job per noise level (reference_counted,
# reference_network); a sigma-free one (registry.REFERENCES: global, the counted Markov models, the PPM models,
# markov_low, which never see the noise) is one job that fits and scores it once and writes its folder of every noise
# level of the sweep (reference_counted_sigma_free, reference_network_sigma_free), each with its own noise.
# The name wildcard of each rule is constrained to its references, so no two rules make the same file.


rule reference_counted:
    input:
        events=f"{DATASET_DIR}/events.parquet",
        pieces=f"{DATASET_DIR}/pieces.parquet",
    output:
        errors=f"{REFERENCE_DIR}/errors.parquet",
        meta=f"{REFERENCE_DIR}/meta.json",
    log:
        f"{LOGS_DIR}/references/s{{noise}}/{{name}}.log",
    wildcard_constraints:
        name=reference_pattern("counted", sigma_free=False),
    conda:
        "../envs/bayesbach.yaml"
    threads: 1
    resources:
        runtime=lambda wildcards, attempt: counted_minutes(attempt),  # a retry resumes an observer's search
    params:
        noises=lambda wildcards: [float(wildcards.noise)],
        seed=config["seed"],
        encoding=config["train"]["encoding"],
        refs=reference_params,  # the references: keys of its entry (a PPM model's options), none for the others
        code=code("references.counted"),
    script:
        "../scripts/reference_counted.py"


use rule reference_counted as reference_counted_sigma_free with:
    output:
        errors=sigma_free_reference_files("errors.parquet"),
        meta=sigma_free_reference_files("meta.json"),
    log:
        f"{LOGS_DIR}/references/{{name}}.log",
    wildcard_constraints:
        name=reference_pattern("counted", sigma_free=True),
    params:
        noises=[float(s) for s in config["sweep"]["noise"]],  # the other params as reference_counted's


# Trained with the networks' trainer; like them they want a GPU when device is not cpu.
# checkpoint.pt beside the (first) outputs is deliberately not an output (a failed job resumes from it).
rule reference_network:
    input:
        events=f"{DATASET_DIR}/events.parquet",
        pieces=f"{DATASET_DIR}/pieces.parquet",
    output:
        model=f"{REFERENCE_DIR}/model.pt",
        history=f"{REFERENCE_DIR}/history.parquet",
        errors=f"{REFERENCE_DIR}/errors.parquet",
        meta=f"{REFERENCE_DIR}/meta.json",
    log:
        f"{LOGS_DIR}/references/s{{noise}}/{{name}}.log",
    wildcard_constraints:
        name=reference_pattern("trained", sigma_free=False),
    conda:
        "../envs/bayesbach.yaml"
    threads: config["references"]["threads"]
    resources:
        gpu=0 if config["device"] == "cpu" else 1,
        runtime=lambda wildcards, attempt: reference_job(wildcards, attempt)["runtime"],
        mem_mb=lambda wildcards, attempt: reference_job(wildcards, attempt)["mem_mb"],
    params:
        noises=lambda wildcards: [float(wildcards.noise)],
        seed=config["seed"],
        gap=config["dataset"]["gap"],
        device=config["device"],
        refs=reference_params,
        train=reference_train_params(),
        code=code("references.trained"),
    script:
        "../scripts/reference_network.py"


use rule reference_network as reference_network_sigma_free with:
    output:
        model=sigma_free_reference_files("model.pt"),
        history=sigma_free_reference_files("history.parquet"),
        errors=sigma_free_reference_files("errors.parquet"),
        meta=sigma_free_reference_files("meta.json"),
    log:
        f"{LOGS_DIR}/references/{{name}}.log",
    wildcard_constraints:
        name=reference_pattern("trained", sigma_free=True),
    params:
        noises=[float(s) for s in config["sweep"]["noise"]],  # the other params as reference_network's
