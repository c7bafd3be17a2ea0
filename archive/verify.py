"""Is the archive intact, and does the catalog point where it says? ``newsarchive verify``.

Every WARC file of ``<data>/warc`` is streamed (archive.warcscan: never a whole
file or record in memory) and every record's digests are recomputed. What must
hold across records and files (unique record ids, request/response pairs,
revisits naming a real original, catalog rows opening the record they name:
captures, articles, and article versions and sightings) is
checked afterwards with SQL, over an index of the records kept in a temporary
SQLite file rather than in memory, so the cost stays flat however big the
archive grows. A bad file is one problem and the others are still read.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from archive.catalog import Catalog
from archive.datadir import DataDir
from archive.errors import CatalogError, DataDirError
from archive.warc import OPEN_SUFFIX
from archive.warcscan import ScannedRecord, WarcFormatError, scan_warc

MAX_PROBLEMS_KEPT = 10_000  # beyond this only the count grows: a wholly wrong catalog stays readable
OPEN_FILE_ADVICE = "crawl still running or killed: run newsarchive verify --repair"


@dataclass
class VerifyReport:
    """What was checked, and every problem found (one line each)."""

    files: int = 0
    records: int = 0
    responses: int = 0
    revisits: int = 0
    rows_checked: int = 0
    open_files: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def problem(self, where: str, what: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS_KEPT:
            self.problems.append(f"{where}: {what}")


def warc_files(warc_dir: Path) -> list[Path]:
    """Closed and ``.open`` WARC files (gzipped or not), oldest first by the name's timestamp."""
    paths = [p for p in warc_dir.iterdir() if p.is_file() and p.name.endswith(
        (".warc.gz", ".warc", ".warc.gz" + OPEN_SUFFIX, ".warc" + OPEN_SUFFIX))]
    return sorted(paths, key=lambda p: (p.name.split("-", 1)[-1], p.name))


def final_name(path: Path) -> str:
    """The name catalog rows use for a file: without its ``.open`` suffix."""
    return path.name[: -len(OPEN_SUFFIX)] if path.name.endswith(OPEN_SUFFIX) else path.name


def verify(data_dir: str | os.PathLike, *, check_catalog: bool = True) -> VerifyReport:
    """Check every WARC file of ``data_dir`` and, with ``check_catalog``, the catalog against them."""
    data = DataDir(data_dir)
    if not data.path.is_dir():
        raise DataDirError(f"no data directory at {data.path}")
    if not data.warc_dir.is_dir():
        raise DataDirError(f"no WARC directory at {data.warc_dir}: nothing has been archived there")
    if check_catalog and data.catalog_path.exists():
        try:
            Catalog(data.catalog_path, read_only=True).close()  # one clear line for a corrupt catalog
        except CatalogError as exc:
            raise CatalogError(f"{exc} (newsarchive reindex rebuilds it from the WARC files)") from None
    report = VerifyReport()
    with tempfile.TemporaryDirectory(prefix="newsarchive-verify-") as scratch:
        index = _RecordIndex(Path(scratch) / "records.db")
        try:
            for path in warc_files(data.warc_dir):
                _check_file(path, index, report)
            index.commit()
            _check_links(index, report)
            if check_catalog:
                if data.catalog_path.exists():
                    _check_catalog(index, data.catalog_path, report)
                else:
                    report.problem("catalog", f"no catalog at {data.catalog_path} (newsarchive reindex builds it)")
        finally:
            index.close()
    return report


# -- one file -----------------------------------------------------------------------------


def _check_file(path: Path, index: _RecordIndex, report: VerifyReport) -> None:
    report.files += 1
    name = final_name(path)
    is_open = path.name != name
    index.add_file(name)
    if is_open:
        report.open_files.append(path.name)
        report.problem(path.name, OPEN_FILE_ADVICE)
        index.cut_short(name)
    first = True
    try:
        for record in scan_warc(path):
            if first:
                _check_warcinfo(path, name, record, report)
                first = False
            _check_record(path.name, record, report)
            index.add(name, record)
    except WarcFormatError as exc:
        index.cut_short(name)
        if not is_open:  # an open file's cut-short tail is the problem already reported
            report.problem(f"{path.name}:{exc.offset}", exc.message)
        return
    except OSError as exc:
        report.problem(path.name, f"cannot read: {exc.strerror}")
        return
    if first and not is_open:
        report.problem(path.name, "holds no WARC record")


def _check_warcinfo(path: Path, name: str, record: ScannedRecord, report: VerifyReport) -> None:
    if record.rec_type != "warcinfo":
        report.problem(f"{path.name}:{record.offset}", f"first record is {record.rec_type or 'untyped'}, not warcinfo")
    elif record.header("WARC-Filename") != name:
        report.problem(f"{path.name}:{record.offset}",
                       f"warcinfo names the file {record.header('WARC-Filename')!r}, not {name!r}")


