"""Scrapy's depth bookkeeping, only for a crawl that uses it.

``DepthMiddleware`` wraps every callback's output in one more generator and
writes a depth into every request, which costs the crawl's single reactor
core on every page. A newsarchive crawl has no depth limit unless ``--depth``
(``DEPTH_LIMIT``) asks for one, and no depth-based priority, so by default
the middleware is left out; with a limit (or ``DEPTH_PRIORITY`` or
``DEPTH_STATS_VERBOSE``) it is Scrapy's own, unchanged.
"""

from __future__ import annotations

from scrapy.exceptions import NotConfigured
from scrapy.spidermiddlewares.depth import DepthMiddleware


class DepthLimitMiddleware(DepthMiddleware):
    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        if (settings.getint("DEPTH_LIMIT") <= 0 and not settings.getint("DEPTH_PRIORITY")
                and not settings.getbool("DEPTH_STATS_VERBOSE")):
            raise NotConfigured("no depth limit")
        return super().from_crawler(crawler)
