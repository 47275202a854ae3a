"""The web source in the workflow: the crawl of the fixture site feeds the dataset stages, a dead start URL
costs only its own files, and only the crawl options that decide what is kept redo the crawl."""

from __future__ import annotations

import pyarrow.parquet as pq
import yaml

from bayesbach.dev.fixture_site import ARCHIVES, START  # tests/corpus/test_crawl.py checks the crawl itself
from conftest import copy_workflow, planned_jobs, snakemake


def test_workflow_with_the_web_source(server, tmp_path):
    work = copy_workflow(tmp_path)
    config = {
        "seed": 0,
        "corpus": {"sources": ["web"], "web": {
            # the fixture's listing pages, beside a start page answering 418 and a host that does not resolve
            "start_urls": [server.base_url + START, server.base_url + ARCHIVES["418"], ARCHIVES["unresolvable"]],
            "delay_s": 0, "autothrottle": False, "backoff_s": 0, "max_file_mb": 1}},
        "dataset": {"split": {"train": 0.5, "validation": 0.25, "test": 0.25}},
    }
    (work / "config.yaml").write_text(yaml.safe_dump(config))
    snakemake(work, "results/dataset/pieces.parquet")

    # every file the crawl kept (tests/corpus/test_crawl.py: exactly the 18 of the site) is converted, but the broken one
    kept = pq.read_table(work / "data/raw/web/manifest.parquet").to_pylist()
    assert len(kept) == 18
    events = pq.read_table(work / "results/dataset/events.parquet")
    assert set(events.column("piece").to_pylist()) == {f"bwv{r['bwv']:04d}" for r in kept}
    assert set(events.column("file").to_pylist()) == {f"web/{r['file']}" for r in kept} - {"web/127.0.0.1/bwv0847-broken.mid"}
    reasons = dict(zip(*pq.read_table(work / "results/dataset/rejects.parquet").to_pydict().values()))
    assert "truncated" in reasons["web/127.0.0.1/bwv0847-broken.mid"]  # the converter judged the broken file
    assert reasons[f"web/{server.base_url}/bach/fake/bwv0846.mid"].startswith("not a MIDI file")  # the crawl's rejects carried over
    assert pq.read_table(work / "results/dataset/pieces.parquet").num_rows == 15
    # The rule succeeded, and its report names the dead start URLs.
    report = pq.read_table(work / "data/raw/web/report.parquet").to_pylist()
    assert [(r["outcome"], r["files_kept"]) for r in report] == [("ok", 18), ("start page failed", 0), ("unreachable", 0)]
    assert "HTTP status 418" in (work / "data/raw/web/report.txt").read_text()

    # Politeness settings do not decide what is kept: changing them redoes nothing; the depth does.
    config["corpus"]["web"].update(delay_s=5.0, retries=1, timeout_s=5.0)
    (work / "config.yaml").write_text(yaml.safe_dump(config))
    assert planned_jobs(work, "results/dataset/pieces.parquet") == {}
    config["corpus"]["web"]["depth"] = 1
    (work / "config.yaml").write_text(yaml.safe_dump(config))
    assert planned_jobs(work, "results/dataset/pieces.parquet") == {"crawl_web": 1, "convert": 1, "split": 1}
