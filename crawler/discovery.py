"""Where a news site lists its articles: sitemaps, feeds, and the links of its pages.

Pure functions over response bytes, so the parsing is tested without a crawl.
"""

from __future__ import annotations

import gzip
import io

from lxml import etree
from scrapy.utils.sitemap import Sitemap

MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the sitemaps.org limit for one file, uncompressed

ATTACHMENT_EXTENSIONS = frozenset({
    ".pdf", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".odt", ".ods", ".rtf", ".zip", ".rar",
    ".jpg", ".jpeg", ".png", ".gif", ".webp", ".svg", ".mp3", ".mp4",
})
SKIPPED_SCHEMES = ("mailto:", "javascript:", "tel:", "data:", "ftp:", "#")


def sitemap_urls(body: bytes) -> tuple[str, list[str]]:
    """``("sitemapindex" | "urlset" | "", [loc, ...])`` of a sitemap, gzipped or not."""
    kind, entries = sitemap_entries(body)
    return kind, [loc for loc, _lastmod in entries]


def sitemap_entries(body: bytes) -> tuple[str, list[tuple[str, str | None]]]:
    """Like :func:`sitemap_urls`, each location with its ``<lastmod>`` text (None when absent).

    An incremental crawl skips a known URL whose lastmod is not later than its last fetch.
    """
    if body[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(body)) as unzipped:
                body = unzipped.read(MAX_SITEMAP_BYTES + 1)[:MAX_SITEMAP_BYTES]
        except (OSError, EOFError):
            return "", []
    try:
        sitemap = Sitemap(body)
    except Exception:  # lxml raises several error types on junk
        return "", []
    if sitemap.type not in ("sitemapindex", "urlset"):
        return "", []
    return sitemap.type, [(entry["loc"], (entry.get("lastmod") or "").strip() or None)
                          for entry in sitemap if entry.get("loc")]


_FEED_PARSER = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, huge_tree=False)


def feed_urls(body: bytes) -> list[str]:
    """Item links of an RSS 0.9x/1.0/2.0 or Atom feed; [] for anything else."""
    try:
        root = etree.fromstring(body, parser=_FEED_PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return []
    if root is None:
        return []
    rss = root.xpath("//*[local-name()='item']/*[local-name()='link']/text()")
    atom = root.xpath(
        "//*[local-name()='entry']/*[local-name()='link'][not(@rel) or @rel='alternate']/@href")
    return [link.strip() for link in [*rss, *atom] if link.strip()]


def is_attachment(url: str) -> bool:
    """A document or image to archive as it is, without parsing it for links."""
    path = url.split("?", 1)[0].split("#", 1)[0].lower()
    dot = path.rfind(".")
    return dot > path.rfind("/") and path[dot:] in ATTACHMENT_EXTENSIONS
