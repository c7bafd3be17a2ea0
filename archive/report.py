"""The figures behind ``newsarchive report``: coverage per site and month, and the crawls' history.

Everything is read from the catalog with SQL into plain dataclasses, so the
HTML page (:mod:`archive.charts`), the terminal summary and the tests share one
set of numbers. Columns added by later schema versions (the new/changed/removed
counts of a crawl) are looked up first: an older catalog gives a report that
says "not recorded" instead of failing.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterable
from urllib.parse import urlsplit

from archive.catalog import utc_iso

MAX_MONTHS = 120  # the coverage grid shows at most ten years; older articles are counted, not drawn
CHANGE_COLUMNS = ("new_articles", "changed_articles", "removed_articles")

# A URL up to the end of its host ("https://example.kz:8080"), in SQL: one substr per row, the
# cheapest cut measured; grouped rows are parsed by url_host(). 9: past "https://", or inside the host.
_ORIGIN_SQL = "CASE instr(substr(url, 9), '/') WHEN 0 THEN url ELSE substr(url, 1, instr(substr(url, 9), '/') + 7) END"


@dataclass(frozen=True)
class SiteCoverage:
    """How many articles a site published each month, as far as the archive holds them."""

    site: str  # articles.site
    name: str | None  # from the sites table, when the site has a row there
    months: dict[str, int]  # "2026-11" -> articles published that month (only months that have some)
    undated: int = 0  # articles without a publication date

    @property
    def label(self) -> str:
        return self.name or self.site

    @property
    def total(self) -> int:
        return sum(self.months.values()) + self.undated

    @property
    def first_month(self) -> str | None:
        return min(self.months) if self.months else None

    @property
    def last_month(self) -> str | None:
        return max(self.months) if self.months else None

    @property
    def gaps(self) -> list[str]:
        """Months without a single article between the site's first and last: missed by the crawl, or a silent site."""
        if not self.months:
            return []
        return [m for m in month_range(self.first_month, self.last_month) if m not in self.months]


@dataclass(frozen=True)
class CrawlFigures:
    """One crawl as the report shows it; with a site filter, pages and errors count those sites only."""

    id: str
    started_at: str
    finished_at: str | None
    status: str
    pages: int
    articles: int
    errors: int
    bytes: int
    hosts: tuple[str, ...]  # hosts it fetched from (or, without captures, its seeds' hosts)
    new: int | None = None  # None: the catalog does not record it
    changed: int | None = None
    removed: int | None = None

    @property
    def duration_seconds(self) -> float | None:
        if not self.finished_at:
            return None
        return max(0.0, (_parse_utc(self.finished_at) - _parse_utc(self.started_at)).total_seconds())


@dataclass(frozen=True)
class SiteLastCrawl:
    """The latest crawl that fetched from a site, and how it went there."""

    site: str
    crawl_id: str
    started_at: str
    status: str
    pages: int
    errors: int


@dataclass(frozen=True)
class ErrorKind:
    """Errors with the same leading words ("TimeoutError: ..."), counted over the crawls shown."""

    kind: str
    count: int
    last_at: str
    example_url: str


@dataclass
class Report:
    generated_at: str
    selected_sites: tuple[str, ...]  # the --site filter resolved to articles.site values; () = every site
    sites: list[SiteCoverage]
    months: list[str]  # the grid's columns, oldest first, contiguous
    older_articles: int  # dated before months[0] (beyond MAX_MONTHS), counted but not drawn
    crawls: list[CrawlFigures]  # oldest first
    changes_recorded: bool  # whether the catalog has the new/changed/removed columns
    last_crawls: dict[str, SiteLastCrawl] = field(default_factory=dict)  # articles.site -> latest crawl
    errors: list[ErrorKind] = field(default_factory=list)  # most frequent first

    @property
    def total_articles(self) -> int:
        return sum(site.total for site in self.sites)

    @property
    def months_covered(self) -> int:
        return len({month for site in self.sites for month in site.months})

    @property
    def gap_count(self) -> int:
        return sum(len(site.gaps) for site in self.sites)


@dataclass(frozen=True)
class SiteSelection:
    """A --site filter: the articles.site values it keeps and the hosts whose captures count."""

    sites: tuple[str, ...]
    hosts: tuple[str, ...]


# -- selecting sites ---------------------------------------------------------------


