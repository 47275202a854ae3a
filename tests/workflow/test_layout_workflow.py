"""The rules read and write the files bayesbach.core.layout lists, the lists the commands use too
(tests/cli/test_cli_layout.py): a forced dry run of the tiny study, with the web source and another composer,
planned by Snakemake, against the layout's functions."""

from __future__ import annotations

import re

import pytest
import yaml

from bayesbach.core import layout
from bayesbach.core.config import load_config
from conftest import copy_workflow, snakemake

TINY = "tests/configs/tiny.yaml"
MORE = {"corpus": {"sources": ["bundled", "web"]}, "references": {"models": ["global", "markov_low"]},
        "generalisation": {"composers": ["monteverdi"]}}


@pytest.fixture(scope="module")
def planned(tmp_path_factory) -> tuple[dict, dict[str, list[set[str]]]]:
    """The study's config and, per rule, the input files of each of its jobs (the workflow's own files aside)."""
    work = copy_workflow(tmp_path_factory.mktemp("layout"))
    (work / "more.yaml").write_text(yaml.safe_dump(MORE))
    proc = snakemake(work, "-n", "-F", "--configfile", TINY, "more.yaml")
    jobs: dict[str, list[set[str]]] = {}
    for block in re.split(r"^(?=(?:local)?rule \w+:)", proc.stdout + proc.stderr, flags=re.M)[1:]:
        rule = re.match(r"(?:local)?rule (\w+):", block)[1]
        line = re.search(r"^    input: (.*)$", block, re.M)
        files = {f.removesuffix(" (cached)") for f in line[1].split(", ")} if line else set()
        jobs.setdefault(rule, []).append({f for f in files if not f.endswith(".rst")})  # captions: the workflow's
    config = load_config([work / "config.yaml", work / TINY, work / "more.yaml"], work / "workflow/schemas/config.schema.yaml")
    return config, jobs


def flat(files) -> set[str]:
    """Every path of a layout list or dict of lists."""
    values = files.values() if isinstance(files, dict) else [files]
    return {p for v in values for p in ([v] if isinstance(v, str) else v)}


def test_the_joining_and_report_rules_read_the_layouts_lists(planned):
    config, jobs = planned
    assert jobs["collect_evaluation"] == [flat(layout.collect_evaluation_inputs(config))]
    assert jobs["collect_generalisation"] == [flat(layout.collect_generalisation_inputs(config))]
    assert jobs["generalise"] == [flat(layout.generalise_inputs(config, "monteverdi", 0.5))]
    assert jobs["listen"] == [flat(layout.listen_inputs(config))]
    assert jobs["summary"] == [flat(layout.summary_inputs(config))]
    assert jobs["convergence"] == [flat(layout.convergence_inputs(config))]
    assert jobs["annotate"] == [flat(layout.annotate_inputs(config))]
    for name in layout.study_figures(config):
        assert jobs[f"figure_{name}"] == [flat(layout.figure_inputs(name, config))], name
    manifests = set(layout.source_manifests(config))
    assert manifests == {"data/raw/bundled/manifest.parquet", "data/raw/web/manifest.parquet"}
    assert jobs["convert"] == [manifests] and jobs["file_keys"] == [manifests | {"results/dataset/events.parquet"}]


def test_rule_all_asks_for_the_layouts_study_targets(planned):
    config, jobs = planned
    assert jobs["all"] == [set(layout.study_targets(config))]
    assert "data/raw/web/report.parquet" in jobs["summary"][0]  # the per-site table of the web source
