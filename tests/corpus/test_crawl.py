"""The web source: the real spider against a generated archive site on 127.0.0.1 (no internet).

Each crawl runs in a subprocess (Twisted's reactor starts once per process);
the site (bayesbach.dev.fixture_site, the ``site`` and ``server`` fixtures of
tests/conftest.py) is served from a thread of the test process, which records
every request it gets. Its start URLs: the generic archive (``/bach/``), replicas
of jsbach.net and piano-midi.de, a start page answering 418, one robots.txt
forbids, and a host that does not resolve.
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
from bayesbach.dev.fixture_site import ARCHIVES, START, midi_bytes, start_urls, zip_bytes
from conftest import REPO

# (file in data/raw/web, BWV, path of the URL it came from): what the generic archive must give, exactly.
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
# ... the jsbach.net replica: the archive's abbreviations, one heading per work, Sankey's range-named zips
JSBACH = {
    *((f"127.0.0.1/cs{suite}-{movement}.mid", 1006 + suite, f"/jsb/midi/cs{suite}-{movement}.mid")
      for suite in range(1, 7) for movement in ("1pre", "6gig")),
    ("127.0.0.1/bwv1009-bourree.mid", 1009, "/jsb/midi/bourree.mid"),  # only the heading before it names the work
    ("127.0.0.1/vs1-1ada.mid", 1001, "/jsb/midi/vs1-1ada.mid"),
    ("127.0.0.1/vp1-1all.mid", 1002, "/jsb/midi/vp1-1all.mid"),
    ("127.0.0.1/vs2-2fug.mid", 1003, "/jsb/midi/vs2-2fug.mid"),
    ("127.0.0.1/vp2-5cha.mid", 1004, "/jsb/midi/vp2-5cha.mid"),
    ("127.0.0.1/vs3-3lar.mid", 1005, "/jsb/midi/vs3-3lar.mid"),
    ("127.0.0.1/vp3-1pre.mid", 1006, "/jsb/midi/vp3-1pre.mid"),
    ("127.0.0.1/bwv0772-772-786-inv01.mid", 772, "/jsb/midi/sankey/772-786.zip!inv01.mid"),
    ("127.0.0.1/bwv0773-772-786-inv02.mid", 773, "/jsb/midi/sankey/772-786.zip!inv02.mid"),
    ("127.0.0.1/bwv0786-772-786-inv15.mid", 786, "/jsb/midi/sankey/772-786.zip!inv15.mid"),
    ("127.0.0.1/bwv0846-846-869-bwv846.mid", 846, "/jsb/midi/sankey/846-869.zip!bwv846.mid"),
    ("127.0.0.1/bwv0847-846-869-bwv847.mid", 847, "/jsb/midi/sankey/846-869.zip!bwv847.mid"),
    ("127.0.0.1/bwv0971-italian1.mid", 971, "/jsb/midi/sankey/italian1.mid"),  # the caption of its table
}
# ... the piano-midi.de replica: bach_NNN names (each format-0 twin is the same recording, set aside)
PIANO_MIDI = {(f"127.0.0.1/bach_{n}.mid", n, f"/pmd/midis/bach/bach_{n}.mid") for n in (846, 847, 850)}
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
ARCHIVE_REJECTS = {
    ("/jsb/midi/sankey/772-786.zip!sinf01.mid", "no BWV number within the archive's range BWV 772-786"),  # 787
    ("/jsb/midi/sankey/772-786.zip!notes.mid", "no BWV number within the archive's range BWV 772-786"),
    *((f"/pmd/midis/bach/bach_{n}_format0.mid", f"same recording as 127.0.0.1/bach_{n}.mid") for n in (846, 847, 850)),
}
# start URL (a path on the site, or the whole URL) -> (outcome, start of the reason, pages, files kept, skipped)
REPORT = {
    START: ("ok", None, 8, 18, {"duplicate content": 1, "forbidden by robots.txt": 1, "no BWV number": 1,
                                "not MIDI": 1, "off-site link": 2, "too large": 1, "unsafe zip member": 2,
                                "zip rejected": 1}),
    ARCHIVES["jsbach.net"]: ("ok", None, 4, 25, {"no BWV number": 2}),
    ARCHIVES["piano-midi.de"]: ("ok", None, 1, 3, {"same recording": 3}),
    ARCHIVES["418"]: ("start page failed", "HTTP status 418", 0, 0, {}),
    ARCHIVES["robots.txt"]: ("forbidden by robots.txt", "forbidden by the site's robots.txt", 0, 0, {}),
    ARCHIVES["unresolvable"]: ("unreachable", "no-such-archive.invalid: name not resolved", 0, 0, {}),
}
# Every page the crawl may ask for: the listing pages within each start URL's scope, and no other.
PAGES = {"/robots.txt", START, "/bach/keyboard/index.html", "/bach/keyboard/wtc.html", "/bach/goldberg.html",
         "/bach/chorales.html", "/bach/deep1.html", "/bach/deep2.html", "/bach/deep3.html", "/jsb/midi/",
         "/jsb/midi/midi_solo_cello.html", "/jsb/midi/midi_solo_violin.html", "/jsb/midi/midi_johnsankey.html",
         "/pmd/bach.htm", "/teapot/bach.htm"}
FILE_REQUEST = (".mid", ".zip", "download.php")


def run_crawl(out: Path, *urls: str, extra: tuple[str, ...] = (), popen: bool = False):
    cmd = [sys.executable, "-m", "bayesbach.cli", "crawl_web", "--out", str(out), "--no-delay", "--max-file-mb", "1", *extra]
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


def rejects(out: Path, base: str, expected: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """The rejects found, as the (path, reason prefix) pairs of ``expected`` where they match one, else in full."""
    rows = pq.read_table(out / "rejects.parquet").to_pylist()
    found = {(r["file"].removeprefix(base), r["reason"]) for r in rows}
    return {(f, prefix) for f, prefix in expected if any(g == f and why.startswith(prefix) for g, why in found)} \
        | {(f, why) for f, why in found if not any(f == e and why.startswith(p) for e, p in expected)}


def report(out: Path, base: str) -> dict:
    """report.parquet as {start URL (relative to the site): (outcome, reason, pages, files kept, skipped)}."""
    rows = pq.read_table(out / "report.parquet").to_pylist()
    return {r["start_url"].removeprefix(base): (r["outcome"], r["reason"], r["pages"], r["files_kept"], dict(r["skipped"]))
            for r in rows}


def matches(found: dict, expected: dict) -> bool:
    """The report found is the one expected (a reason there is the start of the one found)."""
    return found.keys() == expected.keys() and all(
        f[0] == e[0] and (f[1] or "").startswith(e[1] or "") and f[2:] == e[2:] for f, e in
        ((found[k], expected[k]) for k in expected))


def server_root(server) -> Path:
    return Path(server.RequestHandlerClass.keywords["directory"])


def test_each_site_on_its_own_keeps_every_bach_midi_of_the_working_sites(server, tmp_path):
    out = tmp_path / "out"
    assert not Path("/tmp/bwv0775.mid").exists()
    proc = run_crawl(out, *start_urls(server.base_url))
    assert proc.returncode == 0, proc.stderr  # three dead start URLs cost their own files only

    assert manifest(out, server.base_url) == EXPECTED | JSBACH | PIANO_MIDI
    assert rejects(out, server.base_url, EXPECTED_REJECTS | ARCHIVE_REJECTS) == EXPECTED_REJECTS | ARCHIVE_REJECTS
    # Kept files are byte for byte what the site served (zip members: what the archive held).
    assert (out / "127.0.0.1/bwv0848.mid").read_bytes() == (server_root(server) / "bach/files/bwv0848.mid").read_bytes()
    found = report(out, server.base_url)
    assert matches(found, REPORT), found
    text = (out / "report.txt").read_text()
    for url, (outcome, reason, *_) in REPORT.items():
        assert url in text and outcome in text and (reason or "") in text

    # Nothing outside the output folder; in it the kept files, the tables, the ledger, and the second copies of
    # the twins (kept on disk so that a rerun knows it has them; listed once, under the URL sorting first).
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert not Path("/tmp/bwv0775.mid").exists()
    inside = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert inside == {f for f, _, _ in EXPECTED | JSBACH | PIANO_MIDI} | {
        "manifest.parquet", "rejects.parquet", "report.parquet", "report.txt", ".crawl/ledger.jsonl",
        "127.0.0.1/bwv0848-copy.mid", *(f"127.0.0.1/bach_{n}_format0.mid" for n in (846, 847, 850))}

    # Polite and in scope: robots.txt read first, no page outside the listing paths (the start page robots.txt
    # forbids, the jsbach replica's home page and /bcs/, other composers), other domains never asked for.
    assert server.requests[0] == "/robots.txt"
    assert {r for r in server.requests if not r.endswith(FILE_REQUEST)} == PAGES
    assert not [r for r in server.requests if r.startswith(("/private/", "/news/"))]
    assert server.requests.count("/bach/flaky/bwv0849.mid") == 2  # 503, then the retry

    # A progress line per page, a summary at the end with the table of report.txt.
    assert proc.stderr.count("page ") >= 13 and "page 13 (depth" in proc.stderr
    assert "13 pages, 46 files kept" in proc.stdout
    for line in ("skipped     1  not MIDI", "skipped     3  no BWV number", "skipped     2  unsafe zip member",
                 "skipped     1  zip rejected", "skipped     1  duplicate content", "skipped     3  same recording",
                 "skipped     1  too large", "skipped     1  forbidden by robots.txt", "skipped     2  off-site link",
                 text.splitlines()[0]):
        assert line in proc.stdout, proc.stdout

    # A second complete run downloads nothing: only robots.txt and the pages are asked for again (and the
    # file over the size limit, abandoned at its headers again, so that a raised limit would get it).
    before = len(server.requests)
    again = run_crawl(out, *start_urls(server.base_url), extra=("--json",))
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout.strip().splitlines()[-1])
    assert (summary["files_kept"], summary["files_new"]) == (46, 0)
    assert [r for r in server.requests[before:] if r.endswith(FILE_REQUEST)] == ["/bach/files/bwv0850-huge.mid"]
    assert manifest(out, server.base_url) == EXPECTED | JSBACH | PIANO_MIDI
    assert {r["start_url"].removeprefix(server.base_url): r["outcome"] for r in summary["sites"]} == {
        url: outcome for url, (outcome, *_) in REPORT.items()}


def test_require_all_makes_a_failed_site_fatal_and_a_rerun_without_it_keeps_the_files(server, tmp_path):
    out = tmp_path / "out"
    urls = [server.base_url + ARCHIVES["piano-midi.de"], server.base_url + ARCHIVES["418"]]
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"corpus": {"sources": ["web"], "web": {"start_urls": urls, "require_all": True}}}))
    strict = run_crawl(out, extra=("--config", str(config)))
    assert strict.returncode == 1
    message = [line for line in strict.stderr.splitlines() if "ERROR" in line]
    assert len(message) == 1 and "Traceback" not in strict.stderr, strict.stderr
    assert "require_all" in message[0] and f"{urls[1]}: start page failed (HTTP status 418)" in message[0]
    assert not (out / "manifest.parquet").exists()  # a failed crawl never looks complete ...
    found = report(out, server.base_url)  # ... but says what each start URL gave
    assert {url: row[:4] for url, row in found.items()} == {ARCHIVES["piano-midi.de"]: ("ok", None, 1, 3),
                                                           ARCHIVES["418"]: ("start page failed", "HTTP status 418", 0, 0)}

    before = len(server.requests)
    lenient = run_crawl(out, *urls)  # the default: the dead page costs its own files only
    assert lenient.returncode == 0, lenient.stderr
    assert manifest(out, server.base_url) == PIANO_MIDI
    assert not [r for r in server.requests[before:] if r.endswith(FILE_REQUEST)]  # nothing fetched again


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
    assert not (out / "manifest.parquet").exists()  # an unfinished crawl never looks complete ...
    assert report(out, server.base_url)[START][0] == "interrupted"  # ... and its report says so
    assert (out / ".crawl/job").is_dir()
    first = [r for r in server.requests if r.endswith(FILE_REQUEST) or "download.php" in r]
    kept_first = {json.loads(line)["url"] for line in (out / ".crawl/ledger.jsonl").read_text().splitlines()}
    assert kept_first and "/bach/keyboard/wtc1/prelude01.mid" not in first

    before = len(server.requests)
    resumed = run_crawl(out, server.base_url + START)
    assert resumed.returncode == 0, resumed.stderr
    assert manifest(out, server.base_url) == EXPECTED
    assert rejects(out, server.base_url, EXPECTED_REJECTS) == EXPECTED_REJECTS
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
    assert "needs internet access" in message[0]
    assert not (out / "manifest.parquet").exists()
    assert [row[0] for row in report(out, "").values()] == ["unreachable", "unreachable"]


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


# --- the parts, without a server

@pytest.mark.parametrize("url,start,followed", [
    ("http://www.jsbach.net/bcs/index.html", "http://www.jsbach.net/midi/", False),  # "bach" only in the host
    ("http://www.jsbach.net/", "http://www.jsbach.net/midi/", False),
    ("http://www.jsbach.net/midi/midi_solo_cello.html", "http://www.jsbach.net/midi/", True),  # below a folder start
    ("http://www.jsbach.net/midi/sankey/index.html", "http://www.jsbach.net/midi/", True),
    ("http://www.jsbach.net/midi/login.html", "http://www.jsbach.net/midi/", False),  # deny wins, even there
    ("http://www.jsbach.net/midi/midi_solo_cello.html", "http://www.jsbach.net/midi/index.html", True),  # its index page
    ("http://www.jsbach.net/midi/sankey/index.html", "http://www.jsbach.net/midi/default.asp", True),
    ("http://www.jsbach.net/bcs/index.html", "http://www.jsbach.net/midi/index.html", False),
    ("http://www.jsbach.net/midi/login.html", "http://www.jsbach.net/midi/INDEX.HTM", False),
    ("http://piano-midi.de/mozart.htm", "http://piano-midi.de/index.htm", True),  # the site's own index: all of it
    ("https://sound.jp/bach-ken/en/midi-list2.html", "https://sound.jp/bach-ken/en/midi-list.html", True),
    ("https://sound.jp/other/en/index.html", "https://sound.jp/bach-ken/en/midi-list.html", False),
    ("https://www.metronimo.com/fr/midi/index.php?page=Bach&p=2", "https://www.metronimo.com/fr/midi/index.php?page=Bach",
     True),  # the query names Bach
    ("https://www.metronimo.com/fr/midi/index.php?page=Mozart", "https://www.metronimo.com/fr/midi/index.php?page=Bach",
     False),
    ("http://piano-midi.de/mozart.htm", "http://piano-midi.de/bach.htm", False),  # "/" is no folder start here
    ("http://www.dardel.info/musique/Bach2.html", "http://www.dardel.info/musique/Bach.html", True),
    ("http://www.dardel.info/musique/Bach_forum.html", "http://www.dardel.info/musique/Bach.html", False),
    ("https://suzumidi.com/en/bwv-list.htm", "https://suzumidi.com/en/bach1.htm", True),
])
def test_follow_and_deny_see_the_path_and_query_never_the_host(url, start, followed):
    from bayesbach.corpus.crawl.spider import Scope

    options = CrawlOptions()
    assert Scope(options.follow, options.deny).follows(url, start) is followed


@pytest.mark.parametrize("start,folder", [
    ("http://www.jsbach.net/midi/", "/midi/"),
    ("http://www.jsbach.net/midi/index.html", "/midi/"),
    ("http://example.org/bach/index.php", "/bach/"),
    ("http://example.org/default.aspx", "/"),
    ("http://piano-midi.de/bach.htm", None),  # a named page among the other composers' pages
    ("http://www.dardel.info/musique/Bach.html", None),
    ("https://www.metronimo.com/fr/midi/index.php?page=Bach", None),  # the query picks what it lists
    ("http://example.org/midi/index.zip", None),  # a file, not a page
    ("http://example.org/midi/index", None),  # no extension: not known to be a page
])
def test_a_start_url_stands_for_its_folder_when_it_is_the_folder_or_its_index_page(start, folder):
    from bayesbach.corpus.crawl.spider import start_folder

    assert start_folder(start) == folder


def test_a_crawl_started_at_the_folders_index_page_keeps_what_the_folder_keeps(server, tmp_path):
    folder = server.base_url + ARCHIVES["jsbach.net"]
    kept, pages = {}, {}
    for name, url in (("folder", folder), ("index", folder + "index.html")):
        before = len(server.requests)
        proc = run_crawl(tmp_path / name, url)
        assert proc.returncode == 0, proc.stderr
        kept[name] = manifest(tmp_path / name, server.base_url)
        pages[name] = {r for r in server.requests[before:] if not r.endswith(FILE_REQUEST)} - {"/robots.txt"}
        assert report(tmp_path / name, server.base_url)[url.removeprefix(server.base_url)][:4] == ("ok", None, 4, 25)
    assert kept["index"] == kept["folder"] == JSBACH
    assert pages["index"] - {ARCHIVES["jsbach.net"] + "index.html"} == pages["folder"] - {ARCHIVES["jsbach.net"]}


def parsed(body: str, url: str = "http://archive.example/bach/list.html") -> list:
    """The requests the spider makes of one page (no store, no network)."""
    from types import SimpleNamespace

    from scrapy.http import HtmlResponse, Request

    from bayesbach.corpus.crawl.report import Tally
    from bayesbach.corpus.crawl.spider import BachSpider

    spider = BachSpider(store=SimpleNamespace(known=lambda u: False), tally=Tally([url]), options=CrawlOptions(),
                        starts=[url])
    response = HtmlResponse(url, body=body.encode(), encoding="utf-8", request=Request(url, meta={"origin": url}))
    return list(spider.parse(response))


def test_every_link_of_a_long_table_keeps_its_row():
    rows = "".join(f'<tr><td>Work {i}, BWV {1000 + i}</td><td><a href="f{i}a.mid">a</a> <a href="f{i}b.mid">b</a></td></tr>'
                   for i in range(200))
    requests = parsed(f"<html><body><table>{rows}</table></body></html>")
    assert len(requests) == 400
    for n, request in enumerate(requests):
        i = n // 2
        assert request.meta["row_text"] == f"Work {i}, BWV {1000 + i} a b"
        assert request.meta["position"] == (n % 2, 2)


def test_a_links_context_is_the_nearest_heading_or_caption_before_it():
    requests = parsed("""<html><head><title>Cello suites</title></head><body><p><a href="first.mid">x</a></p>
        <h1>Suites</h1><h2>Suite No. 1, BWV 1007</h2><p><a href="a.mid">a</a></p>
        <h2>Suite No. 2, <i>BWV 1008</i></h2><table><caption>Italian Concerto, BWV 971</caption>
        <tr><td><a href="b.mid">b</a></td></tr></table><p><a href="c.mid">c</a></p>
        <table><tr><td><h3>Suite No. 3, BWV 1009</h3><a href="d.mid">d</a></td></tr></table></body></html>""")
    assert {r.url.rsplit("/", 1)[-1]: r.meta["heading"] for r in requests} == {
        "first.mid": "Cello suites",  # no heading before it: the page's title
        "a.mid": "Suite No. 1, BWV 1007",
        "b.mid": "Italian Concerto, BWV 971",  # its table's caption
        "c.mid": "Suite No. 2, BWV 1008",  # another table's caption is not its
        "d.mid": "Suite No. 3, BWV 1009"}


def test_a_format0_twin_is_the_same_recording():
    from bayesbach.corpus.crawl.store import notes_digest
    from bayesbach.dev.fixture_site import format0

    one = midi_bytes(1)
    assert format0(one) != one and notes_digest(format0(one)) == notes_digest(one)
    assert notes_digest(midi_bytes(2)) != notes_digest(one)
    assert notes_digest(one[:30]) is None and notes_digest(b"<html></html>") is None  # nothing to compare


def test_the_report_for_people_and_for_the_page():
    from collections import Counter

    from bayesbach.corpus.crawl.report import Tally, report_html, report_rows, report_table, report_text

    urls = ["http://a.example/bach/", "http://b.example/bach.htm", "http://c.invalid/", "http://d.example/x.html"]
    tally = Tally(urls)
    tally[urls[0]].pages, tally[urls[1]].pages, tally[urls[3]].pages = 3, 1, 2
    tally.skip(urls[0], "no BWV number")
    tally[urls[0]].errors.append("http://a.example/bach/gone.html: HTTP status 404")
    tally[urls[1]].fail("start page failed", "HTTP status 418")
    tally[urls[2]].fail("unreachable", "c.invalid: name not resolved")
    tally.skip(urls[3], "not MIDI")
    rows = report_rows(tally, Counter({urls[0]: 5}))
    assert [(r["outcome"], r["reason"], r["files_kept"]) for r in rows] == [
        ("ok", None, 5), ("start page failed", "HTTP status 418", 0), ("unreachable", "c.invalid: name not resolved", 0),
        ("no files", "nothing kept (skipped: not MIDI 1)", 0)]
    table = report_table(rows)
    text = report_text(table)
    assert text.splitlines()[0].split() == ["start", "URL", "outcome", "pages", "files", "kept", "new", "errors"]
    assert "  error: http://a.example/bach/gone.html: HTTP status 404" in text and "  HTTP status 418" in text
    page = report_html(table)
    assert page.startswith("<table") and page.count("<tr") == 1 + 4 and "c.invalid: name not resolved" in page
    assert report_rows(tally, Counter({urls[0]: 5}), stopped="shutdown")[0]["outcome"] == "interrupted"
