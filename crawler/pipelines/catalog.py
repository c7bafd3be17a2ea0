"""Item pipeline that indexes the crawl in the SQLite catalog.

Every archived response becomes a ``captures`` row (heard through the
``capture_archived`` signal, since redirects, 404s and robots.txt never reach a
spider callback); every page extraction judged an article becomes an
``articles`` row. The catalog buffers rows and, before each transaction, makes
the WARC files they point into durable, so no row ever points past the data on
disk. A crawl of a site profile records the profile's id as ``site`` in the
crawl's settings, so reports and the schedule can tell which site it was.
"""

from __future__ import annotations

import json
import logging
import os
import socket

from scrapy import signals
from scrapy.exceptions import NotConfigured

from archive.catalog import Catalog, article_row
from archive.datadir import DataDir
from archive.errors import CatalogError
from crawler import signals as archive_signals
from crawler.items import ArchivedPage
from crawler.middlewares.scope import crawl_profile

logger = logging.getLogger(__name__)

_CLOSE_STATUS = {"finished": "finished", "shutdown": "interrupted", "cancelled": "interrupted"}
_RECORDED_SETTINGS = ("USER_AGENT", "ROBOTSTXT_OBEY", "CONCURRENT_REQUESTS_PER_DOMAIN", "DOWNLOAD_DELAY",
                      "AUTOTHROTTLE_ENABLED", "DEPTH_LIMIT", "NEWSARCHIVE_MAX_PAGES", "NEWSARCHIVE_SITE_BUDGET",
                      "NEWSARCHIVE_TIMEZONE")


class CatalogPipeline:
    def __init__(self, crawler, data: DataDir, batch_size: int):
        self.crawler = crawler
        self.data = data
        self.batch_size = batch_size
        self.catalog: Catalog | None = None
        self.crawl_id: str | None = None

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        if not settings.getbool("NEWSARCHIVE_WARC_ENABLED"):
            raise NotConfigured  # without WARC records there is nothing to point at
        pipeline = cls(crawler, DataDir(settings.get("NEWSARCHIVE_DATA_DIR")).prepare(),
                       settings.getint("NEWSARCHIVE_CATALOG_BATCH"))
        crawler.signals.connect(pipeline.capture_archived, signal=archive_signals.capture_archived)
        crawler.signals.connect(pipeline.fetch_failed, signal=archive_signals.fetch_failed)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self):
        spider = self.crawler.spider
        profile = crawl_profile(self.crawler)
        try:
            self.catalog = Catalog(self.data.catalog_path, warc_dir=self.data.warc_dir, batch_size=self.batch_size)
        except CatalogError as exc:
            self.crawler.stats.set_value("newsarchive/stop_message", str(exc))  # the CLI's one line
            raise
        settings = {name: self.crawler.settings.get(name) for name in _RECORDED_SETTINGS}
        # Lets a later start tell a crawl that was killed from one still running elsewhere.
        settings["process"] = {"host": socket.gethostname(), "pid": os.getpid()}
        # Incremental (only what changed) or full: a report must not compare one with the other blindly.
        settings["NEWSARCHIVE_INCREMENTAL"] = self.crawler.settings.getbool("NEWSARCHIVE_INCREMENTAL", True)
        if profile is not None:
            settings["site"] = profile.id
            settings["NEWSARCHIVE_TIMEZONE"] = profile.timezone  # what the extraction used
        if spider.resume:
            self.crawl_id = self.catalog.resume_crawl(spider.crawl_id, {"process": settings["process"]})["id"]
        else:
            self.crawl_id = self.catalog.start_crawl(list(spider.start_urls), json.loads(json.dumps(settings, default=str)),
                                                     crawl_id=spider.crawl_id)

    def capture_archived(self, capture, request, response):
        if self.catalog is not None:
            self.catalog.add_capture({**capture.as_row(), "crawl_id": self.crawl_id})

    def fetch_failed(self, request, reason):
        if self.catalog is not None:
            self.catalog.add_error(self.crawl_id, request.url, reason)

    def process_item(self, item):
        if isinstance(item, ArchivedPage) and item.article is not None and item.article.is_article:
            capture = {**item.capture.as_row(), "crawl_id": item.crawl_id}
            self.catalog.add_article(article_row(capture, item.article.as_dict()))
        return item

    def spider_closed(self, spider, reason):
        if self.catalog is None:
            return
        status = _CLOSE_STATUS.get(reason, "finished" if reason.startswith("closespider") else "failed")
        try:
            self.catalog.finish_crawl(self.crawl_id, status)
            self.catalog.close()
        except CatalogError as exc:
            # The WARC files hold everything; `newsarchive reindex` rebuilds what the catalog lost.
            logger.error("%s; rebuild it with: newsarchive reindex", exc)
            stats = self.crawler.stats
            if not stats.get_value("newsarchive/stop_message"):
                stats.set_value("newsarchive/stop_message", f"{exc} (rebuild it with: newsarchive reindex)")
        self.catalog = None
