"""The SQLite catalog: a searchable index over the WARC files.

The WARC files are the source of truth; the catalog only points into them, so it
can always be rebuilt by re-reading the WARCs (``newsarchive reindex``). That
makes one ordering rule essential: a row is committed only after the WARC record
it points to is durable on disk. :meth:`Catalog.flush` enforces it by fsyncing
every referenced WARC file before it writes the batch in one transaction.

Rows are buffered and written in batches because a crawl adds one capture per
response; committing each would fsync the WARC and the WAL hundreds of times.
The same transaction keeps article versions and removal marks in step
(archive.versions), so they never lag behind the rows they derive from.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
from datetime import date, datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit
from typing import Iterator

import sqlite_utils

from archive.datadir import fsync_directory
from archive.errors import CatalogError
from archive.migrations import BASE_VERSION, LATEST_VERSION as SCHEMA_VERSION, migrate
from archive.versions import CRAWL_COUNTS_SQL, record_batch, restate

OPEN_SUFFIX = ".open"  # a WARC file still being written (see archive.warc)
CRAWL_STATUSES = ("running", "finished", "interrupted", "failed")
# Case-folds Cyrillic, Kazakh letters included; strips Latin diacritics only, so
# "провел" does not match "провёл" (no ё/е folding, no stemming yet).
FTS_TOKENIZER = "unicode61 remove_diacritics 2"
TITLE_WEIGHT = 5.0  # bm25 weight of a title match relative to a body-text match

# (column, type, description) per table: the one source for the schema and its docs.
_TABLES: dict[str, tuple[tuple[str, type, str], ...]] = {
    "articles": (
        ("url", str, "Canonical URL of the article; one row per URL (primary key)."),
        ("site", str, "Host of the URL, or the id of the site profile that found it."),
        ("title", str, "Headline."),
        ("published", str, 'Publication date, ISO 8601: "2026-11-25" or "2026-11-25T10:30:00+05:00".'),
        ("modified", str, "Last-modified date as the page states it, ISO 8601."),
        ("language", str, 'Language code of the text ("kk", "ru", "en").'),
        ("author", str, "Author or issuing office, as printed."),
        ("description", str, "Lead or meta description."),
        ("text", str, "Main text, boilerplate removed."),
        ("captions", str, "Image captions, one per line, in page order; kept out of text. "
         "NULL when the page has none (or the row predates schema 7: reindex fills it)."),
        ("links", int, "Hyperlinks in the article text (anchors whose words the text shows); "
         "NULL in rows from before schema 7."),
        ("warc_filename", str, "WARC file holding the response the article was extracted from."),
        ("warc_offset", int, "Byte offset of that response record in the WARC file."),
        ("warc_length", int, "Byte length of that (gzipped) response record."),
        ("payload_digest", str, "WARC-Payload-Digest of the response (sha1, base32)."),
        ("fetched_at", str, "When the response was fetched, ISO 8601 UTC; the latest capture wins."),
        ("crawl_id", str, "Crawl that fetched that response (crawls.id)."),
        ("versions", int, "How many versions of the article the archive holds (article_versions rows)."),
        ("first_seen", str, "When the article was first captured, ISO 8601 UTC (version 1's fetched_at)."),
        ("removed_at", str, "When a re-check found the URL gone (HTTP 404 or 410), ISO 8601 UTC; "
         "NULL while it is there."),
        ("removed_crawl_id", str, "Crawl that found it gone (crawls.id); NULL while it is there."),
    ),
    "article_versions": (
        ("url", str, "URL of the article (articles.url)."),
        ("version", int, "1 for the first text archived, then 2, 3, ... in fetch order; unique with url."),
        ("content_digest", str, "sha1 of the title, published date and text: a new version when it changes."),
        ("title", str, "Headline of this version."),
        ("published", str, "Publication date this version states, ISO 8601."),
        ("modified", str, "Last-modified date this version's first capture states, ISO 8601."),
        ("language", str, "Language code of the text."),
        ("author", str, "Author or issuing office, as printed."),
        ("description", str, "Lead or meta description."),
        ("text", str, "Main text of this version, boilerplate removed."),
        ("captions", str, "Image captions of this version's first capture, one per line (NULL: none)."),
        ("links", int, "Hyperlinks in the text of this version's first capture."),
        ("warc_filename", str, "WARC file holding the first capture that showed this version."),
        ("warc_offset", int, "Byte offset of that record in the WARC file."),
        ("warc_length", int, "Byte length of that (gzipped) record."),
        ("payload_digest", str, "WARC-Payload-Digest of that capture."),
        ("fetched_at", str, "When that capture was fetched, ISO 8601 UTC: when this version was first seen."),
        ("crawl_id", str, "Crawl that first saw this version (crawls.id)."),
    ),
    "article_sightings": (
        ("url", str, "URL of the article (articles.url)."),
        ("fetched_at", str, "When the capture was fetched, ISO 8601 UTC."),
        ("content_digest", str, "article_versions.content_digest of what the capture showed."),
        ("modified", str, "Last-modified date the page stated."),
        ("language", str, "Language code of the text."),
        ("author", str, "Author or issuing office, as printed."),
        ("description", str, "Lead or meta description."),
        ("captions", str, "Image captions the capture showed, one per line (NULL: none)."),
        ("links", int, "Hyperlinks in the capture's article text."),
        ("warc_filename", str, "WARC file holding the capture."),
        ("warc_offset", int, "Byte offset of the capture's record; unique with warc_filename and url."),
        ("warc_length", int, "Byte length of that (gzipped) record."),
        ("payload_digest", str, "WARC-Payload-Digest of the capture."),
        ("crawl_id", str, "Crawl that fetched it (crawls.id)."),
    ),
    "captures": (
        ("id", int, "Row id."),
        ("url", str, "URL fetched."),
        ("status", int, "HTTP status code."),
        ("content_type", str, "Content-Type header of the response."),
        ("fetched_at", str, "When the response was fetched, ISO 8601 UTC."),
        ("warc_filename", str, "WARC file holding the response record."),
        ("warc_offset", int, "Byte offset of the response record; unique with warc_filename."),
        ("warc_length", int, "Byte length of the (gzipped) response record."),
        ("record_id", str, "WARC-Record-ID of the response record."),
        ("payload_digest", str, "WARC-Payload-Digest: equal digests mean identical bodies."),
        ("crawl_id", str, "Crawl that fetched it (crawls.id)."),
        ("truncated", str, 'NULL, or the WARC-Truncated reason ("length", "time", "disconnect").'),
        ("record_type", str, '"response", or "revisit" when the payload repeats an earlier capture of the URL.'),
        ("refers_to", str, "For a revisit: WARC-Record-ID of the capture whose payload it repeats."),
        ("etag", str, "ETag response header, sent back as If-None-Match when the URL is re-checked."),
        ("last_modified", str, "Last-Modified response header, sent back as If-Modified-Since."),
    ),
    "crawls": (
        ("id", str, 'Crawl id: UTC start time and a random suffix, "20261125T103000Z-ab12cd".'),
        ("seeds", str, "JSON list of the seed URLs."),
        ("started_at", str, "Start, ISO 8601 UTC."),
        ("finished_at", str, "End, ISO 8601 UTC; NULL while running."),
        ("status", str, '"running", "finished", "interrupted" or "failed".'),
        ("pages", int, "Responses archived (captures rows of this crawl)."),
        ("articles", int, "Articles this crawl captured and extracted (distinct URLs)."),
        ("errors", int, "Errors recorded (errors rows of this crawl)."),
        ("bytes", int, "WARC bytes written: per WARC file of the crawl, the end of its last response record."),
        ("settings", str, "JSON of the settings the crawl ran with."),
        ("new_articles", int, "Articles first seen in this crawl (their version 1 is from it)."),
        ("changed_articles", int, "Articles this crawl found with a changed title, date or text (a new version)."),
        ("removed_articles", int, "Articles this crawl found gone (HTTP 404 or 410 after being there)."),
    ),
    "site_templates": (
        ("site", str, "Site (host, port included) whose pages the template was learned from."),
        ("crawl_id", str, "Crawl that learned it (crawls.id); unique with site."),
        ("pairs", str, "JSON list of the template's paragraph-neighbour keys (16 hex digits each); "
         "the next crawl of the site starts from them."),
        ("pages", int, "Pages of the site the crawl learned from."),
        ("warc_filename", str, "WARC file holding the template's metadata record (the source of truth)."),
        ("warc_offset", int, "Byte offset of that record."),
        ("warc_length", int, "Byte length of that (gzipped) record."),
    ),
    "errors": (
        ("id", int, "Row id."),
        ("crawl_id", str, "Crawl that met the error (crawls.id)."),
        ("url", str, "URL concerned."),
        ("message", str, "What went wrong, one line."),
        ("at", str, "When, ISO 8601 UTC."),
    ),
    "meta": (
        ("key", str, 'Setting name; "schema_version" is the catalog format version.'),
        ("value", str, "Its value, as text."),
    ),
}
SCHEMA_DOC: dict[str, dict[str, str]] = {
    table: {name: doc for name, _type, doc in columns} for table, columns in _TABLES.items()
}
_PRIMARY_KEYS = {"articles": "url", "article_versions": ("url", "version"),
                 "article_sightings": ("warc_filename", "warc_offset", "url"), "captures": "id", "crawls": "id",
                 "site_templates": ("site", "crawl_id"),
                 "errors": "id", "meta": "key"}
_NOT_NULL = {
    "articles": ("warc_filename", "warc_offset", "warc_length"),
    "article_versions": ("url", "version", "content_digest", "warc_filename", "warc_offset", "warc_length"),
    "article_sightings": ("url", "content_digest", "warc_filename", "warc_offset", "warc_length"),
    "captures": ("url", "warc_filename", "warc_offset", "warc_length"),
    "crawls": ("started_at", "status"),
    "errors": ("message", "at"),
    "site_templates": ("site", "crawl_id", "pairs", "warc_filename", "warc_offset", "warc_length"),
}
_INDEXES = (
    ("articles", ("published",), False),
    ("articles", ("site",), False),
    ("articles", ("language",), False),
    ("captures", ("warc_filename", "warc_offset"), True),
    ("captures", ("url",), False),
    ("captures", ("payload_digest",), False),
    ("article_sightings", ("url", "fetched_at"), False),
    ("article_versions", ("crawl_id",), False),
)
# Columns an articles row is given; the rest (versions, removal) the catalog derives (archive.versions).
_ARTICLE_COLUMNS = tuple(SCHEMA_DOC["articles"])[: tuple(SCHEMA_DOC["articles"]).index("versions")]
_CAPTURE_COLUMNS = tuple(c for c in SCHEMA_DOC["captures"] if c != "id")

# The latest capture wins whatever order rows arrive in, so a reindex that reads
# WARC files out of order still ends with the newest version of each article.
_UPSERT_ARTICLE_SQL = (
    f"INSERT INTO articles ({', '.join(_ARTICLE_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _ARTICLE_COLUMNS)}) "
    "ON CONFLICT(url) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _ARTICLE_COLUMNS if c != "url")
    + " WHERE articles.fetched_at IS NULL OR excluded.fetched_at >= articles.fetched_at"
)

# A crawl's counts (crawls columns), each from its rows: finish_crawl stores them, repair recounts them.
# Each depends only on rows of the crawl and earlier captures, so a reindex, which finishes every
# crawl at the end, finds the same figures.
CRAWL_TOTALS_SQL = {
    "pages": "SELECT count(*) FROM captures WHERE crawl_id = ?",
    "articles": "SELECT count(DISTINCT url) FROM article_sightings WHERE crawl_id = ?",
    "errors": "SELECT count(*) FROM errors WHERE crawl_id = ?",
    "bytes": "SELECT coalesce(sum(last_end), 0) FROM (SELECT max(warc_offset + warc_length)"
    " AS last_end FROM captures WHERE crawl_id = ? GROUP BY warc_filename)",
    **CRAWL_COUNTS_SQL,
}


def crawl_totals(conn, crawl_id: str) -> dict:
    """The crawl's counts (crawls columns) taken from its rows, by :data:`CRAWL_TOTALS_SQL`."""
    return {name: conn.execute(sql, [crawl_id]).fetchone()[0] for name, sql in CRAWL_TOTALS_SQL.items()}


