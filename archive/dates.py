"""Publication dates of news pages written in Kazakh, Russian and English.

Generic extractors guess dates from any number on the page and do not know
Kazakh or Russian month names ("25 ноября 2026 г." came out as 2026-01-01,
a Kazakh page as 2019-01-01). This module reads the page the way an editor
would: structured metadata first, then the byline under the headline, and
never a date from a sidebar of other news.

Rules that `parse_date` applies (all documented in tests/test_dates.py):

* A month written as a word needs both a day and a year next to it
  ("25 ноября 2026", "2026 жылғы 25 қарашада", "November 25, 2026").
  "ноябрь 2026" (no day) and "25 ноября" (no year) are rejected: too vague
  for a publication date. This is also why "қазан" (October, but also
  "cauldron" and the city Kazan) is only read as a month inside a date.
* Numbers: DD.MM.YYYY and DD-MM-YYYY (the convention of these sites),
  YYYY-MM-DD / YYYY/MM/DD / YYYY.MM.DD, ISO 8601. With "/" and the day
  first ambiguous, D/M/Y is assumed unless the first number is <= 12 and the
  second > 12, which can only be the US M/D/Y.
* Two-digit years ("25.11.26") mean 19YY for YY >= 91 and 20YY otherwise:
  no news page predates 1991, and the future check rejects what remains.
* A time of day (HH:MM[:SS], optional AM/PM, right after or just before the
  date) makes the result an aware datetime: with the offset written in the
  text when there is one, otherwise localised in the site time zone `tz`
  through zoneinfo (Asia/Almaty was +06:00 until 2024-03-01, +05:00 since).
* Rejected: impossible days and times, dates before 1991-01-01 and dates
  more than one day after `now` (default: the current UTC time).

`find_dates` returns the published date and, separately, the modified date.
When a page shows only a modified date, published stays None: callers that
prefer any date to none write `published or modified`.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from dateutil.parser import isoparse, parserinfo
from lxml import etree

DEFAULT_TIMEZONE = "Asia/Almaty"

EARLIEST = date(1991, 1, 1)
MAX_TEXT = 10_000  # parse_date reads at most this many characters
MAX_JSON_LD = 2_000_000
BYLINE_MAX_CHARS = 400  # longer blocks near the title are body text, not a byline
# Without an <article>, the article's own dates are looked for in this many
# ancestors of the <h1>, innermost first: the nearest date wins.
CONTAINER_LEVELS = 4
# An unmarked <p> under the headline longer than this is the lead sentence,
# whose date is when something happened ("text" evidence), not a byline.
BYLINE_PARAGRAPH_CHARS = 80
TEXT_SCAN_CHARS = 1500  # how much text after the title the last resort reads

SOURCES = ("json-ld", "meta", "time", "byline", "url", "text")


@dataclass(frozen=True)
class FoundDate:
    """A date found on a page and the kind of evidence it came from (one of SOURCES, strongest first)."""

    value: date | datetime
    source: str

    def isoformat(self) -> str:
        return self.value.isoformat()


# ---------------------------------------------------------------------------
# Month words
# ---------------------------------------------------------------------------

_RUSSIAN_MONTHS = [
    r"янв(?:ар[ьяею])?",
    r"фев(?:р(?:ал[ьяею])?)?",
    r"мар(?:т[аеу]?)?",
    r"апр(?:ел[ьяею])?",
    r"ма[йяею]",
    r"июн[ьяею]?",
    r"июл[ьяею]?",
    r"авг(?:уст[аеу]?)?",
    r"сен(?:т(?:ябр[ьяею])?)?",
    r"окт(?:ябр[ьяею])?",
    r"ноя(?:б(?:р[ьяею])?)?",
    r"дек(?:абр[ьяею])?",
]
_RUSSIAN_MONTH = [re.compile(pattern) for pattern in _RUSSIAN_MONTHS]

# Kazakh months take case and possessive suffixes (қарашада, қарашасы,
# қарашадағы, қазанның), so a stem matches any word it starts. Stems are kept
# in a "plain" spelling where the Kazakh-only letters are replaced by their
# Russian look-alikes, because many sites type them that way (кантар, сауир).
_KAZAKH_TO_PLAIN = str.maketrans(
    {"қ": "к", "ң": "н", "ә": "а", "ү": "у", "ұ": "у", "і": "и", "i": "и", "ө": "о", "ғ": "г", "һ": "х"}
)
_KAZAKH_STEMS = [
    "кантар", "акпан", "наурыз", "сауир", "мамыр", "маусым",
    "шилде", "тамыз", "кыркуйек", "казан", "караша", "желтоксан",
]
_KAZAKH_LATIN_STEMS = [
    ("qańtar", "qantar"), ("aqpan",), ("naýryz", "nauryz"), ("sáýir", "sauir", "sáuir"),
    ("mamyr",), ("maýsym", "mausym"), ("shilde",), ("tamyz",),
    ("qyrkúiek", "qyrkuiek"), ("qazan",), ("qarasha",), ("jeltoqsan",),
]
_ENGLISH = parserinfo()


def month_number(word: str) -> int | None:
    """The month (1-12) a Kazakh, Russian or English word names, else None."""
    word = word.lower().rstrip(".")
    if len(word) < 3:
        return None
    english = _ENGLISH.month(word)
    if english:
        return english
    for number, pattern in enumerate(_RUSSIAN_MONTH, start=1):
        if pattern.fullmatch(word):
            return number
    plain = word.translate(_KAZAKH_TO_PLAIN)
    for number, stem in enumerate(_KAZAKH_STEMS, start=1):
        if plain.startswith(stem):
            return number
    for number, stems in enumerate(_KAZAKH_LATIN_STEMS, start=1):
        if word.startswith(stems):
            return number
    return None


# ---------------------------------------------------------------------------
# Date expressions in text
# ---------------------------------------------------------------------------

_WORD = r"(?P<month>[^\W\d_]{3,}\.?)"
_DAY = r"(?<![\d.:])(?P<day>\d{1,2})"
_YEAR = r"(?P<year>\d{4})(?!\d)"
_YEAR_SUFFIX = r"(?:\s*(?:г\.|гг\.|года|году|год|ж\.|жылғы|жылы|жыл|yil))?"

_DATE_PATTERNS = [
    # 25 ноября 2026 г. / 25 қараша 2026 ж. / 25th November 2026 / 25-го ноября 2026
    re.compile(
        _DAY + r"(?:st|nd|rd|th|-?(?:ші|шы|сі|сы|го|е))?[\s.\-]*(?:of\s+)?" + _WORD
        + r"[\s,]+(?:of\s+)?" + _YEAR + _YEAR_SUFFIX,
        re.IGNORECASE,
    ),
    # November 25, 2026
    re.compile(
        r"(?<![^\W\d_])" + _WORD + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?(?!\d),?\s+" + _YEAR,
        re.IGNORECASE,
    ),
    # 2026 жылғы 25 қараша / 2026 ж. 25 қарашада
    re.compile(
        r"(?<![\d.])(?P<year>\d{4})\s*(?:жылғы|жылдың|жылы|жыл|ж\.?)?[\s,]*(?P<day>\d{1,2})"
        r"(?:-?(?:ші|шы|і|ы))?[\s\-]*" + _WORD,
        re.IGNORECASE,
    ),
    # 25.11.2026 / 25-11-2026 / 11/25/2026 / 25.11.26
    re.compile(
        r"(?<![\d.:/])(?P<first>\d{1,2})(?P<sep>[./-])(?P<second>\d{1,2})(?P=sep)"
        r"(?P<nyear>\d{4}|\d{2})(?!\d|[./-]\d)" + _YEAR_SUFFIX,
    ),
    # 2026-11-25 / 2026/11/25 / 2026.11.25 (ISO time follows through _TIME_AFTER)
    re.compile(
        r"(?<![\d.:/])(?P<year>\d{4})(?P<sep>[./-])(?P<month>\d{1,2})(?P=sep)(?P<day>\d{1,2})(?!\d|[./]\d)"
        + _YEAR_SUFFIX,
    ),
]

_TIME = (
    r"(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,]\d{1,9})?)?(?!\d)"
    r"(?:\s*(?P<ampm>[ap]\.?\s?m\.?)(?![^\W\d_]))?"
    r"(?:\s*(?P<zone>Z|(?:GMT|UTC)?\s*[+-]\d{2}(?::?\d{2})?|GMT|UTC)(?![^\W\d_]))?"
)
_TIME_AFTER = re.compile(
    r"(?:T|[\s,|/·•—–-]*(?:в|at|@|сағат|saat)?\s*)" + _TIME, re.IGNORECASE
)
_TIME_BEFORE = re.compile(_TIME + r"\s*[,|/·•—–-]?\s*$", re.IGNORECASE)


def _zone(tz: str | tzinfo) -> tzinfo:
    return tz if isinstance(tz, tzinfo) else ZoneInfo(tz)


def _utc_now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(timezone.utc)
    return now if now.tzinfo is not None else now.replace(tzinfo=timezone.utc)


def _four_digit_year(text: str) -> int:
    year = int(text)
    if len(text) == 2:
        year += 1900 if year >= 91 else 2000
    return year


def _day_month_year(match: re.Match) -> tuple[int, int, int] | None:
    groups = match.groupdict()
    if groups.get("first") is not None:
        first, second = int(groups["first"]), int(groups["second"])
        if groups["sep"] == "/" and first <= 12 < second:
            first, second = second, first  # only the US M/D/Y reading fits
        return first, second, _four_digit_year(groups["nyear"])
    month = groups["month"]
    number = int(month) if month.isdigit() else month_number(month)
    if number is None:
        return None
    return int(groups["day"]), number, int(groups["year"])


def _offset(zone_text: str | None) -> str:
    """An ISO offset ('+06:00') for what the text wrote, '' when it wrote none."""
    if not zone_text:
        return ""
    zone_text = zone_text.upper().replace("GMT", "").replace("UTC", "").strip()
    if zone_text in ("", "Z"):
        return "+00:00"
    digits = zone_text[1:].replace(":", "")
    return f"{zone_text[0]}{digits[:2]}:{digits[2:4] or '00'}"


def _time_of_day(match: re.Match) -> tuple[str, str] | None:
    """('HH:MM:SS', offset) for a time match, None when it is no clock time."""
    hour, minute = int(match["hour"]), int(match["minute"])
    second = int(match["second"] or 0)
    if match["ampm"]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if match["ampm"].lower().startswith("p") else 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    return f"{hour:02d}:{minute:02d}:{second:02d}", _offset(match["zone"])


def _find_time(text: str, start: int, end: int) -> tuple[str, str] | None:
    after = _TIME_AFTER.match(text, end, min(len(text), end + 60))
    if after:
        found = _time_of_day(after)
        if found:
            return found
    before = _TIME_BEFORE.search(text, max(0, start - 30), start)
    if before:
        return _time_of_day(before)
    return None


def _is_plausible(value: date | datetime, now: datetime, zone: tzinfo) -> bool:
    if isinstance(value, datetime):
        return value.date() >= EARLIEST and value <= now + timedelta(days=1)
    return EARLIEST <= value <= now.astimezone(zone).date() + timedelta(days=1)


def _build(day: int, month: int, year: int, clock: tuple[str, str] | None, zone: tzinfo):
    """Validate through dateutil's ISO parser; None for impossible dates."""
    normalised = f"{year:04d}-{month:02d}-{day:02d}"
    if clock:
        normalised += "T" + clock[0] + clock[1]
    try:
        value = isoparse(normalised)
    except (ValueError, OverflowError):
        return None
    if not clock:
        return value.date()
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)