def _check_record(file_name: str, record: ScannedRecord, report: VerifyReport) -> None:
    report.records += 1
    kind = record.rec_type
    report.responses += kind == "response"
    report.revisits += kind == "revisit"
    where = f"{file_name}:{record.offset}"
    uri = record.header("WARC-Target-URI")
    about = f"({kind} {uri})" if uri else f"({kind})"
    if not record.record_id:
        report.problem(where, f"record has no WARC-Record-ID {about}")
    for problem in record.problems:
        report.problem(where, f"{problem} {about}")
    if record.block_digest_ok is False:
        report.problem(where, f"WARC-Block-Digest does not match the block {about}")
    if record.payload_digest_ok is False:
        framing = " (de-chunked)" if record.http_chunked else ""
        report.problem(where, f"WARC-Payload-Digest does not match the HTTP body{framing} {about}")


# -- across records -----------------------------------------------------------------------


class _RecordIndex:
    """Records and their links, in a scratch SQLite file: constant memory for any archive."""

    def __init__(self, path: Path):
        self.db = sqlite3.connect(path.as_uri(), uri=True)  # uri: the catalog is attached read-only
        self.db.executescript(
            """
            PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;
            CREATE TABLE files (name TEXT PRIMARY KEY, cut_short INTEGER DEFAULT 0);
            CREATE TABLE records (id TEXT, type TEXT, file TEXT, offset INTEGER, length INTEGER,
                                  uri TEXT, payload_digest TEXT, refers_to TEXT, refers_to_uri TEXT);
            CREATE TABLE links (from_id TEXT, from_type TEXT, to_id TEXT, file TEXT, offset INTEGER);
            """
        )
        self._records: list[tuple] = []
        self._links: list[tuple] = []

    def add_file(self, name: str) -> None:
        self.db.execute("INSERT OR IGNORE INTO files (name) VALUES (?)", [name])

    def cut_short(self, name: str) -> None:
        """The file ends before its last exchange does: a lost other half is that one problem, not more."""
        self.db.execute("UPDATE files SET cut_short = 1 WHERE name = ?", [name])

    def add(self, file_name: str, record: ScannedRecord) -> None:
        self._records.append((record.record_id, record.rec_type, file_name, record.offset, record.length,
                              record.header("WARC-Target-URI"), record.header("WARC-Payload-Digest"),
                              record.header("WARC-Refers-To"), record.header("WARC-Refers-To-Target-URI")))
        if record.rec_type in ("request", "response", "revisit"):
            for target in record.header_all("WARC-Concurrent-To"):
                self._links.append((record.record_id, record.rec_type, target, file_name, record.offset))
        if len(self._records) >= 5000:
            self.commit()

    def commit(self) -> None:
        self.db.executemany("INSERT INTO records VALUES (?,?,?,?,?,?,?,?,?)", self._records)
        self.db.executemany("INSERT INTO links VALUES (?,?,?,?,?)", self._links)
        self._records, self._links = [], []
        self.db.commit()

    def query(self, sql: str, params=()):
        return self.db.execute(sql, params)

    def close(self) -> None:
        self.db.close()


def _check_links(index: _RecordIndex, report: VerifyReport) -> None:
    index.query("CREATE INDEX records_id ON records (id)")
    index.query("CREATE INDEX records_place ON records (file, offset)")
    index.query("CREATE INDEX links_to ON links (to_id)")
    index.query("CREATE INDEX links_from ON links (from_id)")
    for record_id, places in index.query(
            "SELECT id, group_concat(file || ':' || offset, ', ') FROM records WHERE id IS NOT NULL"
            " GROUP BY id HAVING count(*) > 1"):
        report.problem(places.split(", ")[0], f"WARC-Record-ID {record_id} is not unique (also at "
                       + ", ".join(places.split(", ")[1:]) + ")")

    # WARC-Concurrent-To must name a record of the other half of the exchange.
    for file, offset, from_type, to_id, to_type in index.query(
            "SELECT l.file, l.offset, l.from_type, l.to_id, r.type FROM links l"
            " LEFT JOIN records r ON r.id = l.to_id"
            " WHERE NOT (r.type IS NULL AND l.file IN (SELECT name FROM files WHERE cut_short))"
            " AND CASE WHEN l.from_type = 'request' THEN coalesce(r.type, '') NOT IN ('response', 'revisit')"
            " ELSE coalesce(r.type, '') != 'request' END"):
        named = f"a {to_type} record" if to_type else "no record in the archive"
        report.problem(f"{file}:{offset}", f"{from_type}'s WARC-Concurrent-To {to_id} names {named}")
    # ... and every request and response is linked to its other half, from one side at least.
    for file, offset, kind, uri in index.query(
            "SELECT r.file, r.offset, r.type, r.uri FROM records r"
            " WHERE r.type IN ('request', 'response') AND r.id IS NOT NULL"
            " AND NOT EXISTS (SELECT 1 FROM links l WHERE l.from_id = r.id)"
            " AND NOT EXISTS (SELECT 1 FROM links l WHERE l.to_id = r.id)"):
        other = "response" if kind == "request" else "request"
        report.problem(f"{file}:{offset}", f"{kind} is linked to no {other} by WARC-Concurrent-To ({uri})")

    for file, offset, uri, digest, refers_to, refers_uri, original_type, original_digest, found in index.query(
            "SELECT v.file, v.offset, v.uri, v.payload_digest, v.refers_to, v.refers_to_uri, o.type,"
            " o.payload_digest, (SELECT count(*) FROM records s WHERE s.type = 'response'"
            "   AND s.payload_digest = v.payload_digest AND s.uri = coalesce(v.refers_to_uri, v.uri))"
            " FROM records v LEFT JOIN records o ON o.id = v.refers_to WHERE v.type = 'revisit'"):
        where = f"{file}:{offset}"
        if refers_to is None:
            if not found:
                report.problem(where, f"revisit of {uri} has no WARC-Refers-To and no response in the archive"
                               f" has its payload digest {digest}")
        elif original_type is None:
            report.problem(where, f"revisit of {uri}: WARC-Refers-To {refers_to} names no record in the archive")
        elif original_type not in ("response", "revisit"):
            report.problem(where, f"revisit of {uri}: WARC-Refers-To {refers_to} names a {original_type} record")
        elif original_digest != digest:
            report.problem(where, f"revisit of {uri}: payload digest {digest} differs from the original's"
                           f" {original_digest}")


