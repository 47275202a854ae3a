# Corpus sources: each writes data/raw/<source>/ with MIDI files, manifest.parquet and rejects.parquet.


rule export_bundled:
    output:
        manifest="data/raw/bundled/manifest.parquet",
        rejects="data/raw/bundled/rejects.parquet",
    params:
        max_works=config["corpus"]["max_works"],
        code=code("corpus"),
    threads: workflow.cores
    log:
        "results/logs/corpus/export_bundled.log",
    conda:
        "../envs/bayesbach.yaml"
    script:
        "../scripts/export_bundled.py"
