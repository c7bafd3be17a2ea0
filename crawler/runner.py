"""Running one crawl in this process: project settings, the user's overrides, the news spider.

The CLI's ``crawl`` and ``demo`` commands call :func:`run_crawl`; Scrapy users get
the same crawl from ``scrapy crawl news -a start_url=...``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from crawler.spiders.news import NewsSpider, new_crawl_id
from crawler.trouble import trouble


def project_settings(overrides: dict | None = None) -> Settings:
    """newsarchive's settings module, then ``overrides`` at command-line priority."""
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    for name, value in (overrides or {}).items():
        settings.set(name, value, priority="cmdline")
    return settings


@dataclass(frozen=True)
class CrawlResult:
    crawl_id: str
    finish_reason: str | None  # Scrapy's: "finished", "shutdown", "warc_write_error", ...
    stop_message: str | None  # why the crawl stopped early, in one line, if it did
    trouble: dict[str, int] = field(default_factory=dict)  # crawler.trouble.trouble(stats)


def run_crawl(start_urls: list[str], overrides: dict | None = None, *, crawl_id: str | None = None,
              resume: bool = False, max_pages: int = 0, site_budget: int = 0,
              spider_args: dict | None = None) -> CrawlResult:
    """Crawl until done (or interrupted); the catalog knows the crawl by the returned id.

    ``spider_args`` are more news spider arguments, as ``-a`` gives them (``site_profile``).
    """
    crawl_id = crawl_id or new_crawl_id()
    process = CrawlerProcess(project_settings(overrides))
    crawler = process.create_crawler(NewsSpider)
    process.crawl(crawler, start_urls=list(start_urls), crawl_id=crawl_id, resume=resume,
                  max_pages=max_pages or None, site_budget=site_budget or None, **(spider_args or {}))
    process.start()
    stats = crawler.stats
    return CrawlResult(crawl_id, stats.get_value("finish_reason"), stats.get_value("newsarchive/stop_message"),
                       trouble(stats.get_stats()))
