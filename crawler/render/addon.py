"""The Scrapy add-on behind ``--render``: browser download handler, capturing WARC middleware, API pipeline.

An add-on edits the crawl's settings in place, so the project's middlewares
and pipelines stay as they are and only the WARC middleware is swapped for its
browser-aware subclass. Every ``NEWSARCHIVE_RENDER_*`` value below is a default
the user can override with ``-s``.
"""

from __future__ import annotations

from archive.errors import BrowserModeError

CHROMIUM = "/usr/bin/chromium"
# Debian's Chromium, never a browser downloaded at run time; quiet (no updates, sync or field trials).
CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage")
LOAD_MORE_SELECTOR = ('#load-more, .load-more, [data-load-more], button:text-matches('
                      '"^\\\\s*(Тағы|Ещё|Еще|Показать ещё|Показать еще|Load more|Show more)", "i")')
DEFAULTS = {
    "NEWSARCHIVE_RENDER_SITES": [],  # origins to render; empty: every site of the crawl
    "NEWSARCHIVE_RENDER_CHROMIUM": CHROMIUM,
    "NEWSARCHIVE_RENDER_PAGE_TIMEOUT": 30.0,  # seconds from opening a page to its last capture
    "NEWSARCHIVE_RENDER_QUIET": 0.25,  # seconds without network activity that mean "rendered"
    "NEWSARCHIVE_RENDER_LOAD_MORE": 10,  # clicks on a "load more" button per page
    "NEWSARCHIVE_RENDER_LOAD_MORE_SELECTOR": LOAD_MORE_SELECTOR,
    "NEWSARCHIVE_RENDER_CONCURRENT_PAGES": 2,  # pages open at once, over all sites
    "NEWSARCHIVE_RENDER_PAGES_PER_CONTEXT": 50,  # a fresh browser context after this many pages
    "NEWSARCHIVE_RENDER_JS_HEAP_MB": 512,  # V8 heap limit of each renderer
    "NEWSARCHIVE_RENDER_API_ARTICLES": [],  # see crawler.render.api
}


class BrowserMode:
    """Enabled by ``ADDONS = {"crawler.render.addon.BrowserMode": 0}`` (what render_overrides sets)."""

    def update_settings(self, settings) -> None:
        try:
            import scrapy_playwright  # noqa: F401
        except ImportError as exc:
            raise BrowserModeError("browser mode needs scrapy-playwright: pip install 'newsarchive[render]'") from exc
        from crawler.middlewares.warc import WarcCaptureMiddleware
        from crawler.render.api import ApiArticlePipeline
        from crawler.render.middleware import BrowserWarcCaptureMiddleware

        for name, value in DEFAULTS.items():
            settings.set(name, value, priority="addon")
        handlers = dict(settings.getdict("DOWNLOAD_HANDLERS"))
        handlers.update({"http": "crawler.render.handler.RenderDownloadHandler",
                         "https": "crawler.render.handler.RenderDownloadHandler"})
        settings.set("DOWNLOAD_HANDLERS", handlers, priority=max(settings.getpriority("DOWNLOAD_HANDLERS") or 0, 15))
        settings.replace_in_component_priority_dict("DOWNLOADER_MIDDLEWARES", WarcCaptureMiddleware,
                                                    BrowserWarcCaptureMiddleware)
        settings.set_in_component_priority_dict("ITEM_PIPELINES", ApiArticlePipeline, 500)

        timeout = settings.getfloat("NEWSARCHIVE_RENDER_PAGE_TIMEOUT")
        args = [*CHROMIUM_ARGS, f"--js-flags=--max-old-space-size={settings.getint('NEWSARCHIVE_RENDER_JS_HEAP_MB')}"]
        playwright = {
            "PLAYWRIGHT_BROWSER_TYPE": "chromium",
            "PLAYWRIGHT_LAUNCH_OPTIONS": {"executable_path": settings.get("NEWSARCHIVE_RENDER_CHROMIUM"),
                                          "headless": True, "args": args},
            "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": timeout * 1000,
            # Our own gate (the handler) bounds pages; contexts: the current one and one draining.
            "PLAYWRIGHT_MAX_CONTEXTS": 2,
            "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": settings.getint("NEWSARCHIVE_RENDER_CONCURRENT_PAGES"),
            "PLAYWRIGHT_RESTART_DISCONNECTED_BROWSER": True,
        }
        for name, value in playwright.items():
            settings.set(name, value, priority="addon")
