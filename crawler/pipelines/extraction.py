"""Item pipeline that extracts articles in a process pool, off the reactor thread.

Extraction is CPU work (trafilatura parses and scores every page) while Scrapy's
reactor is one thread: run inline, it would stall every download. Here each page
goes to a worker process and the pipeline awaits the result, so fetching goes on
and both cores are busy. Workers fork from a server that has already imported
the extraction code, so a worker starts in milliseconds.

A crawl given a site profile (``-a site_profile=<json>``) extracts with the
profile's options (archive.profiles.extraction_options): its timezone, article
URL pattern and boilerplate selectors, exactly as ``reindex --file`` does.
"""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from scrapy.exceptions import NotConfigured

from archive.extract import extract, worker_pool
from archive.profiles import extraction_options
from crawler.items import ArchivedPage
from crawler.middlewares.scope import crawl_profile

logger = logging.getLogger(__name__)


class ExtractionPipeline:
    def __init__(self, crawler, workers: int, timezone: str):
        self.crawler = crawler
        self.workers = workers
        self.timezone = timezone
        self.options: dict = {"timezone": timezone}  # extract()'s keyword arguments
        self.pool: ProcessPoolExecutor | None = None

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        if not settings.getbool("NEWSARCHIVE_EXTRACT"):
            raise NotConfigured
        workers = settings.getint("NEWSARCHIVE_EXTRACT_WORKERS") or os.cpu_count() or 1
        return cls(crawler, workers, settings.get("NEWSARCHIVE_TIMEZONE"))

    def open_spider(self):
        profile = crawl_profile(self.crawler)
        self.options = {"timezone": self.timezone, **extraction_options(profile)}
        self.pool = worker_pool(self.workers)

    def close_spider(self):
        if self.pool is not None:
            self.pool.shutdown(wait=True)

    async def process_item(self, item):
        if not isinstance(item, ArchivedPage):
            return item
        stats = self.crawler.stats
        try:
            future = self.pool.submit(extract, item.body, item.url, item.headers, **self.options)
            item.article = await asyncio.wrap_future(future)
        except BrokenProcessPool:
            # A worker died (killed, out of memory): replace the pool, lose only this page's text.
            logger.error("extraction worker died on %s; restarting the pool", item.url)
            stats.inc_value("extract/pool_restarts")
            self.pool = worker_pool(self.workers)
        except Exception as exc:
            logger.error("extraction failed on %s: %s", item.url, exc)
            stats.inc_value("extract/errors")
        else:
            stats.inc_value("extract/articles" if item.article.is_article else "extract/non_articles")
        return item
