"""Article versions and removals: nothing an article ever said is lost.

What counts as a version
    Every capture judged an article is a *sighting* (``article_sightings``),
    with a content digest over its extracted title, published date and text.
    Ordered by ``fetched_at`` (then WARC file and offset), the sightings of a
    URL fall into runs of equal digests; each run is one version
    (``article_versions``), numbered 1, 2, ... from the oldest. A page whose
    chrome changed (new payload digest) but whose extracted article did not
    adds a sighting and no version. Author, description, ``modified`` and
    language (and image captions and the link count) are kept per version,
    from its first capture, but a change in them alone is not a new version (a site may restamp ``modified`` on every
    render).

Pointers
    A version points at the first capture that showed it. The ``articles``
    row keeps pointing at the newest article capture (the latest capture
    wins, as before), so after a chrome-only change the article row and its
    latest version point at different captures of the same text.

Order of arrival does not matter
    Versions are recomputed from the sightings of every URL a flush touches,
    so captures indexed out of time order (``newsarchive reindex``, a killed
    crawl's leftovers) give the same rows as in-order arrival. Re-adding a
    capture (same URL, WARC file and offset) adds nothing. A version row is only
    rewritten when its number, digest or pointer changes.

Removal
    A URL with an article is *present* at each article capture and each 2xx
    or 304 capture (a revisit included), and *gone* at each 404 or 410
    capture. ``articles.removed_at`` is the first gone capture after the last
    present one (NULL while present); any later present capture clears it.
    Rows are never deleted. ``crawls.removed_articles`` counts the removals a
    crawl found: gone captures that follow a present one with no gone capture
    in between.

Per-crawl counts
    ``new_articles``: version 1 first seen in the crawl; ``changed_articles``:
    URLs given a later version by it. Both depend only on the captures, so a
    reindex gives the crawl's figures.

Known limit: a page reverted to a byte-identical earlier payload is archived
as a revisit, which is not re-extracted, so that return to an old text shows
as presence, not as a new version.

The bookkeeping runs inside :meth:`archive.catalog.Catalog.flush`'s
transaction as a handful of set-based statements over the batch.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import sqlite3
from dataclasses import asdict, dataclass, field
from itertools import pairwise

from archive.errors import ArticleNotFound

GONE_STATUSES = (404, 410)


def _present(alias: str) -> str:
    """SQL: the capture ``alias`` shows the URL is there (2xx, or 304 Not Modified)."""
    return f"({alias}.status BETWEEN 200 AND 299 OR {alias}.status = 304)"


def _gone(alias: str) -> str:
    """SQL: the capture ``alias`` shows the URL is gone."""
    return f"{alias}.status IN ({', '.join(str(s) for s in GONE_STATUSES)})"


SIGHTING_COLUMNS = (
    "url", "fetched_at", "content_digest", "modified", "language", "author", "description", "captions", "links",
    "warc_filename", "warc_offset", "warc_length", "payload_digest", "crawl_id",
)
VERSION_COLUMNS = (
    "url", "version", "content_digest", "title", "published", "modified", "language", "author", "description",
    "text", "captions", "links", "warc_filename", "warc_offset", "warc_length", "payload_digest", "fetched_at",
    "crawl_id",
)
_BATCH_COLUMNS = SIGHTING_COLUMNS + ("title", "published", "text")
_ORDER = "fetched_at, warc_filename, warc_offset"


def content_digest(title: str | None, published: str | None, text: str | None) -> str:
    """What makes a version: equal digests, same extracted article."""
    blob = json.dumps([title, published, text], ensure_ascii=False).encode("utf-8")
    return "sha1:" + hashlib.sha1(blob).hexdigest()


# -- bookkeeping inside the flush transaction ---------------------------------------------


_TEMP_TABLES = (
    f"CREATE TEMP TABLE IF NOT EXISTS batch_articles ({', '.join(_BATCH_COLUMNS)})",
    "CREATE INDEX IF NOT EXISTS temp.idx_batch_articles_url ON batch_articles (url, content_digest)",
    "CREATE TEMP TABLE IF NOT EXISTS versions_touched (url TEXT PRIMARY KEY)",
    "CREATE TEMP TABLE IF NOT EXISTS presence_touched (url TEXT PRIMARY KEY)",
    f"CREATE TEMP TABLE IF NOT EXISTS version_changes ({', '.join(VERSION_COLUMNS)})",
    "CREATE TEMP TABLE IF NOT EXISTS article_state"
    " (url TEXT PRIMARY KEY, versions, first_seen, removed_at, removed_crawl_id)",
)

# Version starts: sightings whose digest differs from the one before, numbered in time order.
_VERSION_CHANGES_SQL = f"""
INSERT INTO temp.version_changes ({', '.join(c for c in VERSION_COLUMNS if c not in ('title', 'published', 'text'))})
WITH ordered AS (
    SELECT s.*, lag(s.content_digest) OVER (PARTITION BY s.url ORDER BY {_ORDER}) AS previous
    FROM main.article_sightings s WHERE s.url IN (SELECT url FROM temp.versions_touched)
), starts AS (
    SELECT *, row_number() OVER (PARTITION BY url ORDER BY {_ORDER}) AS version
    FROM ordered WHERE previous IS NULL OR previous != content_digest
)
SELECT {', '.join('st.' + c for c in VERSION_COLUMNS if c not in ('title', 'published', 'text'))}
FROM starts st LEFT JOIN main.article_versions v ON v.url = st.url AND v.version = st.version
WHERE v.url IS NULL OR v.content_digest IS NOT st.content_digest
   OR v.warc_filename IS NOT st.warc_filename OR v.warc_offset IS NOT st.warc_offset
