"""Dates as people type them in a filter: a year, a month, or a day.

``--since 2021`` means from 1 January 2021, ``--until 2021-03`` up to the end of
March 2021, ``--until "25 қараша 2026"`` to the end of that day. So every input
is read as a *period* ``[start, end)`` and a filter takes the side it needs.

Month and day words reuse :mod:`archive.dates` (Kazakh, Russian and English
month names in their inflected forms), so a filter reads dates the way the
extractor does. Periods compare as ISO text against ``articles.published``
("2026-11-25" or "2026-11-25T10:30:00+05:00"): the publication's local day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timezone

from archive.dates import month_number, parse_date
from archive.errors import DateFilterError

EXAMPLES = '"2021", "2021-03", "march 2021", "наурыз 2021", "25.11.2026", "2026-11-25"'
# Filters may name future dates ("--until 2030"): parse_date rejects dates after its `now`.
_NO_FUTURE_LIMIT = datetime(9999, 1, 1, tzinfo=timezone.utc)

_YEAR = re.compile(r"(\d{4})(?:\s*(?:г\.?|года?|ж\.?|жыл\w*|year))?")
_YEAR_MONTH = re.compile(r"(\d{4})[-./](\d{1,2})|(\d{1,2})[-./](\d{4})")
_WORD_MONTH = re.compile(
    r"(?P<word>[^\W\d_]{3,})\.?,?\s+(?P<year>\d{4})\b.*"  # march 2021, наурыз 2021 ж.
    r"|(?P<year2>\d{4})\s*(?:ж\.?|жылғы|жылдың|жылы|г\.|года)?\s+(?P<word2>[^\W\d_]{3,})\.?",  # 2021 жылғы наурыз
    re.IGNORECASE)


@dataclass(frozen=True)
class Period:
    """Days from ``start`` (included) to ``end`` (excluded)."""

    start: date
    end: date

    @property
    def since(self) -> str:
        """Lower bound for ``published >= ?``."""
        return self.start.isoformat()

    @property
    def until(self) -> str:
        """Upper bound for ``published < ?``: the day after the period."""
        return self.end.isoformat()


def _next_month(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1)


def _month(year: int, month: int, text: str) -> Period:
    if not 1 <= month <= 12:
        raise DateFilterError(f"{text!r}: there is no month {month}")
    return Period(date(year, month, 1), _next_month(year, month))


def parse_period(text: str) -> Period:
    """The year, month or day ``text`` names; DateFilterError otherwise."""
    value = " ".join(str(text).split()).strip().lower()
    if not value:
        raise DateFilterError(f"an empty date; write one like {EXAMPLES}")
    if match := _YEAR.fullmatch(value):
        year = int(match[1])
        return Period(date(year, 1, 1), date(year + 1, 1, 1))
    if match := _YEAR_MONTH.fullmatch(value):
        year, month = (match[1], match[2]) if match[1] else (match[4], match[3])
        return _month(int(year), int(month), text)
    if match := _WORD_MONTH.fullmatch(value):
        word = match["word"] or match["word2"]
        month = month_number(word)
        if month is not None and not re.search(r"\d{1,2}\D+\d{4}|\d{4}\D+\d{1,2}\D", value):
            return _month(int(match["year"] or match["year2"]), month, text)
    day = parse_date(value, now=_NO_FUTURE_LIMIT)
    if day is not None:
        day = day.date() if isinstance(day, datetime) else day
        return Period(day, date.fromordinal(day.toordinal() + 1))
    raise DateFilterError(f"{text!r} is not a date; write one like {EXAMPLES}")


def since_bound(text: str | None) -> str | None:
    """``published >= bound`` for ``--since text`` (None when not given)."""
    return None if text is None else parse_period(text).since


def until_bound(text: str | None) -> str | None:
    """``published < bound`` for ``--until text``: the whole named period is included."""
    return None if text is None else parse_period(text).until
