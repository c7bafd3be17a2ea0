"""Scrapy's log messages, without building the per-page ones nobody will see.

Scrapy sets the root logger to NOTSET and filters by ``LOG_LEVEL`` only in its
handler, so the DEBUG lines "Crawled (200) <GET ...>" and "Scraped from ..."
are built as log records for every page and then thrown away: ~1.5 % of the
reactor's busy time (py-spy) in a crawl at the default INFO level. Below
DEBUG nothing changes; at DEBUG every line is logged as before.
"""

from __future__ import annotations

import logging

from scrapy.logformatter import LogFormatter

from crawler.extensions.progress import log_level_number


class QuietLogFormatter(LogFormatter):
    def __init__(self, debug: bool = True):
        super().__init__()
        self.debug = debug

    @classmethod
    def from_crawler(cls, crawler):
        return cls(debug=log_level_number(crawler.settings.get("LOG_LEVEL")) <= logging.DEBUG)

    def crawled(self, request, response, spider):
        return super().crawled(request, response, spider) if self.debug else None

    def scraped(self, item, response, spider):
        return super().scraped(item, response, spider) if self.debug else None