"""

# Title, date and text follow from the digest: from this batch, or from a version already stored.
_VERSION_TEXT_SQL = """
UPDATE temp.version_changes AS c SET (title, published, text) = (
    SELECT title, published, text FROM (
        SELECT b.title, b.published, b.text, 0 AS preference FROM temp.batch_articles b
        WHERE b.url = c.url AND b.content_digest = c.content_digest
        UNION ALL
        SELECT v.title, v.published, v.text, 1 FROM main.article_versions v
        WHERE v.url = c.url AND v.content_digest = c.content_digest
    ) ORDER BY preference LIMIT 1)
"""

_UPSERT_VERSIONS_SQL = (
    f"INSERT INTO main.article_versions ({', '.join(VERSION_COLUMNS)}) "
    f"SELECT {', '.join(VERSION_COLUMNS)} FROM temp.version_changes WHERE true "
    "ON CONFLICT(url, version) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in VERSION_COLUMNS if c not in ("url", "version"))
)

# The last time the URL was seen present; removal is the first gone capture after it.
_LAST_PRESENT = (
    "max(a.fetched_at, coalesce((SELECT max(p.fetched_at) FROM main.captures p"
    f" WHERE p.url = a.url AND {_present('p')}), ''))"
)

_STATE_SQL = f"""
INSERT OR REPLACE INTO temp.article_state (url, versions, first_seen, removed_at, removed_crawl_id)
SELECT a.url,
       (SELECT max(v.version) FROM main.article_versions v WHERE v.url = a.url),
       (SELECT min(s.fetched_at) FROM main.article_sightings s WHERE s.url = a.url),
       g.fetched_at, g.crawl_id
FROM main.articles a
LEFT JOIN main.captures g ON g.rowid = (
    SELECT c.rowid FROM main.captures c
    WHERE c.url = a.url AND {_gone('c')} AND c.fetched_at > {_LAST_PRESENT}
    ORDER BY c.fetched_at, c.warc_filename, c.warc_offset LIMIT 1)
WHERE a.url IN (SELECT url FROM temp.versions_touched UNION SELECT url FROM temp.presence_touched)
"""

_APPLY_STATE_SQL = """
UPDATE main.articles AS a SET versions = st.versions, first_seen = st.first_seen,
    removed_at = st.removed_at, removed_crawl_id = st.removed_crawl_id
FROM temp.article_state st
WHERE a.url = st.url AND (a.versions, a.first_seen, a.removed_at, a.removed_crawl_id)
    IS NOT (st.versions, st.first_seen, st.removed_at, st.removed_crawl_id)
