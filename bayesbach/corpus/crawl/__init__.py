"""The ``web`` corpus source: a polite, resumable Scrapy crawler for the public Bach MIDI archives.

A normal Scrapy layout (``spider``, ``items``, ``pipelines``, ``settings``,
``middlewares``) plus ``store`` (the source folder, its ledger and manifest),
``zips`` (safe extraction), ``report`` (what each start URL gave) and ``run``
(one crawl, start to finish). docs/crawling.md describes the archives. The
archive-like site the tests and the benchmark crawl is ``bayesbach.dev.fixture_site``
(developer tooling: no rule runs it, so editing it does not redo a real crawl).
"""

from .run import CrawlError, crawl
from .settings import CrawlOptions

__all__ = ["CrawlError", "CrawlOptions", "crawl"]
