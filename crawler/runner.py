"""Running one crawl in this process: project settings, the user's overrides, the news spider.

The CLI's ``crawl`` and ``demo`` commands call :func:`run_crawl`; Scrapy users get
the same crawl from ``scrapy crawl news -a start_url=...``.
"""

from __future__ import annotations

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from crawler.spiders.news import NewsSpider, new_crawl_id


def project_settings(overrides: dict | None = None) -> Settings:
    """newsarchive's settings module, then ``overrides`` at command-line priority."""
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    for name, value in (overrides or {}).items():
        settings.set(name, value, priority="cmdline")
    return settings


def run_crawl(start_urls: list[str], overrides: dict | None = None, *, crawl_id: str | None = None,
              max_pages: int = 0, site_budget: int = 0) -> str:
    """Crawl until done (or interrupted); returns the crawl id the catalog knows it by."""
    crawl_id = crawl_id or new_crawl_id()
    process = CrawlerProcess(project_settings(overrides))
    process.crawl(NewsSpider, start_urls=list(start_urls), crawl_id=crawl_id,
                  max_pages=max_pages or None, site_budget=site_budget or None)
    process.start()
    return crawl_id
