"""Browser mode: crawl news portals that build their pages with JavaScript.

A regional portal built as a single-page application serves an HTML shell with
no news in it; its script fetches the articles as JSON from an API, with tokens
only the script knows how to compute. Browser mode loads such pages in Debian's
Chromium through scrapy-playwright, lets the script run (and presses "load
more" a bounded number of times), then:

* every network exchange the page made (document, scripts, styles, images,
  XHR/fetch JSON) is written to the WARC as a request/response pair and
  catalogued as a capture, marked ``X-Newsarchive-Capture: browser`` because a
  browser hands over less than the wire carried (see :mod:`crawler.render.capture`);
* the rendered DOM is never written as if the server had sent it: it goes into
  a ``conversion`` record that refers to the document's response record, and on
  to link discovery and extraction;
* where a site's API JSON carries the article, a mapping
  (``NEWSARCHIVE_RENDER_API_ARTICLES``) takes title, date and text from it.

Turn it on with :func:`render_overrides` (the CLI's ``--render``); a plain crawl
never imports this package, so it runs exactly as before.
"""

from __future__ import annotations

ADDON = "crawler.render.addon.BrowserMode"


def render_overrides(settings=None, *, sites: list[str] | None = None, page_timeout: float | None = None,
                     load_more: int | None = None, pages_per_context: int | None = None,
                     concurrent_pages: int | None = None, chromium: str | None = None) -> dict:
    """Settings that make a crawl render pages in Chromium; merge them into the crawl's overrides.

    ``settings`` are the settings the crawl starts from (default: the project's),
    read only to keep any add-ons they already enable. ``sites`` limits
    rendering to those origins (``https://example.kz``); the other sites of the
    crawl are fetched plainly. Unset arguments keep the add-on's defaults
    (:data:`crawler.render.addon.DEFAULTS`).
    """
    if settings is None:
        from crawler.runner import project_settings

        settings = project_settings()
    addons = dict(settings.getdict("ADDONS"))
    addons[ADDON] = 0
    overrides: dict = {"ADDONS": addons}
    chosen = {"NEWSARCHIVE_RENDER_SITES": sites, "NEWSARCHIVE_RENDER_PAGE_TIMEOUT": page_timeout,
              "NEWSARCHIVE_RENDER_LOAD_MORE": load_more, "NEWSARCHIVE_RENDER_PAGES_PER_CONTEXT": pages_per_context,
              "NEWSARCHIVE_RENDER_CONCURRENT_PAGES": concurrent_pages, "NEWSARCHIVE_RENDER_CHROMIUM": chromium}
    overrides.update({name: value for name, value in chosen.items() if value is not None})
    return overrides
