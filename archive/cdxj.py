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
import io
import itertools
import json
import os
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, TextIO

import surt
from cdxj_indexer.main import CDXJIndexer
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeadersParser
from warcio.timeutils import iso_date_to_timestamp

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
    """Write the sorted CDXJ index of one closed WARC file, read back from the file, and return its path.

    ``newsarchive index`` calls this for every WARC without an up-to-date index;
    a crawl indexes its WARCs while writing them (:class:`StreamingIndex`) and
    falls back to this when it cannot.
    """
    warc_path = Path(warc_path)

    def read_warc(out) -> None:
        with open(warc_path, "rb") as warc:
            # filename= names the WARC as pywb and WACZ readers look it up: by its
            # bare name, resolved against the archive directory.
            _WarcIndexer(out, [warc], sort=True, filename=warc_path.name).process_all()

    return _publish_index(warc_path, index_dir, read_warc)


def _publish_index(warc_path: Path, index_dir: str | os.PathLike, write_lines: Callable[[TextIO], None]) -> Path:
    """Write a WARC's index under a temporary name, make it durable, then rename it into place."""
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
        with open(partial, "w", encoding="utf-8", newline="\n") as out:
            write_lines(out)
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


# -- indexing while the WARC is written ---------------------------------------

UNSORTED_SUFFIX = ".unsorted"
RUN_LINES = 10_000  # lines sorted in memory at once (~4 MB): the bound on the index's memory

_INDEXED_RECORDS = frozenset(CDXJIndexer.DEFAULT_RECORDS)
_HTTP_PARSER = StatusAndHeadersParser([], verify=False)  # as ArchiveIterator(verify_http=False) reads them


class _NotAsRead(Exception):
    """A record whose index line, made from memory, might differ from one read back from the WARC."""


class StreamingIndex:
    """CDXJ lines spooled to disk as the WARC is written, sorted into its index when the WARC closes.

    Reading a whole WARC back at close costs as much CPU as a tenth of the crawl,
    and cdxj-indexer sorts up to 32 MB of lines in memory. The writer already
    holds each record's headers, offset and length, so its line is made then
    (:func:`cdxj_line`, the same bytes :func:`index_warc` would write) and
    appended to ``<index_dir>/<warc name>.cdxj.unsorted``; at close the file is
    sorted on disk in runs of ``run_lines`` (:func:`_sorted_lines`), so memory
    stays flat however large the WARC.

    Hand it to ``WarcWriter(record_listener=...)`` and call :meth:`finish` from
    ``on_close``. Whenever a line could be wrong (a record the writer cut back, a
    header that would read back differently, a spool that failed to write),
    :meth:`finish` indexes the WARC by reading it instead. A crawl killed
    mid-way leaves an ``.unsorted`` file beside an ``.open`` WARC:
    :func:`update_indexes` removes it and indexes the repaired WARC from its records.
    """

    def __init__(self, index_dir: str | os.PathLike, *, run_lines: int = RUN_LINES):
        self.index_dir = Path(index_dir)
        self.run_lines = run_lines
        self._spools: dict[str, _Spool] = {}
        self.read_back: list[str] = []  # WARCs indexed by reading them back instead

    def record_written(self, filename: str, record, offset: int, length: int) -> None:
        """Spool the line of a record just written at ``offset`` of WARC ``filename`` (its closed name)."""
        spool = self._spools.get(filename)
        if spool is None:
            spool = self._spools[filename] = _Spool(self.index_dir / (filename + INDEX_SUFFIX + UNSORTED_SUFFIX))
        spool.add(record, filename, offset, length)

    def record_cut(self, filename: str) -> None:
        """The writer cut ``filename`` back over a half-written exchange: its spooled lines are not trusted."""
        spool = self._spools.get(filename)
        if spool is not None:
            spool.exact = False

    def finish(self, warc_path: str | os.PathLike) -> Path:
        """Write the sorted index of a WARC just closed and return its path (thread-safe per file)."""
        warc_path = Path(warc_path)
        spool = self._spools.pop(warc_path.name, None)
        if spool is None:
            return index_warc(warc_path, self.index_dir)
        try:
            if spool.close():
                try:
                    return _publish_index(warc_path, self.index_dir,
                                          lambda out: out.writelines(_sorted_lines(spool.path, self.run_lines)))
                except IndexBuildError:
                    pass  # the spool went missing or unreadable: the WARC itself is still there
            self.read_back.append(warc_path.name)
            return index_warc(warc_path, self.index_dir)
        finally:
            spool.path.unlink(missing_ok=True)

    def discard(self) -> None:
        """Drop the spools of files never closed (the WARC stays ``.open``; repair and reindex take over)."""
        for spool in self._spools.values():
            spool.close()
            spool.path.unlink(missing_ok=True)
        self._spools.clear()


class _Spool:
    """The unsorted lines of one WARC; any failure marks it inexact rather than disturb the WARC's writing."""

    def __init__(self, path: Path):
        self.path = path
        self.exact = True
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file: TextIO | None = open(path, "w", encoding="utf-8", newline="\n")
        except OSError:
            self._file, self.exact = None, False

    def add(self, record, filename: str, offset: int, length: int) -> None:
        if not self.exact:
            return
        try:
            line = cdxj_line(record, filename, offset, length)
            if line is not None:
                self._file.write(line)
        except (_NotAsRead, OSError, ValueError):
            self.exact = False
            self.close()

    def close(self) -> bool:
        """Close the file; True if its lines can be trusted."""
        if self._file is not None:
            try:
                self._file.close()
            except OSError:
                self.exact = False
            self._file = None
        return self.exact


