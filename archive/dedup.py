"""Which earlier capture a response repeats, so it can be stored as a revisit.

Deduplication is by **same URL** and identical payload digest. Identical
payloads at different URLs are stored in full: every replay tool resolves a
same-URL revisit, while cross-URL revisits depend on the reader honouring
``WARC-Refers-To-Target-URI``, and an archive must replay in tools we do not
control twenty years from now. The saving given up is small for news sites,
where the same bytes rarely live at two addresses.

Earlier captures are looked up in the catalog (read-only; it may be written by
the same crawl meanwhile) and in this crawl's own captures not yet flushed.
Those are held for the whole crawl, one entry per full capture, so an entry is
kept small: a 16-byte hash of URL and digest for key, record id and date in one
string for value: 218 bytes per capture, where the strings and a RevisitOf kept 496.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

from archive.warc import Capture, RevisitOf

_LOOKUP = (
    "SELECT record_id, url, fetched_at FROM captures "
    "WHERE url = ? AND payload_digest = ? AND record_type = 'response' ORDER BY fetched_at LIMIT 1"
)


class DedupIndex:
    def __init__(self, catalog_path: str | os.PathLike | None):
        self._recent: dict[bytes, str] = {}  # _key(url, digest) -> "<record id> <fetched_at>"
        self._db: sqlite3.Connection | None = None
        path = Path(catalog_path) if catalog_path else None
        if path is not None and path.exists():
            self._db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)

    def lookup(self, url: str, digest: str) -> RevisitOf | None:
        """The first full capture of ``url`` with this payload, if there is one."""
        found = None
        recent = self._recent.get(_key(url, digest))
        if recent is not None:
            record_id, date = recent.rsplit(" ", 1)
            found = RevisitOf(record_id=record_id, url=url, date=date)
        elif self._db is not None:
            try:
                row = self._db.execute(_LOOKUP, (url, digest)).fetchone()
            except sqlite3.DatabaseError:
                row = None  # no catalog yet, or an older one: store the payload in full
            if row:
                found = RevisitOf(record_id=row[0], url=row[1], date=row[2])
        return found

    def remember(self, capture: Capture) -> None:
        if capture.record_type == "response" and capture.payload_digest:
            self._recent.setdefault(_key(capture.url, capture.payload_digest),
                                    f"{capture.record_id} {capture.fetched_at}")

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def _key(url: str, digest: str) -> bytes:
    """URL and payload digest in 16 bytes: a collision (odds ~1e-21 at a billion captures) is all that
    could make a revisit name the wrong record."""
    return hashlib.blake2b(f"{url}\n{digest}".encode("utf-8", "surrogatepass"), digest_size=16).digest()
