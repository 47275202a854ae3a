# Other composers (docs/science.md, "Other composers"; the config's generalisation:), never trained on: their works are
# exported, converted and split like the Bach corpus, then every Bach-trained network and every Bach-fitted
# reference is scored on each composer's test compositions, beside the composer's own references
# (bayesbach.evaluation.generalisation): one job per composer and noise level, then one table and its statistics.


rule export_composer:
    wildcard_constraints:
        composer=composer_names(music21=True),
    output:
        **source_files(COMPOSER_SOURCE_DIR),
    params:
        max_files=config["generalisation"]["max_files"],
        code=code("corpus.bundled"),
    threads: config["workers"]  # capped to --cores when run locally
    log:
        f"{LOGS_DIR}/generalisation/{{composer}}/export.log",
    conda:
        "../envs/bayesbach.yaml"
    script:
        "../scripts/export_composer.py"


rule import_composer_folder:
    wildcard_constraints:
        composer=composer_names(music21=False),
    output:
        **source_files(COMPOSER_SOURCE_DIR),
    params:
        paths=lambda wildcards: composer_folders(config)[wildcards.composer],
        contents=lambda wildcards: folder_digest(composer_folders(config)[wildcards.composer]),  # reruns when a file changes
        bwv_numbers=False,  # another composer's file names carry no BWV numbers
        max_files=config["generalisation"]["max_files"],
        code=code("corpus.folder"),
    log:
        f"{LOGS_DIR}/generalisation/{{composer}}/import_folder.log",
    conda:
        "../envs/bayesbach.yaml"
    script:
        "../scripts/import_folder.py"


# The dataset rules' own scripts, on a composer's folders.
rule convert_composer:
    input:
        source_files(COMPOSER_SOURCE_DIR)["manifest"],
    output:
        events=f"{COMPOSER_DATASET_DIR}/events.parquet",
        rejects=f"{COMPOSER_DATASET_DIR}/rejects.parquet",
    params:
        code=code("dataset.midi"),
    threads: config["workers"]  # capped to --cores when run locally
    log:
        f"{LOGS_DIR}/generalisation/{{composer}}/convert.log",
    conda:
        "../envs/bayesbach.yaml"
    script:
        "../scripts/convert.py"


rule split_composer:
    input:
        events=f"{COMPOSER_DATASET_DIR}/events.parquet",
    output:
        pieces=f"{COMPOSER_DATASET_DIR}/pieces.parquet",
    params:
        seed=config["seed"],
        ratios=config["generalisation"]["split"],
        families=config["dataset"]["families"],
        code=code("dataset.split"),
    log:
        f"{LOGS_DIR}/generalisation/{{composer}}/split.log",
    conda:
        "../envs/bayesbach.yaml"
    script:
        "../scripts/split.py"


rule generalise:
    input:
        unpack(lambda wildcards: generalise_inputs(config, wildcards.composer, wildcards.noise)),
    output:
        errors=f"{GENERALISATION_DIR}/errors.parquet",
    params:
        seed=config["seed"],
        encoding=config["train"]["encoding"],
        own_models=config["generalisation"]["own_models"],
        code=code("evaluation.generalisation"),
    threads: 1
    log:
        f"{LOGS_DIR}/generalisation/{{composer}}/s{{noise}}.log",
    conda:
        "../envs/bayesbach.yaml"
    script:
        "../scripts/generalise.py"


rule collect_generalisation:
    localrule: True  # seconds of work: not worth a cluster queue
    input:
        collect_generalisation_inputs(config),
    output:
        generalisation=f"{EVALUATION_DIR}/generalisation.parquet",
    params:
        code=code("evaluation.collect"),
    log:
        f"{LOGS_DIR}/generalisation/collect.log",
    conda:
        "../envs/bayesbach.yaml"
    script:
        "../scripts/collect_generalisation.py"


rule generalisation_stats:
    localrule: True  # seconds of work: not worth a cluster queue
    input:
        generalisation=f"{EVALUATION_DIR}/generalisation.parquet",
    output:
        stats=f"{EVALUATION_DIR}/generalisation.csv",
    params:
        code=code("evaluation.stats"),
    log:
        f"{LOGS_DIR}/generalisation/stats.log",
    conda:
        "../envs/bayesbach.yaml"
    script:
        "../scripts/generalisation_stats.py"
