"""Finishing the WARC files a killed crawl left ``.open``.

A crawl that dies (kill -9, power cut) leaves its current file named
``*.warc.gz.open``, possibly ending inside a gzip member or after a request
whose response was never written. Repair cuts such a file back to its last
complete exchange: the end of the last complete response (or revisit) record,
or of the opening warcinfo record when no exchange completed. Everything kept
was written whole before the cut, so it is valid WARC; the file is then made
durable and given its final name. Catalog rows are written only after their
records are on disk, so none should point past the cut; any that do are
deleted and counted.

A file a live crawl is still writing is never touched: the writer holds an
exclusive ``flock`` on it, and repair skips any file it cannot lock.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

from archive.catalog import Catalog
from archive.datadir import DataDir, fsync_directory
from archive.errors import CatalogError, DataDirError
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
    skipped: str | None = None  # why the file was left as it was
    removed: bool = False

    def describe(self) -> str:
        if self.skipped:
            return f"{self.open_name}: left alone ({self.skipped})"
        rows = f"; {self.rows_deleted} catalog rows past the cut deleted" if self.rows_deleted else ""
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


def _delete_rows_past_cuts(catalog_path: Path, cuts: dict[str, RepairResult]) -> None:
    try:
        catalog = Catalog(catalog_path)
    except CatalogError:
        return  # verify reports the catalog; the WARC files are repaired regardless
    with catalog:
        with catalog.db.atomic():
            for name, result in cuts.items():
                for table in ("captures", "articles"):
                    deleted = catalog.db.execute(
                        f"DELETE FROM {table} WHERE warc_filename = ? AND warc_offset + warc_length > ?",
                        [name, result.kept_bytes])
                    result.rows_deleted += deleted.rowcount
