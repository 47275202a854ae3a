"""One crawl from start to finish: check the hosts, run the spider on those that answer, write the report, and
the manifest when the crawl succeeded."""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

from bayesbach.core.exceptions import StudyError
from .report import UNREACHABLE, Tally, failures, report_rows, report_table, report_text, write_report
from .settings import CrawlOptions, scrapy_settings
from .store import Store

log = logging.getLogger(__name__)


class CrawlError(StudyError):
    """The crawl could not run or did not finish; the message says why and what to do."""


def _address(url: str) -> tuple[str, int]:
    """Where a connection for ``url`` goes: its proxy when the environment names one, else its host."""
    parts = urlsplit(url)
    proxy = os.environ.get(f"{parts.scheme}_proxy") or os.environ.get(f"{parts.scheme.upper()}_PROXY")
    if proxy:
        parts = urlsplit(proxy if "//" in proxy else "//" + proxy)
        return parts.hostname, parts.port or 80
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


def _reach(address: tuple[str, int], timeout: float) -> str | None:
    """Why a connection to ``(host, port)`` cannot be opened (None when it can)."""
    host, port = address
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except socket.gaierror as e:
        return f"{host}: name not resolved ({e.strerror})"
    except OSError as e:
        return f"{host}:{port}: {e.strerror or type(e).__name__}"
    return None


def unreachable(urls: list[str], timeout: float = 10.0) -> dict[str, str]:
    """The URLs among ``urls`` whose host cannot be connected to, with the reason; each host checked once,
    all at once. A dead host is not worth Scrapy's retries and back-off."""
    addresses = list(dict.fromkeys(map(_address, urls)))
    with ThreadPoolExecutor(max_workers=min(16, len(addresses) or 1)) as pool:
        reasons = dict(zip(addresses, pool.map(lambda a: _reach(a, timeout), addresses)))
    return {u: reasons[_address(u)] for u in urls if reasons[_address(u)]}


def check_options(options: CrawlOptions) -> None:
    if not options.start_urls:
        raise CrawlError("no start URL: give corpus.web.start_urls (or --start-url)")
    for url in options.start_urls:
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
            raise CrawlError(f"start URL {url!r} is not an http(s) address")
    for pattern in (*options.follow, *options.deny):
        try:
            re.compile(pattern)
        except re.error as e:
            raise CrawlError(f"URL pattern {pattern!r} is not a regular expression ({e})") from None


def quiet() -> None:
    """Our own log lines say what a crawl does; Scrapy's are shown only when something goes wrong."""
    for name in ("scrapy", "twisted", "protego", "filelock"):
        logging.getLogger(name).setLevel(max(logging.getLogger().getEffectiveLevel(), logging.WARNING))


def crawl(out: Path, options: CrawlOptions) -> dict:
    """Crawl each of ``options.start_urls`` into ``out`` (the web source's folder); returns the summary.

    Each start URL on its own: an unreachable host, a start page that fails (4xx, 5xx) or a robots.txt
    that forbids it costs that start URL only. Every run writes ``report.parquet`` and ``report.txt``
    (what each start URL gave) and logs the same table. The crawl fails (:class:`CrawlError`, naming each
    start URL and why) when no file is kept at all, when ``options.require_all`` is set and a start URL
    failed, or when it was interrupted; ``manifest.parquet`` is written only when it does not fail, so a
    failed crawl never looks complete. An interrupted crawl resumes where it stopped when run again.
    """
    from scrapy.crawler import CrawlerProcess

    from .spider import BachSpider  # Scrapy, only when a crawl runs

    check_options(options)
    out = Path(out)
    starts = list(dict.fromkeys(options.start_urls))
    tally = Tally(starts)
    down = unreachable(starts, min(options.timeout_s, 10.0))
    for url, why in down.items():
        tally[url].fail(UNREACHABLE, why)
        log.warning("start URL %s: %s", url, why)
    for name in ("manifest.parquet", "rejects.parquet"):  # an earlier crawl's: gone until this one succeeds
        (out / name).unlink(missing_ok=True)

    mb = 1024 * 1024
    store = Store(out, starts, tally, int(options.max_unzipped_mb * mb), options.max_zip_members)
    if store.fetched:
        log.info("resuming: %d URLs handled by earlier runs, %d files kept", len(store.fetched), store.files)
    live = [u for u in starts if u not in down]
    stopped, requests, t0 = None, 0, time.perf_counter()
    if live:
        level = logging.getLogger().level
        quiet()
        process = CrawlerProcess(scrapy_settings(options, store.state), install_root_handler=False)
        logging.getLogger().setLevel(level)  # Scrapy lowers the root logger to NOTSET ...
        quiet()  # ... and sets its own loggers to DEBUG
        crawler = process.create_crawler(BachSpider)
        process.crawl(crawler, store=store, tally=tally, options=options, starts=live)
        process.start()
        reason = crawler.stats.get_value("finish_reason")
        requests = crawler.stats.get_value("downloader/request_count", 0)
        if crawler.spider is None or reason != "finished":
            stopped = reason or "it did not start"
        else:
            shutil.rmtree(store.state / "job", ignore_errors=True)  # finished: the next crawl starts afresh
    seconds = time.perf_counter() - t0

    store.settle()
    rows = report_rows(tally, store.kept(), stopped)
    log.info("what each start URL gave (%s):\n%s", out / "report.txt", report_text(write_report(out, rows)))
    if stopped:
        raise CrawlError(f"the crawl stopped before it finished ({stopped}); {store.new_files} new files are kept "
                         f"in {out}, and running it again resumes from there")
    failed = failures(rows)
    if not store.files:
        offline = len(down) == len(starts)
        hint = " The web source needs internet access to these archives (or corpus.sources: [bundled] offline)."
        raise CrawlError(f"no start URL gave a file: {'; '.join(failed)}.{hint if offline else ''}")
    if failed and options.require_all:
        raise CrawlError(f"{len(failed)} of {len(rows)} start URLs failed, and corpus.web.require_all is set: "
                         f"{'; '.join(failed)}")
    store.write()
    summary = {
        "pages": sum(r["pages"] for r in rows),
        "files_kept": store.files,
        "files_new": store.new_files,
        "requests": requests,
        "skipped": dict(sorted(tally.skipped.items())),
        "seconds": round(seconds, 3),
        "sites": rows,
    }
    log.info("crawl finished: %d pages, %d files kept (%d new) from %d of %d start URLs", summary["pages"],
             summary["files_kept"], summary["files_new"], len(rows) - len(failed), len(rows))
    return summary


def format_summary(summary: dict, out: Path) -> str:
    """The end-of-crawl summary for people: pages, files kept, what was skipped and why, and what each
    start URL gave (the table of ``report.txt``)."""
    lines = [f"{summary['pages']} pages, {summary['files_kept']} files kept in {out} "
             f"({summary['files_new']} new) in {summary['seconds']:.1f} s"]
    lines += [f"  skipped {count:5d}  {category}" for category, count in summary["skipped"].items()]
    lines += ["", report_text(report_table(summary["sites"]))]
    return "\n".join(lines)
