"""What went wrong in a crawl, by kind, from its Scrapy stats.

Every hostile case the crawler bounds is counted under a component prefix
(``newsarchive/trap/calendar``, ``robots/unreachable``, ``warc/truncated/length``,
``ssrf/refused``...). :func:`trouble` picks those out so ``newsarchive crawl``
can end with one line naming them.
"""

from __future__ import annotations

TROUBLE_PREFIXES = (
    "newsarchive/trap/",  # URL traps refused or cut short
    "newsarchive/broken/",  # responses archived but unusable (empty, binary, oversized, bombs)
    "newsarchive/skipped/",  # offsite links, budgets reached
    "robots/",  # robots.txt unavailable, unreachable, server error
    "robotstxt/forbidden",  # requests refused by robots.txt rules
    "ssrf/",  # requests to internal addresses refused
    "retry_after/",  # 429/503 Retry-After honoured (or capped)
    "retry/count",  # retried requests (5xx, timeouts)
    "warc/truncated/",  # responses archived cut short
    "warc/fetch_failed/",  # fetches that brought nothing back
)


def trouble(stats: dict) -> dict[str, int]:
    """The trouble counters of a crawl, named without the ``newsarchive/`` prefix."""
    found = {}
    for key, value in stats.items():
        if key.startswith(TROUBLE_PREFIXES) and isinstance(value, int) and value:
            found[key.removeprefix("newsarchive/")] = value
    return dict(sorted(found.items()))


def trouble_line(counts: dict[str, int]) -> str:
    """``trouble: robots/unreachable 1, trap/calendar 2`` or an empty string."""
    if not counts:
        return ""
    return "trouble: " + ", ".join(f"{key} {value}" for key, value in counts.items())
