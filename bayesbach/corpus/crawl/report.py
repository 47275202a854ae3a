"""What a crawl did for each start URL: the tally kept while it runs, and the report written beside the
manifest on every run, complete or not (``report.parquet``, ``report.txt``), whose table the results
page shows (:func:`report_html`).

A start URL's outcome is ``ok`` when its start page was fetched and files of it are kept; otherwise
it says what went wrong (``unreachable``, ``start page failed``, ``forbidden by robots.txt``, ``no
files``, ``interrupted``) and ``reason`` says why.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from bayesbach.core import schemas
from bayesbach.core.atomic import write_atomic, write_parquet
from .store import site_of

OK = "ok"
NO_FILES = "no files"
UNREACHABLE = "unreachable"
START_FAILED = "start page failed"
ROBOTS = "forbidden by robots.txt"
INTERRUPTED = "interrupted"


@dataclass
class Site:
    """One start URL's counts while the crawl runs."""

    start_url: str
    outcome: str = OK  # until something goes wrong
    reason: str | None = None
    pages: int = 0
    files_new: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)  # "URL: reason" of each page that could not be fetched

    def fail(self, outcome: str, reason: str) -> None:
        if self.outcome == OK:  # the first failure is the cause, later ones follow from it
            self.outcome, self.reason = outcome, reason


class Tally:
    """The counts of every start URL, filled in by the spider and the store (from the crawl's single thread)."""

    def __init__(self, start_urls: list[str]):
        self.sites = {url: Site(url) for url in start_urls}

    def __getitem__(self, start_url: str) -> Site:
        # A start URL not given now: a request of an interrupted crawl that this run resumes.
        return self.sites.setdefault(start_url, Site(start_url))

    def skip(self, start_url: str, category: str) -> None:
        self[start_url].skipped[category] += 1

    @property
    def skipped(self) -> Counter[str]:
        """Things not kept, by category, over all start URLs."""
        return sum((s.skipped for s in self.sites.values()), Counter())


def _skips(skipped: dict[str, int]) -> str:
    return ", ".join(f"{category} {count}" for category, count in sorted(skipped.items()))


def report_rows(tally: Tally, kept: Counter[str], stopped: str | None = None) -> list[dict]:
    """One row per start URL (the ``CRAWL_REPORT`` columns); ``kept`` counts the manifest's files by start URL,
    ``stopped`` is Scrapy's finish reason when the crawl did not finish."""
    rows = []
    for url, site in tally.sites.items():
        outcome, reason = site.outcome, site.reason
        if outcome == OK and stopped:
            outcome, reason = INTERRUPTED, f"the crawl stopped before it finished ({stopped})"
        elif outcome == OK and not kept[url]:
            outcome, reason = NO_FILES, "nothing kept" + (f" (skipped: {_skips(site.skipped)})" if site.skipped else "")
        rows.append({"start_url": url, "site": site_of(url), "outcome": outcome, "reason": reason, "pages": site.pages,
                     "files_kept": kept[url], "files_new": site.files_new, "skipped": dict(sorted(site.skipped.items())),
                     "errors": list(site.errors)})
    return rows


def failures(rows: list[dict]) -> list[str]:
    """Each start URL that failed, with its outcome and why."""
    return [f"{r['start_url']}: {r['outcome']} ({r['reason']})" for r in rows if r["outcome"] != OK]


def site_table(report: pa.Table):
    """The report as a table for people: one row per start URL (a pandas DataFrame)."""
    import pandas as pd  # here: the workflow imports this package when it plans

    rows = report.to_pylist()
    return pd.DataFrame({
        "start URL": [r["start_url"] for r in rows],
        "outcome": [r["outcome"] for r in rows],
        "why": [r["reason"] or "" for r in rows],
        "pages": [r["pages"] for r in rows],
        "files kept": [r["files_kept"] for r in rows],
        "new": [r["files_new"] for r in rows],
        "skipped": [_skips(dict(r["skipped"])) for r in rows],
        "errors": [len(r["errors"]) for r in rows],
    })


def report_text(report: pa.Table) -> str:
    """``report.txt``: the table's numbers, then per start URL why it failed, what it skipped, its errors."""
    table = site_table(report)
    lines = [table.drop(columns=["why", "skipped"]).to_string(index=False), ""]
    for row, errors in zip(table.itertuples(index=False), report.column("errors").to_pylist()):
        details = [f"  {row.why}"] if row.why else []
        details += [f"  skipped: {row.skipped}"] if row.skipped else []
        details += [f"  error: {e}" for e in errors]
        if details:
            lines += [f"{row[0]} ({row.outcome})", *details]
    return "\n".join(lines) + "\n"


def report_html(report: pa.Table) -> str:
    """The table as HTML for the results page; ``report`` is ``data/raw/web/report.parquet`` read by pyarrow."""
    return site_table(report).to_html(index=False)


def report_table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=schemas.CRAWL_REPORT)


def write_report(folder: Path, rows: list[dict]) -> pa.Table:
    """Write ``report.parquet`` and ``report.txt`` in the source folder; returns the table."""
    table = report_table(rows)
    write_parquet(Path(folder) / "report.parquet", table)
    write_atomic(Path(folder) / "report.txt", report_text(table).encode())
    return table
