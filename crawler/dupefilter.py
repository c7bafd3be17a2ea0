"""A duplicate filter that, on resume, already knows every URL the archive holds.

The spider never schedules an archived URL again, but a redirect is scheduled
by Scrapy's RedirectMiddleware, not by the spider: without this, a resumed
crawl following a not-yet-archived old URL would refetch an archived article.
"""

from __future__ import annotations

from scrapy import Request
from scrapy.dupefilters import RFPDupeFilter

from archive.datadir import DataDir
from crawler.resume import archived_captures


class ArchiveDupeFilter(RFPDupeFilter):
    @classmethod
    def from_crawler(cls, crawler):
        dupefilter = super().from_crawler(crawler)
        dupefilter.crawler = crawler
        return dupefilter

    def open(self):
        spider = self.crawler.spider
        if getattr(spider, "resume", False):
            data = DataDir(self.crawler.settings.get("NEWSARCHIVE_DATA_DIR"))
            for capture in archived_captures(data, spider.crawl_id):
                self.request_seen(Request(capture["url"]))
        return super().open()
