"""What a page says about itself: canonical URL, headings, declared type and language.

Read from the parsed tree *before* chrome removal, because the evidence
lives in ``<head>``, JSON-LD scripts and page headers that the cleaning drops.

Title rule: the article's own main heading wins (an ``<h1>`` inside
``<article>``/``<main>``/``articleBody``, or the page's only ``<h1>`` outside
header/nav/footer that is not the site logo), because ``<title>`` carries a
" | Site name" suffix and og:title is sometimes a shortened social text.
The heading must share a word with ``<title>`` or og:title (when the page
has them), which rejects a widget's "Log in" ``<h1>``.

Kickers (the small line over a headline: "Premier League", "Kenia") are
handled by what the publisher declares as the headline (JSON-LD
``headline``, else og:title): a kicker marked up inside the ``<h1>``
(``class="…overline|topline|kicker…"``) is not part of the heading; when the
declared headline is the heading *with* a "Kicker: " in front, the publisher
made it part of the title and we keep it; when the heading is the declared
headline with a kicker in front, the declared headline wins.

Without a heading: the JSON-LD headline (an article's own, without site
suffix), then og:title, then trafilatura's title, then ``<title>`` with the
site suffix cut off. Soft hyphens go, whitespace is collapsed, HTML entities
left escaped inside JSON-LD are decoded.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator, Mapping
from urllib.parse import urljoin

from lxml.html import HtmlElement

from archive.charset import header_value

_SOFT_HYPHEN = "\u00ad"
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))
_WORDS = re.compile(r"\w+")
_TITLE_SEPARATORS = re.compile(r"\s+(?:\||—|–|-|::|»|«|·|/)\s+")
_CONTENT_HINT = re.compile(r"(^|[\s_-])(content|article|post|news|entry|material|story|single)", re.I)
_LOGO_HINT = re.compile(r"(?:^|[\s_-])(?:logo|brand|site-?name|site-?title)(?:$|[\s_-])", re.I)
# Parts of an <h1> that are not the headline: the kicker over it, screen-reader-only separators.
_NOT_HEADLINE_PART = re.compile(
    r"overline|topline|kicker|dachzeile|eyebrow|roofline|supertitle|offscreen|visually-?hidden|sr-only|separator",
    re.I,
)
_KICKER_MAX_CHARS = 60
ARTICLE_TYPES = frozenset(
    {"article", "newsarticle", "reportagenewsarticle", "blogposting", "analysisnewsarticle",
     "opinionnewsarticle", "backgroundnewsarticle", "report", "scholarlyarticle", "liveblogposting"}
)


def clean_inline(text: str | None) -> str | None:
    """Collapse whitespace and drop soft hyphens and zero-width characters."""
    if text is None:
        return None
    text = " ".join(text.translate(_INVISIBLE).split())
    return text or None


def meta_content(tree: HtmlElement, *keys: str) -> str | None:
    """The first non-empty ``<meta name|property=key content>`` among ``keys``."""
    for key in keys:
        for element in tree.xpath(
            "//meta[translate(@property,'ABCDEFGHIJKLMNOPQRSTUVWXYZ','abcdefghijklmnopqrstuvwxyz')=$k"
            " or translate(@name,'ABCDEFGHIJKLMNOPQRSTUVWXYZ','abcdefghijklmnopqrstuvwxyz')=$k]",
            k=key,
        ):
            value = clean_inline(element.get("content"))
            if value:
                return value
    return None


def canonical_url(tree: HtmlElement, url: str | None) -> str | None:
    """``<link rel=canonical>`` resolved against ``url``, else None.

    og:url is not used: CMSs often fill it with the home page, and the crawl
    would then refuse to catalogue the article under its own address.
    """
    for link in tree.xpath("//link[@href]"):
        if "canonical" in (link.get("rel") or "").lower().split():
            href = link.get("href").strip()
            if href:
                return urljoin(url or "", href) if url else href
    return None


def declared_language(tree: HtmlElement, headers: Mapping[str, str] | None = None) -> str | None:
    """The language the page claims: ``<html lang>``, og:locale, Content-Language."""
    root = tree.getroottree().getroot()
    for value in (root.get("lang"), root.get("xml:lang"), meta_content(tree, "og:locale", "content-language")):
        if value and value.strip():
            return value.strip()
    value = header_value(headers, "content-language")
    return value.split(",")[0].strip() if value else None


def json_ld_objects(tree: HtmlElement) -> list[dict]:
    """Every JSON-LD object on the page, ``@graph`` members flattened."""
    objects: list[dict] = []
    for script in tree.xpath('//script[contains(translate(@type,"LDJSON","ldjson"),"ld+json")]'):
        try:
            data = json.loads(script.text or "")
        except (ValueError, RecursionError):
            continue
        objects.extend(_flatten(data))
    return objects


def _flatten(data) -> Iterator[dict]:
    if isinstance(data, list):
        for item in data:
            yield from _flatten(item)
    elif isinstance(data, dict):
        yield data
        if "@graph" in data:
            yield from _flatten(data["@graph"])


def schema_types(objects: list[dict]) -> set[str]:
    """Lower-cased schema.org ``@type`` names of the JSON-LD objects."""
    types: set[str] = set()
    for obj in objects:
        value = obj.get("@type")
        for name in value if isinstance(value, list) else [value]:
            if isinstance(name, str):
                types.add(name.rsplit("/", 1)[-1].lower())
    return types


def main_heading(tree: HtmlElement) -> HtmlElement | None:
    """The ``<h1>`` that titles the article, or None when there is no clear one."""
    candidates = []
    for h1 in tree.iter("h1"):
        text = clean_inline(h1.text_content())
        if not text or _looks_like_logo(h1):
            continue
        in_content = _in_content_area(h1)
        if in_content:
            return h1
        if not any(a.tag in ("header", "nav", "footer", "aside") for a in h1.iterancestors()):
            candidates.append(h1)
    return candidates[0] if len(candidates) == 1 else None


def _in_content_area(element: HtmlElement) -> bool:
    for ancestor in element.iterancestors():
        if ancestor.tag in ("article", "main") or ancestor.get("itemprop") == "articleBody":
            return True
        if ancestor.tag in ("header", "nav", "footer", "aside"):
            continue
        names = f"{ancestor.get('class') or ''} {ancestor.get('id') or ''}"
        if _CONTENT_HINT.search(names):
            return True
    return False


def _looks_like_logo(h1: HtmlElement) -> bool:
    for element in (h1, *h1.iterancestors()):
        if element.tag in ("body", "html"):
            break  # <body class="wp-custom-logo brand-x"> says nothing about this h1
        names = f"{element.get('class') or ''} {element.get('id') or ''}"
        if _LOGO_HINT.search(names):
            return True
    link = h1.find(".//a")
    return link is not None and (link.get("href") or "").strip() in ("/", "./", "#")


def heading_text(heading: HtmlElement, *, bare: bool = False) -> str | None:
    """The text of an ``<h1>``; with ``bare``, without its marked-up kicker and hidden parts.

    ``<br>`` reads as a space, as a browser shows it.
    """
    parts: list[str] = []

    def walk(element: HtmlElement) -> None:
        if element.text:
            parts.append(element.text)
        for child in element:
            if child.tag == "br":
                parts.append(" ")
            elif isinstance(child.tag, str) and not (bare and _NOT_HEADLINE_PART.search(child.get("class") or "")):
                walk(child)
            if child.tail:
                parts.append(child.tail)

    walk(heading)
    text = clean_inline("".join(parts))
    return clean_inline(text.lstrip(":-–—|· ")) if bare and text else text


def json_ld_headline(objects: list[dict]) -> str | None:
    """The ``headline`` of the page's first article-typed JSON-LD object."""
    for obj in objects:
        names = obj.get("@type")
        names = names if isinstance(names, list) else [names]
        lowered = {n.rsplit("/", 1)[-1].lower() for n in names if isinstance(n, str)}
        if not (lowered & ARTICLE_TYPES or any(n.endswith("article") for n in lowered)):
            continue
        headline = obj.get("headline")
        if isinstance(headline, list):
            headline = next((h for h in headline if isinstance(h, str)), None)
        if isinstance(headline, str) and headline.strip():
            return clean_inline(html.unescape(headline))
    return None