def _candidates(text: str):
    found = []
    for pattern in _DATE_PATTERNS:
        for match in pattern.finditer(text):
            found.append((match.start(), -match.end(), match))
    found.sort(key=lambda item: (item[0], item[1]))
    return (match for _, _, match in found)


def _parse(text: str, zone: tzinfo, now: datetime) -> date | datetime | None:
    for match in _candidates(text):
        parts = _day_month_year(match)
        if parts is None:
            continue
        day, month, year = parts
        clock = _find_time(text, match.start(), match.end())
        value = _build(day, month, year, clock, zone)
        if value is None and clock:
            value = _build(day, month, year, None, zone)
        if value is not None and _is_plausible(value, now, zone):
            return value
    return None


def parse_date(
    text: str, tz: str | tzinfo = DEFAULT_TIMEZONE, *, now: datetime | None = None
) -> date | datetime | None:
    """The first plausible date expression in `text`, or None."""
    if not isinstance(text, str) or not text:
        return None
    return _parse(text[:MAX_TEXT], _zone(tz), _utc_now(now))


# ---------------------------------------------------------------------------
# Evidence on an article page
# ---------------------------------------------------------------------------

_ARTICLE_TYPES = {"BlogPosting", "LiveBlogPosting", "Report", "SocialMediaPosting", "DiscussionForumPosting"}
_PAGE_TYPES = {"WebPage", "ItemPage"}
# JSON-LD keys that lead to *other* works (lists of related news, the
# publisher, the site): their dates are not this article's.
_JSON_LD_SKIPPED_KEYS = {
    "itemListElement", "relatedLink", "isPartOf", "citation", "mentions", "about",
    "comment", "review", "subjectOf", "workExample", "publisher", "author",
    "creator", "sourceOrganization", "significantLink", "potentialAction",
}

