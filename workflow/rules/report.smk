# What a researcher looks at: listening files, figures, the results page and the terminal table.
rule listen:
    localrule: True  # seconds of work: not worth a cluster queue
    input:
        **listen_inputs(config),
    output:
        **listen_outputs(config),
    params:
        seed=config["seed"],
        networks=example_model_dirs(config["sweep"]),
        step_seconds=config["report"]["listen_step_seconds"],
        max_steps=config["report"]["listen_max_steps"],
        code=code("report.listening"),
    log:
        f"{LOGS_DIR}/report/listen.log",
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
            **figure_inputs(_name, config),
        output:
            png=report(f"{FIGURES_DIR}/{_name}.png", caption=f"../report/{_name}.rst", category="Figures"),
            pdf=f"{FIGURES_DIR}/{_name}.pdf",
        params:
            name=_name,
            # the excerpt's length: a parameter of the example figure alone, so changing it redraws no other
            **({"example_steps": config["report"]["example_steps"]} if _name == "example" else {}),
            code=code("report.figures"),
        log:
            f"{LOGS_DIR}/report/figure_{_name}.log",
        conda:
            "../envs/bayesbach.yaml"
        script:
            "../scripts/figure.py"


rule summary:
    localrule: True  # seconds of work: not worth a cluster queue
    input:
        **summary_inputs(config),
        captions=[workflow.source_path(f"../report/{name}.rst") for name in study_figures(config)],
    output:
        html=report(SUMMARY, caption="../report/summary.rst", category="Summary"),
        text=SUMMARY_TEXT,
    params:
        config=config,
        code=code("report.page"),
        crawl_code=code("corpus.crawl"),  # the per-site table (corpus.crawl.report), drawn by the rule's script
    log:
        f"{LOGS_DIR}/report/summary.log",
    conda:
        "../envs/bayesbach.yaml"
    script:
        "../scripts/summary.py"


onsuccess:
    from bayesbach.report.page import print_summary

    print_summary(SUMMARY_TEXT)
