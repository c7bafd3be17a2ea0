"""The item a crawl produces: an archived HTML page on its way to extraction and the catalog."""

from __future__ import annotations

from dataclasses import dataclass, field

from archive.warc import Capture


@dataclass
class ArchivedPage:
    """An HTML page whose response record is already in a WARC file.

    ``url`` is the canonical URL and the address of the capture, so the catalog
    row and its provenance always name the same address.
    """

    url: str
    site: str
    body: bytes
    headers: dict[str, str]
    capture: Capture
    crawl_id: str
    article: object | None = field(default=None, repr=False)  # archive.extract.Article
