"""Streaming a WARC file record by record without trusting it to be well formed.

warcio is built to read good files: it skips over a gzip member cut short,
prints zlib errors instead of raising them, skips revisit digests and hashes a
chunked body with its framing. ``verify`` and ``repair`` need the opposite: the
exact byte extent of every complete record, its digests recomputed, and the
first place where the file stops being a WARC. This module reads gzip members
itself (one member per record, as archive.warc writes them; several records
in one member are read too), hashes each block in fixed-size pieces so a
record is never held in memory, and raises :class:`WarcFormatError` with the
offset where the structure breaks.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import zlib
from dataclasses import dataclass, field
from typing import BinaryIO, Iterator

READ_SIZE = 1 << 16
MAX_LINE = 1 << 16  # a WARC or HTTP header line longer than this is not a header
MAX_HTTP_HEAD = 1 << 20  # HTTP status line and headers of one record
HTTP_RECORD_TYPES = ("request", "response", "revisit")


class WarcFormatError(Exception):
    """The file stops being a readable WARC at ``offset`` (cut short, corrupt, not a WARC)."""

    def __init__(self, offset: int, message: str):
        super().__init__(message)
        self.offset = offset
        self.message = message


@dataclass
class ScannedRecord:
    """One complete record: where it lies and what its headers and digests say."""

    offset: int
    length: int | None  # of its gzip member; None when it shares a member with the next record
    headers: list[tuple[str, str]]
    block_digest_ok: bool | None = None  # None: no WARC-Block-Digest to check
    payload_digest_ok: bool | None = None  # None: not checked (no digest, no payload, revisit)
    problems: list[str] = field(default_factory=list)
    http_chunked: bool = False

    def __post_init__(self):
        self._first: dict[str, str] = {}
        for key, value in self.headers:
            self._first.setdefault(key.lower(), value)

    def header(self, name: str) -> str | None:
        return self._first.get(name.lower())

    def header_all(self, name: str) -> list[str]:
        name = name.lower()
        return [value for key, value in self.headers if key.lower() == name]

    @property
    def rec_type(self) -> str:
        return (self.header("WARC-Type") or "").lower()

    @property
    def record_id(self) -> str | None:
        return self.header("WARC-Record-ID")

    @property
    def end(self) -> int | None:
        return None if self.length is None else self.offset + self.length


# -- bytes: gzip members or a plain file --------------------------------------------------


class _GzipMembers:
    """The decompressed bytes of a multi-member gzip file, one member at a time."""

    def __init__(self, fh: BinaryIO):
        self.fh = fh
        self.tail = b""  # compressed bytes read from the file and not yet fed
        self.next_raw = 0  # file offset of the first compressed byte no member has used
        self.member_start = 0
        self.decomp = None

    def next_member(self) -> bool:
        """Start the member at ``next_raw``; False at a clean end of file."""
        if not self.tail:
            self.tail = self.fh.read(READ_SIZE)
        if not self.tail:
            return False
        self.member_start = self.next_raw
        self.decomp = zlib.decompressobj(16 + zlib.MAX_WBITS)
        return True

    def read(self, size: int) -> bytes:
        """Up to ``size`` decompressed bytes of the current member; b"" once it ended intact."""
        decomp = self.decomp
        while not decomp.eof:
            data = decomp.unconsumed_tail
            if not data:
                data, self.tail = self.tail or self.fh.read(READ_SIZE), b""
            if not data:
                raise WarcFormatError(self.member_start, "gzip member cut short: the file ends inside it")
            try:
                out = decomp.decompress(data, size)
            except zlib.error as exc:
                where = "not gzip data" if self.member_start == 0 and not decomp.eof else "gzip data corrupt"
                raise WarcFormatError(self.member_start, f"{where} ({exc})") from None
            if decomp.eof:
                # At the member's end zlib may report the same leftover bytes as both
                # unconsumed_tail and unused_data: count them once.
                self.next_raw += len(data) - len(decomp.unused_data)
                self.tail = decomp.unused_data
            else:
                self.next_raw += len(data) - len(decomp.unconsumed_tail)
            if out:
                return out
        return b""


class _Buffer:
    """Line and block reads over a ``read(size)`` function, counting bytes handed out."""

    def __init__(self, read):
        self._read = read
        self._buf = b""
        self.pos = 0

    def _fill(self) -> bool:
        data = self._read(READ_SIZE)
        if data:
            self._buf += data
        return bool(data)

    def at_end(self) -> bool:
        return not self._buf and not self._fill()

    def readline(self, limit: int = MAX_LINE) -> bytes:
        while b"\n" not in self._buf and len(self._buf) < limit and self._fill():
            pass
        cut = self._buf.find(b"\n", 0, limit)
        cut = cut + 1 if cut >= 0 else min(len(self._buf), limit)
        line, self._buf = self._buf[:cut], self._buf[cut:]
        self.pos += len(line)
        return line

    def read(self, size: int) -> bytes:
        if not self._buf and not self._fill():
            return b""
        piece, self._buf = self._buf[:size], self._buf[size:]
        self.pos += len(piece)
        return piece


# -- digests ------------------------------------------------------------------------------


def _parse_digest(declared: str) -> tuple[str, bytes] | None:
    """``sha1:BASE32`` (or base16 / base64 values) as (algorithm, raw digest); None if unreadable."""
    algorithm, sep, value = declared.strip().partition(":")
    algorithm = algorithm.lower().replace("-", "")
    if not sep or algorithm not in hashlib.algorithms_available:
        return None
    size = hashlib.new(algorithm).digest_size
    for decode in (lambda v: base64.b32decode(v.upper()), bytes.fromhex, base64.b64decode):
        try:
            raw = decode(value.strip())
        except (binascii.Error, ValueError):
            continue
        if len(raw) == size:
            return algorithm, raw
    return None


class _Digest:
    """A declared digest and the hash that will be compared with it."""

    def __init__(self, declared: str | None, what: str, problems: list[str]):
        self.expected = None
        self.hasher = None
        if declared:
            parsed = _parse_digest(declared)
            if parsed is None:
                problems.append(f"{what} {declared!r} is not a digest this verifier can read")
            else:
                algorithm, self.expected = parsed
                self.hasher = hashlib.new(algorithm)

    def new(self):
        return self.hasher.copy() if self.hasher is not None else None


class _Dechunker:
    """Removes HTTP/1.1 chunked framing from a stream fed in arbitrary pieces."""

    def __init__(self, sink):
        self.sink = sink
        self.state = "size"
        self.line = b""
        self.remaining = 0
        self.failed = False

    def feed(self, data: bytes) -> None:
        while data and not self.failed and self.state != "done":
            if self.state == "data":
                piece, data = data[: self.remaining], data[self.remaining:]
                self.sink(piece)
                self.remaining -= len(piece)
                if not self.remaining:
                    self.state = "data-end"
                continue
            cut = data.find(b"\n")
            if cut < 0:
                self.line += data
                self.failed = len(self.line) > MAX_LINE
                return
            line, data = (self.line + data[:cut]).strip(), data[cut + 1:]
            self.line = b""
            if self.state == "data-end":
                self.failed = line != b""
                self.state = "size"
            elif self.state == "size":
                try:
                    self.remaining = int(line.split(b";", 1)[0], 16)
                except ValueError:
                    self.failed = True
                    return
                self.state = "data" if self.remaining else "trailer"
            elif self.state == "trailer" and not line:
                self.state = "done"

    @property
    def complete(self) -> bool:
        return not self.failed and self.state in ("done", "trailer")


class _BlockChecker:
    """Hashes a record's block as it streams by: block digest, and payload digest of the
    HTTP entity (de-chunked when the HTTP headers say ``Transfer-Encoding: chunked``)."""

    def __init__(self, record: ScannedRecord):
        self.record = record
        problems = record.problems
        block = _Digest(record.header("WARC-Block-Digest"), "WARC-Block-Digest", problems)
        payload = _Digest(record.header("WARC-Payload-Digest"), "WARC-Payload-Digest", problems)
        self.block_expected, self.block_hash = block.expected, block.new()
        self.payload_expected = payload.expected
        if record.rec_type == "revisit":
            self.payload_expected = None  # a revisit holds no payload: its digest names another record's
        self.payload_hash = payload.new() if self.payload_expected else None
        self.raw_payload_hash = None
        self.dechunker = None
        content_type = (record.header("Content-Type") or "").lower()
        self.http = content_type.startswith("application/http") and record.rec_type in HTTP_RECORD_TYPES
        self.head = b"" if self.http else None  # HTTP head bytes until the blank line

    def feed(self, data: bytes) -> None:
        if self.block_hash is not None:
            self.block_hash.update(data)
        if self.payload_hash is None:
            return
        if self.head is not None:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                if len(self.head) > MAX_HTTP_HEAD:
                    self.record.problems.append("HTTP headers do not end within 1 MB")
                    self.payload_hash = None
                return
            head, data = self.head[: end + 4], self.head[end + 4:]
            self.head = None
            self._start_payload(head)
        self._feed_payload(data)

    def _start_payload(self, head: bytes) -> None:
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"transfer-encoding" and b"chunked" in value.lower():
                self.record.http_chunked = True
                self.raw_payload_hash = self.payload_hash.copy()
                self.dechunker = _Dechunker(self.payload_hash.update)

    def _feed_payload(self, data: bytes) -> None:
        if self.dechunker is not None:
            self.raw_payload_hash.update(data)
            self.dechunker.feed(data)
        else:
            self.payload_hash.update(data)

    def finish(self) -> None:
        record = self.record
        if self.block_hash is not None:
            record.block_digest_ok = self.block_hash.digest() == self.block_expected
        if self.payload_hash is None:
            return
        if self.head is not None:  # an HTTP head without its blank line: an empty payload
            self._start_payload(self.head)
            self.head = None
        if self.dechunker is not None:
            # The de-chunked entity is what the digest should cover; some tools hash the
            # framed bytes instead, which still proves the record intact.
            dechunked_ok = self.dechunker.complete and self.payload_hash.digest() == self.payload_expected
            record.payload_digest_ok = dechunked_ok or self.raw_payload_hash.digest() == self.payload_expected
        else:
            record.payload_digest_ok = self.payload_hash.digest() == self.payload_expected


# -- records ------------------------------------------------------------------------------


def _read_headers(buf: _Buffer, offset: int) -> list[tuple[str, str]] | None:
    line = buf.readline()
    while line in (b"\r\n", b"\n"):  # blank lines between records of an uncompressed file
        offset = buf.pos
        line = buf.readline()
    if not line:
        return None
    if not line.startswith(b"WARC/"):
        raise WarcFormatError(offset, f"not a WARC record: it starts with {line[:24]!r}")
    headers = []
    while True:
        line = buf.readline()
        if not line.endswith(b"\n"):
            raise WarcFormatError(offset, "record headers cut short")
        if line in (b"\r\n", b"\n"):
            return headers
        name, sep, value = line.decode("utf-8", "replace").partition(":")
        if not sep:
            raise WarcFormatError(offset, f"malformed WARC header line {line[:60]!r}")
        headers.append((name.strip(), value.strip()))


def _read_record(buf: _Buffer, offset: int, check_digests: bool) -> ScannedRecord | None:
    headers = _read_headers(buf, offset)
    if headers is None:
        return None
    record = ScannedRecord(offset=offset, length=None, headers=headers)
    try:
        content_length = int(record.header("Content-Length") or "")
    except ValueError:
        raise WarcFormatError(offset, "record has no valid Content-Length") from None
    checker = _BlockChecker(record) if check_digests else None
    remaining = content_length
    while remaining:
        piece = buf.read(min(remaining, READ_SIZE))
        if not piece:
            raise WarcFormatError(
                offset, f"record cut short: {content_length - remaining} of {content_length} block bytes")
        remaining -= len(piece)
        if checker is not None:
            checker.feed(piece)
    trailer = b""
    while len(trailer) < 4 and (piece := buf.read(4 - len(trailer))):
        trailer += piece
    if trailer != b"\r\n\r\n":
        raise WarcFormatError(offset, "record not followed by CRLF CRLF (cut short, or Content-Length wrong)")
    if checker is not None:
        checker.finish()
    return record


def _detect(fh: BinaryIO) -> str:
    start = fh.read(5)
    fh.seek(0)
    if start[:2] == b"\x1f\x8b":
        return "gzip"
    if start == b"WARC/":
        return "plain"
    raise WarcFormatError(0, "not a WARC file" if start else "empty file, not a WARC file")


def scan_warc(path: str | os.PathLike, *, check_digests: bool = True) -> Iterator[ScannedRecord]:
    """Every complete record of one WARC file (gzipped per record, or uncompressed), in order.

    A record is yielded only once its bytes are all read (for gzip, its member's
    CRC checked). Raises WarcFormatError where the file stops being readable;
    the records yielded before it are intact.
    """
    with open(path, "rb") as fh:
        kind = _detect(fh)
        if kind == "plain":
            buf = _Buffer(fh.read)
            while True:
                record = _read_record(buf, buf.pos, check_digests)
                if record is None:
                    return
                record.length = buf.pos - record.offset
                yield record
        members = _GzipMembers(fh)
        while members.next_member():
            buf = _Buffer(members.read)
            record = _read_record(buf, members.member_start, check_digests)
            if record is None:
                continue  # an empty gzip member
            while True:
                if buf.at_end():  # reads the member to its end: CRC and size checked
                    record.length = members.next_raw - members.member_start
                    yield record
                    break
                following = _read_record(buf, members.member_start, check_digests)
                if following is None:  # only blank lines were left in the member
                    continue
                yield record  # shares its member with the following record
                record = following