_PUBLISHED_META = [
    "article:published_time", "og:article:published_time", "og:published_time",
    "datepublished", "dc.date.issued", "dcterms.issued", "dc.date", "dcterms.date",
    "dc.date.created", "dcterms.created", "datecreated", "pubdate", "publishdate",
    "publish-date", "publish_date", "published_time", "article.published",
    "article_date_original", "date", "sailthru.date", "parsely-pub-date",
    "cxenseparse:recs:publishtime", "og:pubdate", "originalpublicationdate",
]
_MODIFIED_META = [
    "article:modified_time", "og:article:modified_time", "og:updated_time",
    "datemodified", "dc.date.modified", "dcterms.modified", "modified_time",
    "article.updated", "last-modified", "lastmod",
]
_PUBLISHED_RANK = {name: rank for rank, name in enumerate(_PUBLISHED_META)}
_MODIFIED_RANK = {name: rank for rank, name in enumerate(_MODIFIED_META)}

_EXCLUDED_TAGS = {"aside", "nav", "footer"}
_EXCLUDED_CLASS = re.compile(
    r"sidebar|side-bar|related|latest|popular|(?:^|\s)widget|news-?list|last-?news|"
    r"other-?news|more-?news|most-?read|recommend|trending|lenta|news-?line|comment",
    re.IGNORECASE,
)
_DATE_CLASS = re.compile(r"date|time|meta|byline|publish|posted|created|datum", re.IGNORECASE)
_INVISIBLE_TAGS = {"script", "style", "noscript", "template"}
# Near the headline but not a byline: pictures with their captions, the lead.
_NOT_BYLINE_TAGS = {"figure", "figcaption", "picture", "blockquote", "table", "script", "style"}
_NOT_BYLINE_CLASS = re.compile(
    r"caption|gallery|image|photo|figure|media|video|slide|lead|intro|summary|subtitle|excerpt|descr",
    re.IGNORECASE,
)
_MODIFIED_WORDS = re.compile(
    r"updated|modified|обновлен[оа]?|изменен[оа]?|отредактировано|жаңартыл|өзгертіл|толықтырыл",
    re.IGNORECASE,
)
_MODIFIED_CLASS = re.compile(r"updat|modif", re.IGNORECASE)

