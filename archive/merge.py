"""Folding node shards into the central archive: ``newsarchive merge``.

Each Scrapyd node crawls into its own data dir (``warc/`` with its worker id in
every WARC file name, and its own ``catalog.db``), so no two processes ever
write one SQLite file. Merging brings a shard home in two steps, in the order
the catalog's durability rule needs:

1. Files. Every finished WARC file of the shard is made reachable from the
   central ``warc/`` (a hard link when both are on one filesystem, else a copy
   written under a temporary name, fsynced, checked against the source's size
   and sha1, then linked into place), and the directory is fsynced. A central
   file of the same name is accepted only when it is the same file or has the
   same bytes; anything else stops the merge before it writes. ``.open`` files
   are still being written: they and the rows pointing into them wait for the
   next merge.
2. Rows, in one transaction per shard. Captures go through
   :meth:`Catalog.add_capture` (unique on WARC file and offset, so a capture
   merged twice is one row). Every article *sighting* of the shard is fed back
   as the articles row it was, through :meth:`Catalog.add_article`, so the
   central catalog numbers versions and marks removals itself, over every
   node's captures together (archive.versions): version numbers are never
   copied. Errors are added as far as the central catalog lacks them (a
   multiset difference, so repeats stay repeats). A crawl seen again keeps its
   newer finished state, and every crawl whose counts the new rows can change
   is counted again as ``finish_crawl`` counts.

The result equals ``newsarchive reindex`` over the union of the WARC files
(apart from captures ids, the crawls' start, end and settings, which reindex
can only estimate, and the errors, which it cannot rebuild), and merging again
changes nothing. ``reindex`` stays the fallback for a shard whose catalog is
missing or damaged: such a shard is refused whole, before anything is written.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from archive.catalog import OPEN_SUFFIX, SCHEMA_DOC, Catalog, crawl_totals
from archive.datadir import DataDir, fsync_directory
from archive.errors import CatalogError, NewsArchiveError
from archive.migrations import LATEST_VERSION, schema_version
from archive.versions import GONE_STATUSES

MODES = ("link", "copy", "move")
BATCH_SIZE = 2000
_CAPTURE_COLUMNS = tuple(c for c in SCHEMA_DOC["captures"] if c != "id")
_CRAWL_STATE = ("seeds", "started_at", "finished_at", "status", "settings")
_TABLES_COUNTED = ("captures", "articles", "article_versions", "article_sightings", "errors", "crawls")
# One articles row per sighting: its own capture fields, the text of its version, the URL's site.
_SIGHTING_ARTICLES_SQL = """
SELECT s.url, a.site, v.title, v.published, v.text, s.modified, s.language, s.author,
       s.description, s.captions, s.links, s.warc_filename, s.warc_offset, s.warc_length, s.payload_digest, s.fetched_at, s.crawl_id
FROM article_sightings s
LEFT JOIN articles a ON a.url = s.url
JOIN article_versions v ON v.url = s.url AND v.version = (
    SELECT min(w.version) FROM article_versions w WHERE w.url = s.url AND w.content_digest = s.content_digest)