def known_sites(conn: sqlite3.Connection) -> list[str]:
    return [row[0] for row in conn.execute("SELECT DISTINCT site FROM articles WHERE site IS NOT NULL ORDER BY site")]


def select_site(conn: sqlite3.Connection, site_id: str, profiles: Iterable = ()) -> SiteSelection:
    """Resolve ``--site ID``: a host (any port unless one is given), or a site profile id.

    ``profiles`` are :class:`archive.profiles.SiteProfile` objects; a profile whose id is
    ``site_id`` brings in every host of its scope. An empty selection means nothing matched.
    """
    wanted = site_id.strip().lower()
    profile = next((p for p in profiles if p.id == site_id), None)

    def matches(host: str) -> bool:
        if profile is not None:
            return profile.scope.has_host(f"http://{host}/")
        host = host.lower()
        return host == wanted or host.split(":", 1)[0] == wanted

    capture_hosts = {url_host(row[0]) for row in conn.execute(
        f"SELECT DISTINCT {_ORIGIN_SQL} FROM captures")}
    sites = {s for s in known_sites(conn) if s == site_id or matches(s)}
    hosts = {h for h in capture_hosts if matches(h)} | {s for s in sites if matches(s)}
    return SiteSelection(tuple(sorted(sites)), tuple(sorted(hosts)))


def profile_names(conn: sqlite3.Connection, profiles: Iterable) -> dict[str, str]:
    """articles.site -> the name of the first profile whose id it is or whose scope has its host."""
    profiles = list(profiles)
    names = {}
    for site in known_sites(conn):
        for profile in profiles:
            if profile.id == site or profile.scope.has_host(f"http://{site}/"):
                names[site] = profile.name or profile.id
                break
    return names


# -- gathering ---------------------------------------------------------------------


def gather(conn: sqlite3.Connection, selection: SiteSelection | None = None, *, names: dict[str, str] | None = None,
           now: datetime | None = None, max_months: int = MAX_MONTHS) -> Report:
    """Read every figure of the report from the catalog on ``conn`` (any schema version >= 2).

    ``names`` (articles.site -> a human name, e.g. from :func:`profile_names`) win over the sites table.
    """
    sites = _coverage(conn, selection, names or {})
    months, older = _month_columns(sites, max_months)
    pages, errors = _per_crawl_host(conn, "captures"), _per_crawl_host(conn, "errors")
    crawls = _crawls(conn, selection, pages, errors)
    return Report(
        generated_at=utc_iso(now),
        selected_sites=selection.sites if selection else (),
        sites=sites,
        months=months,
        older_articles=older,
        crawls=crawls,
        changes_recorded=set(CHANGE_COLUMNS) <= _columns(conn, "crawls"),
        last_crawls=_last_crawls(sites, crawls, pages, errors),
        errors=_error_kinds(conn, selection),
    )


def _coverage(conn: sqlite3.Connection, selection: SiteSelection | None, names: dict[str, str]) -> list[SiteCoverage]:
    where, params = _site_clause("site", selection.sites if selection else None)
    names = {**_site_names(conn), **names}
    by_site: dict[str, dict[str, int]] = {}
    undated: dict[str, int] = {}
    for site, month, count in conn.execute(
            f"SELECT site, substr(published, 1, 7) AS m, count(*) FROM articles {where} GROUP BY site, m", params):
        site = site or "(no site)"
        by_site.setdefault(site, {})
        if _is_month(month):
            by_site[site][month] = count
        else:
            undated[site] = undated.get(site, 0) + count
    return [SiteCoverage(site, names.get(site), months, undated.get(site, 0))
            for site, months in sorted(by_site.items(), key=lambda item: (-sum(item[1].values()), item[0] or ""))]


def _month_columns(sites: list[SiteCoverage], max_months: int) -> tuple[list[str], int]:
    all_months = sorted({m for site in sites for m in site.months})
    if not all_months:
        return [], 0
    months = month_range(all_months[0], all_months[-1])
    if len(months) <= max_months:
        return months, 0
    months = months[-max_months:]
    older = sum(count for site in sites for m, count in site.months.items() if m < months[0])
    return months, older