def page_title(
    tree: HtmlElement,
    heading: HtmlElement | None,
    fallback: str | None = None,
    headline: str | None = None,
) -> str | None:
    """The article title by the rule in the module docstring.

    ``headline`` is the JSON-LD headline (see :func:`json_ld_headline`).
    """
    site = meta_content(tree, "og:site_name")
    og_title = meta_content(tree, "og:title", "twitter:title")
    title_element = tree.find(".//title")
    head_title = clean_inline(title_element.text_content()) if title_element is not None else None
    declared = [t for t in (headline, _without_site(og_title, site)) if t]
    if heading is not None:
        full, bare = heading_text(heading), heading_text(heading, bare=True)
        if bare and bare != site and _shares_a_word(bare, [og_title, head_title, headline]):
            folded = {t.casefold() for t in declared}
            return next((t for t in (full, bare) if t.casefold() in folded), None) or _with_declared_kicker(
                bare, declared
            )
    if headline and headline != site:
        return _without_site(headline, site)
    if og_title:
        return _without_site(og_title, site)
    if fallback:
        return clean_inline(fallback)
    return strip_site_name(head_title, site)


def _without_site(title: str | None, site: str | None) -> str | None:
    return strip_site_name(title, site) if title and site and site in title else title


def _with_declared_kicker(text: str, declared: list[str]) -> str:
    """The heading, or the publisher's declared headline when they differ only by a kicker."""
    folded = text.casefold()
    for candidate in declared:
        other = candidate.casefold()
        if other == folded:
            return text
        if "".join(other.split()) == "".join(folded.split()):
            return candidate  # same words; the publisher's spacing ("पकड़ा:</span>दो" lost a space)
        kicker = other[: -len(folded)] if other.endswith(folded) else ""
        if kicker.rstrip().endswith(":") and 0 < len(kicker) <= _KICKER_MAX_CHARS:
            return candidate  # "Kenia: " + heading: the publisher's title has the kicker
        if folded.endswith(other) and len(folded) - len(other) <= _KICKER_MAX_CHARS and len(other) > len(folded) / 2:
            return candidate  # heading = kicker + declared headline
    return text


