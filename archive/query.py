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

import os
import re
import sqlite3
import time
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import IO, Iterable, Iterator

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
            clauses.append(f"{alias}.site IN (SELECT id FROM sites WHERE region IN "
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


def resolve_regions(conn: sqlite3.Connection, filters: Filters) -> Filters:
    """``filters`` with each region spelt as the sites table spells it, whatever the case typed.

    A region no site has is a typo more often than an empty result: the error names the known ones.
    """
    if not filters.regions:
        return filters
    known = [row[0] for row in conn.execute("SELECT DISTINCT region FROM sites WHERE region IS NOT NULL"
                                            " ORDER BY region")]
    by_case = {}
    for region in known:
        by_case.setdefault(region.casefold(), []).append(region)
    unknown = [r for r in filters.regions if r.casefold() not in by_case]
    if unknown:
        hint = f"known regions: {', '.join(known)}" if known else "no site in this catalog has a region yet"
        raise QueryError(f"no site has region {', '.join(map(repr, unknown))} ({hint})")
    spelt = tuple(name for r in filters.regions for name in by_case[r.casefold()])
    return replace(filters, regions=spelt)


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
    filters = resolve_regions(conn, filters)
    match = fts_query(text) if stemming else _quoted_words(text)
    clauses, params = filters.where("a")
    # Two steps, because the cost is per matching row: rank every match on the
    # FTS index alone (filters as a rowid set from the articles indexes, never a
    # join to the wide articles rows), then fetch rows and snippets for the page.
    # The unary + keeps SQLite from driving the FTS table with that rowid set (one
    # whole prefix-query evaluation per candidate row: minutes on a million articles).
    within = ""
    if clauses:
        within = " AND +articles_fts.rowid IN (SELECT a.rowid FROM articles a WHERE " + " AND ".join(clauses) + ")"
    sql = (
        "WITH top(id, rank) AS MATERIALIZED ("
        " SELECT articles_fts.rowid, articles_fts.rank FROM articles_fts"
        " WHERE articles_fts MATCH ?" + within + " ORDER BY articles_fts.rank, articles_fts.rowid LIMIT ? OFFSET ?)"
        " SELECT a.url, a.title, a.site, a.language, a.published, a.text, top.rank AS rank"
        " FROM top JOIN articles a ON a.rowid = top.id ORDER BY top.rank, top.id"
    )
    try:
        rows = [dict(row) for row in conn.execute(sql, [match, *params, limit, offset])]
    except sqlite3.OperationalError as exc:
        if "fts5" in str(exc) or "syntax" in str(exc) or "no such column" in str(exc):
            raise QueryError(f"{text!r} is not a valid search ({exc}); quote words with special characters")
        raise QueryError(f"search failed: {exc}") from None
    terms = _highlight_terms(match)
    for row in rows:
        row["snippet"] = snippet(row.pop("text") or "", terms)
    return rows


def _highlight_terms(match: str) -> list[tuple[str, bool]]:
    """(lower-cased word, is a prefix) for every word of an FTS5 query, operators left out."""
    terms = []
    for found in re.finditer(r'"((?:[^"]|"")*)"(\*?)|([^\W_]+)(\*?)', match):
        word = (found[1].replace('""', '"') if found[1] is not None else found[3]).lower()
        if found[3] and found[3] in ("AND", "OR", "NOT", "NEAR"):
            continue
        terms.extend((w, bool(found[2] or found[4])) for w in words(word))
    return terms


def snippet(text: str, terms: list[tuple[str, bool]], *, size: int = SNIPPET_TOKENS * 2) -> str:
    """About ``size`` words of ``text`` from just before its first match, matches in [brackets].

    Done here rather than with FTS5's snippet(), which evaluates the whole
    (prefix) query again for every row shown: measured 2.5x the search itself.
    """
    pattern = _term_pattern(tuple(terms))
    found = pattern.search(text) if pattern else None
    start = 0
    if found:  # begin three words before the match
        lead = text[max(0, found.start() - 80):found.start()]
        before = list(re.finditer(r"[^\W_]+", lead))[-3:]
        start = found.start() - len(lead) + before[0].start() if before else found.start()
    tokens = []
    for token in re.finditer(r"[^\W_]+", text[start:]):
        tokens.append(token)
        if len(tokens) > size:
            break
    if not tokens:
        return ""
    end = start + tokens[min(size, len(tokens)) - 1].end()
    body = text[start:end]
    if pattern:
        body = pattern.sub(lambda m: f"[{m[0]}]", body)
    return ("…" if start > 0 else "") + " ".join(body.split()) + ("…" if len(tokens) > size else "")


@lru_cache(maxsize=256)
def _term_pattern(terms: tuple[tuple[str, bool], ...]) -> re.Pattern | None:
    if not terms:
        return None
    alternatives = [re.escape(w) + (r"[^\W_]*" if prefix else r"(?![^\W_])") for w, prefix in terms]
    return re.compile(r"(?<![^\W_])(?:" + "|".join(alternatives) + ")", re.IGNORECASE)


def _quoted_words(text: str) -> str:
    terms = ['"' + w.replace('"', '""') + '"' for w in words(text)]
    if not terms:
        raise QueryError(f"{text!r} has no words to search for")
    return " ".join(terms)


# -- export ----------------------------------------------------------------------


def _export_query(conn: sqlite3.Connection, filters: Filters, query: str | None, columns: tuple[str, ...],
                  expression=None) -> tuple[str, list]:
    """SQL and parameters selecting ``columns`` (or one ``expression`` of them) of matching articles."""
    unknown = [c for c in columns if c not in EXPORT_COLUMNS]
    if unknown or not columns:
        raise QueryError(f"no export column {', '.join(unknown) or '(none given)'}; "
                         f"columns: {', '.join(EXPORT_COLUMNS)}")
    filters = resolve_regions(conn, filters)
    qualified = {c: "c.record_id" if c == "record_id" else f"a.{c}" for c in columns}
    selected = expression(qualified) if expression else ", ".join(qualified.values())
    clauses, params = filters.where("a")
    joins = ""
    if "record_id" in columns:
        joins = " LEFT JOIN captures c ON c.warc_filename = a.warc_filename AND c.warc_offset = a.warc_offset"
    if query:
        sql = (f"SELECT {selected} FROM articles_fts JOIN articles a ON a.rowid = articles_fts.rowid{joins}"
               " WHERE articles_fts MATCH ?" + "".join(" AND " + c for c in clauses)
               + " ORDER BY articles_fts.rank, a.rowid")
        return sql, [fts_query(query), *params]
    sql = (f"SELECT {selected} FROM articles a{joins}"
           + (" WHERE " + " AND ".join(clauses) if clauses else "") + " ORDER BY a.rowid")
    return sql, params


def export_rows(conn: sqlite3.Connection, filters: Filters = Filters(), *, query: str | None = None,
                columns: Iterable[str] = EXPORT_COLUMNS) -> Iterator[dict]:
    """Stream the articles matching ``filters`` (and ``query``) as dicts, with their provenance.

    One SQLite cursor, read row by row: memory stays constant however large
    the export. Rows come in catalog order (search order with ``query``).
    """
    sql, params = _export_query(conn, filters, query, tuple(columns))
    try:
        cursor = conn.execute(sql, params)
        names = [d[0] for d in cursor.description]
        for row in cursor:
            yield dict(zip(names, row))
    except sqlite3.OperationalError as exc:
        raise QueryError(f"export failed: {exc}") from None


def _csv_line(qualified: dict[str, str]) -> str:
    """SQL for RFC 4180 lines (text quoted, quotes doubled, NULL empty): one value per row, or three when
    the text column is exported (the line up to the text, the raw text, the rest of the line).

    Cells are quoted by SQLite and each part is one printf() (a chain of ``||`` copies the growing line
    once per cell); the long text comes unquoted and Python doubles its quotes (bytes.replace hands back
    the same object when there is none). Measured 1.3-1.5x the single ``||`` line per CPU second.
    """
    cells = {c: q if c in _INTEGER_COLUMNS else
             f"""CASE WHEN {q} IS NULL THEN '' ELSE '"' || replace({q}, '"', '""') || '"' END"""
             for c, q in qualified.items()}
    if _LONG_COLUMN not in cells:
        return _printf(list(cells.values()), end="' || char(13, 10) || '")
    names = list(cells)
    at = names.index(_LONG_COLUMN)
    text = qualified[_LONG_COLUMN]
    before = [cells[c] for c in names[:at]]
    after = [cells[c] for c in names[at + 1:]]
    return (_printf(before, end="," if before else "") + f""" || CASE WHEN {text} IS NULL THEN '' ELSE '"' END, """
            f"coalesce({text}, ''), "
            f"""CASE WHEN {text} IS NULL THEN '' ELSE '"' END || """
            + _printf(after, start="," if after else "", end="' || char(13, 10) || '"))


def _printf(cells: list[str], *, start: str = "", end: str = "") -> str:
    """printf() of comma-separated cells; NULL prints as nothing, as it should in CSV."""
    if not cells:  # SQLite's printf('') is NULL, not ''
        return "'" + start + end + "'"
    return "printf('" + start + ",".join("%s" for _ in cells) + end + "'" + "".join(", " + c for c in cells) + ")"


def _json_line(qualified: dict[str, str]) -> str:
    return "json_object(" + ", ".join(f"'{c}', {q}" for c, q in qualified.items()) + ") || char(10)"


_INTEGER_COLUMNS = frozenset({"warc_offset", "warc_length"})
_LONG_COLUMN = "text"  # most of every row: quoted in Python
_LINE_EXPRESSIONS = {"csv": _csv_line, "jsonl": _json_line}


def export_lines(conn: sqlite3.Connection, fmt: str, filters: Filters = Filters(), *, query: str | None = None,
                 columns: Iterable[str] = EXPORT_COLUMNS, batch: int = 1000) -> Iterator[bytes]:
    """Stream csv (header first) or jsonl as UTF-8 lines, many rows per chunk.

    SQLite writes each line itself (quoting, JSON escaping) and hands over raw
    UTF-8 bytes: measured 3-6x faster than Python's csv and json modules on
    the rows of a news catalog, whose text is most of every row.
    """
    for chunk, _rows in _line_chunks(conn, fmt, filters, query, tuple(columns), batch):
        yield chunk


def _line_chunks(conn, fmt, filters, query, columns, batch) -> Iterator[tuple[bytes, int]]:
    if fmt not in _LINE_EXPRESSIONS:
        raise QueryError(f"line formats are {', '.join(_LINE_EXPRESSIONS)}, not {fmt!r}")
    sql, params = _export_query(conn, filters, query, columns, _LINE_EXPRESSIONS[fmt])
    if fmt == "csv":
        yield (",".join(columns) + "\r\n").encode(), 0
    previous = conn.text_factory
    conn.text_factory = bytes
    try:
        cursor = conn.execute(sql, params)
        if len(cursor.description) == 1:
            while rows := cursor.fetchmany(batch):
                yield b"".join([row[0] for row in rows]), len(rows)
        else:  # csv around the raw text: (line before, text, line after)
            while rows := cursor.fetchmany(batch):
                yield b"".join([part for before, text, after in rows
                                for part in (before, text.replace(b'"', b'""'), after)]), len(rows)
    except sqlite3.OperationalError as exc:
        raise QueryError(f"export failed: {exc}") from None
    finally:
        conn.text_factory = previous


def write_export(conn: sqlite3.Connection, fmt: str, out: IO[bytes] | str | os.PathLike,
                 filters: Filters = Filters(), *, query: str | None = None,
                 columns: Iterable[str] = EXPORT_COLUMNS) -> int:
    """Write the matching articles to ``out`` (a binary stream, or a path for parquet); returns rows written."""
    columns = tuple(columns)
    if fmt == "parquet":
        return _write_parquet(export_rows(conn, filters, query=query, columns=columns), out, list(columns))
    if fmt not in _LINE_EXPRESSIONS:
        raise QueryError(f"export format must be one of {', '.join(EXPORT_FORMATS)}, not {fmt!r}")
    count = 0
    for chunk, rows in _line_chunks(conn, fmt, filters, query, columns, 1000):
        out.write(chunk)
        count += rows
    return count


def _write_parquet(rows: Iterable[dict], out, columns: list[str], batch: int = 10_000) -> int:
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
