# Evaluation (docs/science.md, "Evaluation", "Prediction-error coding" and "Key context"): one job
# per pack of four networks (bayesbach.core.packing.EVALUATION_PACK: each job's start-up costs
# about as much as scoring a small network), each network writing its own folder under
# results/evaluation/networks/; then the long tables and the statistics, and whether each trained stage
# (networks and trained references) converged within its budget (convergence.csv).


for _pack in evaluation_packs():

    rule:
        name:
            f"evaluate_{_pack.name}"
        input:
            events=f"{DATASET_DIR}/events.parquet",
            pieces=f"{DATASET_DIR}/pieces.parquet",
            file_keys=f"{DATASET_DIR}/file_keys.parquet",
            models=files_in(pack_dirs(_pack), TRAINED_FILES),
            # the key decoding's observer control: the bayes reference of each network's noise level (its smoothing)
            observers=[f"{d}/meta.json" for d in sorted(set(observer_dirs(_pack)) - {None})],
        output:
            # evaluation.evaluation_job: errors, encoding and (evaluation.key_decoding) key decoding of each network
            files_in(pack_dirs(_pack, network_evaluation_dir), NETWORK_EVALUATION_FILES),
        log:
            f"{LOGS_DIR}/evaluation/{_pack.arch}/h{_pack.hidden}/p{_pack.index}.log",
        priority: 1  # the longest chain (dataset.smk, split)
        conda:
            "../envs/bayesbach.yaml"
        threads: 1
        params:
            models=pack_dirs(_pack),
            outs=pack_dirs(_pack, network_evaluation_dir),
            observers=observer_dirs(_pack),
            seed=config["seed"],
            code=code("evaluation.evaluation_job"),
        script:
            "../scripts/evaluate_networks.py"


rule collect_evaluation:
    input:
        **collect_evaluation_inputs(config),
    output:
        errors=f"{EVALUATION_DIR}/errors.parquet",
        encoding=f"{EVALUATION_DIR}/encoding.parquet",
        key_decoding=f"{EVALUATION_DIR}/keys.parquet",
    log:
        f"{LOGS_DIR}/evaluation/collect.log",
    localrule: True  # seconds of work: not worth a cluster queue
    conda:
        "../envs/bayesbach.yaml"
    params:
        code=code("evaluation.collect"),
    script:
        "../scripts/collect_evaluation.py"


rule stats:
    input:
        errors=f"{EVALUATION_DIR}/errors.parquet",
        encoding=f"{EVALUATION_DIR}/encoding.parquet",  # the prediction-error coding tests (evaluation.stats)
    output:
        stats=f"{EVALUATION_DIR}/stats.csv",
    log:
        f"{LOGS_DIR}/evaluation/stats.log",
    localrule: True  # seconds of work: not worth a cluster queue
    conda:
        "../envs/bayesbach.yaml"
    params:
        code=code("evaluation.stats"),
    script:
        "../scripts/stats.py"


rule orders:
    input:
        errors=f"{EVALUATION_DIR}/errors.parquet",
    output:
        orders=f"{EVALUATION_DIR}/orders.csv",
    log:
        f"{LOGS_DIR}/evaluation/orders.log",
    localrule: True  # seconds of work: not worth a cluster queue
    conda:
        "../envs/bayesbach.yaml"
    params:
        code=code("evaluation.effective_order"),
    script:
        "../scripts/orders.py"


rule convergence:
    input:
        **convergence_inputs(config),
    output:
        convergence=CONVERGENCE,
    log:
        f"{LOGS_DIR}/evaluation/convergence.log",
    localrule: True  # seconds of work: not worth a cluster queue
    conda:
        "../envs/bayesbach.yaml"
    params:
        code=code("evaluation.convergence"),
    script:
        "../scripts/convergence.py"


# The test split annotated as bayesbach annotate does for anyone's stimuli (docs/science.md, "Annotation"): per
# chord, each model's information content, entropy and (observers) Bayesian surprise in bits, at its onset.
rule annotate:
    input:
        **annotate_inputs(config),
    output:
        annotations=f"{ANNOTATION_DIR}/annotations.parquet",  # beside them each file's TSV and sidecar
        rejects=f"{ANNOTATION_DIR}/rejects.parquet",
    log:
        f"{LOGS_DIR}/evaluation/annotate.log",
    conda:
        "../envs/bayesbach.yaml"
    threads: 1
    params:
        **annotation_models(config),
        code=code("evaluation.annotate"),
    script:
        "../scripts/annotate.py"