ARTICLE_FIELDS = ("title", "published", "modified", "language", "author", "description", "text", "captions", "links")


def captions_text(captions) -> str | None:
    """Captions as stored: one per line, NULL for none.

    One caption a line rather than JSON: it reads as it is in Datasette, a CSV
    export and ``LIKE '%word%'``; a caption never holds a line break (the
    extraction folds its whitespace), so splitting on lines gives them back.
    """
    if captions is None:
        return None
    if isinstance(captions, str):
        return captions or None
    lines = [" ".join(str(caption).split()) for caption in captions]
    return "\n".join(line for line in lines if line) or None


def article_row(capture: dict, fields: dict) -> dict:
    """The ``articles`` row of an extracted article: its fields and the capture it came from.

    The crawl and ``reindex`` both build rows here, so a rebuilt catalog equals the crawl's.
    """
    return {
        "url": capture["url"],
        "site": urlsplit(capture["url"]).netloc,
        **{name: fields.get(name) for name in ARTICLE_FIELDS},
        "captions": captions_text(fields.get("captions")),
        "warc_filename": capture["warc_filename"],
        "warc_offset": capture["warc_offset"],
        "warc_length": capture["warc_length"],
        "payload_digest": capture["payload_digest"],
        "fetched_at": capture["fetched_at"],
        "crawl_id": capture["crawl_id"],
    }


