# What a researcher looks at: listening files, figures, the results page and the terminal table.
rule listen:
    localrule: True  # seconds of work: not worth a cluster queue
    input:
        events="results/dataset/events.parquet",
        pieces="results/dataset/pieces.parquet",
        models=[f"{d}/{f}" for d in example_model_dirs().values() for f in ("decoder.pt", "probe.pt", "meta.json")],
    output:
        example=LISTEN_DIR + "/example.parquet",
        midi=listen_targets(),
    params:
        seed=config["seed"],
        networks=example_model_dirs(),
        step_seconds=config["report"]["listen_step_seconds"],
        max_steps=config["report"]["listen_max_steps"],
        code=code("report.listening"),
    log:
        "results/logs/report/listen.log",
    conda:
        "../envs/bayesbach.yaml"
    script:
        "../scripts/listen.py"


FIGURE_INPUTS = {
    "ladder": {"errors": "results/evaluation/errors.parquet", "stats": "results/evaluation/stats.csv"},
    "decoding": {"errors": "results/evaluation/errors.parquet"},
    "sweep": {"stats": "results/evaluation/stats.csv"},
    "training": {"histories": network_targets()},
    "example": {"example_path": LISTEN_DIR + "/example.parquet"},
    "encoding": {"encoding_path": "results/evaluation/encoding.parquet"},
    "architectures": {"errors": "results/evaluation/errors.parquet"},
}

for _name in FIGURES:

    rule:
        name:
            f"figure_{_name}"
        localrule: True
        input:
            **FIGURE_INPUTS[_name],
        output:
            png=report(f"results/figures/{_name}.png", caption=f"../report/{_name}.rst", category="Figures"),
            pdf=f"results/figures/{_name}.pdf",
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
        pieces="results/dataset/pieces.parquet",
        errors="results/evaluation/errors.parquet",
        stats="results/evaluation/stats.csv",
        figures=expand("results/figures/{name}.png", name=figure_names()),
        captions=[workflow.source_path(f"../report/{name}.rst") for name in figure_names()],
        listen=rules.listen.output,
    output:
        html=report("results/summary.html", caption="../report/summary.rst", category="Summary"),
        text="results/summary.txt",
    params:
        config=config,
        code=code("report.page"),
    log:
        "results/logs/report/summary.log",
    conda:
        "../envs/bayesbach.yaml"
    script:
        "../scripts/summary.py"


onsuccess:
    from bayesbach.report.page import print_summary

    print_summary("results/summary.txt")
