"""Articles read from a site's own API JSON, which is more exact than the rendered page.

A mapping (``NEWSARCHIVE_RENDER_API_ARTICLES``, see :mod:`archive.apifields`) names
the API answer and where the fields are. When a rendered page fetched a JSON
answer that matches, the page's catalog row takes those fields (after
extraction, which still supplies the rest). The rules go into the warcinfo of
the crawl's WARC files and the rendered DOM's conversion record names the JSON
record used, so ``newsarchive reindex`` applies the same rules to the same JSON.
"""

from __future__ import annotations

from archive.apifields import (
    ApiRule,
    api_fields,
    apply_api_fields,
    html_text,
    iso_published,
    rules_from_json,
)
from crawler.items import ArchivedPage

__all__ = ["ApiArticlePipeline", "ApiArticles", "ApiRule", "html_text", "iso_published"]


class ApiArticles:
    """API article fields seen while pages rendered, by page URL, until the page's item takes them.

    Each page's fields come with the record id of the JSON answer they were read from,
    which the page's rendered-DOM record names (:data:`archive.apifields.SOURCE_HEADER`).
    """

    def __init__(self, rules: list[ApiRule]):
        self.rules = rules
        self._by_page: dict[str, tuple[dict[str, str], str | None]] = {}

    @classmethod
    def from_settings(cls, settings) -> ApiArticles:
        # A string from the command line: -s NEWSARCHIVE_RENDER_API_ARTICLES='[{...}]'
        return cls(rules_from_json(settings.get("NEWSARCHIVE_RENDER_API_ARTICLES") or []))

    def __bool__(self) -> bool:
        return bool(self.rules)

    def seen(self, page_url: str, api_url: str, body: bytes, record_id: str | None = None) -> None:
        fields = api_fields(self.rules, api_url, body)
        if fields:
            self._by_page[page_url] = (fields, record_id)

    def alias(self, requested_url: str, final_url: str) -> None:
        if requested_url in self._by_page:
            self._by_page[final_url] = self._by_page.pop(requested_url)

    def source(self, page_url: str) -> str | None:
        """The record id of the JSON answer whose fields ``page_url`` will take."""
        found = self._by_page.get(page_url)
        return found[1] if found else None

    def take(self, page_url: str) -> dict[str, str] | None:
        found = self._by_page.pop(page_url, None)
        return found[0] if found else None


class ApiArticlePipeline:
    """After extraction: a page whose API JSON carried the article gets the JSON's fields."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.timezone = crawler.settings.get("NEWSARCHIVE_TIMEZONE")

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item):
        articles = getattr(self.crawler, "newsarchive_api_articles", None)
        if not isinstance(item, ArchivedPage) or not articles:
            return item
        fields = articles.take(item.url)
        if fields is None or item.article is None:
            return item
        item.article = apply_api_fields(item.article, fields, self.timezone)
        self.crawler.stats.inc_value("newsarchive/render/api_articles")
        return item
