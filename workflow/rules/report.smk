# What a researcher looks at: listening files, figures, the results page and the terminal table.
rule listen:
    input:
        **listen_inputs(config),
    output:
        **listen_outputs(config),
    log:
        f"{LOGS_DIR}/report/listen.log",
    localrule: True  # seconds of work: not worth a cluster queue
    conda:
        "../envs/bayesbach.yaml"
    params:
        seed=config["seed"],
        networks=example_model_dirs(config["sweep"]),
        step_seconds=config["report"]["listen_step_seconds"],
        max_steps=config["report"]["listen_max_steps"],
        code=code("report.listening"),
    script:
        "../scripts/listen.py"


for _name in FIGURES:

    rule:
        name:
            f"figure_{_name}"
        input:
            **figure_inputs(_name, config),
        output:
            png=report(f"{FIGURES_DIR}/{_name}.png", caption=f"../report/{_name}.rst", category="Figures"),
            pdf=f"{FIGURES_DIR}/{_name}.pdf",
        log:
            f"{LOGS_DIR}/report/figure_{_name}.log",
        localrule: True
        conda:
            "../envs/bayesbach.yaml"
        params:
            **({"example_steps": config["report"]["example_steps"]} if _name == "example" else {}),
            name=_name,
            # the excerpt's length: a parameter of the example figure alone, so changing it redraws no other
            code=code("report.figures"),
        script:
            "../scripts/figure.py"


rule summary:
    input:
        **summary_inputs(config),
        captions=[workflow.source_path(f"../report/{name}.rst") for name in study_figures(config)],
    output:
        html=report(SUMMARY, caption="../report/summary.rst", category="Summary"),
        text=SUMMARY_TEXT,
    log:
        f"{LOGS_DIR}/report/summary.log",
    localrule: True  # seconds of work: not worth a cluster queue
    conda:
        "../envs/bayesbach.yaml"
    params:
        config=config,
        code=code("report.page"),
        crawl_code=code("corpus.crawl"),  # the per-site table (corpus.crawl.report), drawn by the rule's script
    script:
        "../scripts/summary.py"


onsuccess:
    from bayesbach.report.page import print_summary

    print_summary(SUMMARY_TEXT)
