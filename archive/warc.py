"""Writing WARC files: one request/response pair per HTTP exchange, rotated by size.

The WARC files are newsarchive's source of truth, so this module is strict about
three things:

* the response record holds the entity exactly as the server sent it (still
  content-encoded; HTTP headers written back byte for byte, not percent-encoded);
* a file being written is named ``*.warc.gz.open`` and renamed only when closed,
  so a reader can tell a finished file from one cut short by a crash;
* every record is flushed to the operating system as soon as it is written, and
  :meth:`WarcWriter.sync` makes it durable before the catalog may point at it.

File names follow the IIPC convention
``<prefix>-<UTC timestamp>-<serial>-<host>.warc.gz``; each gzip member is one
record, so any record can be read by seeking to its offset.
"""

from __future__ import annotations

import base64
import errno
import fcntl
import hashlib
import io
import os
import socket
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http import HTTPStatus
from pathlib import Path
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

from archive.errors import DataDirError, WarcWriteError

WARC_VERSION = "WARC/1.1"
SERVER_NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
DEFAULT_MAX_SIZE = 1_000_000_000
# zlib level of each record's gzip member. warcio compresses at 9; on 162 real news pages (264 kB of
# HTML each) 6 took 6.8 ms a page against 10.1 for files 1 % larger (level 4: 3.6 ms, +6.5 %).
DEFAULT_GZIP_LEVEL = 6
OPEN_SUFFIX = ".open"
# Marks a record a browser made (browser mode): decoded body, the browser's header list. Its value
# starts with "browser"; a rendered page's DOM is a conversion record referring to the document's response.
CAPTURE_HEADER = "X-Newsarchive-Capture"

# Headers that describe the wire framing rather than the entity. The HTTP client
# removes the chunked framing before we see the body, so keeping the header would
# make every reader try to de-chunk a body that is no longer chunked.
_FRAMING_HEADERS = {"transfer-encoding"}


@dataclass(frozen=True)
class HttpExchange:
    """One HTTP fetch as seen by the client: what was asked and what came back."""

    url: str
    status: int
    response_headers: list[tuple[str, str]]
    body: bytes
    method: str = "GET"
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    request_body: bytes = b""
    protocol: str = "HTTP/1.1"
    reason: str | None = None
    ip_address: str | None = None
    fetched_at: datetime | None = None
    truncated: str | None = None  # WARC-Truncated reason: "length", "disconnect", "time"

    def content_type(self) -> str | None:
        return self.header("Content-Type")

    def header(self, wanted: str) -> str | None:
        """The first response header of that name (any case), or None."""
        wanted = wanted.lower()
        for name, value in self.response_headers:
            if name.lower() == wanted:
                return value
        return None


@dataclass(frozen=True)
class RevisitOf:
    """An earlier capture whose payload a new response repeats."""

    record_id: str
    url: str
    date: str  # the earlier capture's WARC-Date (or fetched_at), W3C ISO 8601


@dataclass(frozen=True)
class Capture:
    """Where a response record landed, and what the catalog needs to know of it."""

    url: str
    status: int
    content_type: str | None
    fetched_at: str
    warc_filename: str
    warc_offset: int
    warc_length: int
    record_id: str
    payload_digest: str
    truncated: str | None = None
    record_type: str = "response"  # or "revisit"
    refers_to: str | None = None  # revisit: the record id of the capture it repeats
    etag: str | None = None  # validators, sent back in a later crawl's conditional request
    last_modified: str | None = None

    def as_row(self) -> dict:
        return dict(self.__dict__)


class _WireHeaders(StatusAndHeaders):
    """HTTP headers written back as the bytes received.

    Header values arrive as bytes and are carried as latin-1 strings, which maps
    every byte to one character; encoding them back with latin-1 restores the
    original bytes, where warcio's default would percent-encode non-ASCII values.
    """

    def compute_headers_buffer(self, header_filter=None):
        self.headers_buff = self.to_str(header_filter).encode("latin-1") + b"\r\n"


def payload_digest(body: bytes) -> str:
    """``sha1:<base32>``, the WARC-Payload-Digest of an entity body."""
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")


