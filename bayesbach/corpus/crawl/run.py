"""One crawl from start to finish: check the hosts, run the spider, write the manifest only when it finished."""

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
from .settings import CrawlOptions, scrapy_settings
from .store import Store, site_of

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


def _reach(url: str, timeout: float) -> str | None:
    """Why a connection to the URL's host cannot be opened (None when it can)."""
    host, port = _address(url)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except socket.gaierror as e:
        return f"{host}: name not resolved ({e.strerror})"
    except OSError as e:
        return f"{host}:{port}: {e.strerror or type(e).__name__}"
    return None


def unreachable_hosts(urls: list[str], timeout: float = 10.0) -> list[str]:
    """The hosts among ``urls`` that cannot be connected to, with the reason; checked at once, in parallel."""
    with ThreadPoolExecutor(max_workers=min(16, len(urls) or 1)) as pool:
        reasons = pool.map(lambda u: _reach(u, timeout), urls)
    return sorted({r for r in reasons if r})


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
    """Crawl ``options.start_urls`` into ``out`` (the web source's folder); returns the summary.

    Raises :class:`CrawlError` when a start host cannot be reached (before
    anything is fetched) or the crawl did not finish; ``manifest.parquet`` exists
    only after a finished crawl, so a failed one never looks complete. An
    interrupted crawl resumes where it stopped when run again.
    """
    from scrapy.crawler import CrawlerProcess

    from .spider import BachSpider  # Scrapy, only when a crawl runs

    check_options(options)
    out = Path(out)
    down = unreachable_hosts(options.start_urls, min(options.timeout_s, 10.0))
    if down:
        hosts = len({_address(u) for u in options.start_urls})
        raise CrawlError(f"cannot reach {len(down)} of {hosts} start hosts, so nothing was crawled: {'; '.join(down)}. "
                         "The web source needs internet access to these archives (remove the dead ones from "
                         "corpus.web.start_urls, or use corpus.sources: [bundled] offline)")
    for name in ("manifest.parquet", "rejects.parquet"):  # an earlier crawl's: gone until this one finishes
        (out / name).unlink(missing_ok=True)

    mb = 1024 * 1024
    store = Store(out, [site_of(u) for u in options.start_urls], int(options.max_unzipped_mb * mb), options.max_zip_members)
    already = store.files
    if store.fetched:
        log.info("resuming: %d URLs handled by earlier runs, %d files kept", len(store.fetched), already)
    level = logging.getLogger().level
    quiet()
    process = CrawlerProcess(scrapy_settings(options, store.state), install_root_handler=False)
    logging.getLogger().setLevel(level)  # Scrapy lowers the root logger to NOTSET ...
    quiet()  # ... and sets its own loggers to DEBUG
    crawler = process.create_crawler(BachSpider)
    t0 = time.perf_counter()
    process.crawl(crawler, store=store, options=options)
    process.start()
    seconds = time.perf_counter() - t0
    spider = crawler.spider
    reason = crawler.stats.get_value("finish_reason")
    if spider is None or reason != "finished":
        raise CrawlError(f"the crawl stopped before it finished ({reason or 'it did not start'}); "
                         f"{store.new_files} new files are kept in {out}, and running it again resumes from there")
    if spider.unreachable:
        raise CrawlError("could not fetch the start pages: " +
                         "; ".join(f"{u} ({why})" for u, why in sorted(spider.unreachable.items())))
    store.finish()
    shutil.rmtree(store.state / "job", ignore_errors=True)  # finished: the next crawl starts afresh
    summary = {
        "pages": spider.pages,
        "files_kept": store.files,
        "files_new": store.new_files,
        "requests": crawler.stats.get_value("downloader/request_count", 0),
        "skipped": dict(sorted(store.skipped.items())),
        "seconds": round(seconds, 3),
    }
    log.info("crawl finished: %d pages, %d files kept (%d new), skipped: %s", summary["pages"], summary["files_kept"],
             summary["files_new"], ", ".join(f"{k} {v}" for k, v in summary["skipped"].items()) or "nothing")
    return summary


def format_summary(summary: dict, out: Path) -> str:
    """The end-of-crawl summary for people: pages, files kept, what was skipped and why."""
    lines = [f"{summary['pages']} pages, {summary['files_kept']} files kept in {out} "
             f"({summary['files_new']} new) in {summary['seconds']:.1f} s"]
    lines += [f"  skipped {count:5d}  {category}" for category, count in summary["skipped"].items()]
    return "\n".join(lines)
