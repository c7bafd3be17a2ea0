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
headline with a kicker in front, the declared headline wins. A subtitle
marked up inside the ``<h1>`` (``class="…subtitle|standfirst…"``) goes too.

Agreement (:func:`agreed_title`): the heading is then checked against the
page's other titles (JSON-LD headline, og:title, a twitter:title of its own,
``<title>``), each with the site's name cut off (og:site_name or the host:
"— www.wday.ru", "- Die Neue Südtiroler Tageszeitung" on tageszeitung.it).
When more of them say one other wording than say the heading's, that
wording wins (a live ticker's newest entry in the ``<h1>``, a shortened
teaser); on a tie, or when the winner is only the heading plus a label
("… - Güncel haberler"), the heading stays.

Without a heading: the JSON-LD headline (an article's own, without site
suffix), then og:title, then trafilatura's title, then ``<title>`` with the
site suffix cut off. Soft hyphens go, whitespace is collapsed, HTML entities
left escaped inside JSON-LD are decoded.
"""

from __future__ import annotations

import functools
import html
import json
import re
import unicodedata
from collections.abc import Iterator, Mapping
from urllib.parse import urljoin, urlsplit

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
    r"overline|topline|kicker|rubric|dachzeile|eyebrow|roofline|supertitle|sub-?title|subhead|standfirst|strapline|"
    r"offscreen|visually-?hidden|sr-only|separator",
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
    """The first non-empty ``<meta name|property=key content>`` among ``keys``.

    One walk over the ``<meta>`` elements (names compared case-blind): an
    XPath ``translate()`` per key cost a millisecond a call on a large page.
    """
    found: dict[str, str] = {}
    for element in tree.iter("meta"):
        for attribute in ("property", "name"):
            name = (element.get(attribute) or "").lower()
            if name in keys and name not in found:
                value = clean_inline(element.get("content"))
                if value:
                    found[name] = value
    return next((found[key] for key in keys if key in found), None)


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
    return clean_inline(text.lstrip(":.-–—|· ")) if bare and text else text


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


def json_ld_site_names(objects: list[dict]) -> tuple[str, ...]:
    """Names the JSON-LD gives the site: an article's ``publisher``, a ``WebSite`` or ``Organization``."""
    names: list[str] = []
    for obj in objects:
        publisher = obj.get("publisher")
        for candidate in publisher if isinstance(publisher, list) else [publisher]:
            if isinstance(candidate, dict) and isinstance(candidate.get("name"), str):
                names.append(candidate["name"])
        kinds = obj.get("@type")
        kinds = kinds if isinstance(kinds, list) else [kinds]
        if {"website", "organization", "newsmediaorganization", "governmentorganization"} & {
            k.lower() for k in kinds if isinstance(k, str)
        } and isinstance(obj.get("name"), str):
            names.append(obj["name"])
    return tuple(dict.fromkeys(clean_inline(n) for n in names if clean_inline(n)))


def page_title(
    tree: HtmlElement,
    heading: HtmlElement | None,
    fallback: str | None = None,
    headline: str | None = None,
    url: str | None = None,
    declared_sites: tuple[str, ...] = (),
) -> str | None:
    """The article title by the rule in the module docstring.

    ``headline`` is the JSON-LD headline (see :func:`json_ld_headline`);
    ``url`` is the page's address and ``declared_sites`` the names JSON-LD
    gives the site (:func:`json_ld_site_names`): with og:site_name, they
    tell a " — www.example.ru" or " | Publisher" part of a title off.
    """
    site = meta_content(tree, "og:site_name")
    og_title = meta_content(tree, "og:title", "twitter:title")
    twitter_title = meta_content(tree, "twitter:title")
    title_element = tree.find(".//title")
    head_title = clean_inline(title_element.text_content()) if title_element is not None else None
    declared = [t for t in (headline, _without_site(og_title, site)) if t]
    names = site_names(site, url, declared_sites)
    if heading is not None:
        full, bare = heading_text(heading), heading_text(heading, bare=True)
        if bare and bare != site and _shares_a_word(bare, [og_title, head_title, headline]):
            folded = {t.casefold() for t in declared}
            visible = next((t for t in (full, bare) if t.casefold() in folded), None) or _with_declared_kicker(
                bare, declared
            )
            # twitter:title counts only where the publisher wrote it apart from og:title.
            twitter = twitter_title if title_key(without_site_affix(twitter_title, names)) != title_key(
                without_site_affix(og_title, names)) else None
            return agreed_title(visible, [headline, og_title, twitter, head_title], names)
    if headline and headline != site:
        return without_site_affix(_without_site(headline, site), names)
    if og_title:
        return without_site_affix(_without_site(og_title, site), names)
    if fallback:
        return clean_inline(fallback)
    return strip_site_name(head_title, site)


_QUOTE_MARKS = dict.fromkeys(map(ord, "\"'`\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u00ab\u00bb\u2039\u203a"))
_DASHES = re.compile(r"[\u2010-\u2015\u2212]")
_LABEL_SEPARATORS = "|-:/»«·"
_MIN_HOST_LABEL = 4
# A title part holding the host label is the site name only when not much longer than it.
_SITE_NAME_STRETCH = 3


