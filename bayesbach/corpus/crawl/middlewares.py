"""Downloader middlewares: retries that back off (a site answering 5xx or 429 gets time to recover before it
is asked again), and robots.txt obeyed by every request, the first ones of a site included."""

from __future__ import annotations

import asyncio

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.http import Request
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

MAX_BACKOFF_S = 120.0


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retries, with a pause of ``BACKOFF_SECONDS * 2**(attempt-1)`` before each (or the
    server's ``Retry-After``, when it names a number of seconds)."""

    def __init__(self, settings):
        super().__init__(settings)
        self.backoff = settings.getfloat("BACKOFF_SECONDS", 0.0)

    async def _pause(self, retry: Request | None, retry_after: bytes | None = None) -> None:
        if retry is None or self.backoff <= 0:
            return
        delay = self.backoff * 2 ** (retry.meta.get("retry_times", 1) - 1)
        if retry_after and retry_after.strip().isdigit():
            delay = max(delay, float(retry_after))
        await asyncio.sleep(min(delay, MAX_BACKOFF_S))

    async def process_response(self, request, response):
        result = super().process_response(request, response)
        if isinstance(result, Request):
            await self._pause(result, response.headers.get(b"Retry-After"))
        return result

    async def process_exception(self, request, exception):
        result = super().process_exception(request, exception)
        if isinstance(result, Request):
            await self._pause(result)
        return result


class RobotsTxtForAll(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, with each request that waits for a site's robots.txt given the rules.

    Scrapy 2.19 has every such request await the one Deferred of the fetch; the first gets the rules and
    hands None on to the others, which then go out unchecked (several start URLs on one host, such as
    suzumidi.com's six, would all be fetched though robots.txt forbids them). Each waiter here gets a
    Deferred of its own, as Scrapy's middleware did before it became a coroutine (scrapy/scrapy#6802).
    tests/corpus/test_crawl.py has a start URL that robots.txt forbids beside others on its host.
    """

    async def robot_parser(self, request: Request):
        pending = self._parsers.get(urlparse_cached(request).netloc)
        if not isinstance(pending, Deferred):
            return await super().robot_parser(request)
        mine: Deferred = Deferred()

        def relay(rules):
            mine.callback(rules)
            return rules  # for the next waiter

        pending.addCallback(relay)
        return await maybe_deferred_to_future(mine)