def _shares_a_word(heading: str, titles: list[str | None]) -> bool:
    """Does the heading agree with the page's other titles (when it has any)?

    A "Log in" or "Games" ``<h1>`` of a widget shares no word with the
    article's ``<title>``; the real headline nearly always does.
    """
    titles = [t for t in titles if t]
    if not titles:
        return True
    if any(heading.casefold() in t.casefold() for t in titles):
        return True
    words = {w for w in _WORDS.findall(heading.casefold()) if len(w) > 2 or (len(w) == 2 and not w.isascii())}
    others = {w for t in titles for w in _WORDS.findall(t.casefold())}
    return bool(words & others) or not words


def strip_site_name(title: str | None, site: str | None = None) -> str | None:
    """Cut a " | Site name" part off a ``<title>``: keep the longest part."""
    if not title:
        return None
    parts = [p for p in _TITLE_SEPARATORS.split(title) if p.strip()]
    if site:
        parts = [p for p in parts if p.strip() != site] or parts
    return max(parts, key=len).strip() if parts else title


_NOT_A_NAME = re.compile(
    r"\d|дата|публикац|опубликован|просмотр|обновлен|жарияла|күні|қаралды|"
    r"\bdate\b|\bpublished\b|\bupdated\b|\bviews?\b|\bshare\b",
    re.IGNORECASE,
)


def plausible_author(author: str | None) -> str | None:
    """The author line, or None when it is a byline label rather than a name.

    trafilatura reads ``class="byline"`` as the author, and on these sites
    the byline is "Дата публикации: 24.11.2026 · Просмотров: 312".
    """
    author = clean_inline(author)
    if not author or len(author) > 100 or _NOT_A_NAME.search(author):
        return None
    return author