_URL_DATE = [
    re.compile(r"/(?P<year>\d{4})/(?P<month>\d{1,2})/(?P<day>\d{1,2})(?:/|$|\D)"),
    re.compile(r"(?<!\d)(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})(?!\d)"),
    re.compile(r"(?<!\d)(?P<year>(?:19|20)\d{2})(?P<month>[01]\d)(?P<day>[0-3]\d)(?!\d)"),
]

_TIMES = etree.XPath(
    ".//time | .//*[@itemprop='datePublished' or @itemprop='dateCreated' or @itemprop='dateModified']"
)
_MARKED = etree.XPath(".//*[@class or @id]")


class _Context:
    """What every evidence reader needs: the zone, the clock, the parser."""

    def __init__(self, tz, now):
        self.zone = _zone(tz)
        self.now = _utc_now(now)
        self.heading_path = frozenset()

    def excluded(self, element) -> bool:
        return _is_excluded(element, self.heading_path)

    def parse(self, text) -> date | datetime | None:
        if not isinstance(text, str):
            return None
        text = text.strip()[:MAX_TEXT]
        if not text:
            return None
        return _parse(text, self.zone, self.now)


def _type_names(node: dict) -> set[str]:
    raw = node.get("@type")
    names = raw if isinstance(raw, list) else [raw]
    return {re.split(r"[/:#]", name)[-1] for name in names if isinstance(name, str)}


