"""Item pipeline that extracts articles in a process pool, off the reactor thread.

Extraction is CPU work (trafilatura parses and scores every page) while Scrapy's
reactor is one thread: run inline, it would stall every download. Here each page
goes to a worker process and the pipeline awaits the result, so fetching goes on
and both cores are busy. Workers fork from a server that has already imported
the extraction code, so a worker starts in milliseconds.

Each page is extracted with its site's template as the site's previous crawl
recorded it, and learned from; at close the crawl's learned templates are
written into the WARC (one ``metadata`` record per site) and handed to the
catalog pipeline, which finishes the crawl's texts with them (archive.template
says why it is done this way). ``NEWSARCHIVE_SITE_TEMPLATES = False`` switches
the learning off.

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

from archive.catalog import Catalog
from archive.datadir import DataDir
from archive.errors import CatalogError, WarcWriteError
from archive.extract import extract, worker_pool
from archive.profiles import extraction_options
from archive.template import RECORD_CONTENT_TYPE, RECORD_TYPE, CrawlTemplates, template_uri
from archive.warc import WarcWriter
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
        self.templates: CrawlTemplates | None = None

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
        if self.crawler.settings.getbool("NEWSARCHIVE_SITE_TEMPLATES", True) and self._warc_writer() is not None:
            crawl_id = getattr(self.crawler.spider, "crawl_id", None)
            bases, finished = self._recorded_templates(crawl_id)
            self.templates = CrawlTemplates(crawl_id, bases, finished)

    def _recorded_templates(self, crawl_id: str | None) -> tuple[dict, dict]:
        """Per site: the template its latest earlier crawl recorded, and this crawl's own (when resumed)."""
        path = DataDir(self.crawler.settings.get("NEWSARCHIVE_DATA_DIR")).catalog_path
        if not path.is_file():
            return {}, {}
        try:
            with Catalog(path, read_only=True) as catalog:
                if "site_templates" not in catalog.db.table_names():
                    return {}, {}
                return catalog.site_template_bases(crawl_id), catalog.site_templates_of(crawl_id)
        except CatalogError as exc:
            logger.warning("no site templates to start from: %s", exc)
            return {}, {}

    def _warc_writer(self) -> WarcWriter | None:
        """The crawl's WARC writer (the capture middleware's), where template records go."""
        engine = self.crawler.engine
        manager = getattr(getattr(engine, "downloader", None), "middleware", None)
        for middleware in getattr(manager, "middlewares", ()):
            writer = getattr(middleware, "writer", None)
            if isinstance(writer, WarcWriter):
                return writer
        return None

    def close_spider(self):
        if self.pool is not None:
            self.pool.shutdown(wait=True)
        if self.templates is not None:
            self._record_templates()

    def _record_templates(self) -> None:
        """Write each site's template into the WARC; the catalog pipeline finishes the texts with them.

        Runs before the spider_closed signal, so the WARC writer is still open.
        """
        writer, recorded = self._warc_writer(), []
        try:
            for template in self.templates.recorded():
                if not template.final and not template.pages:
                    continue
                pointer = writer.write_record(
                    template_uri(template.site), RECORD_TYPE, template.to_json(), content_type=RECORD_CONTENT_TYPE)
                recorded.append((template, pointer))
            writer.sync()
        except (WarcWriteError, OSError) as exc:
            logger.error("site templates not recorded (%s); the crawl's texts keep their base templates", exc)
            return
        self.crawler.stats.set_value("extract/site_templates", len(recorded))
        # Read by the catalog pipeline at spider_closed (as crawler.newsarchive_api_articles is by the API pipeline).
        # A resumed crawl finished its earlier texts at its earlier close: only this run's files are left.
        files = set(writer.files_written) | {writer.filename} if self.templates.finished else None
        self.crawler.newsarchive_site_templates = (recorded, self.templates.removed, files)

    async def process_item(self, item):
        if not isinstance(item, ArchivedPage):
            return item
        stats = self.crawler.stats
        try:
            options = self.options
            if self.templates is not None:
                options = {**options, "template": self.templates.base_for(item.url)}
            future = self.pool.submit(extract, item.body, item.url, item.headers, **options)
            item.article = await asyncio.wrap_future(future)
            if self.templates is not None:
                self.templates.learn(item.article, (item.capture.warc_filename, item.capture.warc_offset))
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
