"""When each site is due: its profile's cadence applied to its last crawl in the catalog.

A site's crawls are recognised by their seeds: a crawl whose seed URLs all lie
on the site's hosts is that site's (a demo crawl of several sites at once is
nobody's). So the catalog needs no ``site`` column and a crawl started by hand
with the site's start URLs counts too.

:func:`site_lock` keeps two crawls of one site from running at once, across
processes: an ``fcntl`` lock on ``<data>/locks/<site>.lock``, released by the
kernel when its holder exits, however it exits.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from archive.errors import SiteBusy
from archive.profiles import SiteProfile


@dataclass(frozen=True)
class SiteSchedule:
    profile: SiteProfile
    last_crawl: dict | None  # its latest ``crawls`` row, seeds decoded
    next_due: datetime | None  # UTC; None: never crawled, due now

    def is_due(self, now: datetime) -> bool:
        return self.next_due is None or self.next_due <= now


def read_crawls(catalog_path: Path) -> list[dict]:
    """Every ``crawls`` row (seeds decoded), oldest first; [] when there is no catalog yet."""
    if not Path(catalog_path).exists():
        return []
    connection = sqlite3.connect(f"file:{catalog_path}?mode=ro", uri=True)
    try:
        connection.row_factory = sqlite3.Row
        rows = [dict(row) for row in connection.execute("SELECT * FROM crawls ORDER BY started_at")]
    except sqlite3.OperationalError:  # a catalog without crawls yet
        return []
    finally:
        connection.close()
    for row in rows:
        try:
            row["seeds"] = json.loads(row["seeds"] or "[]")
        except ValueError:
            row["seeds"] = []
    return rows


def catalog_paths(data_dir: Path) -> list[Path]:
    """The data dir's catalog and the shards of its Scrapyd nodes (``nodes/<worker>/catalog.db``)."""
    data_dir = Path(data_dir)
    return [data_dir / "catalog.db", *sorted(data_dir.glob("nodes/*/catalog.db"))]


def read_all_crawls(paths: list[Path]) -> list[dict]:
    """Every crawl of several catalogs (a data dir's and its node shards'), once each, oldest first.

    After ``newsarchive merge`` a node's crawl is in both the shard and the
    central catalog: the row with an end (else the later-read one) counts.
    """
    by_id: dict[str, dict] = {}
    for path in paths:
        for crawl in read_crawls(path):
            known = by_id.get(crawl["id"])
            if known is None or not known.get("finished_at") or crawl.get("finished_at"):
                by_id[crawl["id"]] = crawl
    return sorted(by_id.values(), key=lambda crawl: crawl["started_at"] or "")


def crawl_duration(crawl: dict) -> float | None:
    """Seconds from start to finish; None while it runs (or if it never recorded its end)."""
    if not crawl.get("started_at") or not crawl.get("finished_at"):
        return None
    return (_utc(crawl["finished_at"]) - _utc(crawl["started_at"])).total_seconds()


def is_site_crawl(profile: SiteProfile, crawl: dict) -> bool:
    """True when every seed of ``crawl`` is on one of the site's hosts (and ports, if they name one)."""
    seeds = crawl["seeds"]
    return bool(seeds) and all(isinstance(seed, str) and profile.scope.has_host(seed) for seed in seeds)


def plan(profiles: list[SiteProfile], crawls: list[dict]) -> list[SiteSchedule]:
    """Each site's last crawl and next due time, in profile order."""
    schedules = []
    for profile in profiles:
        own = [crawl for crawl in crawls if is_site_crawl(profile, crawl)]
        last = max(own, key=lambda crawl: crawl["started_at"]) if own else None
        started = _utc(last["started_at"]) if last else None
        schedules.append(SiteSchedule(profile, last, profile.cadence.next_due(started, profile.zone)))
    return schedules


def _utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class SiteLock:
    path: Path
    fd: int  # pass it to the crawl process (``pass_fds``) and the lock lives as long as the crawl

    def record_holder(self, pid: int) -> None:
        """Name the process that does the work in the lock file, for the SiteBusy message."""
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, f"{pid}\n".encode(), 0)


@contextmanager
def site_lock(data_dir: Path, site_id: str):
    """Hold ``<data>/locks/<site_id>.lock`` for the block (a :class:`SiteLock`); SiteBusy if it is held.

    The lock belongs to the open file, not to this process: a child given the
    descriptor keeps the site locked even if this process dies first.
    """
    locks = Path(data_dir) / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    path = locks / f"{site_id}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip()
            by = f"pid {holder}" if holder else "another process"
            raise SiteBusy(f"site {site_id} is already being crawled ({by} holds {path})") from None
        lock = SiteLock(path, fd)
        lock.record_holder(os.getpid())
        yield lock
    finally:
        os.close(fd)  # the lock is released once no process has this file open any more


def site_locked(data_dir: Path, site_id: str) -> bool:
    """True while some process holds the site's lock (checked without creating anything)."""
    path = Path(data_dir) / "locks" / f"{site_id}.lock"
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
