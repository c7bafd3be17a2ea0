"""CDXJ indexes: one sorted index file per closed WARC, for replay and packaging.

``<data>/indexes/<warc name>.cdxj`` holds one line per ``response``,
``revisit``, ``resource`` and ``metadata`` record of ``<data>/warc/<warc name>``
(cdxj-indexer's default record set, the same one pywb indexes)::

    1,0,0,127:8001)/kk/news/1 20261125103000 {"url": "...", "mime": "text/html", "status": "200",
        "digest": "sha1:...", "length": "2576", "offset": "117328", "filename": "newsarchive-....warc.gz"}

Request records are left out: a replay tool looks a URL up by the response,
and only POST replay (which newsarchive never captures) needs the request's
method and body in the index. So are ``revisit`` records of the
server-not-modified profile (a 304 answer to a re-crawl's conditional
request): pywb replays a revisit with the revisit's own status line, so the
page would replay as an empty "304 Not Modified". Left out of the index, a
replay at that time shows the capture the 304 confirmed; the record stays in
the WARC, where it says when the page was seen unchanged.

One index per WARC, rather than one big index, keeps indexing in step with
rotation: a WARC is indexed once when it is closed and never again unless the
file changes (a repair). Each index is written to a temporary name and renamed,
so a replay server reading the directory never sees half an index.
"""

from __future__ import annotations

import heapq
import json
import os
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from cdxj_indexer.main import CDXJIndexer
from warcio.archiveiterator import ArchiveIterator

from archive.errors import IndexBuildError
from archive.warc import OPEN_SUFFIX, SERVER_NOT_MODIFIED

INDEXES_DIRNAME = "indexes"
INDEX_SUFFIX = ".cdxj"
WARC_SUFFIX = ".warc.gz"


def indexes_dir(data_dir: str | os.PathLike) -> Path:
    """Where a data directory keeps its CDXJ indexes: ``<data>/indexes``."""
    return Path(data_dir) / INDEXES_DIRNAME


def index_path(warc_path: str | os.PathLike, index_dir: str | os.PathLike) -> Path:
    """The index file of one WARC: ``<index_dir>/<warc name>.cdxj``."""
    return Path(index_dir) / (Path(warc_path).name + INDEX_SUFFIX)


def is_stale(warc_path: str | os.PathLike, index_dir: str | os.PathLike) -> bool:
    """True when the WARC has no index, or the WARC changed after its index was written."""
    index = index_path(warc_path, index_dir)
    try:
        return index.stat().st_mtime_ns < Path(warc_path).stat().st_mtime_ns
    except FileNotFoundError:
        return True


def index_warc(warc_path: str | os.PathLike, index_dir: str | os.PathLike) -> Path:
    """Write the sorted CDXJ index of one closed WARC file and return its path.

    The crawl calls this from ``WarcWriter(on_close=...)`` so each file is
    indexed as soon as it is closed; ``newsarchive index`` catches up on the rest.
    """
    warc_path = Path(warc_path)
    if warc_path.name.endswith(OPEN_SUFFIX):
        raise IndexBuildError(f"{warc_path.name} is still being written; index it once it is closed")
    index_dir = Path(index_dir)
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise IndexBuildError(f"cannot create index directory {index_dir}: {exc.strerror}") from None
    target = index_path(warc_path, index_dir)
    partial = target.with_name(target.name + ".partial")
    try:
        with open(warc_path, "rb") as warc, open(partial, "w", encoding="utf-8", newline="\n") as out:
            # filename= names the WARC as pywb and WACZ readers look it up: by its
            # bare name, resolved against the archive directory.
            _WarcIndexer(out, [warc], sort=True, filename=warc_path.name).process_all()
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)
    except FileNotFoundError as exc:
        partial.unlink(missing_ok=True)
        raise IndexBuildError(f"cannot index {warc_path}: {exc.strerror}") from None
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise IndexBuildError(f"cannot write index {target}: {exc.strerror}") from None
    except IndexBuildError as exc:
        partial.unlink(missing_ok=True)
        raise IndexBuildError(f"cannot index {warc_path.name}: {exc}") from None
    except Exception as exc:  # warcio raises ArchiveLoadFailed, zlib errors, ValueError...
        partial.unlink(missing_ok=True)
        raise IndexBuildError(f"cannot index {warc_path.name}: {exc}") from None
    return target


class _WarcIndexer(CDXJIndexer):
    """cdxj-indexer that refuses anything but WARC records.

    warcio reads a non-WARC byte stream as a legacy ARC file and cdxj-indexer
    then writes a nonsense line for it; a WARC file that does not read as WARC
    must fail loudly instead.
    """

    def _create_record_iter(self, input_):
        return ArchiveIterator(input_, no_record_parse=False, arc2warc=False, verify_http=self.verify_http)

    def filter_record(self, record):
        if record.format != "warc":
            raise IndexBuildError(f"not a WARC file (a record reads as {record.format})")
        if record.rec_type == "revisit" and record.rec_headers.get_header("WARC-Profile") == SERVER_NOT_MODIFIED:
            return False  # see the module docstring
        return super().filter_record(record)


@dataclass
class IndexReport:
    """What :func:`update_indexes` did."""

    indexed: list[Path] = field(default_factory=list)
    up_to_date: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)  # indexes of WARCs no longer there


def closed_warcs(warc_dir: str | os.PathLike) -> list[Path]:
    """Closed WARC files of a directory, by name (``.open`` files are still being written)."""
    return sorted(Path(warc_dir).glob("*" + WARC_SUFFIX))


def update_indexes(warc_dir: str | os.PathLike, index_dir: str | os.PathLike) -> IndexReport:
    """Index every closed WARC whose index is missing or older than it; drop orphaned indexes.

    An index whose WARC is gone would make a replay server promise records it
    cannot load, so it is removed.
    """
    report = IndexReport()
    warcs = closed_warcs(warc_dir)
    for warc in warcs:
        if is_stale(warc, index_dir):
            report.indexed.append(index_warc(warc, index_dir))
        else:
            report.up_to_date.append(index_path(warc, index_dir))
    names = {index_path(warc, index_dir).name for warc in warcs}
    if Path(index_dir).is_dir():
        for index in sorted(Path(index_dir).glob("*" + WARC_SUFFIX + INDEX_SUFFIX)):
            if index.name not in names:
                index.unlink()
                report.removed.append(index)
    return report


@dataclass(frozen=True)
class CdxjLine:
    """One parsed index line: the SURT key, the 14-digit timestamp and the JSON fields."""

    urlkey: str
    timestamp: str
    fields: dict

    @property
    def url(self) -> str:
        return self.fields["url"]

    @property
    def filename(self) -> str:
        return self.fields["filename"]

    @property
    def offset(self) -> int:
        return int(self.fields["offset"])

    @property
    def length(self) -> int:
        return int(self.fields["length"])

    @classmethod
    def parse(cls, line: str) -> "CdxjLine":
        urlkey, timestamp, payload = line.rstrip("\n").split(" ", 2)
        return cls(urlkey, timestamp, json.loads(payload))


def read_index(path: str | os.PathLike) -> Iterator[CdxjLine]:
    """Parsed lines of one CDXJ file."""
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield CdxjLine.parse(line)


def merged_lines(index_paths: Iterable[str | os.PathLike]) -> Iterator[str]:
    """The lines of several sorted CDXJ files as one sorted stream (for a single package index)."""
    with ExitStack() as stack:
        files = [stack.enter_context(open(p, encoding="utf-8")) for p in index_paths]
        yield from heapq.merge(*files)
