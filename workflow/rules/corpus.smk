# Corpus sources: each writes data/raw/<source>/ with MIDI files, manifest.parquet and rejects.parquet.
from bayesbach.corpus.crawl.settings import RESULT_KEYS as CRAWL_RESULT_KEYS


rule export_bundled:
    output:
        **source_files(source_dir("bundled")),
    log:
        f"{LOGS_DIR}/corpus/export_bundled.log",
    conda:
        "../envs/bayesbach.yaml"
    threads: config["workers"]  # capped to --cores when run locally
    params:
        max_works=config["corpus"]["max_works"],
        code=code("corpus.bundled"),
    script:
        "../scripts/export_bundled.py"


rule import_folder:
    # The folder source: the MIDI files of corpus.folder.paths copied into data/raw/folder/ with their
    # compositions (BWV number, works.csv, stem). The folders were checked when the config was loaded.
    output:
        **source_files(source_dir("folder")),
    log:
        f"{LOGS_DIR}/corpus/import_folder.log",
    conda:
        "../envs/bayesbach.yaml"
    params:
        paths=config["corpus"]["folder"]["paths"],
        contents=lambda wildcards: folder_digest(config["corpus"]["folder"]["paths"]),  # reruns when a file changes
        bwv_numbers=True,
        max_files=None,
        code=code("corpus.folder"),
    script:
        "../scripts/import_folder.py"


rule crawl_web:
    # Crawls the archives of corpus.web (network access needed; runs on the submitting host, where a
    # cluster's compute nodes may have none). Files, ledger and Scrapy's job state stay in data/raw/web/
    # between runs, so a failed or interrupted crawl resumes and a repeated one downloads nothing it has.
    # A start URL that fails costs only its files; the job fails when none gave a file (or any failed,
    # with corpus.web.require_all). report.parquet says what each gave (report.txt, not an output, also
    # outlives a failed job).
    output:
        **source_files(source_dir("web")),
        report=WEB_REPORT,
    log:
        f"{LOGS_DIR}/corpus/crawl_web.log",
    localrule: True
    conda:
        "../envs/bayesbach.yaml"
    params:
        # only what decides the files kept: changing the pauses or retries must not redo the study
        web={k: v for k, v in config["corpus"]["web"].items() if k in CRAWL_RESULT_KEYS},
        code=code("corpus.crawl"),
    script:
        "../scripts/crawl_web.py"
