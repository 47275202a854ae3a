# Other composers (docs/science.md, "Other composers"; the config's generalisation:), never trained on: their works are
# exported, converted and split like the Bach corpus, then every Bach-trained network and every Bach-fitted
# reference is scored on each composer's test compositions, beside the composer's own references
# (bayesbach.evaluation.generalisation): one job per composer and noise level, then one table and its statistics.


rule export_composer:
    output:
        **source_files(COMPOSER_SOURCE_DIR),
    log:
        f"{LOGS_DIR}/generalisation/{{composer}}/export.log",
    wildcard_constraints:
        composer=composer_names(music21=True),
    conda:
        "../envs/bayesbach.yaml"
    threads: config["workers"]  # capped to --cores when run locally
    params:
        max_files=config["generalisation"]["max_files"],
        code=code("corpus.bundled"),
    script:
        "../scripts/export_composer.py"


rule import_composer_folder:
    output:
        **source_files(COMPOSER_SOURCE_DIR),
    log:
        f"{LOGS_DIR}/generalisation/{{composer}}/import_folder.log",
    wildcard_constraints:
        composer=composer_names(music21=False),
    conda:
        "../envs/bayesbach.yaml"
    params:
        paths=lambda wildcards: composer_folders(config)[wildcards.composer],
        contents=lambda wildcards: folder_digest(composer_folders(config)[wildcards.composer]),  # reruns when a file changes
        bwv_numbers=False,  # another composer's file names carry no BWV numbers
        max_files=config["generalisation"]["max_files"],
        code=code("corpus.folder"),
    script:
        "../scripts/import_folder.py"


# The dataset rules' own scripts, on a composer's folders.
rule convert_composer:
    input:
        source_files(COMPOSER_SOURCE_DIR)["manifest"],
    output:
        events=f"{COMPOSER_DATASET_DIR}/events.parquet",
        rejects=f"{COMPOSER_DATASET_DIR}/rejects.parquet",
    log:
        f"{LOGS_DIR}/generalisation/{{composer}}/convert.log",
    conda:
        "../envs/bayesbach.yaml"
    threads: config["workers"]  # capped to --cores when run locally
    params:
        code=code("dataset.midi"),
    script:
        "../scripts/convert.py"


rule split_composer:
    input:
        events=f"{COMPOSER_DATASET_DIR}/events.parquet",
    output:
        pieces=f"{COMPOSER_DATASET_DIR}/pieces.parquet",
    log:
        f"{LOGS_DIR}/generalisation/{{composer}}/split.log",
    conda:
        "../envs/bayesbach.yaml"
    params:
        seed=config["seed"],
        ratios=config["generalisation"]["split"],
        families=config["dataset"]["families"],
        code=code("dataset.split"),
    script:
        "../scripts/split.py"


rule generalise:
    input:
        unpack(lambda wildcards: generalise_inputs(config, wildcards.composer, wildcards.noise)),
    output:
        errors=f"{GENERALISATION_DIR}/errors.parquet",
    log:
        f"{LOGS_DIR}/generalisation/{{composer}}/s{{noise}}.log",
    conda:
        "../envs/bayesbach.yaml"
    threads: 1
    params:
        seed=config["seed"],
        encoding=config["train"]["encoding"],
        own_models=config["generalisation"]["own_models"],
        code=code("evaluation.generalisation"),
    script:
        "../scripts/generalise.py"


rule collect_generalisation:
    input:
        collect_generalisation_inputs(config),
    output:
        generalisation=f"{EVALUATION_DIR}/generalisation.parquet",
    log:
        f"{LOGS_DIR}/generalisation/collect.log",
    localrule: True  # seconds of work: not worth a cluster queue
    conda:
        "../envs/bayesbach.yaml"
    params:
        code=code("evaluation.collect"),
    script:
        "../scripts/collect_generalisation.py"


rule generalisation_stats:
    input:
        generalisation=f"{EVALUATION_DIR}/generalisation.parquet",
    output:
        stats=f"{EVALUATION_DIR}/generalisation.csv",
    log:
        f"{LOGS_DIR}/generalisation/stats.log",
    localrule: True  # seconds of work: not worth a cluster queue
    conda:
        "../envs/bayesbach.yaml"
    params:
        code=code("evaluation.stats"),
    script:
        "../scripts/generalisation_stats.py"
