"""The ``web`` corpus source: a polite, resumable Scrapy crawler for the public Bach MIDI archives.

A normal Scrapy layout (``spider``, ``items``, ``pipelines``, ``settings``,
``middlewares``) plus ``store`` (the source folder, its ledger and manifest),
``zips`` (safe extraction), ``run`` (one crawl, start to finish) and
``fixture`` (an archive-like site on loopback for the tests and the benchmark).
"""

from .run import CrawlError, crawl
from .settings import CrawlOptions

__all__ = ["CrawlError", "CrawlOptions", "crawl"]
