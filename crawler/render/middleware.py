"""The WARC middleware of browser mode: sends pages to Chromium and archives what the browser fetched.

It replaces :class:`crawler.middlewares.warc.WarcCaptureMiddleware` at the same
priority (the add-on swaps them) and behaves exactly like it for every request
it does not render (robots.txt, sitemaps, feeds, attachments, other sites).

For a rendered page it asks scrapy-playwright to open the page, follows the
page's network traffic (:class:`crawler.render.capture.PageCapture`) and writes
each exchange as it completes, with the same writer, dedup and
``capture_archived`` signal as a plain fetch. The response Scrapy then gets
holds the rendered DOM: it is not what the server sent, so it is written only
as a ``conversion`` record referring to the document's response record, and
``warc_capture`` points at that response record, so the catalog row of the
article names the capture a replay tool shows for the URL.
"""

from __future__ import annotations

import asyncio
import logging
from importlib.metadata import version
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest
from scrapy.http import Headers, Request
from scrapy.responsetypes import responsetypes
from scrapy_playwright.page import PageMethod

from archive import apifields
from archive.errors import WarcWriteError
from archive.urls import origin
from archive.warc import Capture, HttpExchange
from crawler import signals as archive_signals
from crawler.incremental import VALIDATORS_META
from crawler.middlewares.warc import WarcCaptureMiddleware
from crawler.render.api import ApiArticles
from crawler.render.capture import CAPTURE_HEADER, PageCapture, settle
from crawler.render.guard import AddressGuard
from crawler.render.handler import PAGE_KEY

logger = logging.getLogger(__name__)

RENDERED_KINDS = frozenset({"seed", "page", "canonical", "recheck"})  # newsarchive_kind of HTML page requests
_CONDITIONAL_HEADERS = (b"If-None-Match", b"If-Modified-Since")
CAPTURE_KEY = "newsarchive_page_capture"