def _crawls(conn: sqlite3.Connection, selection: SiteSelection | None, pages: dict, errors: dict) -> list[CrawlFigures]:
    changes = set(CHANGE_COLUMNS) <= _columns(conn, "crawls")
    extra = ", " + ", ".join(CHANGE_COLUMNS) if changes else ""
    rows = conn.execute(
        "SELECT id, seeds, started_at, finished_at, status, pages, articles, errors, bytes"
        f"{extra} FROM crawls ORDER BY started_at, id").fetchall()
    articles = _per_crawl_articles(conn, selection)
    site_changes = _per_crawl_site_changes(conn, selection) if changes and selection is not None else None
    crawls = []
    for row in rows:
        crawl_id, seeds = row[0], row[1]
        hosts = tuple(sorted(pages.get(crawl_id, {}))) or _seed_hosts(seeds)
        if selection is not None:
            wanted = set(selection.hosts)
            if not wanted & set(hosts) and not articles.get(crawl_id):
                continue
            page_count = sum(n for h, n in pages.get(crawl_id, {}).items() if h in wanted)
            error_count = sum(n for h, n in errors.get(crawl_id, {}).items() if h in wanted)
            article_count = articles.get(crawl_id, 0)
        else:
            page_count, article_count, error_count = row[5], row[6], row[7]
            if row[3] is None:  # running or killed: its totals are written at its end, count the rows so far
                page_count = sum(pages.get(crawl_id, {}).values())
                error_count = sum(errors.get(crawl_id, {}).values())
                article_count = articles.get(crawl_id, 0)
        new = changed = removed = None
        if changes:
            new, changed, removed = row[9], row[10], row[11]
            if site_changes is not None and new is not None:  # counted at the crawl's end: these sites' share
                new, changed, removed = (site_changes[name].get(crawl_id, 0) for name in ("new", "changed", "removed"))
        crawls.append(CrawlFigures(
            id=crawl_id, started_at=row[2], finished_at=row[3], status=row[4], pages=page_count or 0,
            articles=article_count or 0, errors=error_count or 0, bytes=row[8] or 0, hosts=hosts,
            new=new, changed=changed, removed=removed))
    return crawls


def _per_crawl_host(conn: sqlite3.Connection, table: str) -> dict[str, dict[str, int]]:
    """Rows per crawl and host (the groups, a few thousand, are parsed here, not each row in SQL)."""
    counts: dict[str, dict[str, int]] = {}
    for crawl_id, prefix, count in conn.execute(
            f"SELECT crawl_id, {_ORIGIN_SQL} AS prefix, count(*) FROM {table}"
            " WHERE url IS NOT NULL GROUP BY crawl_id, prefix"):
        host = url_host(prefix)
        hosts = counts.setdefault(crawl_id, {})
        hosts[host] = hosts.get(host, 0) + count
    return counts


def _per_crawl_site_changes(conn: sqlite3.Connection, selection: SiteSelection) -> dict[str, dict[str, int]] | None:
    """New, changed and removed articles per crawl, counted on the selected sites only."""
    if "article_versions" not in _tables(conn) or "removed_crawl_id" not in _columns(conn, "articles"):
        return None
    where, params = _site_clause("a.site", selection.sites)
    versions = ("SELECT v.crawl_id, count(DISTINCT v.url) FROM article_versions v JOIN articles a ON a.url = v.url"
                f" {where} AND v.version {{}} GROUP BY v.crawl_id")
    return {
        "new": dict(conn.execute(versions.format("= 1"), params).fetchall()),
        "changed": dict(conn.execute(versions.format("> 1"), params).fetchall()),
        # The latest removal of each article (an article removed, back and removed again counts once).
        "removed": dict(conn.execute(
            f"SELECT a.removed_crawl_id, count(*) FROM articles a {where}"
            " AND a.removed_crawl_id IS NOT NULL GROUP BY a.removed_crawl_id", params).fetchall()),
    }


def _per_crawl_articles(conn: sqlite3.Connection, selection: SiteSelection | None) -> dict[str, int]:
    where, params = _site_clause("site", selection.sites if selection else None)
    return dict(conn.execute(f"SELECT crawl_id, count(*) FROM articles {where} GROUP BY crawl_id", params).fetchall())