def cdxj_line(record, filename: str, offset: int, length: int) -> str | None:
    """The line :func:`index_warc` writes for a record just written (warcio's record object), or None
    for one the index leaves out.

    Values are taken as warcio reads them back: WARC header values stripped, HTTP
    headers parsed from the very bytes written. Raises :class:`_NotAsRead` where
    reading back could give something else (a line break in a value, a target
    URI warcio would rewrite, no payload digest for the indexer to reuse).
    """
    headers = record.rec_headers
    kind = _as_read(headers.get_header("WARC-Type"))
    if kind not in _INDEXED_RECORDS:
        return None
    if kind == "revisit" and _as_read(headers.get_header("WARC-Profile")) == SERVER_NOT_MODIFIED:
        return None  # see the module docstring
    content_type = _as_read(headers.get_header("Content-Type"))
    if kind in ("resource", "metadata") and content_type == "application/warc-fields":
        return None  # cdxj-indexer's default record set leaves these out
    url = _as_read(headers.get_header("WARC-Target-URI"))
    digest = _as_read(headers.get_header("WARC-Payload-Digest"))
    if not url or not digest or url.startswith("<") or " " in url:
        raise _NotAsRead(url)
    http = _http_headers_as_read(record, kind, url)
    fields = {"url": url}
    if kind == "revisit":
        mime = "warc/revisit"
    else:
        mime = content_type if kind != "response" else http.get_header("content-type") if http else None
        if mime:
            mime = CDXJIndexer.RE_SPACE.split(mime, 1)[0].strip()
    if mime is not None:
        fields["mime"] = mime
    if http:
        fields["status"] = http.get_statuscode()
    fields.update(digest=digest, length=str(length), offset=str(offset), filename=filename)
    try:
        urlkey = surt.surt(url)
    except Exception:  # as cdxj-indexer does: an unparseable URL is its own key
        urlkey = url
    line = f"{urlkey} {iso_date_to_timestamp(_as_read(headers.get_header('WARC-Date')))} {json.dumps(fields)}"
    if "\n" in line or "\r" in line:
        raise _NotAsRead(url)
    return line + "\n"


def _as_read(value: str | None) -> str | None:
    """A WARC header value as warcio parses it back: one line, surrounding whitespace stripped."""
    if value is None:
        return None
    if "\n" in value:
        raise _NotAsRead(value)
    return value.strip()


def _http_headers_as_read(record, kind: str, url: str):
    """The HTTP status line and headers of a response or revisit, parsed from the bytes written."""
    if kind not in ("response", "revisit"):
        return None
    http = record.http_headers
    if not url.startswith(("http:", "https:")) or not http or not http.headers_buff:
        raise _NotAsRead(url)
    try:
        return _HTTP_PARSER.parse(io.BytesIO(http.headers_buff))
    except EOFError:
        return None


def _sorted_lines(path: Path, run_lines: int) -> Iterator[str]:
    """The lines of a file sorted, repeated lines once (as cdxj-indexer's sort), in bounded memory.

    Runs of ``run_lines`` are sorted in memory and, when there is more than one,
    written beside the file and merged.
    """
    runs: list[Path] = []
    try:
        with open(path, encoding="utf-8", newline="\n") as unsorted:
            while True:
                run = sorted(itertools.islice(unsorted, run_lines))
                if not run:
                    break
                if not runs and len(run) < run_lines:
                    yield from _once_each(run)  # the whole file in one run
                    return
                runs.append(path.with_name(f"{path.name}.{len(runs)}"))
                with open(runs[-1], "w", encoding="utf-8", newline="\n") as out:
                    out.writelines(run)
                del run
        with ExitStack() as stack:
            files = [stack.enter_context(open(run, encoding="utf-8", newline="\n")) for run in runs]
            yield from _once_each(heapq.merge(*files))
    finally:
        for run in runs:
            run.unlink(missing_ok=True)


def _once_each(lines: Iterable[str]) -> Iterator[str]:
    previous = None
    for line in lines:
        if line != previous:
            yield line
        previous = line


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
        _remove_abandoned_spools(warc_dir, index_dir)
    return report


def _remove_abandoned_spools(warc_dir: str | os.PathLike, index_dir: str | os.PathLike) -> None:
    """Spooled lines of WARCs no longer being written: left by a crawl killed mid-way.

    A closed WARC is indexed from its records instead; a crawl still closing one
    that loses its spool here falls back to the same.
    """
    for spool in Path(index_dir).glob("*" + WARC_SUFFIX + INDEX_SUFFIX + UNSORTED_SUFFIX + "*"):
        warc_name = spool.name.split(INDEX_SUFFIX + UNSORTED_SUFFIX)[0]
        if not (Path(warc_dir) / (warc_name + OPEN_SUFFIX)).exists():
            spool.unlink(missing_ok=True)


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
