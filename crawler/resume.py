"""Resuming a stopped crawl from the archive itself.

Scrapy's JOBDIR keeps its queue in files that a ``kill -9`` can leave half
written; the WARC files, repaired and indexed, are always whole. So a resumed
crawl rebuilds its frontier from what it archived: every URL already captured
is marked seen, and every archived page, sitemap and feed is parsed again from
its WARC record (no refetch) to recover the links not yet followed; a page an
incremental crawl heard "304 Not Modified" for is read from the record it refers to.
"""

from __future__ import annotations

from urllib.parse import urljoin

from scrapy.http import Request
from scrapy.responsetypes import responsetypes

from archive.catalog import Catalog
from archive.datadir import DataDir
from archive.records import open_record

_DECODED_HEADERS = {b"content-encoding", b"transfer-encoding", b"content-length"}


def archived_captures(data: DataDir, crawl_id: str) -> list[dict]:
    """The crawl's captures that need no new fetch (a 5xx is fetched again)."""
    with Catalog(data.catalog_path, read_only=True) as catalog:
        return list(catalog.db.query(
            "SELECT c.url, c.status, c.warc_filename, c.warc_offset, c.record_type, "
            "o.warc_filename AS original_file, o.warc_offset AS original_offset "
            "FROM captures c LEFT JOIN captures o ON o.record_id = c.refers_to "
            "WHERE c.crawl_id = ? AND c.status < 500 ORDER BY c.fetched_at", [crawl_id]))


def archived_response(data: DataDir, capture: dict):
    """A Scrapy response rebuilt from the WARC record (a revisit's body from its original).

    A 304 (server-not-modified revisit of an incremental crawl) stands for the
    page it confirmed: its original record is rebuilt whole, so a resumed crawl
    still follows that page's links.
    """
    if capture["status"] == 304 and capture.get("original_file"):
        capture = {"url": capture["url"], "status": 200, "warc_filename": capture["original_file"],
                   "warc_offset": capture["original_offset"]}
    with open_record(data.warc_dir, capture["warc_filename"], capture["warc_offset"]) as record:
        http = record.http_headers
        headers = [(name, value) for name, value in http.headers if name.lower().encode() not in _DECODED_HEADERS]
        body = record.content_stream().read() if record.rec_type == "response" else None
    if body is None and capture.get("original_file"):
        with open_record(data.warc_dir, capture["original_file"], capture["original_offset"]) as original:
            body = original.content_stream().read()
    request = Request(capture["url"], meta={"newsarchive_resumed": True})
    header_dict = {}
    for name, value in headers:
        header_dict.setdefault(name, []).append(value)
    cls = responsetypes.from_args(headers=header_dict, url=capture["url"], body=body or b"")
    return cls(url=capture["url"], status=capture["status"], headers=header_dict, body=body or b"",
               request=request)


def redirect_target(response) -> str | None:
    location = response.headers.get(b"Location")
    if 300 <= response.status < 400 and location:
        return urljoin(response.url, location.decode("latin-1"))
    return None
