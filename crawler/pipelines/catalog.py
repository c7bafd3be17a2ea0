"""Item pipeline that indexes the crawl in the SQLite catalog.

Every archived response becomes a ``captures`` row (heard through the
``capture_archived`` signal, since redirects, 404s and robots.txt never reach a
spider callback); every page extraction judged an article becomes an
``articles`` row. The catalog buffers rows and, before each transaction, makes
the WARC files they point into durable, so no row ever points past the data on
disk. A crawl of a site profile records the profile's id as ``site`` in the
crawl's settings, so reports and the schedule can tell which site it was.

A catalog that cannot be written (disk full, file size limit, a WARC file gone
from under it) stops the crawl with one line, as a WARC write error does: going
on would archive pages the catalog never indexes. Nothing more is queued after
that; a transaction that failed wrote nothing, so every row already in the
catalog points at a durable record, and ``newsarchive reindex`` indexes the
rest. A write that only waited too long for another process's lock is retried
at the next flush instead.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sqlite3

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import deferred_from_coro

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
        self.write_error: str | None = None  # set once the catalog failed a write: the crawl is stopping

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
        self._write("add_capture", {**capture.as_row(), "crawl_id": self.crawl_id})

    def fetch_failed(self, request, reason):
        self._write("add_error", self.crawl_id, request.url, reason)

    def process_item(self, item):
        if isinstance(item, ArchivedPage) and item.article is not None and item.article.is_article:
            capture = {**item.capture.as_row(), "crawl_id": item.crawl_id}
            self._write("add_article", article_row(capture, item.article.as_dict()))
        return item

    def _write(self, method: str, *args) -> None:
        """Queue one row with the catalog's ``method``; a write it cannot make stops the crawl (module docstring)."""
        if self.catalog is None or self.write_error is not None:
            return
        try:
            getattr(self.catalog, method)(*args)
        except (CatalogError, sqlite3.Error) as exc:
            if _waited_for_a_lock(exc):
                logger.warning("%s; the rows stay queued for the next flush", exc)
                return
            self._stop(f"{exc} (the WARC files are valid; index what they hold with: newsarchive reindex)")

    def _stop(self, message: str) -> None:
        self.write_error = message
        logger.error("%s; stopping the crawl", message)
        stats = self.crawler.stats
        if not stats.get_value("newsarchive/stop_message"):  # a WARC write error that came first stays the line
            stats.set_value("newsarchive/stop_message", message)
        deferred_from_coro(_close_spider(self.crawler, "catalog_write_error"))

    def spider_closed(self, spider, reason):
        if self.catalog is None:
            return
        status = _CLOSE_STATUS.get(reason, "finished" if reason.startswith("closespider") else "failed")
        try:
            try:
                self._finish_templates()
                self.catalog.finish_crawl(self.crawl_id, status)
            finally:
                self.catalog.close()  # closes the connection even when its last flush fails
        except (CatalogError, sqlite3.Error) as exc:
            # The WARC files hold everything; `newsarchive reindex` rebuilds what the catalog lost.
            if self.write_error is None:
                logger.error("%s; rebuild it with: newsarchive reindex", exc)
            stats = self.crawler.stats
            if not stats.get_value("newsarchive/stop_message"):
                stats.set_value("newsarchive/stop_message", f"{exc} (rebuild it with: newsarchive reindex)")
        self.catalog = None

    def _finish_templates(self) -> None:
        """The site templates the extraction pipeline recorded in the WARC: stored, and the crawl's texts finished.

        A failure here leaves the texts as extracted (the base template's); reindex finishes them.
        """
        recorded = getattr(self.crawler, "newsarchive_site_templates", None)
        if not recorded or self.write_error is not None:
            return
        templates, removed, files = recorded
        try:
            changed = self.catalog.finish_templates(templates, removed, files=files)
        except (CatalogError, sqlite3.Error) as exc:
            logger.error("%s; the crawl's texts keep their base templates (newsarchive reindex finishes them)", exc)
            return
        self.crawler.stats.set_value("extract/template_finished_texts", changed)


def _waited_for_a_lock(exc: Exception) -> bool:
    """Whether SQLite gave up waiting for another writer (busy or locked): worth a retry, not a stop.

    CatalogError hides the sqlite3 error it wraps (``from None``) but keeps it as ``__context__``.
    """
    error = exc if isinstance(exc, sqlite3.Error) else exc.__context__
    code = getattr(error, "sqlite_errorcode", None) if isinstance(error, sqlite3.OperationalError) else None
    return code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)  # extended codes too


async def _close_spider(crawler, reason: str) -> None:
    """Close the spider (if it is already closing, this waits for that; if closed, does nothing)."""
    if crawler.engine is not None and crawler.engine.spider is not None:
        await crawler.engine.close_spider_async(reason=reason)
