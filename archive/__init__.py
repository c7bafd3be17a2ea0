"""newsarchive's library: WARC writing and reading, extraction, dates, catalog.

It knows nothing of Scrapy, so the catalog can be rebuilt from WARC files alone.
The Python API for extraction is :func:`archive.extract`.
"""

__version__ = "0.1.0"

from archive.extract import Article, extract  # noqa: E402  (the public extraction API)

__all__ = ["Article", "extract"]
