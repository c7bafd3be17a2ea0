"""Questions data users ask the catalog: search, filtered export, read-only SQL, provenance.

This is the library behind ``newsarchive search/export/sql/show``; the command
line only parses options and calls it. Every value reaches SQLite as a bound
parameter; the only SQL built from pieces is the choice among fixed clauses.

The catalog is opened read-only (``mode=ro`` and ``PRAGMA query_only``), so a
query can never change the archive's index, even while a crawl writes it. A
catalog from an older release is upgraded first (archive.migrations) when the
user may write it.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterable, Iterator

from archive.catalog import SCHEMA_DOC, TITLE_WEIGHT
from archive.datefilter import since_bound, until_bound
from archive.errors import CatalogError, QueryError
from archive.migrations import LATEST_VERSION, upgrade_file
from archive.records import open_record
from archive.stemming import MIN_STEM, stem, words

DEFAULT_LIMIT = 20
DEFAULT_TIME_LIMIT = 10.0  # seconds a `newsarchive sql` query may run
SNIPPET_TOKENS = 16
LANGUAGES = ("kk", "ru", "en")
EXPORT_FORMATS = ("csv", "jsonl", "parquet")
# What an exported row carries: the article, then where exactly it came from.
EXPORT_COLUMNS = (
    "url", "site", "language", "published", "modified", "title", "author", "description", "text",
    "warc_filename", "warc_offset", "warc_length", "record_id", "payload_digest", "fetched_at", "crawl_id",
)
PROVENANCE_COLUMNS = ("warc_filename", "warc_offset", "warc_length", "record_id", "payload_digest", "fetched_at",
                      "crawl_id")
# FTS5 syntax a user may write on purpose; such a query is passed through as written.
_FTS_SYNTAX = re.compile(r'["*()^:]|\b(?:AND|OR|NOT|NEAR)\b')


# -- opening ---------------------------------------------------------------------


def connect(path: str | os.PathLike, *, upgrade: bool = True) -> sqlite3.Connection:
    """A read-only connection to the catalog at ``path`` (upgraded first when old and writable)."""
    path = Path(path)
    if not path.is_file():
        raise CatalogError(f"no catalog at {path} (crawl something first, or give --data)")
    conn = _read_only(path)
    version = _version(conn, path)
    if version < LATEST_VERSION:
        conn.close()
        if not (upgrade and os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
            raise CatalogError(f"catalog {path} has schema version {version} and this newsarchive needs "
                               f"{LATEST_VERSION}; run it once where the catalog is writable to upgrade it")
        upgrade_file(path)
        conn = _read_only(path)
    return conn


def _read_only(path: Path) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, check_same_thread=False)
        conn.execute("PRAGMA query_only=1")
    except sqlite3.Error as exc:
        raise CatalogError(f"cannot open catalog {path}: {exc}") from None
    conn.row_factory = sqlite3.Row
    return conn


def _version(conn: sqlite3.Connection, path: Path) -> int:
    try:
        return int(conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0])
    except (sqlite3.Error, TypeError, ValueError):
        raise CatalogError(f"{path} is not a newsarchive catalog") from None


# -- filters ---------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """What narrows a search or an export; every field is optional."""

    sites: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    language: str | None = None
    since: str | None = None  # as typed: "2021", "march 2021", "25.11.2026"
    until: str | None = None

    def where(self, alias: str = "a") -> tuple[list[str], list]:
        """SQL conditions on the articles row ``alias`` and their parameters."""
        clauses: list[str] = []
        params: list = []
        if self.sites:
            clauses.append(f"{alias}.site IN ({', '.join('?' for _ in self.sites)})")
            params += list(self.sites)
        if self.regions:
            clauses.append(f"{alias}.site IN (SELECT id FROM sites WHERE region COLLATE NOCASE IN "
                           f"({', '.join('?' for _ in self.regions)}))")
            params += list(self.regions)
        if self.language:
            if self.language not in LANGUAGES:
                raise QueryError(f"language must be one of {', '.join(LANGUAGES)}, not {self.language!r}")
            clauses.append(f"{alias}.language = ?")
            params.append(self.language)
        since, until = since_bound(self.since), until_bound(self.until)
        if since:
            clauses.append(f"{alias}.published >= ?")
            params.append(since)
        if until:
            clauses.append(f"{alias}.published < ?")
            params.append(until)
        return clauses, params


def check_regions(conn: sqlite3.Connection, regions: Iterable[str]) -> None:
    """A region no site has is a typo more often than an empty result: say which exist."""
    known = [row[0] for row in conn.execute("SELECT DISTINCT region FROM sites WHERE region IS NOT NULL"
                                            " ORDER BY region")]
    lowered = {k.lower() for k in known}
    unknown = [r for r in regions if r.lower() not in lowered]
    if unknown:
        hint = f"known regions: {', '.join(known)}" if known else "no site in this catalog has a region yet"
        raise QueryError(f"no site has region {', '.join(map(repr, unknown))} ({hint})")


# -- search ----------------------------------------------------------------------


def fts_query(text: str) -> str:
    """The FTS5 query for what a user typed: every word as its stem prefix, all required.

    A query already written in FTS5 syntax (quotes, ``*``, ``OR``, ``NEAR``,
    ``title:``) is kept as written.
    """
    if _FTS_SYNTAX.search(text):
        return text
    terms = []
    for word in words(text):
        prefix = stem(word)
        quoted = '"' + prefix.replace('"', '""') + '"'
        terms.append(quoted + "*" if len(prefix) >= MIN_STEM else quoted)
    if not terms:
        raise QueryError(f"{text!r} has no words to search for")
    return " ".join(terms)


def search(conn: sqlite3.Connection, text: str, filters: Filters = Filters(), *, limit: int = DEFAULT_LIMIT,
           offset: int = 0, stemming: bool = True) -> list[dict]:
    """Articles matching ``text`` and ``filters``, best bm25 match first, with a [highlighted] snippet.

    ``stemming=False`` searches the words exactly as typed.
    """
    if filters.regions:
        check_regions(conn, filters.regions)
    match = fts_query(text) if stemming else _quoted_words(text)
    clauses, params = filters.where("a")
    sql = (
        "SELECT a.url, a.title, a.site, a.language, a.published,"
        f" snippet(articles_fts, -1, '[', ']', '…', {SNIPPET_TOKENS}) AS snippet,"
        " bm25(articles_fts, ?, 1.0) AS rank"
        " FROM articles_fts JOIN articles a ON a.rowid = articles_fts.rowid"
        " WHERE articles_fts MATCH ?" + "".join(" AND " + c for c in clauses)
        + " ORDER BY rank, a.url LIMIT ? OFFSET ?"
    )
    try:
        return [dict(row) for row in conn.execute(sql, [TITLE_WEIGHT, match, *params, limit, offset])]
    except sqlite3.OperationalError as exc:
        if "fts5" in str(exc) or "syntax" in str(exc) or "no such column" in str(exc):
            raise QueryError(f"{text!r} is not a valid search ({exc}); quote words with special characters")
        raise QueryError(f"search failed: {exc}") from None


def _quoted_words(text: str) -> str:
    terms = ['"' + w.replace('"', '""') + '"' for w in words(text)]
    if not terms:
        raise QueryError(f"{text!r} has no words to search for")
    return " ".join(terms)


# -- export ----------------------------------------------------------------------


def export_rows(conn: sqlite3.Connection, filters: Filters = Filters(), *, query: str | None = None,
                columns: Iterable[str] = EXPORT_COLUMNS) -> Iterator[dict]:
    """Stream the articles matching ``filters`` (and ``query``), with their provenance.

    One SQLite cursor, read row by row: memory stays constant however large
    the export. Rows come in catalog order (search order with ``query``).
    """
    columns = tuple(columns)
    unknown = [c for c in columns if c not in EXPORT_COLUMNS]
    if unknown:
        raise QueryError(f"no export column {', '.join(unknown)}; columns: {', '.join(EXPORT_COLUMNS)}")
    if filters.regions:
        check_regions(conn, filters.regions)
    selected = ", ".join("c.record_id" if c == "record_id" else f"a.{c}" for c in columns)
    clauses, params = filters.where("a")
    joins = ""
    if "record_id" in columns:
        joins = " LEFT JOIN captures c ON c.warc_filename = a.warc_filename AND c.warc_offset = a.warc_offset"
    if query:
        sql = (f"SELECT {selected} FROM articles_fts JOIN articles a ON a.rowid = articles_fts.rowid{joins}"
               " WHERE articles_fts MATCH ?" + "".join(" AND " + c for c in clauses)
               + " ORDER BY bm25(articles_fts, ?, 1.0), a.url")
        params = [fts_query(query), *params, TITLE_WEIGHT]
    else:
        sql = (f"SELECT {selected} FROM articles a{joins}"
               + (" WHERE " + " AND ".join(clauses) if clauses else "") + " ORDER BY a.rowid")
    try:
        cursor = conn.execute(sql, params)
        names = [d[0] for d in cursor.description]
        for row in cursor:
            yield dict(zip(names, row))
    except sqlite3.OperationalError as exc:
        raise QueryError(f"export failed: {exc}") from None


def write_export(rows: Iterable[dict], fmt: str, out: IO, *, columns: Iterable[str] = EXPORT_COLUMNS,
                 batch: int = 10_000) -> int:
    """Write ``rows`` as csv, jsonl (text stream) or parquet (binary stream); returns the row count."""
    columns = list(columns)
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        count = 0
        for row in rows:
            writer.writerow(row)
            count += 1
        return count
    if fmt == "jsonl":
        count = 0
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
        return count
    if fmt == "parquet":
        return _write_parquet(rows, out, columns, batch)
    raise QueryError(f"export format must be one of {', '.join(EXPORT_FORMATS)}, not {fmt!r}")


def _write_parquet(rows: Iterable[dict], out: IO, columns: list[str], batch: int) -> int:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise QueryError("parquet export needs pyarrow: pip install 'newsarchive[parquet]'") from None
    integer = {"warc_offset", "warc_length"}
    schema = pa.schema([(c, pa.int64() if c in integer else pa.string()) for c in columns])
    count = 0
    with pq.ParquetWriter(out, schema, compression="zstd") as writer:
        chunk: list[dict] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= batch:
                writer.write_table(pa.Table.from_pylist(chunk, schema=schema))
                count += len(chunk)
                chunk = []
        if chunk or not count:
            writer.write_table(pa.Table.from_pylist(chunk, schema=schema))
            count += len(chunk)
    return count


# -- read-only SQL ---------------------------------------------------------------


@dataclass
class SqlResult:
    columns: list[str]
    rows: Iterator[tuple]


def run_sql(conn: sqlite3.Connection, sql: str, params: dict | list | None = None, *,
            time_limit: float = DEFAULT_TIME_LIMIT) -> SqlResult:
    """Run one read-only statement; rows stream from the returned iterator.

    The statement is interrupted after ``time_limit`` seconds (a progress
    handler, so even a query that returns nothing for minutes is stopped). A
    write is refused by SQLite itself (``mode=ro``, ``query_only``) and reported
    as one QueryError line.
    """
    deadline = time.monotonic() + time_limit
    conn.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 10_000)
    try:
        cursor = conn.execute(sql, params or [])
    except (sqlite3.Error, sqlite3.Warning) as exc:
        conn.set_progress_handler(None, 0)
        raise _sql_error(exc, time_limit) from None
    columns = [d[0] for d in cursor.description or ()]

    def rows() -> Iterator[tuple]:
        try:
            for row in cursor:
                yield tuple(row)
        except sqlite3.Error as exc:
            raise _sql_error(exc, time_limit) from None
        finally:
            conn.set_progress_handler(None, 0)

    return SqlResult(columns, rows())


def _sql_error(exc: Exception, time_limit: float) -> QueryError:
    message = str(exc)
    if "interrupted" in message:
        return QueryError(f"query stopped after the {time_limit:g} s time limit (raise it with --time-limit)")
    if "readonly" in message or "read-only" in message or "query_only" in message:
        return QueryError("the catalog is read-only here: newsarchive sql runs SELECT queries only")
    if "one statement at a time" in message:
        return QueryError("one SQL statement at a time, please")
    return QueryError(f"SQL error: {message}")


# -- provenance ------------------------------------------------------------------


@dataclass
class ArticleRecord:
    """An article, every capture of its URL (its versions), and where the text came from."""

    article: dict | None
    captures: list[dict] = field(default_factory=list)
    provenance: dict | None = None

    def as_dict(self) -> dict:
        return {"article": self.article, "provenance": self.provenance, "captures": self.captures}


def show(conn: sqlite3.Connection, url: str) -> ArticleRecord:
    """The article at ``url`` (or its cleaned form), its captures and its provenance."""
    from archive.urls import clean_url

    candidates = [url]
    try:
        cleaned = clean_url(url)
        if cleaned and cleaned != url:
            candidates.append(cleaned)
    except Exception:  # a string clean_url cannot parse is looked up as given
        pass
    for candidate in candidates:
        article = conn.execute("SELECT * FROM articles WHERE url = ?", [candidate]).fetchone()
        captures = [dict(r) for r in conn.execute(
            "SELECT fetched_at, status, record_type, content_type, payload_digest, warc_filename, warc_offset,"
            " warc_length, record_id, refers_to, truncated, crawl_id"
            " FROM captures WHERE url = ? ORDER BY fetched_at DESC, id DESC", [candidate])]
        if article is None and not captures:
            continue
        article = dict(article) if article is not None else None
        provenance = None
        if article is not None:
            article.pop("month", None)
            record = conn.execute(
                "SELECT record_id FROM captures WHERE warc_filename = ? AND warc_offset = ?",
                [article["warc_filename"], article["warc_offset"]]).fetchone()
            provenance = {c: article.get(c) for c in PROVENANCE_COLUMNS if c != "record_id"}
            provenance["record_id"] = record[0] if record else None
        return ArticleRecord(article, captures, provenance)
    raise QueryError(f"{url} is not in the catalog (neither an article nor a capture)")


def archived_html(warc_dir: str | os.PathLike, pointer: dict) -> bytes:
    """The archived body at a catalog pointer, as the server sent it but content-decoded (gzip undone)."""
    with open_record(warc_dir, pointer["warc_filename"], pointer["warc_offset"]) as record:
        if record.rec_type != "response":
            raise QueryError(f"the record at {pointer['warc_filename']}:{pointer['warc_offset']} is a "
                             f"{record.rec_type}, not a response with a body")
        return record.content_stream().read()


# -- small helpers for the command line ----------------------------------------------


def column_docs() -> dict[str, str]:
    """Descriptions of the export columns (from the catalog's schema docs)."""
    docs = dict(SCHEMA_DOC["articles"])
    docs["record_id"] = SCHEMA_DOC["captures"]["record_id"]
    return {c: docs[c] for c in EXPORT_COLUMNS}


def csv_text(columns: list[str], rows: Iterable[Iterable]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue()