def warc_date(moment: datetime) -> str:
    """WARC/1.1 date with microseconds, always in UTC."""
    return datetime_to_iso_date(moment.astimezone(timezone.utc).replace(tzinfo=None), use_micros=True)


class WarcWriter:
    """Writes exchanges into size-rotated, per-record-gzipped WARC/1.1 files.

    ``warcinfo`` is the body of the ``warcinfo`` record that opens every file
    (software, operator, robots policy, crawl id...). ``clock`` and ``record_ids``
    can be pinned so tests produce the same bytes on every run. ``on_close`` is
    called with the path of each file once it is closed and renamed.
    ``record_listener`` is told of every record written (its
    ``record_written(filename, record, offset, length)``, with the file's closed
    name) and of every exchange cut back (``record_cut(filename)``): the CDXJ
    index is made that way (:class:`archive.cdxj.StreamingIndex`).
    """

    def __init__(
        self,
        directory: str | os.PathLike,
        *,
        prefix: str = "newsarchive",
        max_size: int = DEFAULT_MAX_SIZE,
        warcinfo: dict | None = None,
        hostname: str | None = None,
        clock: Callable[[], datetime] | None = None,
        record_ids: Callable[[], str] | None = None,
        on_close: Callable[[Path], None] | None = None,
        record_listener=None,
        gzip_level: int = DEFAULT_GZIP_LEVEL,
    ):
        self.directory = Path(directory)
        self.prefix = prefix
        self.max_size = max_size
        self.warcinfo = dict(warcinfo or {})
        self.hostname = hostname or socket.gethostname()
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._record_ids = record_ids
        self.on_close = on_close
        self.record_listener = record_listener
        self.gzip_level = gzip_level
        self._serial = 0
        self._file: io.FileIO | None = None
        self._members: _GzipMembers | None = None
        self._writer: WARCWriter | None = None
        self.filename: str | None = None
        self.files_written: list[str] = []
        self.bytes_written = 0
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DataDirError(f"cannot create WARC directory {self.directory}: {exc.strerror}") from exc
        if not os.access(self.directory, os.W_OK):
            raise DataDirError(f"WARC directory {self.directory} is not writable")

    # -- files -------------------------------------------------------------

    @property
    def open_path(self) -> Path | None:
        """Path of the file being written (with its ``.open`` suffix)."""
        return self.directory / (self.filename + OPEN_SUFFIX) if self.filename else None

    def _new_filename(self) -> str:
        self._serial += 1
        stamp = self._clock().astimezone(timezone.utc).strftime("%Y%m%d%H%M%S%f")[:17]
        host = self.hostname.replace("-", "_") or "localhost"
        return f"{self.prefix}-{stamp}-{self._serial:05d}-{host}.warc.gz"

    def _open_next_file(self) -> None:
        while True:
            self.filename = self._new_filename()
            try:
                # Unbuffered: every record reaches the OS as it is written, and a failed
                # write leaves nothing in a buffer to be flushed later over the cut.
                self._file = open(self.open_path, "xb", buffering=0)
                break
            except FileExistsError:
                continue  # another crawl started the same millisecond: take the next serial
            except OSError as exc:
                raise WarcWriteError(f"cannot create {self.open_path}: {exc.strerror}") from exc
        # Held until the file is closed: tells `verify --repair` this file is alive, not left by a crash.
        fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._members = _GzipMembers(self._file, self.gzip_level)
        self._writer = WARCWriter(self._members, gzip=False, warc_version=WARC_VERSION)
        info = {"software": "newsarchive", "format": "WARC File Format 1.1",
                "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
                "hostname": self.hostname, **self.warcinfo}
        record = self._writer.create_warcinfo_record(self.filename, info)
        record.rec_headers.replace_header("WARC-Date", warc_date(self._clock()))
        self._pin(record.rec_headers)
        self._write(record)

    def close(self) -> None:
        """Finish the current file and drop its ``.open`` suffix."""
        if self._file is None:
            return
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            os.replace(self.open_path, self.directory / self.filename)
        except OSError as exc:
            raise WarcWriteError(f"cannot close {self.open_path}: {exc.strerror}") from exc
        self.files_written.append(self.filename)
        closed = self.directory / self.filename
        self._file = self._writer = self._members = None
        self.filename = None
        if self.on_close is not None:
            self.on_close(closed)  # e.g. index the finished file, in step with rotation

    def sync(self) -> None:
        """Make every record written so far durable on disk."""
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())

    def __enter__(self) -> WarcWriter:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- records -----------------------------------------------------------

    def write_exchange(self, exchange: HttpExchange, revisit_of: RevisitOf | None = None, *,
                       warc_headers: Iterable[tuple[str, str]] = ()) -> Capture:
        """Append a request and a response record; return where the response lies.

        With ``revisit_of``, the response is written as a WARC/1.1 ``revisit``
        record (identical-payload-digest profile, or server-not-modified for a
        304): its HTTP headers are kept, its payload is not. ``warc_headers`` are
        added to both records' WARC headers (e.g. how a browser capture was made).
        """
        self._ready()
        moment = exchange.fetched_at or self._clock()
        date = warc_date(moment)
        extra = tuple(warc_headers)

        if revisit_of is not None:
            response = self._revisit_record(exchange, date, revisit_of)
        else:
            response = self._response_record(exchange, date)
        request = self._request_record(exchange, date)
        for record in (response, request):
            for name, value in extra:
                record.rec_headers.add_header(name, value)
        response_id = response.rec_headers.get_header("WARC-Record-ID")
        request.rec_headers.add_header("WARC-Concurrent-To", response_id)
        response.rec_headers.add_header("WARC-Concurrent-To", request.rec_headers.get_header("WARC-Record-ID"))

        start = self._file.tell()
        try:
            self._write(request)
            offset, length = self._write(response)
        except WarcWriteError:
            self._cut_back(start)
            raise
        return Capture(
            url=exchange.url,
            status=exchange.status,
            content_type=exchange.content_type(),
            fetched_at=moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
            warc_filename=self.filename,
            warc_offset=offset,
            warc_length=length,
            record_id=response_id,
            payload_digest=response.rec_headers.get_header("WARC-Payload-Digest"),
            truncated=exchange.truncated,
            record_type=response.rec_type,
            refers_to=revisit_of.record_id if revisit_of else None,
            etag=exchange.header("ETag"),
            last_modified=exchange.header("Last-Modified"),
        )

    def write_record(self, url: str, rec_type: str, payload: bytes, *, content_type: str,
                     warc_headers: Iterable[tuple[str, str]] = ()) -> tuple[str, int, int]:
        """Append one record without HTTP headers (a ``conversion``, ``resource``, ``metadata``...).

        ``warc_headers`` are added as given (``WARC-Refers-To`` for a conversion, say);
        WARC-Date is the writer's clock. Returns (file name, offset, length) of the record.
        """
        self._ready()
        record = self._writer.create_warc_record(
            url, rec_type, payload=io.BytesIO(payload), length=len(payload), warc_content_type=content_type,
            warc_headers_dict={"WARC-Date": warc_date(self._clock())})
        self._pin(record.rec_headers)
        for name, value in warc_headers:
            record.rec_headers.add_header(name, value)
        offset, length = self._write(record)
        return self.filename, offset, length

    def _ready(self) -> None:
        """Open the first file, or the next one once the current file has reached ``max_size``."""
        if self._file is None or self._file.tell() >= self.max_size:
            self.close()
            self._open_next_file()
        assert self._writer is not None

    def _response_record(self, exchange: HttpExchange, date: str):
        warc_headers = _warc_headers(exchange, date)
        if exchange.truncated:
            warc_headers["WARC-Truncated"] = exchange.truncated
        return self._record(exchange.url, "response", exchange.body, _status_and_headers(exchange), warc_headers)

    def _revisit_record(self, exchange: HttpExchange, date: str, original: RevisitOf):
        assert self._writer is not None
        record = self._writer.create_revisit_record(
            exchange.url, payload_digest(exchange.body), original.url, original.date,
            http_headers=_status_and_headers(exchange), warc_headers_dict=_warc_headers(exchange, date))
        record.rec_headers.add_header("WARC-Refers-To", original.record_id)
        if exchange.status == 304:
            record.rec_headers.replace_header("WARC-Profile", SERVER_NOT_MODIFIED)
        self._pin(record.rec_headers)
        return record

    def _request_record(self, exchange: HttpExchange, date: str):
        request_line = f"{exchange.method} {_request_target(exchange.url)} {exchange.protocol}"
        http_headers = _WireHeaders(request_line, list(exchange.request_headers), protocol="")
        return self._record(exchange.url, "request", exchange.request_body, http_headers,
                            _warc_headers(exchange, date))

    def _record(self, url, record_type, body, http_headers, warc_headers):
        assert self._writer is not None
        record = self._writer.create_warc_record(
            url, record_type, payload=io.BytesIO(body), length=len(body),
            http_headers=http_headers, warc_headers_dict=warc_headers)
        self._pin(record.rec_headers)
        return record

    def _pin(self, rec_headers) -> None:
        if self._record_ids is not None:
            rec_headers.replace_header("WARC-Record-ID", self._record_ids())

    def _cut_back(self, end: int) -> None:
        """Drop a half-written exchange so the file still ends on a whole record."""
        self._members.discard()
        if self.record_listener is not None:
            self.record_listener.record_cut(self.filename)
        try:
            os.ftruncate(self._file.fileno(), end)
            self._file.seek(end)
        except OSError:
            pass  # the file stays .open; `newsarchive verify --repair` cuts it back

    def _write(self, record) -> tuple[int, int]:
        assert self._file is not None and self._writer is not None
        offset = self._file.tell()
        try:
            self._writer.write_record(record)
        except OSError as exc:
            self._members.discard()
            raise WarcWriteError(f"cannot write to {self.open_path}: {exc.strerror}") from exc
        length = self._file.tell() - offset
        self.bytes_written += length
        if self.record_listener is not None:
            self.record_listener.record_written(self.filename, record, offset, length)
        return offset, length


