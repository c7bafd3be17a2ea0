"""Bringing a data directory back to a consistent state after a crash.

A killed crawl leaves a ``.open`` WARC (perhaps ending mid-record), WARC
records written after the catalog's last flush, and a crawl still marked
"running". :func:`recover` repairs the files, indexes the records the catalog
missed, and marks the dead crawls interrupted. Every crawl start runs it, so
the archive is whole before anything new is written.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from archive.catalog import Catalog
from archive.datadir import DataDir
from archive.reindex import index_into
from archive.repair import RepairResult, repair_open_files


@dataclass
class Recovery:
    repaired: list[RepairResult] = field(default_factory=list)
    captures_added: int = 0
    articles_indexed: int = 0
    crawls_interrupted: list[str] = field(default_factory=list)

    def describe(self) -> list[str]:
        lines = [result.describe() for result in self.repaired]
        if self.captures_added:
            lines.append(f"catalog caught up: {self.captures_added} records indexed from the WARC files")
        lines += [f"crawl {crawl_id} was killed: marked interrupted" for crawl_id in self.crawls_interrupted]
        return lines


def recover(data_dir: str | os.PathLike, *, workers: int = 0, timezone: str = "Asia/Almaty") -> Recovery:
    """Repair ``.open`` files left by dead crawls and index what the catalog missed."""
    data = DataDir(data_dir)
    recovery = Recovery()
    if not data.warc_dir.is_dir():
        return recovery
    recovery.repaired = [r for r in repair_open_files(data.path) if not r.skipped]
    if not data.catalog_path.exists():
        return recovery
    with Catalog(data.catalog_path, warc_dir=data.warc_dir) as catalog:
        behind = files_behind_catalog(catalog, data.warc_files())
        if behind:
            before = catalog.counts()["captures"]
            report = index_into(catalog, behind, workers=workers, timezone=timezone)
            recovery.captures_added = catalog.counts()["captures"] - before
            recovery.articles_indexed = report.pages_extracted
        recovery.crawls_interrupted = _interrupt_dead_crawls(catalog)
    return recovery


def files_behind_catalog(catalog: Catalog, files: list[Path]) -> list[Path]:
    """Closed WARC files with records past the last one the catalog points at.

    A finished file ends with a response (or revisit) record that has a
    captures row, so the catalog reaches its last byte; a file a crawl was
    killed in does not.
    """
    indexed_end = {row["warc_filename"]: row["end"] for row in catalog.db.query(
        "SELECT warc_filename, max(warc_offset + warc_length) AS end FROM captures GROUP BY warc_filename")}
    return [path for path in files if indexed_end.get(path.name, 0) < path.stat().st_size]


def _interrupt_dead_crawls(catalog: Catalog) -> list[str]:
    """Crawls still "running" whose process, on this machine, is gone."""
    dead = []
    for row in catalog.db.query("SELECT id, settings FROM crawls WHERE status = 'running'"):
        try:
            owner = json.loads(row["settings"] or "{}").get("process", {})
        except ValueError:
            continue
        if owner.get("host") == socket.gethostname() and owner.get("pid") and not _alive(owner["pid"]):
            dead.append(row["id"])
    for crawl_id in dead:
        catalog.finish_crawl(crawl_id, "interrupted")
    return dead


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
