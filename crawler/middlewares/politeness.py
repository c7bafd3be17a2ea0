"""Downloader middleware that keeps the per-host promise: N requests at a time, Crawl-delay apart.

Scrapy's own per-domain slot limit was measured letting 24 requests at once reach
one loopback host under ``CONCURRENT_REQUESTS_PER_DOMAIN = 8``; site owners are
promised a limit, so this gate enforces it where requests enter the downloader
(priority 960, nearest the download handler). The limit is
``CONCURRENT_REQUESTS_PER_DOMAIN``, counted per origin (scheme, host, port).

robots.txt ``Crawl-delay`` (read from Scrapy's ``robots_parsed`` signal) is
counted from the end of the previous request to the host, so CPU work elsewhere
in the crawl can never squeeze two requests closer than the delay.

A 429 or 503 with ``Retry-After`` (seconds or an HTTP date) holds the origin's
gate: no request reaches that origin before the time asked, capped at
``NEWSARCHIVE_MAX_RETRY_AFTER``; RetryMiddleware then retries the request.
Counted as ``retry_after/honoured`` (and ``retry_after/capped``).
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.httpobj import urlparse_cached

_GATE_KEY = "_newsarchive_host_gate"


class _HostGate:
    """Admission to one host: a semaphore, and under a Crawl-delay one request at a time."""

    def __init__(self, limit: int):
        self.semaphore = asyncio.Semaphore(limit)
        self.delay_lock = asyncio.Lock()
        self.crawl_delay = 0.0
        self.next_allowed = 0.0
        self.in_flight = 0
        self.max_in_flight = 0

    async def enter(self) -> bool:
        """Wait for a turn; returns whether the turn holds the Crawl-delay lock."""
        await self.semaphore.acquire()
        delayed = self.crawl_delay > 0
        if delayed:
            await self.delay_lock.acquire()
        while (wait := self.next_allowed - time.monotonic()) > 0:  # a Retry-After may extend it meanwhile
            await asyncio.sleep(wait)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        return delayed

    def leave(self, delayed: bool) -> None:
        self.in_flight -= 1
        if delayed:
            self.next_allowed = time.monotonic() + self.crawl_delay
            self.delay_lock.release()
        self.semaphore.release()

    def hold(self, seconds: float) -> None:
        """No request to this origin for ``seconds`` (a server's Retry-After)."""
        self.next_allowed = max(self.next_allowed, time.monotonic() + seconds)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` value asks for (delta-seconds or an HTTP date); None if unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return max(0.0, (moment - (now or datetime.now(timezone.utc))).total_seconds())


class HostPolitenessMiddleware:
    def __init__(self, crawler, limit: int, user_agent: str, max_crawl_delay: float,
                 max_retry_after: float = 120.0):
        self.crawler = crawler
        self.max_retry_after = max_retry_after
        self.limit = limit
        self.user_agent = user_agent
        self.max_crawl_delay = max_crawl_delay
        self.gates: dict[str, _HostGate] = {}

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        limit = settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN")
        if limit <= 0:
            raise NotConfigured
        middleware = cls(
            crawler,
            limit=limit,
            user_agent=settings.get("ROBOTSTXT_USER_AGENT") or settings.get("USER_AGENT"),
            max_crawl_delay=settings.getfloat("NEWSARCHIVE_MAX_CRAWL_DELAY"),
            max_retry_after=settings.getfloat("NEWSARCHIVE_MAX_RETRY_AFTER", 120.0),
        )
        crawler.signals.connect(middleware.robots_parsed, signal=signals.robots_parsed)
        return middleware

    def _gate(self, request) -> _HostGate:
        parts = urlparse_cached(request)
        origin = f"{parts.scheme}://{parts.netloc}"
        gate = self.gates.get(origin)
        if gate is None:
            gate = self.gates[origin] = _HostGate(self.limit)
        return gate

    async def process_request(self, request):
        gate = self._gate(request)
        max_before = gate.max_in_flight
        delayed = await gate.enter()
        request.meta[_GATE_KEY] = (gate, delayed)
        if gate.max_in_flight > max_before:  # a new high: the stat follows (not a stats lookup per request)
            key = f"politeness/max_in_flight/{urlparse_cached(request).netloc}"
            stats = self.crawler.stats
            if gate.max_in_flight > (stats.get_value(key) or 0):
                stats.set_value(key, gate.max_in_flight)

    def process_response(self, request, response):
        self._release(request)
        if response.status in (429, 503):
            seconds = retry_after_seconds((response.headers.get(b"Retry-After") or b"").decode("latin-1"))
            if seconds is not None:
                stats = self.crawler.stats
                stats.inc_value("retry_after/honoured")
                if seconds > self.max_retry_after:
                    stats.inc_value("retry_after/capped")
                    seconds = self.max_retry_after
                self._gate(request).hold(seconds)
        return response

    def process_exception(self, request, exception):
        self._release(request)

    def _release(self, request) -> None:
        turn = request.meta.pop(_GATE_KEY, None)
        if turn is not None:
            gate, delayed = turn
            gate.leave(delayed)

    def robots_parsed(self, robotparser, request):
        delay = None
        if hasattr(robotparser, "crawl_delay"):
            delay = robotparser.crawl_delay(self.user_agent)
        if delay:
            gate = self._gate(request)
            gate.crawl_delay = min(float(delay), self.max_crawl_delay)
            gate.next_allowed = time.monotonic() + gate.crawl_delay  # robots.txt itself was a request
            self.crawler.stats.set_value(f"politeness/crawl_delay/{urlparse_cached(request).netloc}", gate.crawl_delay)
