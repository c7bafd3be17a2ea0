"""The baseline for benchmarks/crawl.py: Scrapy fetching and following links, nothing else.

No WARC, no extraction, no catalog: what is left is Scrapy's own cost per page
(download, decompression, link extraction, scheduling), the floor under any
Scrapy-based archiver. Scope is the start URLs' origins (scheme, host and
port: the demo sites share 127.0.0.1). Images and documents are followed too,
as newsarchive archives them.

Scrapy 2.19's downloader can start more requests on a slot than its
concurrency allows (``Downloader._process_queue`` counts a request as
transferring only once its coroutine runs, so a queued burst all goes out at
once). Against the demo portal that means fresh connections beyond the pool's
``CONCURRENT_REQUESTS_PER_DOMAIN`` and, past the server's listen backlog,
SYN retries of a second each. ``-s FETCH_ONLY_ORIGIN_GATE=True`` adds
:class:`OriginGate`, the smallest fix (a semaphore per origin, as newsarchive's
politeness middleware has), so the baseline can be measured with and without.

``-s FETCH_ONLY_LEAN=True`` measures how much of that per-page cost is
Scrapy's defaults rather than fetching: the default middlewares the crawl has
no use for are off (:data:`LEAN_OFF`), ``CONCURRENT_ITEMS`` is 4 instead of 100
(Scrapy 2.19 starts that many asyncio tasks for every response's output,
whatever it holds), and links come from one XPath and ``urljoin`` instead of
LinkExtractor. It fetches the same pages.

Run: ``scrapy runspider benchmarks/fetch_only_spider.py -a start_urls="URL URL" -a stats_file=stats.json``
from a directory without a scrapy.cfg, so no project settings are loaded.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy.http import TextResponse
from scrapy.linkextractors import LinkExtractor
from scrapy.utils.httpobj import urlparse_cached


# Default middlewares a fetch-only crawl of known origins has no use for: scope is checked in parse(),
# no auth, proxy, per-request timeouts, meta refresh, referer, URL length or depth bookkeeping.
LEAN_OFF = {
    "DOWNLOADER_MIDDLEWARES": ("scrapy.downloadermiddlewares.offsite.OffsiteMiddleware",
                               "scrapy.downloadermiddlewares.httpauth.HttpAuthMiddleware",
                               "scrapy.downloadermiddlewares.downloadtimeout.DownloadTimeoutMiddleware",
                               "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware",
                               "scrapy.downloadermiddlewares.httpproxy.HttpProxyMiddleware"),
    "SPIDER_MIDDLEWARES": ("scrapy.spidermiddlewares.referer.RefererMiddleware",
                           "scrapy.spidermiddlewares.urllength.UrlLengthMiddleware",
                           "scrapy.spidermiddlewares.depth.DepthMiddleware",
                           "scrapy.spidermiddlewares.metacopy.MetaCopyDetectionMiddleware"),
}
LEAN_CONCURRENT_ITEMS = 4
_LINKS = "//a/@href | //area/@href | //img/@src"


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


class OriginGate:
    """At most ``CONCURRENT_REQUESTS_PER_DOMAIN`` requests in the download handler per origin."""

    def __init__(self, limit: int):
        self.limit = limit
        self.semaphores: dict[str, asyncio.Semaphore] = {}

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN"))

    def _semaphore(self, request) -> asyncio.Semaphore:
        netloc = urlparse_cached(request).netloc
        return self.semaphores.setdefault(netloc, asyncio.Semaphore(self.limit))

    async def process_request(self, request):
        await self._semaphore(request).acquire()
        request.meta["fetch_only_gate"] = True

    def process_response(self, request, response):
        self._release(request)
        return response

    def process_exception(self, request, exception):
        self._release(request)

    def _release(self, request) -> None:
        if request.meta.pop("fetch_only_gate", False):
            self._semaphore(request).release()


class FetchOnlySpider(scrapy.Spider):
    name = "fetch_only"

    @classmethod
    def update_settings(cls, settings):
        super().update_settings(settings)
        if settings.getbool("FETCH_ONLY_ORIGIN_GATE"):
            # Last before the download handler, like newsarchive's gate.
            settings["DOWNLOADER_MIDDLEWARES"] = {**settings.getdict("DOWNLOADER_MIDDLEWARES"),
                                                  f"{__name__}.OriginGate": 960}
        if settings.getbool("FETCH_ONLY_LEAN"):
            for name, paths in LEAN_OFF.items():
                settings[name] = {**settings.getdict(name), **dict.fromkeys(paths)}
            settings.set("CONCURRENT_ITEMS", LEAN_CONCURRENT_ITEMS, priority="spider")

    def __init__(self, start_urls: str = "", stats_file: str = "", **kwargs):
        super().__init__(**kwargs)
        self.start_urls = start_urls.split()
        self.scope = {_origin(url) for url in self.start_urls}
        self.stats_file = stats_file
        self.links = LinkExtractor(tags=("a", "area", "img"), attrs=("href", "src"), deny_extensions=())

    def parse(self, response):
        if not isinstance(response, TextResponse):
            return
        if self.settings.getbool("FETCH_ONLY_LEAN"):
            yield from self._lean_links(response)
            return
        for link in self.links.extract_links(response):
            if _origin(link.url) in self.scope:
                yield response.follow(link, callback=self.parse)

    def _lean_links(self, response):
        """The in-scope links of a page, without LinkExtractor's per-link work (no <base href> either)."""
        for href in response.xpath(_LINKS).getall():
            url = urljoin(response.url, href.strip()).partition("#")[0]
            if _origin(url) in self.scope:
                yield scrapy.Request(url, callback=self.parse)

    def closed(self, reason):
        """Leave the counters where the benchmark can read them, not in a log to be parsed."""
        if self.stats_file:
            stats = {key: value for key, value in self.crawler.stats.get_stats().items()
                     if isinstance(value, (int, float, str))}
            with open(self.stats_file, "w") as out:
                json.dump({"finish_reason": reason, **stats}, out, indent=1, sort_keys=True)