def _json_ld_nodes(data):
    """Objects of a JSON-LD document, breadth first, skipping links to other works."""
    queue, seen = [data], 0
    while queue and seen < 500:
        item = queue.pop(0)
        seen += 1
        if isinstance(item, list):
            queue.extend(item)
        elif isinstance(item, dict):
            yield item
            for key, value in item.items():
                if key not in _JSON_LD_SKIPPED_KEYS and isinstance(value, (dict, list)):
                    queue.append(value)


def _first_string(value):
    if isinstance(value, list):
        value = next((item for item in value if isinstance(item, str)), None)
    return value if isinstance(value, str) else None


def _from_json_ld(scripts, ctx: _Context):
    articles, pages = [], []
    for script in scripts:
        if "ld+json" not in (script.get("type") or "").lower() or _is_excluded(script):
            continue
        text = script.text or ""
        if not text.strip() or len(text) > MAX_JSON_LD:
            continue
        text = text.strip()
        if text.startswith("<!--"):
            text = text[4:].rsplit("-->", 1)[0]
        try:
            data = json.loads(text, strict=False)
        except (ValueError, RecursionError):
            continue
        for node in _json_ld_nodes(data):
            names = _type_names(node)
            if any(name.endswith("Article") for name in names) or names & _ARTICLE_TYPES:
                articles.append(node)
            elif names & _PAGE_TYPES:
                pages.append(node)
    published = modified = None
    for node in articles + pages:
        if published is None:
            published = ctx.parse(_first_string(node.get("datePublished"))) or ctx.parse(
                _first_string(node.get("dateCreated"))
            )
        if modified is None:
            modified = ctx.parse(_first_string(node.get("dateModified")))
    return published, modified


def _is_excluded(element, keep=frozenset()) -> bool:
    """True for blocks that list other news (sidebars, related, navigation) and inside them.

    Blocks in `keep` (the ancestors of the main heading) never count: a block
    that holds the article's own headline is a layout wrapper, whatever its
    class says ("content-sidebar-wrap", "has-sidebar").
    """
    for node in itertools.chain((element,), element.iterancestors()):
        if node.tag in ("body", "html"):
            return False
        if node in keep:
            continue
        if node.tag in _EXCLUDED_TAGS:
            return True
        marks = f"{node.get('class') or ''} {node.get('id') or ''}"
        if marks.strip() and _EXCLUDED_CLASS.search(marks):
            return True
    return False


def _from_meta(metas, ctx: _Context):
    best_published = best_modified = (len(_PUBLISHED_META) + len(_MODIFIED_META), None)
    for meta in metas:
        if not meta.get("content"):
            continue
        name = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").strip().lower()
        in_published, in_modified = name in _PUBLISHED_RANK, name in _MODIFIED_RANK
        if not (in_published or in_modified):
            continue
        if meta.get("itemprop") and not (meta.get("property") or meta.get("name")) and ctx.excluded(meta):
            continue
        if in_published and _PUBLISHED_RANK[name] < best_published[0]:
            value = ctx.parse(meta.get("content"))
            if value is not None:
                best_published = (_PUBLISHED_RANK[name], value)
        if in_modified and _MODIFIED_RANK[name] < best_modified[0]:
            value = ctx.parse(meta.get("content"))
            if value is not None:
                best_modified = (_MODIFIED_RANK[name], value)
    return best_published[1], best_modified[1]