"""


def record_batch(conn: sqlite3.Connection, articles: list[dict], captures: list[dict]) -> None:
    """Sightings, versions and removal state for one flushed batch (rows already written).

    Runs inside the caller's transaction; ``articles`` are ``articles`` rows,
    ``captures`` are ``captures`` rows, as queued.
    """
    if not articles and not any(_tells_presence(c.get("status")) for c in captures):
        return
    for statement in _TEMP_TABLES:
        conn.execute(statement)
    for table in ("batch_articles", "versions_touched", "presence_touched", "version_changes", "article_state"):
        conn.execute(f"DELETE FROM temp.{table}")
    if articles:
        conn.executemany(
            f"INSERT INTO temp.batch_articles ({', '.join(_BATCH_COLUMNS)})"
            f" VALUES ({', '.join('?' for _ in _BATCH_COLUMNS)})",
            [[_batch_value(a, c) for c in _BATCH_COLUMNS] for a in articles])
        # Only URLs with a sighting new to the catalog can have new or renumbered versions.
        conn.execute(
            "INSERT OR IGNORE INTO temp.versions_touched SELECT b.url FROM temp.batch_articles b"
            " WHERE NOT EXISTS (SELECT 1 FROM main.article_sightings s"
            " WHERE s.warc_filename = b.warc_filename AND s.warc_offset = b.warc_offset AND s.url = b.url)")
        conn.execute(
            f"INSERT OR IGNORE INTO main.article_sightings ({', '.join(SIGHTING_COLUMNS)})"
            f" SELECT {', '.join(SIGHTING_COLUMNS)} FROM temp.batch_articles")
        conn.execute(_VERSION_CHANGES_SQL)
        conn.execute(_VERSION_TEXT_SQL)
        conn.execute(_UPSERT_VERSIONS_SQL)
        conn.execute("INSERT OR IGNORE INTO temp.presence_touched SELECT url FROM temp.batch_articles")
    conn.executemany("INSERT OR IGNORE INTO temp.presence_touched VALUES (?)",
                     [[c["url"]] for c in captures if _tells_presence(c.get("status"))])
    conn.execute(_STATE_SQL)
    conn.execute(_APPLY_STATE_SQL)


# Versions past the last start a recomputation found: left over when sightings were deleted.
_SURPLUS_VERSIONS_SQL = f"""
DELETE FROM main.article_versions AS v
WHERE v.url IN (SELECT url FROM temp.versions_touched) AND v.version > (
    SELECT count(*) FROM (
        SELECT s.content_digest, lag(s.content_digest) OVER (ORDER BY {_ORDER}) AS previous
        FROM main.article_sightings s WHERE s.url = v.url)
    WHERE previous IS NULL OR previous != content_digest)
