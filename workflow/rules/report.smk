# What a researcher looks at: listening files, figures, the results page and the terminal table.
rule listen:
    localrule: True  # seconds of work: not worth a cluster queue
    input:
        events=f"{DATASET_DIR}/events.parquet",
        pieces=f"{DATASET_DIR}/pieces.parquet",
        models=[f"{d}/{f}" for d in example_model_dirs(config["sweep"]).values() for f in ("decoder.pt", "probe.pt", "meta.json")],
    output:
        example=f"{LISTEN_DIR}/example.parquet",
        midi=listen_targets(),
    params:
        seed=config["seed"],
        networks=example_model_dirs(config["sweep"]),
        step_seconds=config["report"]["listen_step_seconds"],
        max_steps=config["report"]["listen_max_steps"],
        code=code("report.listening"),
    log:
        "results/logs/report/listen.log",
    conda:
        "../envs/bayesbach.yaml"
    script:
        "../scripts/listen.py"


for _name in FIGURES:

    rule:
        name:
            f"figure_{_name}"
        localrule: True
        input:
            **figure_inputs(_name),
        output:
            png=report(f"{FIGURES_DIR}/{_name}.png", caption=f"../report/{_name}.rst", category="Figures"),
            pdf=f"{FIGURES_DIR}/{_name}.pdf",
        params:
            name=_name,
            example_steps=config["report"]["example_steps"],
            code=code("report.figures"),
        log:
            f"results/logs/report/figure_{_name}.log",
        conda:
            "../envs/bayesbach.yaml"
        script:
            "../scripts/figure.py"


rule summary:
    localrule: True  # seconds of work: not worth a cluster queue
    input:
        pieces=f"{DATASET_DIR}/pieces.parquet",
        errors=f"{EVALUATION_DIR}/errors.parquet",
        stats=f"{EVALUATION_DIR}/stats.csv",
        orders=f"{EVALUATION_DIR}/orders.csv",
        key_decoding=f"{EVALUATION_DIR}/keys.parquet",
        file_keys=f"{DATASET_DIR}/file_keys.parquet",
        # the per-site crawl table, when the study crawls
        crawl=[rules.crawl_web.output.report] if "web" in config["corpus"]["sources"] else [],
        # the other composers' tables, when the study names some
        generalisation=generalisation_targets(),
        composer_pieces=expand(f"{COMPOSER_DATASET_DIR}/pieces.parquet", composer=composer_folders(config)),
        figures=expand(f"{FIGURES_DIR}/{{name}}.png", name=study_figures()),
        captions=[workflow.source_path(f"../report/{name}.rst") for name in study_figures()],
        listen=rules.listen.output,
    output:
        html=report(SUMMARY, caption="../report/summary.rst", category="Summary"),
        text=SUMMARY_TEXT,
    params:
        config=config,
        code=code("report.page"),
        crawl_code=code("corpus.crawl"),  # the per-site table (corpus.crawl.report), drawn by the rule's script
    log:
        "results/logs/report/summary.log",
    conda:
        "../envs/bayesbach.yaml"
    script:
        "../scripts/summary.py"


onsuccess:
    from bayesbach.report.page import print_summary

    print_summary(SUMMARY_TEXT)