@functools.lru_cache(maxsize=256)
def title_key(title: str | None) -> str:
    """A title reduced to its words for comparing two declarations of it.

    Case, quote marks, the kind of dash, spacing, a full stop at the end and
    soft hyphens are typography, not wording: og:title's "'We had some
    issues,'" and the heading's "‘We had some issues,’" are one title.
    """
    text = unicodedata.normalize("NFKC", clean_inline(title) or "").casefold()
    text = _DASHES.sub("-", text.translate(_QUOTE_MARKS))
    return " ".join(text.split()).rstrip(". ")


def site_names(site: str | None, url: str | None, declared: tuple[str, ...] = ()) -> set[str]:
    """How the site names itself in titles: og:site_name, ``declared`` names, the host and its label.

    ``declared`` are names the page gives its publisher or web site (see
    :func:`json_ld_site_names`). Keys are squeezed to letters and digits
    ("www.wday.ru" → "wwwwdayru", "Financial Post" → "financialpost"); the
    host's label is its name without "www." and the public suffix
    ("tageszeitung" of www.tageszeitung.it).
    """
    names = {_squeezed(name) for name in (site, *declared) if name}
    host = (urlsplit(url).hostname or "") if url else ""
    if host:
        names.update({_squeezed(host), _squeezed(host.removeprefix("www."))})
        labels = [label for label in host.split(".") if label != "www"]
        if len(labels) >= 2 and len(labels[-2]) >= _MIN_HOST_LABEL:
            names.add(_squeezed(labels[-2]))
    return {name for name in names if name}


def _squeezed(text: str | None) -> str:
    return re.sub(r"\W+|_", "", title_key(text))


def _is_site_name(label: str, names: set[str]) -> bool:
    """Is this part of a title the site's name ("Die Neue Südtiroler Tageszeitung" on tageszeitung.it)?"""
    squeezed = _squeezed(label)
    return bool(squeezed) and any(
        squeezed == name
        or (len(name) >= _MIN_HOST_LABEL and name in squeezed and len(squeezed) <= _SITE_NAME_STRETCH * len(name))
        for name in names
    )


def without_site_affix(title: str | None, names: set[str]) -> str | None:
    """A title without the " | Site" suffix or "Site | " prefix that the site's names give away.

    A "Name: " in front is left alone: there it is a kicker far more often than a site.
    """
    if not title or not names:
        return title
    # The last separator: "Headline - with - dashes | Site" keeps its dashes.
    suffix = re.match(r"^(.+)\s+(?:\||—|–|-{1,2}|::|»|·|/)\s+(.+?)$", title) or re.match(
        r"^(.+?)\s*(?:\||—|–|::|»|·)\s*([^|—–»·/]+)$", title)
    if suffix and _is_site_name(suffix.group(2), names):
        return suffix.group(1).strip()
    prefix = re.match(r"^([^|—–»·/:]+?)\s*(?:\||—|–|-{1,2}|::|»|·|/)\s+(.+)$", title)
    if prefix and _is_site_name(prefix.group(1), names):
        return prefix.group(2).strip()
    return title


def _suffix_label(head: str, wording: str) -> str | None:
    """The label after ``head`` in ``wording`` across a separator ("site" of "Headline | Site"), else None."""
    wanted, said = title_key(head), title_key(wording)
    if not wanted or said == wanted or not said.startswith(wanted):
        return None
    rest = said[len(wanted):].lstrip()
    if rest[:1] not in _LABEL_SEPARATORS:
        return None
    return rest.lstrip(_LABEL_SEPARATORS + " ") or None


def agreed_title(visible: str, voices: list[str | None], names: set[str]) -> str:
    """The visible headline, unless the page's declared titles agree on another wording.

    The heading is one voice; each of the JSON-LD headline, og:title,
    twitter:title (when it says something else than og:title) and
    ``<title>`` is another, its site name cut off. A voice that is another
    voice's wording with a shorter label after it ("Headline | Section")
    votes for that wording, else for its own. A wording with more votes
    than the heading's wins: a live ticker's newest entry or a shortened
    teaser in the ``<h1>`` loses to the headline the publisher declares
    everywhere else. On a tie the visible heading stays, and so it does when
    the winner is the heading with any label after it ("Headline | Long
    site name nobody declared").
    """
    said = [without_site_affix(v, names) for v in voices if v]
    wordings = [visible, *said]
    votes: dict[str, int] = {}
    for wording in wordings:
        heads = [w for w in wordings if (label := _suffix_label(w, wording)) and len(label) < len(title_key(w))]
        key = title_key(max(heads, key=len) if heads else wording)
        votes[key] = votes.get(key, 0) + 1
    best = max(votes.values())
    leaders = [key for key, count in votes.items() if count == best]
    if best == votes.get(title_key(visible), 0) or len(leaders) > 1:
        return visible
    winner = next(w for w in wordings if title_key(w) == leaders[0])
    return visible if _suffix_label(visible, winner) else winner


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
