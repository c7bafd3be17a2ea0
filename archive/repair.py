"""Finishing the WARC files a killed crawl left ``.open``.

A crawl that dies (kill -9, power cut) leaves its current file named
``*.warc.gz.open``, possibly ending inside a gzip member or after a request
whose response was never written. Repair cuts such a file back to its last
complete exchange: the end of the last complete response (or revisit) record,
or of the opening warcinfo record when no exchange completed. Everything kept
was written whole before the cut, so it is valid WARC; the file is then made
durable and given its final name. Catalog rows are written only after their
records are on disk, so none should point past the cut; any that do are
deleted and counted: captures and article sightings go, an article is
re-pointed at its latest capture left (or goes with its last one), and the
versions and removal marks of the URLs concerned are derived again from what
is left (archive.versions.rederive), as if the lost captures had never been
indexed. The finished crawls those URLs were captured in are recounted.

A file a live crawl is still writing is never touched: the writer holds an
exclusive ``flock`` on it, and repair skips any file it cannot lock.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path

from archive.catalog import Catalog, crawl_totals
from archive.datadir import DataDir, fsync_directory
from archive.errors import CatalogError, DataDirError
from archive.versions import rederive
from archive.warc import OPEN_SUFFIX
from archive.warcscan import WarcFormatError, scan_warc

# Record types that end an exchange: after one of them the file is a valid WARC.
_EXCHANGE_ENDS = ("response", "revisit")


@dataclass
class RepairResult:
    """What repair did to one ``.open`` file."""

    open_name: str
    final_name: str | None = None  # None: skipped, or removed because nothing in it was complete
    kept_bytes: int = 0
    cut_bytes: int = 0
    records_kept: int = 0
    rows_deleted: int = 0
    rows_repointed: int = 0  # articles and article versions moved to an earlier capture of their URL
    skipped: str | None = None  # why the file was left as it was
    removed: bool = False

    def describe(self) -> str:
        if self.skipped:
            return f"{self.open_name}: left alone ({self.skipped})"
        rows = f"; {self.rows_deleted} catalog rows past the cut deleted" if self.rows_deleted else ""
        if self.rows_repointed:
            rows += f"{',' if rows else ';'} {self.rows_repointed} re-pointed at earlier captures"
        if self.removed:
            return f"{self.open_name}: removed, no complete record in it ({self.cut_bytes} bytes){rows}"
        return (f"{self.open_name} -> {self.final_name}: kept {self.records_kept} records"
                f" ({self.kept_bytes} bytes), cut {self.cut_bytes} bytes{rows}")


def repair_open_files(data_dir: str | os.PathLike) -> list[RepairResult]:
    """Cut every unlocked ``*.warc.gz.open`` of ``data_dir`` back to its last complete exchange."""
    data = DataDir(data_dir)
    if not data.warc_dir.is_dir():
        raise DataDirError(f"no WARC directory at {data.warc_dir}")
    results = [repair_file(path) for path in sorted(data.warc_dir.glob("*" + OPEN_SUFFIX))]
    cuts = {r.final_name or r.open_name[: -len(OPEN_SUFFIX)]: r for r in results if not r.skipped}
    if cuts and data.catalog_path.exists():
        _delete_rows_past_cuts(data.catalog_path, cuts)
    return results


def repair_file(path: Path) -> RepairResult:
    """Cut one ``.open`` file back to its last complete exchange and rename it (see module docstring)."""
    result = RepairResult(open_name=path.name)
    final = path.with_name(path.name[: -len(OPEN_SUFFIX)])
    if final.exists():
        result.skipped = f"{final.name} exists too; compare the two by hand"
        return result
    try:
        handle = open(path, "r+b")
    except OSError as exc:
        result.skipped = f"cannot open it: {exc.strerror}"
        return result
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            result.skipped = "a running crawl is writing it"
            return result
        size = os.fstat(handle.fileno()).st_size
        cut, result.records_kept = last_complete_exchange(path)
        result.kept_bytes, result.cut_bytes = cut, size - cut
        if cut == 0:
            os.unlink(path)
            result.removed = True
        else:
            handle.truncate(cut)
            handle.flush()
            os.fsync(handle.fileno())
            os.rename(path, final)
            result.final_name = final.name
    fsync_directory(path.parent)
    return result


def last_complete_exchange(path: Path) -> tuple[int, int]:
    """(byte offset where the file should end, records before it)."""
    cut, kept, seen = 0, 0, 0
    try:
        for record in scan_warc(path, check_digests=False):
            seen += 1
            if record.end is None:
                continue
            if record.rec_type in _EXCHANGE_ENDS or (seen == 1 and record.rec_type == "warcinfo"):
                cut, kept = record.end, seen
    except WarcFormatError:
        pass  # the tail is cut short or garbled: everything before the last cut point is whole
    return cut, kept


_PAST_THE_CUT = "warc_filename = ? AND warc_offset + warc_length > ?"
_POINTING_TABLES = ("captures", "article_sightings", "articles", "article_versions")

# An article whose capture was cut takes its latest capture left, with the text of that capture's version.
_REPOINT_ARTICLE_SQL = f"""
UPDATE articles AS a SET (title, published, modified, language, author, description, text, warc_filename,
                          warc_offset, warc_length, payload_digest, fetched_at, crawl_id) = (
    SELECT v.title, v.published, s.modified, s.language, s.author, s.description, v.text, s.warc_filename,
           s.warc_offset, s.warc_length, s.payload_digest, s.fetched_at, s.crawl_id
    FROM article_sightings s JOIN article_versions v ON v.url = s.url AND v.content_digest = s.content_digest
    WHERE s.url = a.url ORDER BY s.fetched_at DESC, s.warc_filename DESC, s.warc_offset DESC, v.version LIMIT 1)
