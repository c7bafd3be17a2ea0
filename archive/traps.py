"""Crawler traps recognised from a URL alone, before it is requested.

Old CMSs generate endless address spaces: calendars that page a month back
forever, relative links that repeat a path segment (``/a/a/a/...``), query
strings that grow with every click. Budgets and the depth limit bound them in
the end; these rules stop them early and name them, in the spirit of
Heritrix's path-repetition rule and ArchiveTeam's ignore patterns.

:func:`trap_kind` is pure, so the rules are tested (and fuzzed) without a crawl.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timezone
from urllib.parse import parse_qsl, urlsplit

MAX_URL_LENGTH = 2000  # longer URLs are generated, not published
MAX_QUERY_LENGTH = 400
MAX_QUERY_PARAMS = 12
MAX_SEGMENT_REPEATS = 2  # Heritrix's PathologicalPathDecideRule default
EARLIEST_YEAR = 1991  # no Kazakh government site predates independence

_CALENDAR_PATH = re.compile(r"(?:^|/)(?:calendar|kalendar|календарь|күнтізбе|events?/\d{4})", re.IGNORECASE)
_CALENDAR_PARAMS = frozenset({"month", "year", "date", "day", "mon", "cal", "ym", "calendar"})
_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")
_PAGINATION_PARAMS = frozenset({"page", "p", "pg", "start", "offset", "from", "pagen_1", "paged"})
_PAGINATION_PATH = re.compile(r"/(?:page|p|стр)/\d+/?$", re.IGNORECASE)


def trap_kind(url: str, *, now: datetime | None = None) -> str | None:
    """The kind of trap ``url`` belongs to, or None for an ordinary address.

    Kinds: ``long_url``, ``path_repetition``, ``query_growth``, ``calendar``
    (a calendar page outside the years a news site can have).
    """
    if len(url) > MAX_URL_LENGTH:
        return "long_url"
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    segments = [segment for segment in parts.path.split("/") if segment]
    if segments and max(Counter(segments).values()) > MAX_SEGMENT_REPEATS:
        return "path_repetition"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if len(parts.query) > MAX_QUERY_LENGTH or len(pairs) > MAX_QUERY_PARAMS:
        return "query_growth"
    if pairs and max(Counter(name for name, _ in pairs).values()) > 1:
        return "query_growth"  # ?a=1&a=1&a=1: a link that appends to its own query
    if is_calendar(url) and not _years_plausible(url, now):
        return "calendar"
    return None


def is_calendar(url: str) -> bool:
    """A calendar page: a path like /calendar/, or month/year/date parameters."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if _CALENDAR_PATH.search(parts.path):
        return True
    return any(name.lower() in _CALENDAR_PARAMS for name, _ in parse_qsl(parts.query, keep_blank_values=True))


def is_pagination(url: str) -> bool:
    """A page of a listing series: ``?page=7``, ``/page/7``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if _PAGINATION_PATH.search(parts.path):
        return True
    return any(name.lower() in _PAGINATION_PARAMS for name, _ in parse_qsl(parts.query, keep_blank_values=True))


def series_kind(url: str) -> str | None:
    """``calendar`` or ``pagination`` for a page of an open-ended series, else None."""
    if is_calendar(url):
        return "calendar"
    if is_pagination(url):
        return "pagination"
    return None


def _years_plausible(url: str, now: datetime | None) -> bool:
    """Every year a calendar URL names (in its path or date parameters) is one news can have."""
    latest = (now or datetime.now(timezone.utc)).year + 1
    parts = urlsplit(url)
    dated = [parts.path] + [value for name, value in parse_qsl(parts.query, keep_blank_values=True)
                            if name.lower() in _CALENDAR_PARAMS]
    years = [int(year) for text in dated for year in _YEAR.findall(text)]
    return all(EARLIEST_YEAR <= year <= latest for year in years)
