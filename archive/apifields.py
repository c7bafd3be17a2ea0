"""Article fields read from a site's own API JSON, which is more exact than the page that shows them.

On a single-page portal the article's title, date and text arrive as JSON, and
the page only shows them; a date in JSON is ISO 8601 where the page spells it
with a month name. A rule names the API answer and where the fields are::

    {"api": r"/api/v1/public/content-manager/news/\\d+",  # searched in the JSON answer's URL
     "title": "title", "published": "publishDate",       # dotted paths into the JSON
     "text": "content", "language": "lang"}              # text may be HTML

Browser mode applies the rules while it crawls (crawler.render.api) and writes
them into the warcinfo of its WARC files, so ``newsarchive reindex`` applies the
same rules to the same archived JSON: both go through :func:`apply_api_fields`.
"""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import datetime

import lxml.html

from archive.dates import parse_date

FIELDS = ("title", "published", "text", "language")
WHY = "article fields from the site's API JSON"
WARCINFO_FIELD = "newsarchive-render-api-articles"  # the rules, as JSON, in a browser crawl's warcinfo
SOURCE_HEADER = "X-Newsarchive-Api-Record"  # on a rendered DOM: the JSON record whose fields the crawl took


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

    def as_dict(self) -> dict:
        return {"api": self.api.pattern, **self.paths}

    def fields(self, data) -> dict[str, str]:
        found = {}
        for name, path in self.paths.items():
            value = data
            for key in path.split("."):
                value = value.get(key) if isinstance(value, dict) else None
            if isinstance(value, (str, int, float)) and str(value).strip():
                found[name] = str(value).strip()
        return found


def rules_from_json(text: str | list) -> list[ApiRule]:
    """Rules from the setting's JSON (or its already parsed list)."""
    rules = json.loads(text) if isinstance(text, str) else text
    return [ApiRule.from_dict(rule) for rule in rules or []]


def rules_to_json(rules: list[ApiRule]) -> str:
    """One line of JSON, as a warcinfo field must be."""
    return json.dumps([rule.as_dict() for rule in rules], ensure_ascii=False)


def rule_for(rules: list[ApiRule], api_url: str) -> ApiRule | None:
    """The first rule whose ``api`` pattern is found in the JSON answer's URL."""
    return next((rule for rule in rules if rule.api.search(api_url)), None)


def api_fields(rules: list[ApiRule], api_url: str, body: bytes) -> dict[str, str] | None:
    """The article fields one JSON answer carries under ``rules``, or None (no rule, not JSON, no field)."""
    rule = rule_for(rules, api_url)
    if rule is None:
        return None
    try:
        return rule.fields(json.loads(body)) or None
    except ValueError:
        return None


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


def apply_api_fields(article, fields: dict[str, str], timezone: str):
    """``article`` (archive.extract.Article) with the API's fields in place of the extracted ones.

    The page is an article because its API answer is one, whatever the extraction judged.
    """
    changes = {"is_article": True, "why": WHY}
    if "title" in fields:
        changes["title"] = fields["title"]
    if "published" in fields:
        changes["published"] = iso_published(fields["published"], timezone) or article.published
    if "text" in fields:
        changes["text"] = html_text(fields["text"])
    if "language" in fields:
        changes["language"] = fields["language"]
    return dataclasses.replace(article, **changes)
