"""Small real archives for the verify, repair and reindex tests.

Written with newsarchive's own WarcWriter and Catalog, the way a crawl writes
them (rows only after the WARC is synced), with a pinned clock and record ids
so every run produces the same bytes.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from pathlib import Path

from archive.catalog import Catalog
from archive.warc import Capture, HttpExchange, RevisitOf, WarcWriter

CRAWL_ID = "20261125T103000Z-abc123"
SEED = "http://news.example.kz/kk/news"
START = datetime(2026, 11, 25, 10, 30, tzinfo=timezone.utc)


def page_exchange(n: int, *, when: datetime | None = None) -> HttpExchange:
    body = (f"<html><head><title>Жаңалық {n}</title></head><body><h1>Жаңалық {n}</h1>"
            f"<p>Ауылда {n}-мектеп ашылды. Салтанатты жиынға тұрғындар қатысты.</p></body></html>").encode()
    return HttpExchange(
        url=f"{SEED}/{n}", status=200, body=body,
        response_headers=[("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))],
        request_headers=[("Host", "news.example.kz")], ip_address="127.0.0.1",
        fetched_at=when or START + timedelta(seconds=n))


def pinned_writer(warc_dir: Path, **options) -> WarcWriter:
    ticks = itertools.count()
    ids = (f"<urn:uuid:00000000-0000-4000-8000-{n:012d}>" for n in itertools.count(1))
    return WarcWriter(warc_dir, hostname="test", clock=lambda: START + timedelta(seconds=next(ticks)),
                      record_ids=lambda: next(ids),
                      warcinfo={"isPartOf": CRAWL_ID, "description": f"seeds: {SEED}"}, **options)


def catalogue(data_dir: Path, captures: list[Capture]) -> None:
    """The rows the crawl's catalog pipeline writes for these captures."""
    with Catalog(data_dir / "catalog.db", warc_dir=data_dir / "warc") as catalog:
        catalog.start_crawl([SEED], crawl_id=CRAWL_ID, now=START)
        for capture in captures:
            catalog.add_capture({**capture.as_row(), "crawl_id": CRAWL_ID})
        catalog.finish_crawl(CRAWL_ID, "finished", now=START + timedelta(minutes=1))


def build_archive(data_dir: Path, pages: int = 3, *, revisit_last: bool = False,
                  with_catalog: bool = True) -> list[Capture]:
    """A closed WARC file of ``pages`` exchanges (the last a revisit of the first if asked), catalogued."""
    captures = []
    with pinned_writer(data_dir / "warc") as writer:
        for n in range(1, pages + 1):
            captures.append(writer.write_exchange(page_exchange(n)))
        if revisit_last:
            first = captures[0]
            again = page_exchange(1, when=START + timedelta(minutes=5))
            captures.append(writer.write_exchange(again, RevisitOf(first.record_id, first.url, first.fetched_at)))
    if with_catalog:
        catalogue(data_dir, captures)
    return captures
