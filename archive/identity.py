"""Which URL an article is catalogued under.

A page that names another address of its own site as canonical (a print
version, an alias) is not catalogued itself: the canonical page is, from a
capture of that address. The crawl and ``reindex`` apply the same rule, so a
catalog rebuilt from the WARC files has the same rows as the crawl's.
"""

from __future__ import annotations

from archive.urls import clean_url, origin


def canonical_elsewhere(page_url: str, canonical_url: str | None) -> str | None:
    """The cleaned canonical URL when it is another page of the same site, else None."""
    if not canonical_url:
        return None
    canonical = clean_url(canonical_url)
    if canonical == clean_url(page_url) or origin(canonical) != origin(page_url):
        return None
    return canonical


HTML_TYPES = ("text/html", "application/xhtml+xml")


def is_html_page(status: int, content_type: str | None, body_start: bytes = b"") -> bool:
    """An HTML 200 response: a candidate article, whichever link led to it.

    Without a Content-Type, the body decides (it starts like an HTML document).
    """
    if status != 200:
        return False
    if content_type:
        return content_type.strip().lower().startswith(HTML_TYPES)
    head = body_start[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))