def utc_iso(moment: datetime | None = None) -> str:
    """``2026-11-25T10:30:00Z``: one spelling, so timestamps compare as text."""
    moment = moment or datetime.now(timezone.utc)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Catalog:
    """Buffered writer and reader of ``catalog.db``; see the module docstring."""

    db: sqlite_utils.Database

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        warc_dir: str | os.PathLike | None = None,
        batch_size: int = 200,
        read_only: bool = False,
    ):
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.path = Path(path)
        self.warc_dir = Path(warc_dir) if warc_dir is not None else None
        self.batch_size = batch_size
        self.read_only = read_only
        self._captures: list[dict] = []
        self._articles: list[dict] = []
        self._errors: list[dict] = []
        self._closed = False
        self.db = self._open_read_only() if read_only else self._open_writable()

    # -- opening -------------------------------------------------------------

    def _open_writable(self) -> sqlite_utils.Database:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CatalogError(f"cannot create {self.path.parent} for the catalog: {exc.strerror}") from None
        if self.path.exists() and not os.access(self.path, os.R_OK | os.W_OK):
            raise CatalogError(f"catalog {self.path} is not writable (open it read-only to query it)")
        if not os.access(self.path.parent, os.W_OK):
            raise CatalogError(f"cannot write in {self.path.parent} (the catalog keeps its WAL there)")
        return self._guarded_open(lambda: sqlite_utils.Database(self.path, execute_plugins=False))

    def _open_read_only(self) -> sqlite_utils.Database:
        if not self.path.is_file():
            raise CatalogError(f"no catalog at {self.path}")
        uri = self.path.resolve().as_uri() + "?mode=ro"
        return self._guarded_open(
            lambda: sqlite_utils.Database(sqlite3.connect(uri, uri=True), execute_plugins=False)
        )

    def _guarded_open(self, connect) -> sqlite_utils.Database:
        """Connect and check (or create) the schema; every failure becomes one CatalogError line."""
        db = None
        try:
            db = connect()
            if self.read_only:
                db.execute("PRAGMA query_only=1")
            self._prepare(db)
            return db
        except sqlite3.Error as exc:
            if db is not None:
                db.close()
            raise CatalogError(f"cannot open catalog {self.path}: {exc}") from None
        except CatalogError:
            if db is not None:
                db.close()
            raise

    def _prepare(self, db: sqlite_utils.Database) -> None:
        version = _schema_version(db, self.path)
        if version is None:
            if db.table_names():
                raise CatalogError(f"{self.path} is a SQLite database but not a newsarchive catalog")
            if self.read_only:
                raise CatalogError(f"{self.path} is an empty database, not a newsarchive catalog")
            db.enable_wal()
            _create_schema(db)
        elif version > SCHEMA_VERSION:
            raise CatalogError(
                f"catalog {self.path} has schema version {version}, newer than this newsarchive "
                f"understands ({SCHEMA_VERSION}); upgrade newsarchive to open it"
            )
        elif not self.read_only and db.journal_mode != "wal":
            db.enable_wal()
        migrate(db, self.path, read_only=self.read_only)  # archive/migrations.py: views, indexes, sites
        # The catalog is rebuildable from the WARCs, so a commit lost to a power
        # cut costs a reindex, not data; NORMAL spares an fsync per commit.
        db.execute("PRAGMA synchronous=NORMAL")
        # The flush's scratch tables (archive.versions) hold one batch: memory, not a temp file.
        db.execute("PRAGMA temp_store=MEMORY")

    # -- crawls --------------------------------------------------------------

    def start_crawl(
        self,
        seeds: list[str],
        settings: dict | None = None,
        *,
        crawl_id: str | None = None,
        now: datetime | None = None,
    ) -> str:
        """Record a running crawl and return its id (generated from ``now`` unless given)."""
        self._require_writable()
        started_at = utc_iso(now)
        crawl_id = crawl_id or f"{started_at.replace('-', '').replace(':', '')}-{secrets.token_hex(3)}"
        row = {
            "id": crawl_id,
            "seeds": json.dumps(list(seeds), ensure_ascii=False),
            "started_at": started_at,
            "status": "running",
            "settings": json.dumps(settings or {}, ensure_ascii=False, sort_keys=True, default=str),
        }
        try:
            self.db["crawls"].insert(row)
        except sqlite3.IntegrityError:
            raise CatalogError(f"crawl {crawl_id} is already in catalog {self.path}") from None
        return crawl_id

    def resume_crawl(self, crawl_id: str, settings: dict | None = None) -> dict:
        """Mark a stopped crawl running again, ``settings`` merged into its own; returns its row."""
        self._require_writable()
        with self.db.atomic():
            row = self.db.execute("SELECT settings FROM crawls WHERE id = ?", [crawl_id]).fetchone()
            if row is None:
                raise CatalogError(f"no crawl {crawl_id} in catalog {self.path}")
            merged = {**json.loads(row[0] or "{}"), **(settings or {})}
            self.db.execute(
                "UPDATE crawls SET status = 'running', finished_at = NULL, settings = ? WHERE id = ?",
                [json.dumps(merged, ensure_ascii=False, sort_keys=True, default=str), crawl_id])
        row = dict(self.db["crawls"].get(crawl_id))
        row["seeds"] = json.loads(row["seeds"])
        return row

    def finish_crawl(self, crawl_id: str, status: str, *, now: datetime | None = None) -> None:
        """Flush, then store the crawl's end, status and counts taken from its rows.

        A WARC that went missing still ends the crawl (its rows are dropped, the
        rest written and counted); the CatalogError is raised afterwards.
        """
        if status not in CRAWL_STATUSES:
            raise ValueError(f"crawl status must be one of {', '.join(CRAWL_STATUSES)}, not {status!r}")
        self._require_writable()
        try:
            self.flush()
            warc_failure = None
        except CatalogError as exc:
            warc_failure = exc
            self.flush()  # the rows left point at durable WARCs; a SQLite fault raises here
        # Read before the write transaction: a deferred BEGIN that reads then writes gets "database is
        # locked" at once (no busy wait) when another process committed in between (two crawl workers).
        values = crawl_totals(self.db.conn, crawl_id)
        with self.db.atomic():
            cursor = self.db.execute(
                f"UPDATE crawls SET finished_at = ?, status = ?, {', '.join(f'{name} = ?' for name in values)}"
                " WHERE id = ?",
                [utc_iso(now), status, *values.values(), crawl_id],
            )
            if cursor.rowcount == 0:
                raise CatalogError(f"no crawl {crawl_id} in catalog {self.path}")
        if warc_failure is not None:
            raise warc_failure

    # -- buffered writes -----------------------------------------------------

    def add_capture(self, row: dict) -> None:
        """Queue one archived HTTP response; written at the next flush."""
        self._require_writable()
        self._captures.append(_checked_row("captures", row, _CAPTURE_COLUMNS))
        self._flush_if_full()

    def add_article(self, row: dict) -> None:
        """Queue one article; per URL, the row with the latest ``fetched_at`` wins.

        Every article row is also a sighting: a new text makes a new version (archive.versions).
        """
        self._require_writable()
        self._articles.append(_checked_row("articles", row, _ARTICLE_COLUMNS))
        self._flush_if_full()

    def add_error(self, crawl_id: str, url: str, message: str, *, now: datetime | None = None) -> None:
        """Queue one crawl error (it points at no WARC record)."""
        self._require_writable()
        self._errors.append(
            {"crawl_id": crawl_id, "url": url, "message": " ".join(str(message).split()), "at": utc_iso(now)}
        )
        self._flush_if_full()

    @property
    def pending(self) -> int:
        """Rows queued and not yet written."""
        return len(self._captures) + len(self._articles) + len(self._errors)

    def _flush_if_full(self) -> None:
        if self.pending >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        """Make the referenced WARC files durable, then write every queued row in one transaction.

        A row pointing at a WARC file that cannot be made durable (missing, too short,
        no ``warc_dir``) must never be written: such rows are dropped, nothing is
        written and CatalogError is raised; the other rows stay queued for the next
        flush. ``newsarchive reindex`` rebuilds whatever the WARC files do hold. Rows
        also stay queued when SQLite itself fails (locked, disk full), for a retry.
        """
        if not self.pending:
            return
        self._sync_referenced_warcs()
        try:
            with self.db.atomic():
                if self._captures:
                    self.db["captures"].insert_all(self._captures, ignore=True)
                if self._articles:
                    self.db.conn.executemany(
                        _UPSERT_ARTICLE_SQL, [[a[c] for c in _ARTICLE_COLUMNS] for a in self._articles]
                    )
                record_batch(self.db.conn, self._articles, self._captures)
                if self._errors:
                    self.db["errors"].insert_all(self._errors)
        except sqlite3.Error as exc:
            raise CatalogError(f"cannot write to catalog {self.path}: {exc}") from None
        self._captures, self._articles, self._errors = [], [], []

    def _sync_referenced_warcs(self) -> None:
        ends: dict[str, int] = {}  # WARC file name -> end of the last record pointed into it
        for row in self._captures + self._articles:
            name = row["warc_filename"]
            ends[name] = max(ends.get(name, 0), row["warc_offset"] + row["warc_length"])
        if not ends:
            return
        failures: dict[str, str] = {}
        for name, end in sorted(ends.items()):
            try:
                if self.warc_dir is None:
                    raise CatalogError(f"the catalog was opened without warc_dir, so it cannot fsync {name}")
                _fsync_warc(self.warc_dir, name, end)
            except CatalogError as exc:
                failures[name] = str(exc)
        if failures:
            before = self.pending
            self._captures = [r for r in self._captures if r["warc_filename"] not in failures]
            self._articles = [r for r in self._articles if r["warc_filename"] not in failures]
            raise CatalogError(
                f"{'; '.join(failures.values())}; dropped {before - self.pending} catalog rows "
                "pointing there, wrote nothing"
            )
        _fsync_directory(self.warc_dir)

    # -- site templates (archive.template) -------------------------------------

    def finish_templates(self, recorded: list[tuple], removed=lambda warc_filename, warc_offset: (), *,
                         files: set[str] | None = None, finish_texts: bool = True) -> int:
        """Store a crawl's site templates and finish its texts with them; returns the texts changed.

        ``recorded``: (archive.template.RecordedTemplate, (warc file, offset, length) of its
        WARC record) pairs, all of one crawl. ``removed(file, offset)``: what the site's base
        template took out of the page of that capture. The records are made durable first;
        then, in one transaction, the ``site_templates`` rows are written and every sighting
        of the crawl whose text the final template strips further gets its new text, with
        its versions and articles row (archive.versions.restate). ``files``: only sightings in
        these WARC files (a resumed crawl's earlier texts are finished already); ``finish_texts``
        False stores the rows only (reindex, whose texts are finished page by page).
        """
        from archive.template import pairs_json, restrip, site_of

        self._require_writable()
        self.flush()
        ends: dict[str, int] = {}  # one fsync per WARC file, however many sites' records it holds
        for _template, (name, offset, length) in recorded:
            ends[name] = max(ends.get(name, 0), offset + length)
        for name, end in sorted(ends.items()):
            if self.warc_dir is None:
                raise CatalogError(f"the catalog was opened without warc_dir, so it cannot fsync {name}")
            _fsync_warc(self.warc_dir, name, end)
        crawl_ids = {template.crawl_id for template, _ in recorded}
        finals = {template.site: template.final for template, _ in recorded if template.final != template.base}
        changed = []
        # Nothing to finish when no site's template grew; otherwise the texts are read as a stream,
        # not all at once (21,000 articles' texts are ~100 MB as Python strings).
        for crawl_id in sorted(crawl_ids) if finish_texts and finals else ():
            sightings = self.db.execute(
                "SELECT s.url, s.warc_filename, s.warc_offset, v.title, v.published, v.text FROM article_sightings s"
                " JOIN article_versions v ON v.url = s.url AND v.content_digest = s.content_digest"
                " WHERE s.crawl_id = ? GROUP BY s.url, s.warc_filename, s.warc_offset"
                " ORDER BY s.fetched_at, s.warc_filename, s.warc_offset", [crawl_id])
            for url, name, offset, title, published, text in sightings:
                final = finals.get(site_of(url))
                if not final or text is None or (files is not None and name not in files):
                    continue
                finished = restrip(text, removed(name, offset), final)
                if finished != text:
                    changed.append({"url": url, "warc_filename": name, "warc_offset": offset,
                                    "title": title, "published": published, "text": finished})
        try:
            with self.db.atomic():
                self.db.conn.executemany(
                    "INSERT OR REPLACE INTO site_templates (site, crawl_id, pairs, pages, warc_filename,"
                    " warc_offset, warc_length) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [[t.site, t.crawl_id, pairs_json(t.final), t.pages, *pointer] for t, pointer in recorded])
                restate(self.db.conn, changed)
        except sqlite3.Error as exc:
            raise CatalogError(f"cannot write to catalog {self.path}: {exc}") from None
        return len(changed)

    def site_template_bases(self, before_crawl_id: str | None = None) -> dict[str, frozenset[int]]:
        """Per site, the template its latest crawl recorded (crawls before ``before_crawl_id`` only).

        A crawl's id begins with its UTC start, so "before" is "started earlier".
        """
        from archive.template import pairs_from_json

        sql = ("SELECT site, pairs FROM site_templates t WHERE crawl_id = (SELECT max(crawl_id) FROM site_templates"
               " u WHERE u.site = t.site" + (" AND u.crawl_id < ?" if before_crawl_id else "") + ")")
        params = [before_crawl_id] if before_crawl_id else []
        return {site: pairs_from_json(pairs) for site, pairs in self.db.execute(sql, params).fetchall()}

    def site_templates_of(self, crawl_id: str) -> dict[str, frozenset[int]]:
        """The templates ``crawl_id`` itself recorded, per site (a resumed crawl's earlier close)."""
        from archive.template import pairs_from_json

        rows = self.db.execute("SELECT site, pairs FROM site_templates WHERE crawl_id = ?", [crawl_id]).fetchall()
        return {site: pairs_from_json(pairs) for site, pairs in rows}

    # -- closing -------------------------------------------------------------

    def close(self) -> None:
        """Flush and close; safe to call twice."""
        if self._closed:
            return
        try:
            if not self.read_only:
                self.flush()
        finally:
            self._closed = True
            self.db.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- reading -------------------------------------------------------------

    def article(self, url: str) -> dict | None:
        """The article stored for ``url``, or None (queued rows are not visible)."""
        return next(self.db.query("SELECT * FROM articles WHERE url = ?", [url]), None)

    def articles(self, **where) -> Iterator[dict]:
        """Articles matching every ``column=value`` given, newest first."""
        unknown = sorted(set(where) - set(SCHEMA_DOC["articles"]))
        if unknown:
            raise ValueError(f"articles has no column {', '.join(unknown)}")
        clauses, params = [], []
        for column, value in where.items():
            if value is None:
                clauses.append(f"{column} IS NULL")
            else:
                clauses.append(f"{column} = ?")
                params.append(value)
        sql = "SELECT * FROM articles"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY published IS NULL, published DESC, url"
        return self.db.query(sql, params)

    def search(self, query: str, limit: int = 20) -> list[dict]:
        """Full-text search over title and text, best bm25 match first, with a snippet.

        FTS5 syntax (``"phrase"``, ``OR``, ``prefix*``) is honoured; a query that is not
        valid FTS5 syntax is searched as plain words instead of failing.
        """
        sql = (
            "SELECT articles.url, articles.title, articles.site, articles.published, articles.language,"
            " snippet(articles_fts, -1, '[', ']', '…', 16) AS snippet,"
            " bm25(articles_fts, ?, 1.0) AS rank"
            " FROM articles_fts JOIN articles ON articles.rowid = articles_fts.rowid"
            " WHERE articles_fts MATCH ? ORDER BY rank, articles.url LIMIT ?"
        )
        try:
            return list(self.db.query(sql, [TITLE_WEIGHT, query, limit]))
        except sqlite3.OperationalError:
            # Not FTS5 syntax (a stray quote, "a-b", "x:y"): retry with every word quoted.
            # A real fault fails the retry as well and is raised from there.
            return list(self.db.query(sql, [TITLE_WEIGHT, self.db.quote_fts(query), limit]))

    def counts(self) -> dict:
        """Row counts of the main tables."""
        return {table: self.db[table].count for table in ("articles", "captures", "crawls")}

    def _require_writable(self) -> None:
        if self.read_only:
            raise CatalogError(f"catalog {self.path} is open read-only")
        if self._closed:
            raise CatalogError(f"catalog {self.path} is closed")


# -- helpers -------------------------------------------------------------------


def _schema_version(db: sqlite_utils.Database, path: Path) -> int | None:
    """The catalog's schema version, or None for a database without a ``meta`` table."""
    if "meta" not in db.table_names():
        return None
    row = db.execute("SELECT value FROM meta WHERE key = ?", ["schema_version"]).fetchone()
    try:
        return int(row[0])
    except (TypeError, ValueError):
        raise CatalogError(f"{path} has no valid schema_version in its meta table") from None


def _create_schema(db: sqlite_utils.Database) -> None:
    with db.atomic():
        for table in _TABLES:
            create_table(db, table)
        db["articles"].enable_fts(["title", "text"], fts_version="FTS5", create_triggers=True, tokenize=FTS_TOKENIZER)
        db["meta"].insert({"key": "schema_version", "value": str(BASE_VERSION)})  # then migrate()


def create_table(db: sqlite_utils.Database, table: str) -> None:
    """Create ``table`` as this release defines it, with its indexes (migrations add tables this way)."""
    db[table].create(
        {name: kind for name, kind, _doc in _TABLES[table]},
        pk=_PRIMARY_KEYS[table],
        not_null=_NOT_NULL.get(table, ()),
    )
    for indexed, columns, unique in _INDEXES:
        if indexed == table:
            db[table].create_index(columns, unique=unique)


def _checked_row(table: str, row: dict, columns: tuple[str, ...]) -> dict:
    """Reject misspelt or missing fields when the row is queued, not at flush time."""
    unknown = sorted(set(row) - set(columns))
    if unknown:
        raise ValueError(f"{table} has no column {', '.join(unknown)}")
    missing = [c for c in _NOT_NULL[table] if row.get(c) is None]
    if table == "articles" and not row.get("url"):
        missing.insert(0, "url")
    if missing:
        raise ValueError(f"a {table} row needs {', '.join(missing)}")
    name = row["warc_filename"]
    if name in (".", "..") or os.path.basename(name) != name:
        raise ValueError(f"warc_filename must be a file name inside warc_dir, not {name!r}")
    checked = {}
    for column, value in row.items():
        if isinstance(value, datetime) and column == "fetched_at":
            value = utc_iso(value)
        elif isinstance(value, (datetime, date)):
            value = value.isoformat()
        checked[column] = value
    return {column: checked.get(column) for column in columns}


def _fsync_warc(warc_dir: Path, name: str, end: int) -> None:
    """fsync the WARC file (finished, or still ``.open``) and check it reaches ``end`` bytes."""
    path = warc_dir / name
    # The writer may rename name.open to name between two attempts: try the final
    # name again last.
    for candidate in (path, path.with_name(name + OPEN_SUFFIX), path):
        try:
            fd = os.open(candidate, os.O_RDONLY)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise CatalogError(f"cannot open WARC file {candidate}: {exc.strerror}") from None
        try:
            os.fsync(fd)
            size = os.fstat(fd).st_size
        except OSError as exc:
            raise CatalogError(f"cannot fsync WARC file {candidate}: {exc.strerror}") from None
        finally:
            os.close(fd)
        if size < end:
            raise CatalogError(
                f"WARC file {candidate} has {size} bytes but a catalog row points up to byte {end}; "
                "the WARC writer must flush before the catalog does"
            )
        return
    raise CatalogError(f"WARC file {name} is not in {warc_dir} (nor {name}{OPEN_SUFFIX})")


def _fsync_directory(directory: Path) -> None:
    """Make new WARC file names durable too (a file's fsync does not cover its directory entry)."""
    try:
        fsync_directory(directory)
    except OSError as exc:
        raise CatalogError(f"cannot sync WARC directory {directory}: {exc.strerror}") from None