def _main_heading(headings):
    """The article's <h1>; class names are not trusted here (see _is_excluded)."""
    headings = [
        h1 for h1 in headings if not any(node.tag in _EXCLUDED_TAGS for node in h1.iterancestors())
    ]
    if not headings:
        return None
    in_article = [h1 for h1 in headings if any(a.tag == "article" for a in h1.iterancestors())]
    if in_article:
        return in_article[0]
    return max(headings, key=lambda h1: len(h1.text_content().strip()))


def _article_containers(articles, heading, keep):
    """Where this article's own dates live: its <article>, or the heading's ancestors.

    Without a heading, a lone <article> is the article; several are teaser
    cards of a listing page, and none of their dates is this page's.
    """
    if heading is None:
        articles = [article for article in articles if not _is_excluded(article, keep)]
        return articles if len(articles) == 1 else []
    for ancestor in heading.iterancestors():
        if ancestor.tag == "article":
            return [ancestor]
    containers = []
    for node in heading.iterancestors():
        if node.tag in ("body", "html") or len(containers) == CONTAINER_LEVELS:
            break
        containers.append(node)
    return containers


def _is_modified_mark(element) -> bool:
    if element.get("itemprop") == "dateModified":
        return True
    for node in (element, element.getparent()):
        if node is not None and _MODIFIED_CLASS.search(f"{node.get('class') or ''} {node.get('id') or ''}"):
            return True
    previous = element.getprevious()
    lead = (previous.tail if previous is not None else element.getparent().text) or ""
    return bool(_MODIFIED_WORDS.search(lead[-40:]))


def _from_time_elements(containers, ctx: _Context):
    published = modified = None
    for container in containers:
        for element in _TIMES(container):
            if ctx.excluded(element):
                continue
            value = ctx.parse(element.get("datetime") or element.get("content")) or ctx.parse(
                _visible_text(element)
            )
            if value is None:
                continue
            if _is_modified_mark(element):
                modified = modified or value
            else:
                published = published or value
        if published is not None:
            break
    return published, modified


def _near_heading(heading):
    """Elements a byline sits in: next to the <h1>, its parent's and grandparent's siblings."""
    node = heading
    for _ in range(3):
        if node is None or node.tag in ("body", "html"):
            return
        for sibling, _ in zip(node.itersiblings(), range(3)):
            yield sibling
        for sibling, _ in zip(node.itersiblings(preceding=True), range(2)):
            yield sibling
        node = node.getparent()


def _visible_text(element, limit: int = BYLINE_MAX_CHARS, cut: bool = False) -> str | None:
    """The text a reader sees in a short element; None for longer blocks (body text).

    With `cut`, long blocks give their first `limit` characters instead.

    Text nodes are joined with a space where two words or numbers would
    otherwise run together ("2019" + "4:29 AM" must not read "20194:29").
    """
    text, stack = "", [element]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            part = item
        else:
            if not isinstance(item.tag, str) or item.tag in _INVISIBLE_TAGS:
                continue
            part = item.text or ""
            for child in reversed(item):
                if child.tail:
                    stack.append(child.tail)
                stack.append(child)
        if not part:
            continue
        if text and text[-1].isalnum() and part[0].isalnum():
            text += " "
        text += part
        if len(text) > limit:
            return text[:limit] if cut else None
    return text


def _may_be_byline(element) -> bool:
    if not isinstance(element.tag, str) or element.tag in _NOT_BYLINE_TAGS:
        return False
    marks = f"{element.get('class') or ''} {element.get('id') or ''}"
    if _NOT_BYLINE_CLASS.search(marks):
        return False
    return not any(True for _ in element.iter("figcaption"))


def _split_on_modified(text: str) -> tuple[str, str]:
    mark = _MODIFIED_WORDS.search(text)
    if mark is None:
        return text, ""
    return text[: mark.start()], text[mark.end():]


def _is_date_marked(element) -> bool:
    return bool(_DATE_CLASS.search(f"{element.get('class') or ''} {element.get('id') or ''}"))