class BrowserWarcCaptureMiddleware(WarcCaptureMiddleware):
    @classmethod
    def from_crawler(cls, crawler):
        middleware = super().from_crawler(crawler)
        settings = crawler.settings
        middleware.writer.warcinfo["newsarchive-capture"] = (
            "HTML pages of the render sites are loaded in Chromium: their records carry "
            f"{CAPTURE_HEADER}: browser, a decoded body, the browser's header list and an assumed HTTP/1.1; "
            "the rendered DOM is a conversion record. Other records are plain HTTP fetches.")
        middleware.render_sites = {origin(site) for site in settings.getlist("NEWSARCHIVE_RENDER_SITES")}
        middleware.page_timeout = settings.getfloat("NEWSARCHIVE_RENDER_PAGE_TIMEOUT")
        middleware.quiet = settings.getfloat("NEWSARCHIVE_RENDER_QUIET")
        middleware.load_more = settings.getint("NEWSARCHIVE_RENDER_LOAD_MORE")
        middleware.load_more_selector = settings.get("NEWSARCHIVE_RENDER_LOAD_MORE_SELECTOR")
        middleware.api_articles = ApiArticles.from_settings(settings)
        if middleware.api_articles:  # so that `newsarchive reindex` maps the archived JSON as this crawl did
            middleware.writer.warcinfo[apifields.WARCINFO_FIELD] = apifields.rules_to_json(middleware.api_articles.rules)
        crawler.newsarchive_api_articles = middleware.api_articles  # read by ApiArticlePipeline
        middleware.capture_method = f"browser; chromium; playwright/{version('playwright')}"
        middleware.browser_archived = set()  # URLs of full responses the browser archived
        middleware.guard = None
        if not settings.getbool("NEWSARCHIVE_ALLOW_PRIVATE"):
            seeds = getattr(crawler.spider, "start_urls", None) or []
            middleware.guard = AddressGuard({urlsplit(url).hostname or "" for url in seeds}, crawler.stats)
        return middleware

    # -- requests ------------------------------------------------------------

    def wants_browser(self, request) -> bool:
        if request.meta.get("newsarchive_kind") not in RENDERED_KINDS or request.meta.get("playwright") is False:
            return False
        return not self.render_sites or origin(request.url) in self.render_sites

    def process_request(self, request):
        if request.meta.get("newsarchive_kind") == "attachment" and request.url in self.browser_archived:
            # An image of a rendered page: the browser fetched and archived it already.
            self.stats.inc_value("newsarchive/render/already_archived")
            raise IgnoreRequest(f"archived by the browser: {request.url}")
        if not self.wants_browser(request):
            return
        # Always a full fetch: a browser given a 304 has no page to render, and an unchanged
        # shell says nothing about the API data the page shows.
        if request.meta.pop(VALIDATORS_META, None) is not None:
            self.stats.inc_value("newsarchive/render/unconditional")
        for name in _CONDITIONAL_HEADERS:
            request.headers.pop(name, None)
        request.meta["playwright"] = True
        request.meta["playwright_page_init_callback"] = self._page_opened
        request.meta["playwright_context_kwargs"] = {"service_workers": "block", "accept_downloads": True}
        request.meta["playwright_page_goto_kwargs"] = {"wait_until": "load"}
        request.meta["playwright_page_methods"] = [PageMethod(self._settle, request)]
        self.stats.inc_value("newsarchive/render/pages")
        return

    async def _page_opened(self, page, request) -> None:
        request.meta[PAGE_KEY] = page
        if self.guard is not None:
            await page.route("**", self.guard.route)  # before scrapy-playwright's route, which it falls back to
        loop = asyncio.get_running_loop()
        request.meta["newsarchive_render_deadline"] = loop.time() + self.page_timeout
        page_url = request.url

        def archive(exchange, notes, resource_type):
            return self.archive_browser_exchange(exchange, notes, resource_type)

        def on_json(url, body, record_id):
            self.api_articles.seen(page_url, url, body, record_id)

        request.meta[CAPTURE_KEY] = PageCapture(page, archive, on_json if self.api_articles else None)

    async def _settle(self, page, request) -> None:
        await settle(page, request.meta[CAPTURE_KEY], quiet=self.quiet,
                     deadline=request.meta["newsarchive_render_deadline"], load_more=self.load_more,
                     selector=self.load_more_selector)

    # -- archiving -----------------------------------------------------------

    def archive_browser_exchange(self, exchange: HttpExchange, notes: list, resource_type: str) -> Capture | None:
        """Write one exchange the browser made, as the plain crawl writes a fetch (dedup, stats, signal)."""
        if self.write_error is not None:
            return None
        try:
            capture = self.writer.write_exchange(exchange, self._earlier_capture(exchange),
                                                 warc_headers=[(CAPTURE_HEADER, self.capture_method), *notes])
        except WarcWriteError as exc:
            self._stop_after_write_error(exc)
            return None
        if self.dedup is not None:
            self.dedup.remember(capture)
        if exchange.status == 200 and not exchange.truncated:
            self.browser_archived.add(exchange.url)
        self.stats.inc_value(f"warc/{capture.record_type}")
        self.stats.inc_value(f"newsarchive/render/archived/{resource_type}")
        self.stats.set_value("warc/bytes", self.writer.bytes_written)
        request = Request(exchange.url, method=exchange.method, headers=exchange.request_headers,
                          meta={"newsarchive_kind": "browser"})
        headers = Headers(exchange.response_headers)
        response = responsetypes.from_args(headers=headers, url=exchange.url, body=exchange.body)(
            url=exchange.url, status=exchange.status, headers=headers, body=exchange.body, request=request,
            flags=["browser"])
        self.crawler.signals.send_catch_log(archive_signals.capture_archived, capture=capture, request=request,
                                            response=response)
        return capture

    def _stop_after_write_error(self, exc: WarcWriteError) -> None:
        from scrapy.utils.defer import deferred_from_coro

        self.write_error = exc
        logger.error("%s; stopping the crawl", exc)
        self.stats.set_value("newsarchive/stop_message", str(exc))
        deferred_from_coro(self.crawler.engine.close_spider_async(reason="warc_write_error"))

    def process_response(self, request, response):
        if "playwright" not in response.flags:
            return super().process_response(request, response)
        page_capture: PageCapture | None = request.meta.get(CAPTURE_KEY)
        document = page_capture.document if page_capture else None
        if document is None:
            # A download the browser took over (a PDF behind a page link), or a page whose
            # document exchange could not be read: the bytes Scrapy got are the best record.
            self.stats.inc_value("newsarchive/render/no_document")
            return super().process_response(request, response)
        self.stats.inc_value("newsarchive/render/clicks", page_capture.clicks)
        if self.api_articles and response.url != request.url:
            self.api_articles.alias(request.url, response.url)
        if self.write_error is None:
            headers = [("WARC-Refers-To", document.record_id), (CAPTURE_HEADER, f"{self.capture_method}; rendered DOM")]
            api_record = self.api_articles.source(response.url) if self.api_articles else None
            if api_record is not None:
                headers.append((apifields.SOURCE_HEADER, api_record))
            try:
                self.writer.write_record(response.url, "conversion", response.body,
                                         content_type=f"text/html; charset={response.encoding}", warc_headers=headers)
                self.stats.inc_value("warc/conversion")
            except WarcWriteError as exc:
                self._stop_after_write_error(exc)
        request.meta["warc_capture"] = document
        return response
