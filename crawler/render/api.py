"""Articles read from a site's own API JSON, which is more exact than the rendered page.

On a single-page portal the article's title, date and text arrive as JSON, and
the page only shows them; a date in JSON is ISO 8601 where the page spells it
with a month name. A mapping names the API request and where the fields are::

    NEWSARCHIVE_RENDER_API_ARTICLES = [{
        "api": r"/api/v1/public/content-manager/news/\\d+",  # searched in the JSON response's URL
        "title": "title", "published": "publishDate",      # dotted paths into the JSON
        "text": "content", "language": "lang",             # text may be HTML
    }]

When a rendered page fetched a JSON answer that matches, the page's catalog
row takes those fields (after extraction, which still supplies the rest).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from datetime import datetime

import lxml.html

from archive.dates import parse_date
from crawler.items import ArchivedPage

logger = logging.getLogger(__name__)

FIELDS = ("title", "published", "text", "language")
WHY = "article fields from the site's API JSON"


@dataclasses.dataclass(frozen=True)
class ApiRule:
    api: re.Pattern
    paths: dict[str, str]

    @classmethod
    def from_dict(cls, rule: dict) -> ApiRule:
        unknown = set(rule) - {"api", *FIELDS}
        if "api" not in rule or unknown:
            raise ValueError(f"an API article rule needs 'api' and only {FIELDS}; got {sorted(rule)}")
        return cls(re.compile(rule["api"]), {name: rule[name] for name in FIELDS if rule.get(name)})

    def fields(self, data) -> dict[str, str]:
        found = {}
        for name, path in self.paths.items():
            value = data
            for key in path.split("."):
                value = value.get(key) if isinstance(value, dict) else None
            if isinstance(value, (str, int, float)) and str(value).strip():
                found[name] = str(value).strip()
        return found


def html_text(markup: str) -> str:
    """Plain text of an HTML fragment, one paragraph per block."""
    if "<" not in markup:
        return markup.strip()
    blocks = []
    for fragment in lxml.html.fragments_fromstring(markup):
        if isinstance(fragment, str):
            blocks.append(fragment.strip())
        else:
            blocks.append(" ".join(fragment.text_content().split()))
    return "\n\n".join(block for block in blocks if block)


def iso_published(value: str, timezone: str) -> str | None:
    """ISO 8601 as the catalog keeps dates; a non-ISO value is read like a page's date."""
    try:
        return datetime.fromisoformat(value).isoformat()
    except ValueError:
        parsed = parse_date(value, timezone)
        return parsed.isoformat() if parsed else None


class ApiArticles:
    """API article fields seen while pages rendered, by page URL, until the page's item takes them."""

    def __init__(self, rules: list[ApiRule]):
        self.rules = rules
        self._by_page: dict[str, dict[str, str]] = {}

    @classmethod
    def from_settings(cls, settings) -> ApiArticles:
        rules = settings.get("NEWSARCHIVE_RENDER_API_ARTICLES") or []
        if isinstance(rules, str):  # from the command line: -s NEWSARCHIVE_RENDER_API_ARTICLES='[{...}]'
            rules = json.loads(rules)
        return cls([ApiRule.from_dict(rule) for rule in rules])

    def __bool__(self) -> bool:
        return bool(self.rules)

    def seen(self, page_url: str, api_url: str, body: bytes) -> None:
        for rule in self.rules:
            if rule.api.search(api_url):
                try:
                    fields = rule.fields(json.loads(body))
                except ValueError:
                    logger.debug("API answer %s is not JSON", api_url)
                    return
                if fields:
                    self._by_page[page_url] = fields
                return

    def alias(self, requested_url: str, final_url: str) -> None:
        if requested_url in self._by_page:
            self._by_page[final_url] = self._by_page.pop(requested_url)

    def take(self, page_url: str) -> dict[str, str] | None:
        return self._by_page.pop(page_url, None)


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
        changes = {"is_article": True, "why": WHY}
        if "title" in fields:
            changes["title"] = fields["title"]
        if "published" in fields:
            changes["published"] = iso_published(fields["published"], self.timezone) or item.article.published
        if "text" in fields:
            changes["text"] = html_text(fields["text"])
        if "language" in fields:
            changes["language"] = fields["language"]
        item.article = dataclasses.replace(item.article, **changes)
        self.crawler.stats.inc_value("newsarchive/render/api_articles")
        return item
