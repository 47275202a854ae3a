"""The spider: listing pages of each start URL's own site, down to a depth, and the files they link."""

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
from .settings import CrawlOptions
from .store import Store, site_of

NETWORK_ERRORS = (CannotResolveHostError, DownloadConnectionRefusedError, DownloadTimeoutError, DownloadFailedError,
                  ResponseDataLossError, DNSLookupError, ConnectError, ConnectionLost, TwistedTimeout)

log = logging.getLogger(__name__)


def same_site(url: str, site: str) -> bool:
    host = site_of(url)
    return host == site or host.endswith("." + site)


def is_file_link(url: str) -> bool:
    return url_file_name(url).lower().endswith(FILE_SUFFIXES)


def _text(selector) -> str:
    return " ".join(" ".join(selector.xpath(".//text()").getall()).split())


class BachSpider(scrapy.Spider):
    name = "bach"

    def __init__(self, store: Store, options: CrawlOptions, **kwargs):
        super().__init__(**kwargs)
        self.store = store
        self.options = options
        self.follow = [re.compile(p, re.IGNORECASE) for p in options.follow]
        self.deny = [re.compile(p, re.IGNORECASE) for p in options.deny]
        self.pages = 0
        self.unreachable: dict[str, str] = {}  # start URL -> why it could not be fetched

    async def start(self):
        for url in self.options.start_urls:
            yield Request(url, callback=self.parse, errback=self.failed, dont_filter=True,
                          meta={"site": site_of(url), "start": True})

    def _wanted_page(self, url: str) -> bool:
        return any(p.search(url) for p in self.follow) and not any(p.search(url) for p in self.deny)

    def parse(self, response: Response):
        if not isinstance(response, TextResponse):  # a page link that served a file (a redirect to a MIDI file)
            yield from self.parse_file(response)
            return
        self.pages += 1
        site, depth = response.meta["site"], response.meta.get("depth", 0)
        page_text = _text(response.xpath("//title | //h1 | //h2 | //h3"))
        files = pages = 0
        rows: dict[int, list[str]] = {}  # the file links of each table row, in order
        for a in response.xpath("//a[@href]"):
            url = urldefrag(response.urljoin(a.attrib["href"].strip()))[0]
            if urlsplit(url).scheme not in ("http", "https"):
                continue
            if not same_site(url, site):
                self.store.skipped["off-site link"] += 1
                continue
            link_text = " ".join([_text(a), a.attrib.get("title", "")]).strip()
            if is_file_link(url):
                if self.store.known(url):
                    self.store.skipped["already have"] += 1
                    continue
                row = a.xpath("ancestor::tr[1] | ancestor::li[1]")
                row = row[-1] if row else None
                position = None
                if row is not None:
                    links = rows.setdefault(id(row.root), [
                        u for u in (urldefrag(response.urljoin(h.strip()))[0] for h in row.xpath(".//a/@href").getall())
                        if is_file_link(u)])
                    position = (links.index(url), len(links)) if url in links else None
                files += 1
                yield Request(url, callback=self.parse_file, errback=self.failed, meta={
                    "site": site, "link_text": link_text, "row_text": _text(row) if row is not None else "",
                    "page_text": page_text, "position": position})
            elif depth < self.options.depth and self._wanted_page(url):
                pages += 1
                yield Request(url, callback=self.parse, errback=self.failed,
                              meta={"site": site, "link_text": link_text, "page_text": page_text})
        log.info("page %d (depth %d) %s: %d file links, %d pages to follow", self.pages, depth, response.url, files, pages)

    def parse_file(self, response: Response):
        meta = response.meta
        yield Download(
            site=meta["site"], url=meta.get("redirect_urls", [response.url])[0], final_url=response.url,
            body=response.body, link_text=meta.get("link_text", ""), row_text=meta.get("row_text", ""),
            page_text=meta.get("page_text", ""), position=tuple(meta["position"]) if meta.get("position") else None)

    def failed(self, failure):
        request = failure.request
        url = request.url
        if failure.check(HttpError):
            category, reason = "HTTP error", f"HTTP status {failure.value.response.status}"
        elif failure.check(IgnoreRequest):
            category, reason = "forbidden by robots.txt", "forbidden by the site's robots.txt"
        elif failure.check(*NETWORK_ERRORS):
            category, reason = "network error", f"unreachable ({failure.getErrorMessage() or type(failure.value).__name__})"
        elif failure.check(DownloadCancelledError, CancelledError):
            category, reason = "too large", f"larger than the limit of {self.options.max_file_mb:g} MB"
        else:
            category, reason = "download failed", f"download failed ({type(failure.value).__name__}: {failure.getErrorMessage()})"
        if request.meta.get("start") and category != "forbidden by robots.txt":
            self.unreachable[url] = reason
        self.store.skip(category, request.meta["site"], url if is_file_link(url) else None, reason)
        if not is_file_link(url):
            log.warning("page %s: %s", url, reason)