WHERE {_PAST_THE_CUT} AND EXISTS (SELECT 1 FROM article_sightings s WHERE s.url = a.url)
"""


def _delete_rows_past_cuts(catalog_path: Path, cuts: dict[str, RepairResult]) -> None:
    """Rows pointing past a cut go or move to an earlier capture, in one transaction (module docstring)."""
    try:
        catalog = Catalog(catalog_path)
    except CatalogError:
        return  # verify reports the catalog; the WARC files are repaired regardless
    with catalog:
        db = catalog.db
        with db.atomic():
            past = {name: [name, result.kept_bytes] for name, result in cuts.items()}
            urls = {url for name in cuts for table in _POINTING_TABLES
                    for (url,) in db.execute(f"SELECT url FROM {table} WHERE {_PAST_THE_CUT}", past[name])}
            if not urls:
                return
            versions_past = {name: _count(db, "article_versions", past[name]) for name in cuts}
            versions_before = _versions_of(db, urls)
            crawls = _crawls_of(db, urls)
            for name, result in cuts.items():
                for table in ("captures", "article_sightings"):
                    result.rows_deleted += db.execute(f"DELETE FROM {table} WHERE {_PAST_THE_CUT}",
                                                      past[name]).rowcount
            for name, result in cuts.items():  # every cut sighting is gone: the latest left is the one to keep
                result.rows_repointed += db.execute(_REPOINT_ARTICLE_SQL, past[name]).rowcount
                result.rows_deleted += db.execute(f"DELETE FROM articles WHERE {_PAST_THE_CUT}", past[name]).rowcount
            rederive(db.conn, sorted(urls))
            # Each version row past a cut is either gone or re-pointed; a merge of two runs may drop more.
            versions_lost = versions_before - _versions_of(db, urls)
            for name, result in cuts.items():
                lost_here = min(versions_lost, versions_past[name])
                result.rows_deleted += lost_here
                result.rows_repointed += versions_past[name] - lost_here
                versions_lost -= lost_here
            next(iter(cuts.values())).rows_deleted += versions_lost
            for crawl_id in sorted(crawls):
                _recount(db, crawl_id)


def _count(db, table: str, past: list) -> int:
    return db.execute(f"SELECT count(*) FROM {table} WHERE {_PAST_THE_CUT}", past).fetchone()[0]


def _versions_of(db, urls: set[str]) -> int:
    return db.execute("SELECT count(*) FROM article_versions WHERE url IN (SELECT value FROM json_each(?))",
                      [json.dumps(sorted(urls))]).fetchone()[0]


def _crawls_of(db, urls: set[str]) -> set[str]:
    """Crawls holding a capture, sighting or version of ``urls``: the ones whose counts can change."""
    rows = db.execute(" UNION ".join(f"SELECT crawl_id FROM {table} WHERE url IN (SELECT value FROM json_each(?))"
                                     for table in ("captures", "article_sightings", "article_versions")),
                      [json.dumps(sorted(urls))] * 3)
    return {crawl_id for (crawl_id,) in rows if crawl_id is not None}


def _recount(db, crawl_id: str) -> None:
    """A finished crawl's counts from its rows left, as Catalog.finish_crawl counts them."""
    values = crawl_totals(db, crawl_id)
    db.execute(f"UPDATE crawls SET {', '.join(f'{name} = ?' for name in values)}"
               " WHERE id = ? AND finished_at IS NOT NULL", [*values.values(), crawl_id])