class _GzipMembers:
    """warcio's output stream: each record becomes one gzip member, written to the file in one piece.

    warcio would gzip at level 9 and write a record in many small pieces; here the
    level is ours, and the file sees one write per record when warcio flushes at
    the record's end. Every byte is written or an error raised: an unbuffered file
    may take only part (disk full, file size limit), and warcio ignores the count
    ``write`` returns, so a record cut short would pass for whole.
    """

    def __init__(self, raw: io.RawIOBase, level: int):
        self.raw = raw
        self.level = level
        self._parts: list[bytes] = []
        self._compressor = None

    def write(self, data) -> int:
        if self._compressor is None:
            self._compressor = zlib.compressobj(self.level, zlib.DEFLATED, zlib.MAX_WBITS + 16)
        self._parts.append(self._compressor.compress(data))
        return len(data)

    def flush(self) -> None:
        if self._compressor is None:
            return
        self._parts.append(self._compressor.flush())
        member = b"".join(self._parts)
        self.discard()
        view = memoryview(member)
        while view:
            written = self.raw.write(view)
            if not written:
                raise OSError(errno.EIO, "the file took no more bytes")
            view = view[written:]

    def discard(self) -> None:
        """Forget a record not finished (its write failed)."""
        self._parts = []
        self._compressor = None


def _status_and_headers(exchange: HttpExchange) -> _WireHeaders:
    """The response's status line and headers, without the chunked framing already removed."""
    reason = exchange.reason or _reason_phrase(exchange.status)
    headers = [(n, v) for n, v in exchange.response_headers if n.lower() not in _FRAMING_HEADERS]
    return _WireHeaders(f"{exchange.status} {reason}".strip(), headers, protocol=exchange.protocol)


def _warc_headers(exchange: HttpExchange, date: str) -> dict:
    headers = {"WARC-Date": date}
    if exchange.ip_address:
        headers["WARC-IP-Address"] = exchange.ip_address
    return headers


def _reason_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _request_target(url: str) -> str:
    """The request line's target: path and query, as sent."""
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return target