"""


def rederive(conn: sqlite3.Connection, urls) -> None:
    """Versions and removal state of ``urls`` again, from the sightings and captures they have left.

    For a caller that deleted sightings or captures (``verify --repair`` drops
    rows pointing past a cut WARC tail): versions are renumbered as if the
    deleted captures had never been indexed, each keeping the text its digest
    already has. Runs inside the caller's transaction.
    """
    for statement in _TEMP_TABLES:
        conn.execute(statement)
    for table in ("batch_articles", "versions_touched", "presence_touched", "version_changes", "article_state"):
        conn.execute(f"DELETE FROM temp.{table}")
    conn.executemany("INSERT OR IGNORE INTO temp.versions_touched VALUES (?)", [[url] for url in urls])
    conn.execute(_VERSION_CHANGES_SQL)
    conn.execute(_VERSION_TEXT_SQL)  # before any row is rewritten: every digest left has its text in a version
    conn.execute(_UPSERT_VERSIONS_SQL)
    conn.execute(_SURPLUS_VERSIONS_SQL)
    conn.execute(_STATE_SQL)
    conn.execute(_APPLY_STATE_SQL)


def restate(conn: sqlite3.Connection, sightings: list[dict]) -> None:
    """New title, date and text for sightings already stored; versions and articles follow.

    ``sightings``: dicts of url, warc_filename, warc_offset, title, published, text. For a
    crawl finishing its texts with the site template it learned (archive.template): each
    sighting's digest changes, the URL's versions are derived again from its sightings (a
    version whose text now equals its neighbour's merges into it) and the articles row that
    points at the capture takes the new text. Runs inside the caller's transaction.
    """
    if not sightings:
        return
    for statement in _TEMP_TABLES:
        conn.execute(statement)
    for table in ("batch_articles", "versions_touched", "presence_touched", "version_changes", "article_state"):
        conn.execute(f"DELETE FROM temp.{table}")
    rows = [{**row, "content_digest": content_digest(row["title"], row["published"], row["text"])}
            for row in sightings]
    conn.executemany(
        "INSERT INTO temp.batch_articles (url, content_digest, title, published, text) VALUES (?, ?, ?, ?, ?)",
        [[r["url"], r["content_digest"], r["title"], r["published"], r["text"]] for r in rows])
    conn.executemany(
        "UPDATE main.article_sightings SET content_digest = ? WHERE url = ? AND warc_filename = ? AND warc_offset = ?",
        [[r["content_digest"], r["url"], r["warc_filename"], r["warc_offset"]] for r in rows])
    conn.executemany(
        "UPDATE main.articles SET text = ? WHERE url = ? AND warc_filename = ? AND warc_offset = ?",
        [[r["text"], r["url"], r["warc_filename"], r["warc_offset"]] for r in rows])
    conn.executemany("INSERT OR IGNORE INTO temp.versions_touched VALUES (?)", [[r["url"]] for r in rows])
    conn.execute(_VERSION_CHANGES_SQL)
    conn.execute(_VERSION_TEXT_SQL)
    conn.execute(_UPSERT_VERSIONS_SQL)
    conn.execute(_SURPLUS_VERSIONS_SQL)
    conn.execute(_STATE_SQL)
    conn.execute(_APPLY_STATE_SQL)


def _batch_value(article: dict, column: str):
    if column == "content_digest":
        return content_digest(article["title"], article["published"], article["text"])
    return article.get(column)


def _tells_presence(status) -> bool:
    """Whether a capture with this status says anything about an article being there or gone."""
    return isinstance(status, int) and (200 <= status <= 299 or status == 304 or status in GONE_STATUSES)


# -- per-crawl counts -----------------------------------------------------------------------

CRAWL_COUNTS_SQL = {
    "new_articles": "SELECT count(*) FROM article_versions WHERE version = 1 AND crawl_id = ?",
    "changed_articles": "SELECT count(DISTINCT url) FROM article_versions WHERE version > 1 AND crawl_id = ?",
    # Gone captures of this crawl that follow a present one with no gone capture in between.
    "removed_articles": f"""
        SELECT count(DISTINCT g.url) FROM captures g
        WHERE g.crawl_id = ? AND {_gone('g')}
          AND EXISTS (SELECT 1 FROM article_sightings s WHERE s.url = g.url AND s.fetched_at < g.fetched_at)
          AND NOT EXISTS (
              SELECT 1 FROM captures o
              WHERE o.url = g.url AND {_gone('o')}
                AND (o.fetched_at, o.warc_filename, o.warc_offset) < (g.fetched_at, g.warc_filename, g.warc_offset)
                AND o.fetched_at > (
                    SELECT max(seen) FROM (
                        SELECT max(s.fetched_at) AS seen FROM article_sightings s
                        WHERE s.url = g.url AND s.fetched_at < g.fetched_at
                        UNION ALL
                        SELECT max(p.fetched_at) FROM captures p
                        WHERE p.url = g.url AND p.fetched_at < g.fetched_at
                          AND {_present('p')})))
    """,
}


# -- reading --------------------------------------------------------------------------------


@dataclass
class Version:
    """One version of an article, as the first capture that showed it."""

    version: int
    fetched_at: str | None
    crawl_id: str | None
    title: str | None
    published: str | None
    modified: str | None
    language: str | None
    author: str | None
    description: str | None
    text: str | None
    warc_filename: str
    warc_offset: int
    warc_length: int
    payload_digest: str | None
    content_digest: str
    captions: str | None = None
    links: int | None = None


@dataclass
class Change:
    """What changed from one version to the next: unified diffs, empty when that part is equal."""

    before: int
    after: int
    title: list[str] = field(default_factory=list)
    published: tuple[str | None, str | None] | None = None
    text: list[str] = field(default_factory=list)


@dataclass
class History:
    """Every version of the article at ``url``, whether it is gone, and the changes between versions."""

    url: str
    versions: list[Version]
    removed_at: str | None
    removed_crawl_id: str | None
    changes: list[Change]

    def as_dict(self) -> dict:
        return asdict(self)


def article_history(conn: sqlite3.Connection, url: str) -> History:
    """The history of ``url`` (or its cleaned form); ArticleNotFound when it is no article."""
    for candidate in _candidates(url):
        article = conn.execute("SELECT url, removed_at, removed_crawl_id FROM articles WHERE url = ?",
                               [candidate]).fetchone()
        if article is None:
            continue
        rows = conn.execute(
            f"SELECT {', '.join(c for c in VERSION_COLUMNS if c != 'url')} FROM article_versions"
            " WHERE url = ? ORDER BY version", [candidate]).fetchall()
        names = [c for c in VERSION_COLUMNS if c != "url"]
        versions = [Version(**dict(zip(names, row))) for row in rows]
        changes = [change_between(old, new) for old, new in pairwise(versions)]
        return History(candidate, versions, article[1], article[2], changes)
    raise ArticleNotFound(f"{url} is not an article in the catalog (newsarchive show lists its captures)")


def change_between(old: Version, new: Version) -> Change:
    """Unified diffs of title and text, and the published dates when they differ."""
    before, after = f"version {old.version}", f"version {new.version}"
    change = Change(old.version, new.version)
    if old.title != new.title:
        change.title = _diff([old.title or ""], [new.title or ""], f"{before} title", f"{after} title")
    if old.published != new.published:
        change.published = (old.published, new.published)
    if old.text != new.text:
        change.text = _diff((old.text or "").splitlines(), (new.text or "").splitlines(),
                            f"{before} text", f"{after} text")
    return change


def _diff(old: list[str], new: list[str], before: str, after: str) -> list[str]:
    return list(difflib.unified_diff(old, new, fromfile=before, tofile=after, lineterm=""))


def _candidates(url: str) -> list[str]:
    """The URL as given, then as the crawl would have stored it."""
    from archive.urls import clean_url

    candidates = [url]
    try:
        cleaned = clean_url(url)
    except Exception:  # a string clean_url cannot parse is looked up as given
        cleaned = None
    if cleaned and cleaned != url:
        candidates.append(cleaned)
    return candidates
