"""Reading WARC records back: by catalog pointer, or streaming a whole file.

A catalog row names a file, an offset and a length; :func:`open_record` turns
that pointer into the record, so "does the pointer open the record it claims?"
is a question any reader can answer without trusting the catalog.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from warcio.archiveiterator import ArchiveIterator

from archive.errors import RecordNotFound
from archive.warc import OPEN_SUFFIX


def warc_path(warc_dir: str | os.PathLike, filename: str) -> Path:
    """The file a pointer names: closed, or still ``.open`` while being written."""
    path = Path(warc_dir) / filename
    if path.exists():
        return path
    open_path = path.with_name(path.name + OPEN_SUFFIX)
    if open_path.exists():
        return open_path
    raise RecordNotFound(f"WARC file {filename} is not in {warc_dir}")


@contextmanager
def open_record(warc_dir: str | os.PathLike, filename: str, offset: int):
    """Yield the warcio record that starts at ``offset`` of ``filename``."""
    path = warc_path(warc_dir, filename)
    with open(path, "rb") as stream:
        stream.seek(offset)
        try:
            record = next(iter(ArchiveIterator(stream)))
        except StopIteration:
            raise RecordNotFound(f"no WARC record at {filename}:{offset}") from None
        except Exception as exc:  # warcio raises ArchiveLoadFailed and zlib errors
            raise RecordNotFound(f"no WARC record at {filename}:{offset} ({exc})") from exc
        yield record


def read_payload(warc_dir: str | os.PathLike, filename: str, offset: int) -> tuple[str, bytes]:
    """(target URI, entity body as served) of the record at a pointer."""
    with open_record(warc_dir, filename, offset) as record:
        return record.rec_headers.get_header("WARC-Target-URI"), record.raw_stream.read()


def iter_records(path: str | os.PathLike) -> Iterator[tuple[int, object]]:
    """Stream ``(offset, record)`` for every record of one WARC file.

    Each record must be consumed before the next is produced (warcio's rule).
    """
    with open(path, "rb") as stream:
        records = ArchiveIterator(stream)
        for record in records:
            # ``offset`` is where the current record starts; get_record_offset()
            # would read the record to its end before the caller sees it.
            yield records.offset, record
