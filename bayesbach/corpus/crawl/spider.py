"""The spider: listing pages of each start URL's own site, down to a depth, and the files they link.

Each request carries the start URL it was found from (``origin``): what a start URL gives, and what
goes wrong with it, is counted for it alone (report.py), so a dead site costs that site only.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urldefrag, urlsplit

import scrapy
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import Request, Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.defer import CancelledError
from twisted.internet.error import ConnectError, ConnectionLost, DNSLookupError, TimeoutError as TwistedTimeout

from bayesbach.corpus.bwv import FILE_SUFFIXES, url_file_name
from .items import Download
from .report import ROBOTS, START_FAILED, UNREACHABLE, Tally
from .settings import CrawlOptions
from .store import Store, site_of

NETWORK_ERRORS = (CannotResolveHostError, DownloadConnectionRefusedError, DownloadTimeoutError, DownloadFailedError,
                  ResponseDataLossError, DNSLookupError, ConnectError, ConnectionLost, TwistedTimeout)
# The nearest heading before a link, or the caption of the table it is in when that is nearer.
HEADING = ("(ancestor::table[1]/caption | preceding::*[self::h1 or self::h2 or self::h3 or self::h4 or self::h5 "
           "or self::h6][1])[last()]")

# The names a web server gives a folder's own page (Apache's index.html, IIS's default.asp): a start URL
# ``/midi/index.html`` stands for ``/midi/``.
INDEX_PAGES = ("index", "default")

log = logging.getLogger(__name__)


def same_site(url: str, site: str) -> bool:
    host = site_of(url)
    return host == site or host.endswith("." + site)


def is_file_link(url: str) -> bool:
    return url_file_name(url).lower().endswith(FILE_SUFFIXES)


def _text(selector) -> str:
    return " ".join(" ".join(selector.xpath(".//text()").getall()).split())


class Scope:
    """Which page links a crawl follows (files of the start URL's site are always fetched).

    Patterns are searched in the link's path and query, never its host (``bach`` must not match every
    page of jsbach.net): a page is followed when one of ``follow`` matches or it lies below a start URL
    that is a folder (``/midi/`` lists what is under it, and so does ``/midi/index.html``:
    :func:`start_folder`), and never when one of ``deny`` matches.
    Scrapy's LinkExtractor matches its allow and deny patterns against the whole URL, host included.
    """

    def __init__(self, follow: list[str], deny: list[str]):
        self.follow = [re.compile(p, re.IGNORECASE) for p in follow]
        self.deny = [re.compile(p, re.IGNORECASE) for p in deny]

    def follows(self, url: str, start_url: str) -> bool:
        parts, folder = urlsplit(url), start_folder(start_url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        if any(p.search(target) for p in self.deny):
            return False
        below = folder is not None and parts.path.startswith(folder)
        return below or any(p.search(target) for p in self.follow)


def start_folder(start_url: str) -> str | None:
    """The folder a start URL stands for (its path ending in ``/``), or None when it is one page among others.

    A folder (``/midi/``) stands for itself, and so does its index page (``/midi/index.html``,
    ``index.php``, ``default.asp``: a name of :data:`INDEX_PAGES` with a page's extension, not a file's),
    which is how many archives name the folder's listing. A named page (``/bach.htm``,
    ``/musique/Bach.html``) is one page in a folder of other composers' pages, and a query
    (``index.php?page=Bach``) picks what the page lists: both leave the scope to ``follow``.
    """
    parts = urlsplit(start_url)
    if parts.path.endswith("/"):
        return parts.path
    folder, _, name = parts.path.rpartition("/")
    stem, dot, extension = name.rpartition(".")
    if parts.query or not dot or not stem or f".{extension}".lower() in FILE_SUFFIXES:
        return None
    return folder + "/" if stem.lower() in INDEX_PAGES else None


class BachSpider(scrapy.Spider):
    name = "bach"

    def __init__(self, store: Store, tally: Tally, options: CrawlOptions, starts: list[str], **kwargs):
        super().__init__(**kwargs)
        self.store = store
        self.tally = tally
        self.options = options
        self.starts = starts  # the start URLs whose hosts answered
        self.scope = Scope(options.follow, options.deny)

    @property
    def pages(self) -> int:
        return sum(site.pages for site in self.tally.sites.values())

    async def start(self):
        for url in self.starts:
            yield Request(url, callback=self.parse, errback=self.failed, dont_filter=True,
                          meta={"origin": url, "start": True})

    def parse(self, response: Response):
        if not isinstance(response, TextResponse):  # a page link that served a file (a redirect to a MIDI file)
            yield from self.parse_file(response)
            return
        origin, depth = response.meta["origin"], response.meta.get("depth", 0)
        site = site_of(origin)
        self.tally[origin].pages += 1
        title = _text(response.xpath("//title"))
        rows: dict[str, list[str]] = {}  # the file links of each table row, in order, by the row's path in the page
        files = pages = 0
        for a in response.xpath("//a[@href]"):
            url = urldefrag(response.urljoin(a.attrib["href"].strip()))[0]
            if urlsplit(url).scheme not in ("http", "https"):
                continue
            if not same_site(url, site):
                self.tally.skip(origin, "off-site link")
                continue
            link_text = " ".join([_text(a), a.attrib.get("title", "")]).strip()
            if is_file_link(url):
                if self.store.known(url):
                    self.tally.skip(origin, "already have")
                    continue
                row = a.xpath("ancestor::tr[1] | ancestor::li[1]")
                row = row[-1] if row else None
                position = None
                if row is not None:
                    links = rows.setdefault(row.root.getroottree().getpath(row.root), [
                        u for u in (urldefrag(response.urljoin(h.strip()))[0] for h in row.xpath(".//a/@href").getall())
                        if is_file_link(u)])
                    position = (links.index(url), len(links)) if url in links else None
                heading = a.xpath(HEADING)
                files += 1
                yield Request(url, callback=self.parse_file, errback=self.failed, meta={
                    "origin": origin, "link_text": link_text, "row_text": _text(row) if row is not None else "",
                    "heading": _text(heading) if heading else title, "position": position})
            elif depth < self.options.depth and self.scope.follows(url, origin):
                pages += 1
                yield Request(url, callback=self.parse, errback=self.failed, meta={"origin": origin})
        log.info("page %d (depth %d) %s: %d file links, %d pages to follow", self.pages, depth, response.url, files, pages)

    def parse_file(self, response: Response):
        meta = response.meta
        yield Download(
            site=site_of(meta["origin"]), origin=meta["origin"], url=meta.get("redirect_urls", [response.url])[0],
            final_url=response.url, body=response.body, link_text=meta.get("link_text", ""),
            row_text=meta.get("row_text", ""), heading=meta.get("heading", ""),
            position=tuple(meta["position"]) if meta.get("position") else None)

    def failed(self, failure):
        request = failure.request
        url, origin = request.url, request.meta["origin"]
        outcome = START_FAILED
        if failure.check(HttpError):
            category, reason = "HTTP error", f"HTTP status {failure.value.response.status}"
        elif failure.check(IgnoreRequest):
            category, reason, outcome = "forbidden by robots.txt", "forbidden by the site's robots.txt", ROBOTS
        elif failure.check(*NETWORK_ERRORS):
            category, reason = "network error", f"unreachable ({failure.getErrorMessage() or type(failure.value).__name__})"
            outcome = UNREACHABLE
        elif failure.check(DownloadCancelledError, CancelledError):
            category, reason = "too large", f"larger than the limit of {self.options.max_file_mb:g} MB"
        else:
            category, reason = "download failed", f"download failed ({type(failure.value).__name__}: {failure.getErrorMessage()})"
        if request.meta.get("start"):  # the start URL's outcome says it all
            self.tally[origin].fail(outcome, reason)
            log.warning("start URL %s: %s", url, reason)
        elif is_file_link(url):
            self.store.skip(category, origin, url, reason)
        else:
            self.tally.skip(origin, category)
            self.tally[origin].errors.append(f"{url}: {reason}")
            log.warning("page %s: %s", url, reason)