"""


class MergeError(NewsArchiveError):
    """A shard cannot be merged (no or damaged catalog, a WARC file name taken by a different file)."""


@dataclass
class ShardMerge:
    """What one shard brought in."""

    path: Path
    files: int = 0
    linked: int = 0
    copied: int = 0
    present: int = 0  # already in the central warc/ (the same file, or the same bytes)
    added: dict[str, int] = field(default_factory=dict)  # table -> rows added
    articles_updated: int = 0  # central articles rows that changed (pointer, versions, removal)
    crawls_updated: int = 0
    rows_read: int = 0
    rows_waiting: int = 0  # rows pointing into files still being written
    skipped: list[str] = field(default_factory=list)

    @property
    def rows_added(self) -> int:
        return sum(self.added.values())


@dataclass
class MergeReport:
    central: Path
    mode: str
    shards: list[ShardMerge] = field(default_factory=list)
    seconds: float = 0.0

    def total(self, name: str) -> int:
        return sum(getattr(shard, name) for shard in self.shards)

    @property
    def rows_per_second(self) -> float:
        return self.total("rows_read") / self.seconds if self.seconds else 0.0


@dataclass
class _Shard:
    """A shard surveyed and found mergeable; nothing written yet."""

    data: DataDir
    files: list[Path]  # finished WARC files, to be made reachable centrally
    skipped: list[str]


def merge(shards: list[str | os.PathLike], central: str | os.PathLike, *, mode: str = "link") -> MergeReport:
    """Fold the shards' WARC files and catalog rows into the ``central`` data dir.

    Every shard is checked before anything is written; a problem is one MergeError line.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    started = time.monotonic()
    target = DataDir(central)
    surveyed = [_survey(DataDir(path)) for path in _distinct(shards, target)]
    target.prepare()
    _check_names(surveyed, target)
    report = MergeReport(central=target.path, mode=mode)
    for shard in surveyed:
        done = ShardMerge(shard.data.path, skipped=list(shard.skipped))
        _place_files(shard, target, mode, done)
        _fold_rows(shard, target, done)
        if mode == "move":
            _remove_sources(shard)
        report.shards.append(done)
    report.seconds = time.monotonic() - started
    return report


# -- survey: refuse a shard before writing anything -----------------------------------------


def _distinct(shards, target: DataDir) -> list[Path]:
    seen: dict[Path, Path] = {}
    for shard in shards:
        path = Path(shard).expanduser()
        resolved = path.resolve()
        if resolved == target.path.resolve():
            raise MergeError(f"{path} is the central data dir itself; give the shards' data dirs")
        seen.setdefault(resolved, path)
    return list(seen.values())


def _survey(data: DataDir) -> _Shard:
    """Open the shard's catalog read-only and match its rows' WARC files with its ``warc/``."""
    fallback = f"run `newsarchive reindex --data {data.path}` first, then merge again"
    if not data.path.is_dir():
        raise MergeError(f"shard {data.path} is not a directory")
    if not data.catalog_path.is_file():
        raise MergeError(f"shard {data.path} has no catalog.db; {fallback}")
    try:
        catalog = Catalog(data.catalog_path, read_only=True)
    except CatalogError as exc:
        raise MergeError(f"shard {data.path}: {exc}; {fallback}") from None
    try:
        version = schema_version(catalog.db)
        if version != LATEST_VERSION:
            raise MergeError(f"shard {data.path} has catalog schema version {version}, not {LATEST_VERSION} "
                             f"(its earlier article versions are not in it); {fallback}")
        check = [row[0] for row in catalog.db.execute("PRAGMA quick_check").fetchall()]
        if check != ["ok"]:
            raise MergeError(f"shard {data.path} has a damaged catalog ({check[0]}); {fallback}")
        referenced = {row[0] for row in catalog.db.execute(
            "SELECT warc_filename FROM captures UNION SELECT warc_filename FROM article_sightings")}
    except sqlite3.Error as exc:
        raise MergeError(f"shard {data.path} has a damaged catalog ({exc}); {fallback}") from None
    finally:
        catalog.close()
    finished = {path.name: path for path in data.warc_files()} if data.warc_dir.is_dir() else {}
    still_open = {p.name[: -len(OPEN_SUFFIX)] for p in data.warc_dir.glob("*" + OPEN_SUFFIX)} \
        if data.warc_dir.is_dir() else set()
    missing = sorted(referenced - set(finished) - still_open)
    if missing:
        raise MergeError(f"shard {data.path}: catalog rows point at {missing[0]}"
                         f"{f' (and {len(missing) - 1} more files)' if len(missing) > 1 else ''}, "
                         f"which is not in {data.warc_dir}; `newsarchive verify --data {data.path}` names the "
                         f"problem, {fallback}")
    skipped = [f"{data.warc_dir / (name + OPEN_SUFFIX)}: still being written; it and its rows wait for the "
               "next merge" for name in sorted(still_open)]
    return _Shard(data, [finished[name] for name in sorted(finished)], skipped)


