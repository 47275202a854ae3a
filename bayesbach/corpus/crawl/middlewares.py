"""Retries that back off: a site answering 5xx or 429 gets time to recover before it is asked again."""

from __future__ import annotations

import asyncio

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Request

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