# -- the catalog --------------------------------------------------------------------------


def _check_catalog(index: _RecordIndex, catalog_path: Path, report: VerifyReport) -> None:
    try:
        index.query("ATTACH DATABASE ? AS cat", [catalog_path.resolve().as_uri() + "?mode=ro"])
        capture_columns = {row[1] for row in index.query("PRAGMA cat.table_info(captures)")}
        record_type = "c.record_type" if "record_type" in capture_columns else "NULL"
        _check_rows(index, report, "captures", "c.record_id", record_type)
        _check_rows(index, report, "articles", "NULL", "NULL")
        tables = {row[0] for row in index.query("SELECT name FROM cat.sqlite_master WHERE type = 'table'")}
        if "article_versions" in tables:  # schema v6: each version points at the first capture that showed it
            _check_rows(index, report, "article_versions", "NULL", "NULL", about="'version ' || c.version")
        if "article_sightings" in tables:
            _check_rows(index, report, "article_sightings", "NULL", "NULL")
        # One line per file: a killed crawl leaves every record since its last flush uncatalogued.
        for file, count, offset, uri in index.query(
                "SELECT m.file, m.n, m.first, (SELECT uri FROM records f WHERE f.file = m.file AND f.offset = m.first)"
                " FROM (SELECT r.file, count(*) AS n, min(r.offset) AS first FROM records r"
                "  WHERE r.type IN ('response', 'revisit') AND NOT EXISTS (SELECT 1 FROM cat.captures c"
                "  WHERE c.warc_filename = r.file AND c.warc_offset = r.offset) GROUP BY r.file) m ORDER BY m.file"):
            what = f"the response record of {uri} is" if count == 1 else \
                f"{count} response/revisit records from here on ({uri} first) are"
            report.problem(f"{file}:{offset}", f"{what} not in captures (newsarchive reindex rebuilds the catalog)")
    except sqlite3.DatabaseError as exc:
        raise CatalogError(f"cannot read catalog {catalog_path}: {exc}") from None


def _check_rows(index: _RecordIndex, report: VerifyReport, table: str, record_id: str, record_type: str,
                about: str = "NULL") -> None:
    """Each row of ``table`` must open the record it names; ``about`` (SQL) tells rows of one URL apart."""
    rows = index.query(
        f"SELECT c.url, c.warc_filename, c.warc_offset, c.warc_length, {record_id}, c.payload_digest, {record_type},"
        f" r.type, r.uri, r.id, r.payload_digest, r.length, f.name, {about}"
        f" FROM cat.{table} c LEFT JOIN records r ON r.file = c.warc_filename AND r.offset = c.warc_offset"
        " LEFT JOIN files f ON f.name = c.warc_filename")
    for (url, file, offset, length, row_id, row_digest, row_type, kind, uri, rec_id, rec_digest, rec_length,
         known_file, row_about) in rows:
        report.rows_checked += 1
        where = f"{table} {url}" + (f" ({row_about})" if row_about is not None else "")
        pointer = f"{file}:{offset}"
        if known_file is None:
            report.problem(where, f"points into {file}, which is not in the WARC directory")
        elif kind is None:
            report.problem(where, f"points at {pointer}, where no WARC record starts")
        elif kind not in ("response", "revisit"):
            report.problem(where, f"points at {pointer}, a {kind} record")
        elif uri != url:
            report.problem(where, f"points at {pointer}, a record of {uri}")
        elif row_type is not None and row_type != kind:
            report.problem(where, f"record_type {row_type} but {pointer} is a {kind} record")
        elif row_id is not None and rec_id != row_id:
            report.problem(where, f"record_id {row_id} but {pointer} is {rec_id}")
        elif row_digest != rec_digest:
            report.problem(where, f"payload_digest {row_digest} but {pointer} has {rec_digest}")
        elif rec_length is not None and length != rec_length:
            report.problem(where, f"warc_length {length} but the record at {pointer} is {rec_length} bytes")
