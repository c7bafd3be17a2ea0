"""Schema versions of the catalog, and the steps that bring an old catalog up to date.

A catalog written by an older newsarchive must open with a newer one: people
keep archives for years. ``meta.schema_version`` says which steps a catalog
has had; :func:`migrate` applies the missing ones in order, each in its own
transaction, so a failure leaves the catalog at the last whole version.

Every step is additive (new columns, indexes, views, tables) and idempotent,
so a step interrupted half-way by a crash is simply run again. A read-only
connection cannot migrate: it reads an old catalog as it is, and the query
commands, which need the new views, first upgrade the file through a writable
connection (:func:`upgrade_file`) when the user may write it.

Version 1 is the schema :mod:`archive.catalog` creates; the steps start at 2.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Callable

import sqlite_utils

from archive.errors import CatalogError

BASE_VERSION = 1

# Views and what they are for: documented here and served as Datasette metadata.
VIEW_DOC: dict[str, str] = {
    "articles_by_site_month": "Article counts per site, month of publication and language.",
    "latest_captures": "The latest capture of every URL (its newest response or revisit record).",
    "article_captures": "Every capture of every article URL, newest first: the versions the archive holds.",
}
# Columns added to existing tables by migrations (not in archive.catalog.SCHEMA_DOC).
EXTRA_COLUMN_DOC: dict[str, dict[str, str]] = {
    "articles": {"month": 'Month of publication, "2026-11" (derived from published; NULL without a date).'},
    "sites": {
        "id": "Site id as in articles.site (a host or a site profile id).",
        "name": "Human name of the site.",
        "region": "Region the site covers (an oblast, a city); what --region filters on.",
        "country": "Country code.",
    },
}


def _v2_filters_views_sites(db: sqlite_utils.Database) -> None:
    """Month column, indexes for the common filters, the views, the sites table.

    ``month`` is a VIRTUAL generated column: it costs no space, stays right
    whatever writes ``published``, and can be faceted and indexed.
    """
    columns = {row[1] for row in db.execute("PRAGMA table_xinfo(articles)").fetchall()}
    if "month" not in columns:
        db.execute("ALTER TABLE articles ADD COLUMN month TEXT"
                   " GENERATED ALWAYS AS (substr(published, 1, 7)) VIRTUAL")
    # Catalogs written before dedup have no record_type / refers_to columns.
    capture_columns = {row[1] for row in db.execute("PRAGMA table_info(captures)").fetchall()}
    for column in ("record_type", "refers_to"):
        if column not in capture_columns:
            db.execute(f"ALTER TABLE captures ADD COLUMN {column} TEXT")
    for statement in (
        "CREATE INDEX IF NOT EXISTS idx_articles_site_published ON articles (site, published)",
        "CREATE INDEX IF NOT EXISTS idx_articles_language_published ON articles (language, published)",
        "CREATE INDEX IF NOT EXISTS idx_articles_month ON articles (month)",
        "CREATE INDEX IF NOT EXISTS idx_captures_url_fetched_at ON captures (url, fetched_at)",
        "CREATE TABLE IF NOT EXISTS sites (id TEXT PRIMARY KEY, name TEXT, region TEXT, country TEXT)",
        "CREATE INDEX IF NOT EXISTS idx_sites_region ON sites (region COLLATE NOCASE)",
        "DROP VIEW IF EXISTS articles_by_site_month",
        "CREATE VIEW articles_by_site_month AS"
        " SELECT site, month, language, count(*) AS articles"
        " FROM articles GROUP BY site, month, language",
        "DROP VIEW IF EXISTS latest_captures",
        "CREATE VIEW latest_captures AS"
        " SELECT c.* FROM captures c"
        " WHERE c.id = (SELECT l.id FROM captures l WHERE l.url = c.url"
        " ORDER BY l.fetched_at DESC, l.id DESC LIMIT 1)",
        "DROP VIEW IF EXISTS article_captures",
        "CREATE VIEW article_captures AS"
        " SELECT a.url, c.fetched_at, c.status, c.record_type, c.payload_digest,"
        " c.payload_digest = a.payload_digest AS is_catalogued_version,"
        " c.warc_filename, c.warc_offset, c.warc_length, c.record_id, c.refers_to, c.crawl_id"
        " FROM articles a JOIN captures c ON c.url = a.url",
    ):
        db.execute(statement)


def _v3_weighted_rank(db: sqlite_utils.Database) -> None:
    """FTS5's ``rank`` becomes bm25 with a title match worth TITLE_WEIGHT body matches.

    ``ORDER BY rank`` then needs no per-row function call with arguments, and
    Datasette's search sorts the same way as ``newsarchive search``.
    """
    from archive.catalog import TITLE_WEIGHT

    db.execute("INSERT INTO articles_fts (articles_fts, rank) VALUES ('rank', ?)", [f"bm25({TITLE_WEIGHT}, 1.0)"])


def _v4_covering_pointer_index(db: sqlite_utils.Database) -> None:
    """Export joins every article to its capture for the record id: with the id in the
    index, that join reads no captures row (measured: half the cost of a CSV export)."""
    db.execute("CREATE INDEX IF NOT EXISTS idx_captures_pointer_record_id"
               " ON captures (warc_filename, warc_offset, record_id)")


def _v5_validators(db: sqlite_utils.Database) -> None:
    """ETag and Last-Modified of each capture: a re-crawl asks "changed since?" instead of refetching."""
    capture_columns = {row[1] for row in db.execute("PRAGMA table_info(captures)").fetchall()}
    for column in ("etag", "last_modified"):
        if column not in capture_columns:
            db.execute(f"ALTER TABLE captures ADD COLUMN {column} TEXT")


def _v6_versions(db: sqlite_utils.Database) -> None:
    """Article versions, sightings and removal (archive.versions), backfilled from the articles rows.

    An old catalog knows only each article's latest capture, so that becomes its
    version 1 and its one sighting; ``newsarchive reindex`` recovers the earlier
    versions from the WARC files. Crawls recorded before this step keep NULL
    new/changed/removed counts. The FTS update trigger fires only when title or
    text change, so the catalog's own bookkeeping updates do not re-index text.
    """
    from archive.catalog import create_table
    from archive.versions import content_digest

    def add_columns(table: str, names: tuple[str, ...], kind: str) -> None:
        present = {row[1] for row in db.execute(f"PRAGMA table_xinfo({table})").fetchall()}
        for name in names:
            if name not in present:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")

    add_columns("articles", ("versions",), "INTEGER")
    add_columns("articles", ("first_seen", "removed_at", "removed_crawl_id"), "TEXT")
    add_columns("crawls", ("new_articles", "changed_articles", "removed_articles"), "INTEGER")
    tables = set(db.table_names())
    for table in ("article_versions", "article_sightings"):
        if table not in tables:
            create_table(db, table)
    db.conn.create_function("newsarchive_content_digest", 3, content_digest, deterministic=True)
    db.execute(
        "INSERT OR IGNORE INTO article_sightings (url, fetched_at, content_digest, modified, language, author,"
        " description, warc_filename, warc_offset, warc_length, payload_digest, crawl_id)"
        " SELECT url, fetched_at, newsarchive_content_digest(title, published, text), modified, language, author,"
        " description, warc_filename, warc_offset, warc_length, payload_digest, crawl_id FROM articles")
    db.execute(
        "INSERT OR IGNORE INTO article_versions (url, version, content_digest, title, published, modified,"
        " language, author, description, text, warc_filename, warc_offset, warc_length, payload_digest,"
        " fetched_at, crawl_id)"
        " SELECT url, 1, newsarchive_content_digest(title, published, text), title, published, modified,"
        " language, author, description, text, warc_filename, warc_offset, warc_length, payload_digest,"
        " fetched_at, crawl_id FROM articles")
    db.execute("UPDATE articles SET versions = 1, first_seen = fetched_at WHERE versions IS NULL")
    db.execute(
        "UPDATE articles AS a SET (removed_at, removed_crawl_id) = ("
        " SELECT g.fetched_at, g.crawl_id FROM captures g WHERE g.url = a.url AND g.status IN (404, 410)"
        " AND g.fetched_at > max(a.fetched_at, coalesce((SELECT max(p.fetched_at) FROM captures p"
        " WHERE p.url = a.url AND (p.status BETWEEN 200 AND 299 OR p.status = 304)), ''))"
        " ORDER BY g.fetched_at, g.warc_filename, g.warc_offset LIMIT 1)"
        " WHERE a.url IN (SELECT url FROM captures WHERE status IN (404, 410))")
    db.execute("DROP TRIGGER IF EXISTS articles_au")
    db.execute(
        "CREATE TRIGGER articles_au AFTER UPDATE OF title, text ON articles"
        " WHEN old.title IS NOT new.title OR old.text IS NOT new.text BEGIN"
        " INSERT INTO articles_fts (articles_fts, rowid, title, text) VALUES ('delete', old.rowid, old.title, old.text);"
        " INSERT INTO articles_fts (rowid, title, text) VALUES (new.rowid, new.title, new.text);"
        " END")


def _v7_structure_and_templates(db: sqlite_utils.Database) -> None:
    """Image captions and link counts per article, version and sighting; the learned site templates.

    Rows written before this step keep NULL captions and links (``newsarchive
    reindex`` fills them from the WARCs). ``site_templates`` is an index of the
    template records crawls write into their WARCs (archive.template).
    """
    from archive.catalog import create_table

    for table in ("articles", "article_versions", "article_sightings"):
        present = {row[1] for row in db.execute(f"PRAGMA table_xinfo({table})").fetchall()}
        for name, kind in (("captions", "TEXT"), ("links", "INTEGER")):
            if name not in present:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
    if "site_templates" not in db.table_names():
        create_table(db, "site_templates")


# (version it brings the catalog to, step); append only, never edit a released step.
MIGRATIONS: tuple[tuple[int, Callable[[sqlite_utils.Database], None]], ...] = (
    (2, _v2_filters_views_sites),
    (3, _v3_weighted_rank),
    (4, _v4_covering_pointer_index),
    (5, _v5_validators),
    (6, _v6_versions),
    (7, _v7_structure_and_templates),
)
LATEST_VERSION = MIGRATIONS[-1][0] if MIGRATIONS else BASE_VERSION


def schema_version(db: sqlite_utils.Database) -> int:
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0])


def pending(version: int) -> list[int]:
    """Versions still to apply to a catalog at ``version``."""
    return [target for target, _step in MIGRATIONS if target > version]


def migrate(db: sqlite_utils.Database, path: str | os.PathLike, *, read_only: bool = False) -> list[int]:
    """Bring the catalog on ``db`` to :data:`LATEST_VERSION`; returns the versions applied.

    A read-only connection is left as it is (older readers keep working); callers
    that need the new schema check :func:`schema_version` and call :func:`upgrade_file`.
    """
    todo = pending(schema_version(db))
    if read_only:
        return []
    for target, step in MIGRATIONS:
        if target not in todo:
            continue
        try:
            with db.atomic():  # one transaction per step
                step(db)
                db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(target)])
        except sqlite3.Error as exc:
            raise CatalogError(f"cannot upgrade catalog {path} to schema version {target}: {exc}") from None
    return todo


def upgrade_file(path: str | os.PathLike) -> list[int]:
    """Upgrade the catalog file at ``path`` through its own writable connection."""
    from archive.catalog import Catalog  # the writable open runs migrate()

    path = Path(path)
    with sqlite3.connect(path) as probe:
        try:
            before = int(probe.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0])
        except (sqlite3.Error, TypeError, ValueError):
            before = None
    probe.close()
    Catalog(path).close()
    return pending(before) if before is not None else []
