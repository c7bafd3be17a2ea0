"""scrapy-playwright's download handler with the limits an unattended crawl needs.

* At most ``NEWSARCHIVE_RENDER_CONCURRENT_PAGES`` pages are open at once, over
  all sites; a request waiting for its turn is not yet on the clock.
* Each page has ``NEWSARCHIVE_RENDER_PAGE_TIMEOUT`` seconds (plus a little to
  serialise the DOM); a page that overruns (a script in an endless loop, a
  request that never ends) fails with a TimeoutError, is not retried, and is
  closed; if it will not close, its browser context is closed, and if even that
  hangs the browser is closed and relaunched on the next page. A hung page never
  hangs the crawl.
* A page that crashes its renderer (the V8 heap limit, NEWSARCHIVE_RENDER_JS_HEAP_MB,
  stops a page that eats memory) is tried once more, then fails alone.
* Browser contexts (cookies, cache, memory) are replaced every
  ``NEWSARCHIVE_RENDER_PAGES_PER_CONTEXT`` pages; the old one is closed once its
  last page is done. A crashed or disconnected browser is relaunched
  (scrapy-playwright's ``PLAYWRIGHT_RESTART_DISCONNECTED_BROWSER``).
"""

from __future__ import annotations

import asyncio
import logging

from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler
from twisted.internet.error import TimeoutError as RenderTimeout

logger = logging.getLogger(__name__)

CLEANUP_SECONDS = 5.0  # for each step of closing a page that overran
CONTENT_GRACE = 5.0  # after the page deadline, to serialise the DOM and close the page
GATE_KEY = "newsarchive_render_gate"
PAGE_KEY = "newsarchive_page"  # request.meta: the page, set when it is opened


class RenderDownloadHandler(ScrapyPlaywrightDownloadHandler):
    def __init__(self, crawler):
        super().__init__(crawler)
        settings = crawler.settings
        self.page_timeout = settings.getfloat("NEWSARCHIVE_RENDER_PAGE_TIMEOUT")
        self.pages_per_context = max(1, settings.getint("NEWSARCHIVE_RENDER_PAGES_PER_CONTEXT"))
        # A page that crashed its renderer (out of memory) is tried once more, not three times.
        self.config.target_closed_max_retries = 1
        # Scrapy makes one handler per scheme (http, https): they share the page gate.
        gate = getattr(crawler, GATE_KEY, None)
        if gate is None:
            gate = asyncio.Semaphore(max(1, settings.getint("NEWSARCHIVE_RENDER_CONCURRENT_PAGES")))
            setattr(crawler, GATE_KEY, gate)
        self._gate = gate
        self._generation = 0
        self._pages_in_generation = 0

    async def download_request(self, request, spider=None):
        if not request.meta.get("playwright"):
            return await super().download_request(request)
        async with self._gate:
            request.meta["playwright_context"] = self._context_for_next_page()
            try:
                return await asyncio.wait_for(super().download_request(request),
                                              self.page_timeout + CONTENT_GRACE)
            except TimeoutError:
                self.stats.inc_value("newsarchive/render/page_timeout")
                request.meta["dont_retry"] = True  # a page that hung once hangs again
                await self._abandon(request.meta.get(PAGE_KEY))
                raise RenderTimeout(f"page did not finish rendering in {self.page_timeout:g} s") from None
            finally:
                await self._close_retired_contexts()

    def _context_for_next_page(self) -> str:
        if self._pages_in_generation >= self.pages_per_context:
            self._generation += 1
            self._pages_in_generation = 0
        self._pages_in_generation += 1
        return f"render-{self._generation}"

    async def _close_retired_contexts(self) -> None:
        current = f"render-{self._generation}"
        for name, wrapper in list(self.context_wrappers.items()):
            if name != current and not wrapper.context.pages:
                self.stats.inc_value("newsarchive/render/contexts_closed")
                try:
                    await asyncio.wait_for(wrapper.context.close(), CLEANUP_SECONDS)
                except Exception as exc:  # noqa: BLE001 -- already gone with its browser
                    logger.debug("closing context %s: %s", name, exc)

    async def _abandon(self, page) -> None:
        """Close a page that overran: the page, else its context, else the whole browser."""
        if page is None:
            return
        steps = [page.close, page.context.close]
        if hasattr(self, "browser"):
            steps.append(self.browser.close)
        for close in steps:
            try:
                await asyncio.wait_for(close(), CLEANUP_SECONDS)
                return
            except Exception as exc:  # noqa: BLE001 -- whatever failed, the next step is stronger
                logger.warning("could not close a hung page with %s: %s", close.__qualname__, exc)
        self.stats.inc_value("newsarchive/render/browser_abandoned")
