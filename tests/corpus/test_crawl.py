"""The web source: the real spider against a generated archive site on 127.0.0.1 (no internet).

Each crawl runs in a subprocess (Twisted's reactor starts once per process);
the site (bayesbach.dev.fixture_site, the ``site`` and ``server`` fixtures of
tests/conftest.py) is served from a thread of the test process, which records
every request it gets.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from bayesbach.corpus.crawl import CrawlOptions
from bayesbach.corpus.crawl.zips import ZipRejected, midi_members
from bayesbach.dev.fixture_site import midi_bytes, zip_bytes
from conftest import REPO

START = "/bach/index.html"
# (file in data/raw/web, BWV, path of the URL it came from): what the fixture site must give, exactly.
EXPECTED = {
    ("127.0.0.1/004207b.mid", 42, "/bach/chorales/004207b_.mid"),  # the chorale archives' BBBBMMx_ names
    ("127.0.0.1/014003.mid", 140, "/bach/chorales/014003_.mid"),
    ("127.0.0.1/988-v01.mid", 988, "/bach/goldberg/988-v01.mid"),
    ("127.0.0.1/bwv0988-aria.mid", 988, "/bach/goldberg/aria.mid"),  # the page's heading names the work
    ("127.0.0.1/Bach_BWV_565_Toccata.mid", 565, "/bach/files/Bach_BWV_565_Toccata.mid"),  # after a redirect
    ("127.0.0.1/bwv0772.mid", 772, "/bach/download.php?file=bwv0772.mid"),  # query-string link
    ("127.0.0.1/inventions-inventions-bwv0773.mid", 773, "/bach/zips/inventions.zip!inventions/bwv0773.mid"),
    ("127.0.0.1/bwv0846-prelude01.mid", 846, "/bach/keyboard/wtc1/prelude01.mid"),  # row "BWV 846-869"
    ("127.0.0.1/bwv0847-prelude02.mid", 847, "/bach/keyboard/wtc1/prelude02.mid"),
    ("127.0.0.1/bwv1004-chaconne.mid", 1004, "/bach/keyboard/chaconne.mid"),  # row "BWV 1004"
    ("127.0.0.1/bwv0847-broken.mid", 847, "/bach/files/bwv0847-broken.mid"),  # a MIDI header: the converter judges it
    ("127.0.0.1/bwv0848.mid", 848, "/bach/files/bwv0848.mid"),
    ("127.0.0.1/bwv0849.mid", 849, "/bach/flaky/bwv0849.mid"),  # 503 once, then retried
    ("127.0.0.1/bwv1001.mid", 1001, "/bach/deep/bwv1001.mid"),
    ("127.0.0.1/bwv1002.mid", 1002, "/bach/deep/bwv1002.mid"),
    ("127.0.0.1/bwv1003.mid", 1003, "/bach/deep/bwv1003.mid"),  # linked from the deepest page followed
    ("127.0.0.1/bwv1007-suite-suite1-allemande.mid", 1007, "/bach/zips/bwv1007-suite.zip!suite1/allemande.mid"),
    ("127.0.0.1/bwv1007-suite-suite1-prelude.mid", 1007, "/bach/zips/bwv1007-suite.zip!suite1/prelude.mid"),
}
# (path of the URL, start of the reason): every file link that was not kept, and why.
EXPECTED_REJECTS = {
    ("/bach/fake/bwv0846.mid", "not a MIDI file: an HTML page"),
    ("/bach/files/bwv0850-huge.mid", "larger than the limit of 1 MB"),
    ("/bach/files/prelude.mid", "no BWV number"),
    ("/bach/mirror/bwv0848-copy.mid", "same content as 127.0.0.1/bwv0848.mid"),
    ("/bach/zips/inventions.zip!../bwv0774.mid", "unsafe zip member '../bwv0774.mid': '..'"),
    ("/bach/zips/inventions.zip!/tmp/bwv0775.mid", "unsafe zip member '/tmp/bwv0775.mid': absolute path"),
    ("/bach/zips/big.zip", "zip archive unpacks to 83886"),
    ("/private/bwv0999.mid", "forbidden by the site's robots.txt"),
}
FILE_REQUEST = (".mid", ".zip", "download.php")


def run_crawl(out: Path, *urls: str, extra: tuple[str, ...] = (), popen: bool = False):
    cmd = [sys.executable, "-m", "bayesbach.cli", "crawl", "--out", str(out), "--no-delay", "--max-file-mb", "1", *extra]
    for url in urls:
        cmd += ["--start-url", url]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    if popen:  # output to files: a full pipe nobody reads would stall the crawl
        return subprocess.Popen(cmd, env=env, stdout=open(out.parent / "stdout", "w"), stderr=open(out.parent / "stderr", "w"))
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)


def manifest(out: Path, base: str) -> set[tuple[str, int, str]]:
    rows = pq.read_table(out / "manifest.parquet").to_pylist()
    assert {r["source"] for r in rows} == {"127.0.0.1"}
    for r in rows:  # the recorded hash and size are the kept file's
        data = (out / r["file"]).read_bytes()
        assert (hashlib.sha256(data).hexdigest(), len(data)) == (r["sha256"], r["bytes"])
    return {(r["file"], r["bwv"], r["url"].removeprefix(base)) for r in rows}


def rejects(out: Path, base: str) -> set[tuple[str, str]]:
    rows = pq.read_table(out / "rejects.parquet").to_pylist()
    found = {(r["file"].removeprefix(base), r["reason"]) for r in rows}
    return {(f, prefix) for f, prefix in EXPECTED_REJECTS if any(g == f and why.startswith(prefix) for g, why in found)} \
        | {(f, why) for f, why in found if not any(f == e and why.startswith(p) for e, p in EXPECTED_REJECTS)}


def test_crawl_keeps_exactly_the_bach_midi_of_the_site(server, tmp_path):
    out = tmp_path / "out"
    assert not Path("/tmp/bwv0775.mid").exists()
    proc = run_crawl(out, server.base_url + START)
    assert proc.returncode == 0, proc.stderr

    assert manifest(out, server.base_url) == EXPECTED
    assert rejects(out, server.base_url) == EXPECTED_REJECTS
    # Kept files are byte for byte what the site served (zip members: what the archive held).
    assert (out / "127.0.0.1/bwv0848.mid").read_bytes() == (server_root(server) / "bach/files/bwv0848.mid").read_bytes()

    # Nothing outside the output folder; in it the kept files, the tables, the ledger, and the second copy
    # of the twin (kept on disk so that a rerun knows it has it; listed once, under the URL sorting first).
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert not Path("/tmp/bwv0775.mid").exists()
    inside = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert inside == {f for f, _, _ in EXPECTED} | {"manifest.parquet", "rejects.parquet", ".crawl/ledger.jsonl",
                                                   "127.0.0.1/bwv0848-copy.mid"}

    # Polite and in scope: robots.txt read first, forbidden folder, other domains, unmatched pages
    # and pages beyond the depth never asked for.
    assert server.requests[0] == "/robots.txt"
    assert not [r for r in server.requests if r.startswith(("/private/", "/news/"))]
    assert "/bach/deep3.html" in server.requests and "/bach/deep4.html" not in server.requests
    assert server.requests.count("/bach/flaky/bwv0849.mid") == 2  # 503, then the retry

    # A progress line per page, a summary at the end.
    assert proc.stderr.count("page ") >= 8 and "page 8 (depth 3)" in proc.stderr
    assert "8 pages, 18 files kept" in proc.stdout
    for line in ("skipped     1  not MIDI", "skipped     1  no BWV number", "skipped     2  unsafe zip member",
                 "skipped     1  zip rejected", "skipped     1  duplicate content", "skipped     1  too large",
                 "skipped     1  forbidden by robots.txt", "skipped     2  off-site link"):
        assert line in proc.stdout, proc.stdout

    # A second complete run downloads nothing: only robots.txt and the pages are asked for again (and the
    # file over the size limit, abandoned at its headers again, so that a raised limit would get it).
    before = len(server.requests)
    again = run_crawl(out, server.base_url + START, extra=("--json",))
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout.strip().splitlines()[-1])
    assert (summary["files_kept"], summary["files_new"]) == (18, 0)
    assert [r for r in server.requests[before:] if r.endswith(FILE_REQUEST)] == ["/bach/files/bwv0850-huge.mid"]
    assert manifest(out, server.base_url) == EXPECTED


def server_root(server) -> Path:
    return Path(server.RequestHandlerClass.keywords["directory"])


def test_interrupted_crawl_resumes_where_it_stopped(server, tmp_path):
    out = tmp_path / "out"
    server.hold.add("/bach/keyboard/wtc.html")
    server.gate.clear()
    proc = run_crawl(out, server.base_url + START, popen=True)
    try:
        assert server.held.wait(60), "the crawl never reached the held page"
        proc.send_signal(signal.SIGINT)  # what Ctrl-C (or a scheduler's stop) does
        time.sleep(0.5)
    finally:
        server.gate.set()
        proc.wait(timeout=60)
    stderr = (tmp_path / "stderr").read_text()
    assert proc.returncode == 1, stderr
    assert "stopped before it finished" in stderr and "running it again resumes" in stderr
    assert not (out / "manifest.parquet").exists()  # an unfinished crawl never looks complete
    assert (out / ".crawl/job").is_dir()
    first = [r for r in server.requests if r.endswith(FILE_REQUEST) or "download.php" in r]
    kept_first = {json.loads(line)["url"] for line in (out / ".crawl/ledger.jsonl").read_text().splitlines()}
    assert kept_first and "/bach/keyboard/wtc1/prelude01.mid" not in first

    before = len(server.requests)
    resumed = run_crawl(out, server.base_url + START)
    assert resumed.returncode == 0, resumed.stderr
    assert manifest(out, server.base_url) == EXPECTED
    assert rejects(out, server.base_url) == EXPECTED_REJECTS
    refetched = {server.base_url + r for r in server.requests[before:]} & kept_first
    assert not refetched, f"fetched again after the interruption: {refetched}"
    assert not (out / ".crawl/job").exists()  # finished: the job state is cleared


def test_offline_fails_fast_naming_the_unreachable_hosts(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    out = tmp_path / "out"
    t0 = time.perf_counter()
    proc = run_crawl(out, f"http://127.0.0.1:{closed}/bach/", "http://no-such-archive.invalid/midi/")
    assert time.perf_counter() - t0 < 30
    assert proc.returncode == 1
    message = [line for line in proc.stderr.splitlines() if "ERROR" in line]
    assert len(message) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert f"127.0.0.1:{closed}" in message[0] and "no-such-archive.invalid" in message[0]
    assert not (out / "manifest.parquet").exists()


def test_zip_members_are_bounded_and_kept_inside():
    good, evil = midi_bytes(1), midi_bytes(2)
    members, refused = midi_members(zip_bytes({"a/bwv1.mid": good, "../up.mid": evil, "C:/win.mid": evil,
                                          "/abs.MIDI": evil, "notes.txt": b"x"}), 10**6, 10)
    assert members == [("a/bwv1.mid", good)]
    assert [(m, r.split(": ")[-1]) for m, r in refused] == [
        ("../up.mid", "'..' would leave the target folder"), ("C:/win.mid", "absolute path"), ("/abs.MIDI", "absolute path")]
    with pytest.raises(ZipRejected, match="3 members, more than the limit of 2"):
        midi_members(zip_bytes({"a.mid": good, "b.mid": evil, "c.txt": b""}), 10**6, 2)
    with pytest.raises(ZipRejected, match="unpacks to 1000000 bytes of MIDI, more than the limit of 999999"):
        midi_members(zip_bytes({"bomb.mid": b"\0" * 10**6}), 999_999, 10)
    with pytest.raises(ZipRejected, match="not a readable zip archive"):
        midi_members(b"PK\3\4 broken", 10**6, 10)


def test_schema_defaults_are_the_crawlers_defaults():
    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    web = schema["properties"]["corpus"]["properties"]["web"]["properties"]
    assert {k: v["default"] for k, v in web.items()} == dataclasses.asdict(CrawlOptions())


def test_retries_back_off_doubling_and_honour_retry_after(monkeypatch):
    import asyncio
    from types import SimpleNamespace

    from scrapy import Spider
    from scrapy.http import Request, Response
    from scrapy.utils.test import get_crawler

    from bayesbach.corpus.crawl import middlewares

    crawler = get_crawler(Spider, {"RETRY_TIMES": 3, "BACKOFF_SECONDS": 2.0})
    crawler.spider = crawler._create_spider("t")
    mw = middlewares.BackoffRetryMiddleware.from_crawler(crawler)
    waits = []

    async def sleep(seconds):
        waits.append(seconds)

    monkeypatch.setattr(middlewares, "asyncio", SimpleNamespace(sleep=sleep))

    async def answers():
        request, results = Request("http://archive.example/bwv1.mid"), []
        for status, headers in [(503, {}), (500, {}), (429, {"Retry-After": "30"}), (503, {})]:
            result = await mw.process_response(request, Response(request.url, status=status, headers=headers))
            results.append(type(result).__name__)
            request = result if isinstance(result, Request) else request
        return results

    assert asyncio.run(answers()) == ["Request", "Request", "Request", "Response"]  # three retries, then given up
    assert waits == [2.0, 4.0, 30.0]