def _is_lead_sentence(element, text: str) -> bool:
    return element.tag == "p" and not _is_date_marked(element) and len(text.strip()) > BYLINE_PARAGRAPH_CHARS


def _from_byline(heading, containers, ctx: _Context):
    published = modified = None
    candidates = list(_near_heading(heading)) if heading is not None else []
    for container in containers:
        candidates.extend(
            element for element in _MARKED(container)
            if isinstance(element.tag, str)
            and _is_date_marked(element)
        )
    for element in candidates:
        if not _may_be_byline(element) or ctx.excluded(element):
            continue
        text = _visible_text(element)
        if text is None or _is_lead_sentence(element, text):
            continue
        if _is_modified_mark(element):
            before, after = "", text
        else:
            before, after = _split_on_modified(text)
        published = published or ctx.parse(before)
        if after:
            modified = modified or ctx.parse(after)
        if published is not None:
            break
    return published, modified


def _from_text(heading, ctx: _Context):
    """Last resort: the first date in the text that follows the headline.

    News pages of small sites often print no date but the first sentence
    says when it happened ("25 қарашада ..."), nearly always the day of
    publication or the day before. Source "text" tells callers it is weak.
    """
    parts, size = [], 0
    for node in heading.itersiblings():
        if size >= TEXT_SCAN_CHARS:
            break
        if not _may_be_byline(node) or ctx.excluded(node):
            continue
        text = _visible_text(node, TEXT_SCAN_CHARS - size, cut=True)
        parts.append(text)
        size += len(text)
    return ctx.parse(" ".join(parts))


def _from_url(url, ctx: _Context):
    try:
        path = urlsplit(url).path if url else ""
    except ValueError:
        return None
    for pattern in _URL_DATE:
        for match in pattern.finditer(path[:2000]):
            value = _build(int(match["day"]), int(match["month"]), int(match["year"]), None, ctx.zone)
            if value is not None and _is_plausible(value, ctx.now, ctx.zone):
                return value
    return None


def _root_of(tree):
    if hasattr(tree, "getroot"):
        tree = tree.getroot()
    return tree.getroottree().getroot() if tree is not None else None


def find_dates(
    tree, url: str | None = None, tz: str | tzinfo = DEFAULT_TIMEZONE, *, now: datetime | None = None
) -> tuple[FoundDate | None, FoundDate | None]:
    """(published, modified) of an article page; `tree` is an lxml.html document.

    Evidence in rank order: JSON-LD of the article, meta tags, <time> and
    itemprop dates inside the article, the byline near the <h1>, the URL path.
    Dates inside asides, navigation, footers and lists of other news are
    never used.
    """
    ctx = _Context(tz, now)
    try:
        root = _root_of(tree)
    except (AttributeError, TypeError, ValueError):
        return None, None
    if root is None or not isinstance(root.tag, str):
        return None, None
    published = modified = None

    def keep(source, found):
        nonlocal published, modified
        new_published, new_modified = found
        if published is None and new_published is not None:
            published = FoundDate(new_published, source)
        if modified is None and new_modified is not None:
            modified = FoundDate(new_modified, source)

    # One walk over the document collects everything the page-wide evidence
    # needs; the rest is read inside the article container only.
    found = {"script": [], "meta": [], "h1": [], "article": []}
    for element in root.iter("script", "meta", "h1", "article"):
        found[element.tag].append(element)
    keep("json-ld", _from_json_ld(found["script"], ctx))
    if published is not None and modified is not None:
        return published, modified
    heading = _main_heading(found["h1"])
    ctx.heading_path = frozenset(heading.iterancestors()) if heading is not None else frozenset()
    keep("meta", _from_meta(found["meta"], ctx))
    if published is None or modified is None:
        containers = _article_containers(found["article"], heading, ctx.heading_path)
        keep("time", _from_time_elements(containers, ctx))
        if published is None:
            keep("byline", _from_byline(heading, containers, ctx))
    if published is None:
        keep("url", (_from_url(url, ctx), None))
    if published is None and heading is not None:
        keep("text", (_from_text(heading, ctx), None))
    return published, modified
