"""Is this page an article? Listings, tag pages, contacts and "about" pages are not.

Every page is archived; only articles become catalog rows, so a wrong "yes"
pollutes the catalog with menus and a wrong "no" loses news. The rule, first
match wins:

1. No main text → not an article.
2. JSON-LD declares a non-article page (ContactPage, AboutPage, CollectionPage,
   SearchResultsPage, ProfilePage) and no article type → not an article.
3. The URL has the shape of a listing or service page (``/tag/…``,
   ``/category/…``, ``/news`` with nothing after it, ``/page/2``, ``?page=``,
   ``/search``, ``/contacts``, ``/about``…) and the page does not declare itself
   an article (og:type=article or JSON-LD NewsArticle/Article…) → not an article.
4. Main text shorter than ``MIN_TEXT_CHARS`` → not an article.
5. Declared an article, with a title → article. (Real article pages carry
   "more news" blocks and JSON-LD ItemList carousels, so the declaration is
   trusted over the listing signals below.)
6. It reads as a list of other pages: at least ``LISTING_HEADINGS`` headings
   that are links with under ``TEXT_PER_LINKED_HEADING`` characters of main
   text each, or more than ``MAX_LINK_DENSITY`` of the cleaned page's words
   inside links → not an article.
7. A title and a publication date → article.
8. A title, an article-shaped URL (a slug of several words, a numeric id, an
   id parameter such as ``?p=4521`` or a
   date in the path) and at least ``MIN_UNDATED_CHARS`` of text → article.
9. Otherwise not an article (typically: no date, no declaration).

``why`` lists the evidence in a few words, e.g. "text 1830 chars, title, date (byline)".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

MIN_TEXT_CHARS = 250
MIN_UNDATED_CHARS = 800
LISTING_HEADINGS = 4
TEXT_PER_LINKED_HEADING = 400
MAX_LINK_DENSITY = 0.5

NON_ARTICLE_TYPES = frozenset(
    {"contactpage", "aboutpage", "collectionpage", "searchresultspage", "profilepage"}
)
_SERVICE_SEGMENTS = frozenset(
    """tag tags category categories rubric rubrics section sections topic topics search
    archive archives page contacts contact kontakty kontakti baylanys bailanys about about-us
    o-nas biz-turaly sitemap login register author authors feed rss""".split()
)
# A segment after one of these names a listing, whatever it looks like.
_LISTING_PARENTS = frozenset(
    "tag tags category categories rubric rubrics topic topics search page author authors".split()
)
_LISTING_SEGMENTS = frozenset(
    "news novosti zhanalyktar jangalyktar zhanalyqtar articles events press-releases press blog".split()
)
_ID_PARAMS = ("p", "id", "nid", "news_id", "newsid", "article_id", "element_id")
# Not "p": WordPress serves single posts as ?p=123.
_PAGINATION_PARAMS = frozenset({"page", "paged", "pagen_1", "start", "offset", "tag", "category", "q", "s"})
_DATE_PATH = re.compile(r"/(19|20)\d\d[/-](0?[1-9]|1[0-2])([/-]|$)")
_NUMERIC_ID = re.compile(r"(^|[-_])\d{3,}($|[-_.])")
_LANG_SEGMENT = re.compile(r"^[a-z]{2}(-[a-z]{2})?$")


@dataclass(frozen=True)
class Evidence:
    """What the extractor saw, in the terms the rule needs."""

    url: str | None
    text_chars: int
    has_title: bool
    date_source: str | None  # where the publication date came from, None if none
    declared_article: bool  # og:type=article or an article JSON-LD type
    declared_non_article: str | None  # e.g. "ContactPage"
    linked_headings: int
    link_density: float


def classify(evidence: Evidence) -> tuple[bool, str]:
    """``(is_article, why)`` by the rule in the module docstring."""
    e = evidence
    length = f"text {e.text_chars} chars"
    if e.text_chars == 0:
        return False, "no main text"
    if e.declared_non_article:
        return False, f"declared {e.declared_non_article}"
    shape = url_shape(e.url)
    if shape in ("listing", "service") and not e.declared_article:
        return False, f"{shape} URL, {length}"
    if e.text_chars < MIN_TEXT_CHARS:
        return False, f"{length} (< {MIN_TEXT_CHARS})"
    facts = [length]
    if e.has_title:
        facts.append("title")
    if e.date_source:
        facts.append(f"date ({e.date_source})")
    if e.declared_article and e.has_title:
        return True, ", ".join(facts + ["declared article"])
    if e.linked_headings >= LISTING_HEADINGS and e.text_chars < TEXT_PER_LINKED_HEADING * e.linked_headings:
        return False, f"listing: {e.linked_headings} linked headings, {length}"
    if e.link_density > MAX_LINK_DENSITY:
        return False, f"listing: link density {e.link_density:.2f}"
    if e.has_title and e.date_source:
        return True, ", ".join(facts)
    if e.has_title and shape == "article" and e.text_chars >= MIN_UNDATED_CHARS:
        return True, ", ".join(facts + ["article URL"])
    missing = "no title" if not e.has_title else "no date"
    return False, ", ".join(facts + [missing])


def url_shape(url: str | None) -> str:
    """``"article"``, ``"listing"``, ``"service"`` or ``"unknown"`` from the URL alone."""
    if not url:
        return "unknown"
    try:
        parts = urlsplit(url)
    except ValueError:
        return "unknown"
    segments = [s.lower() for s in parts.path.split("/") if s]
    while segments and segments[-1] in ("index.html", "index.php", "index.htm", "default.aspx"):
        segments.pop()
    query = {k.lower(): v for k, v in parse_qsl(parts.query, keep_blank_values=True)}
    params = set(query)
    if any(query.get(key, "").isdigit() for key in _ID_PARAMS):
        return "article"  # ?p=4521, ?news_id=77, ?ELEMENT_ID=1203
    if params & _PAGINATION_PARAMS and not _has_article_id(segments):
        return "listing"
    last = segments[-1].split(".")[0] if segments else ""
    if len(segments) > 1 and segments[-2] in _LISTING_PARENTS:
        return "listing"  # /tag/zhkh, /page/2, /category/economy
    if last in _SERVICE_SEGMENTS:
        return "service"  # /contacts, /about, /search, /tag
    if _DATE_PATH.search(parts.path) and segments and not segments[-1].isdigit():
        return "article"
    if _has_article_id(segments[-1:]) or _is_slug(segments[-1] if segments else ""):
        return "article"
    meaningful = [s for s in segments if not _LANG_SEGMENT.match(s)]
    if not meaningful or meaningful[-1] in _LISTING_SEGMENTS:
        return "listing"
    return "unknown"


def _has_article_id(segments: list[str]) -> bool:
    return any(_NUMERIC_ID.search(s) for s in segments)


def _is_slug(segment: str) -> bool:
    stem = segment.rsplit(".", 1)[0]
    return len([w for w in re.split(r"[-_]", stem) if w]) >= 3