def _check_names(shards: list[_Shard], target: DataDir) -> None:
    """A WARC file name the central archive (or another shard) holds with other bytes stops the merge."""
    offered: dict[str, Path] = {}
    for shard in shards:
        for source in shard.files:
            for other in (target.warc_dir / source.name, offered.get(source.name)):
                if other is not None and other.exists() and not _same_bytes(source, other):
                    raise MergeError(f"{other} already exists and differs from {source}; merge never overwrites "
                                     "a WARC file (give the nodes distinct worker ids: NEWSARCHIVE_WARC_PREFIX)")
            offered.setdefault(source.name, source)


def _same_bytes(one: Path, other: Path) -> bool:
    if os.path.samefile(one, other):
        return True
    return one.stat().st_size == other.stat().st_size and _sha1(one) == _sha1(other)


def _sha1(path: Path) -> str:
    with open(path, "rb") as stream:
        return hashlib.file_digest(stream, "sha1").hexdigest()


# -- files ----------------------------------------------------------------------------------


def _place_files(shard: _Shard, target: DataDir, mode: str, done: ShardMerge) -> None:
    """Make every finished WARC file of the shard durable under the central ``warc/``."""
    for source in shard.files:
        destination = target.warc_dir / source.name
        done.files += 1
        if destination.exists():  # checked by _check_names: the same file or the same bytes
            done.present += 1
        elif mode != "copy" and _try_link(source, destination):
            done.linked += 1
        else:
            _copy(source, destination)
            done.copied += 1
        _fsync_file(destination)
    try:
        fsync_directory(target.warc_dir)
    except OSError as exc:
        raise MergeError(f"cannot sync {target.warc_dir}: {exc.strerror}") from None


def _try_link(source: Path, destination: Path) -> bool:
    """Hard-link; False when the two are on different filesystems (or links are not allowed there)."""
    try:
        os.link(source, destination)
    except FileExistsError:
        raise MergeError(f"{destination} appeared while merging; merge again") from None
    except OSError:
        return False
    return True


def _copy(source: Path, destination: Path) -> None:
    """Copy under a temporary name, fsync, compare size and sha1, then link into place (never overwriting)."""
    temporary = destination.with_name(f".{destination.name}.merging-{secrets.token_hex(4)}")
    try:
        with open(source, "rb") as reader, open(temporary, "xb") as writer:
            shutil.copyfileobj(reader, writer, 1 << 20)
            writer.flush()
            os.fsync(writer.fileno())
        if temporary.stat().st_size != source.stat().st_size or _sha1(temporary) != _sha1(source):
            raise MergeError(f"the copy of {source} in {destination.parent} does not match it; nothing merged "
                             "from this shard")
        os.link(temporary, destination)
    except FileExistsError:
        raise MergeError(f"{destination} appeared while merging; merge again") from None
    except OSError as exc:
        raise MergeError(f"cannot copy {source} to {destination.parent}: {exc.strerror}") from None
    finally:
        temporary.unlink(missing_ok=True)