def _last_crawls(sites: list[SiteCoverage], crawls: list[CrawlFigures],
                 pages: dict, errors: dict) -> dict[str, SiteLastCrawl]:
    """Per site, the latest crawl that fetched from its host."""
    found = {}
    for site in sites:
        host = site.site.lower()
        for crawl in reversed(crawls):
            if host in crawl.hosts:
                found[site.site] = SiteLastCrawl(
                    site.site, crawl.id, crawl.started_at, crawl.status,
                    pages.get(crawl.id, {}).get(host, 0), errors.get(crawl.id, {}).get(host, 0))
                break
    return found


def _error_kinds(conn: sqlite3.Connection, selection: SiteSelection | None, limit: int = 8) -> list[ErrorKind]:
    hosts = set(selection.hosts) if selection is not None else None
    kinds: dict[str, list] = {}
    for message, at, url in conn.execute("SELECT message, at, url FROM errors ORDER BY at"):
        if hosts is not None and url_host(url or "") not in hosts:
            continue
        entry = kinds.setdefault(error_kind(message), [0, at, url])
        entry[0] += 1
        entry[1], entry[2] = at, url
    ranked = sorted(kinds.items(), key=lambda item: (-item[1][0], item[0]))[:limit]
    return [ErrorKind(kind, count, at, url) for kind, (count, at, url) in ranked]


def error_kind(message: str) -> str:
    """The part of an error message that names what happened, without the URL-specific rest."""
    head = (message or "").split(":", 1)[0].strip()
    return head[:80] or "(no message)"


# -- the terminal summary ----------------------------------------------------------


def summary_lines(report: Report, output: str | None = None) -> list[str]:
    """A few lines for the terminal: what the archive covers, its gaps, how each site's last crawl went."""
    lines = [f"{_count(len(report.sites), 'site')}, {_count(report.total_articles, 'article')}, "
             f"{_count(report.months_covered, 'month')} covered, {_count(report.gap_count, 'gap month')}, "
             + (_count(len(report.crawls), 'crawl') if report.crawls else "no crawls yet")]
    for site in report.sites:
        span = f"{site.first_month}..{site.last_month}" if site.months else "no dated articles"
        gaps = site.gaps
        gap_text = f"gaps: {_month_list(gaps)}" if gaps else "no gaps"
        last = report.last_crawls.get(site.site)
        crawl_text = (f"last crawl {last.started_at[:16].replace('T', ' ')} {last.status}, "
                      f"{last.pages} pages, {last.errors} errors" if last else "never crawled")
        lines.append(f"  {site.label}: {_count(site.total, 'article')} {span}; {gap_text}; {crawl_text}")
    if output:
        lines.append(f"report: {output}")
    return lines


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'s' if number != 1 else ''}"


def _month_list(months: list[str], shown: int = 4) -> str:
    text = ", ".join(months[:shown])
    return text + (f" and {len(months) - shown} more" if len(months) > shown else "")


# -- helpers -----------------------------------------------------------------------


def url_host(url: str) -> str:
    """The host (with its port, as articles.site has it) of a URL or of a URL's start, lower-cased."""
    rest = url.split("//", 1)[1] if "//" in url else url
    return rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].lower()


def month_range(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last`` inclusive: ``month_range("2025-11", "2026-01")`` has three."""
    year, month = int(first[:4]), int(first[5:7])
    end = (int(last[:4]), int(last[5:7]))
    months = []
    while (year, month) <= end:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _is_month(text: str | None) -> bool:
    """"2026-11": a publication date's month; anything else ("2026", "n.d.") counts as undated."""
    return bool(text) and len(text) == 7 and text[4] == "-" and text[:4].isdigit() \
        and text[5:].isdigit() and 1 <= int(text[5:]) <= 12


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _site_names(conn: sqlite3.Connection) -> dict[str, str]:
    if "sites" not in _tables(conn):
        return {}
    return {site: name for site, name in conn.execute("SELECT id, name FROM sites WHERE name IS NOT NULL")}


def _site_clause(column: str, sites: tuple[str, ...] | None) -> tuple[str, list]:
    if sites is None:
        return "", []
    if not sites:
        return "WHERE 0", []
    return f"WHERE {column} IN ({', '.join('?' for _ in sites)})", list(sites)


def _seed_hosts(seeds_json: str | None) -> tuple[str, ...]:
    try:
        seeds = json.loads(seeds_json or "[]")
    except ValueError:
        return ()
    return tuple(sorted({urlsplit(url).netloc.lower() for url in seeds if isinstance(url, str)} - {""}))


def _parse_utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