def _fsync_file(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise MergeError(f"cannot sync {path}: {exc.strerror}") from None


def _remove_sources(shard: _Shard) -> None:
    """--move: the rows are committed centrally, so the shard's own links go."""
    for source in shard.files:
        source.unlink(missing_ok=True)
    fsync_directory(shard.data.warc_dir)


# -- rows -----------------------------------------------------------------------------------


def _fold_rows(shard: _Shard, target: DataDir, done: ShardMerge) -> None:
    """All of the shard's rows in one central transaction: a failure leaves the central catalog as it was.

    The shard is read in one read transaction, a snapshot, so a node still
    crawling into it can go on; rows pointing at files not placed (still
    ``.open`` at the survey, or begun since) wait for the next merge.
    """
    placed = {path.name for path in shard.files}
    source = Catalog(shard.data.catalog_path, read_only=True)
    central = Catalog(target.catalog_path, warc_dir=target.warc_dir, batch_size=BATCH_SIZE)
    db = central.db
    try:
        source.db.conn.execute("BEGIN")
        before = {table: db[table].count for table in _TABLES_COUNTED}
        with db.atomic():
            _remember_urls(db.conn, _touched_urls(source.db.conn, placed))
            crawls_before = _crawls_of_urls(db.conn)
            db.execute("CREATE TEMP TABLE merge_articles_before AS SELECT url, warc_filename, warc_offset, versions,"
                       " removed_at FROM main.articles WHERE url IN (SELECT url FROM temp.merge_urls)")
            done.rows_read += _feed(source.db.conn, f"SELECT {', '.join(_CAPTURE_COLUMNS)} FROM captures",
                                    central.add_capture, placed, done)
            done.rows_read += _feed(source.db.conn, _SIGHTING_ARTICLES_SQL, central.add_article, placed, done)
            central.flush()
            done.rows_read += _add_site_templates(source.db.conn, db.conn, placed)
            done.rows_read += _add_errors(source.db.conn, db)
            shard_crawls, done.crawls_updated = _merge_crawls(source.db.conn, db.conn)
            done.rows_read += len(shard_crawls)
            for crawl_id in sorted(shard_crawls | crawls_before | _crawls_of_urls(db.conn)):
                _recount(db.conn, crawl_id)
            done.articles_updated = db.execute(
                "SELECT count(*) FROM temp.merge_articles_before b JOIN main.articles a ON a.url = b.url"
                " WHERE (a.warc_filename, a.warc_offset, a.versions, a.removed_at)"
                " IS NOT (b.warc_filename, b.warc_offset, b.versions, b.removed_at)").fetchone()[0]
        done.added = {table: db[table].count - count for table, count in before.items()}
    except BaseException as exc:
        # Rows still queued belong to the rolled-back transaction: drop the connection
        # without Catalog.close(), whose flush would write them on their own.
        db.close()
        if isinstance(exc, (sqlite3.Error, CatalogError)):
            raise MergeError(f"merging {shard.data.path} failed, nothing of it written: {exc}") from None
        raise
    finally:
        source.close()
    for name in ("merge_urls", "merge_articles_before"):
        db.execute(f"DROP TABLE IF EXISTS temp.{name}")
    central.close()
    if done.rows_waiting:
        done.skipped.append(f"{done.rows_waiting} rows of {shard.data.path} point into WARC files still being "
                            "written; they wait for the next merge")


def _touched_urls(source: sqlite3.Connection, placed: set[str]) -> set[str]:
    """URLs whose versions or removal the shard's rows can change (articles, and any capture telling presence)."""
    rows = source.execute(
        "SELECT url, warc_filename FROM article_sightings UNION ALL SELECT url, warc_filename FROM captures"
        " WHERE status BETWEEN 200 AND 299 OR status = 304"
        f" OR status IN ({', '.join(str(s) for s in GONE_STATUSES)})")
    return {url for url, name in rows if name in placed}


def _remember_urls(central: sqlite3.Connection, urls: set[str]) -> None:
    for name in ("merge_urls", "merge_articles_before"):
        central.execute(f"DROP TABLE IF EXISTS temp.{name}")
    central.execute("CREATE TEMP TABLE merge_urls (url TEXT PRIMARY KEY)")
    central.executemany("INSERT INTO temp.merge_urls VALUES (?)", [[url] for url in urls])


def _crawls_of_urls(central: sqlite3.Connection) -> set[str]:
    """Crawls holding a version of, or a gone capture of, a touched URL: their counts may move."""
    rows = central.execute(
        "SELECT crawl_id FROM main.article_versions WHERE url IN (SELECT url FROM temp.merge_urls)"
        " UNION SELECT crawl_id FROM main.captures WHERE url IN (SELECT url FROM temp.merge_urls)"
        f" AND status IN ({', '.join(str(s) for s in GONE_STATUSES)})")
    return {row[0] for row in rows if row[0] is not None}


def _feed(source: sqlite3.Connection, sql: str, add, placed: set[str], done: ShardMerge) -> int:
    """Queue every row of ``sql`` whose WARC file is placed; returns how many were queued."""
    cursor = source.execute(sql)
    names = [description[0] for description in cursor.description]
    queued = 0
    for values in cursor:
        row = dict(zip(names, values))
        if row["warc_filename"] in placed:
            add(row)
            queued += 1
        else:
            done.rows_waiting += 1
    return queued


def _add_site_templates(source: sqlite3.Connection, central: sqlite3.Connection, placed: set[str]) -> int:
    """The shard's learned site templates (archive.template) whose WARC record is placed."""
    columns = "site, crawl_id, pairs, pages, warc_filename, warc_offset, warc_length"
    rows = [row for row in source.execute(f"SELECT {columns} FROM site_templates") if row[4] in placed]
    central.executemany(f"INSERT OR IGNORE INTO main.site_templates ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


def _add_errors(source: sqlite3.Connection, central) -> int:
    """The shard's errors the central catalog lacks, as a multiset: merging twice adds none."""
    key = ("crawl_id", "url", "message", "at")
    wanted = Counter(source.execute(f"SELECT {', '.join(key)} FROM errors"))
    if not wanted:
        return 0
    crawl_ids = json.dumps(sorted({row[0] for row in wanted if row[0] is not None}))
    held = Counter(central.execute(f"SELECT {', '.join(key)} FROM main.errors WHERE crawl_id IS NULL"
                                   " OR crawl_id IN (SELECT value FROM json_each(?))", [crawl_ids]))
    missing = [dict(zip(key, row)) for row, count in sorted((wanted - held).items(), key=repr) for _ in range(count)]
    if missing:
        central["errors"].insert_all(missing)
    return sum(wanted.values())


def _merge_crawls(source: sqlite3.Connection, central: sqlite3.Connection) -> tuple[set[str], int]:
    """Add the shard's crawls; a crawl already known takes the shard's state if it is the newer finished one."""
    columns = ("id", *_CRAWL_STATE)
    updated = 0
    ids = set()
    for row in source.execute(f"SELECT {', '.join(columns)} FROM crawls"):
        crawl = dict(zip(columns, row))
        ids.add(crawl["id"])
        held = central.execute(f"SELECT {', '.join(columns)} FROM main.crawls WHERE id = ?", [crawl["id"]]).fetchone()
        if held is None:
            central.execute(f"INSERT INTO main.crawls ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
                            [crawl[c] for c in columns])
        elif _newer(crawl, dict(zip(columns, held))):
            central.execute(f"UPDATE main.crawls SET {', '.join(f'{c} = ?' for c in _CRAWL_STATE)} WHERE id = ?",
                            [*(crawl[c] for c in _CRAWL_STATE), crawl["id"]])
            updated += 1
    return ids, updated


def _newer(offered: dict, held: dict) -> bool:
    """A finished state beats a running one; of two finished states the later end wins; equal changes nothing."""
    if offered == held:
        return False
    offered_end, held_end = offered["finished_at"], held["finished_at"]
    if offered_end is None:
        return False
    return held_end is None or offered_end > held_end


def _recount(central: sqlite3.Connection, crawl_id: str) -> None:
    """The crawl's counts from the central rows, as Catalog.finish_crawl counts them; written only if changed."""
    values = crawl_totals(central, crawl_id)
    names = list(values)
    central.execute(
        f"UPDATE main.crawls SET {', '.join(f'{n} = ?' for n in names)} WHERE id = ?"
        f" AND ({', '.join(names)}) IS NOT ({', '.join('?' for _ in names)})",
        [*values.values(), crawl_id, *values.values()])
