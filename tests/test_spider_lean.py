"""The news spider's lean request path: cached link resolution, lazy sitemaps, middlewares left out.

Unit tests on the spider and its middlewares, built the way Scrapy builds them,
with responses made in memory: no crawl, no network.
"""

from __future__ import annotations

import pytest
from scrapy import Request
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy.http import HtmlResponse, XmlResponse
from scrapy.utils.test import get_crawler

from crawler.dupefilter import ArchiveDupeFilter
from crawler.middlewares.depth import DepthLimitMiddleware
from crawler.middlewares.scope import ProfileScopeMiddleware
from crawler.spiders.news import _SITEMAP_AHEAD, NewsSpider

SITE = "https://akimat.example.kz"


def spider_for(tmp_path, **settings) -> NewsSpider:
    crawler = get_crawler(NewsSpider, settings_dict={"NEWSARCHIVE_DATA_DIR": str(tmp_path),
                                                     "NEWSARCHIVE_SITE_BUDGET": 1_000_000, **settings})
    crawler.spider = NewsSpider.from_crawler(crawler, start_url=SITE + "/kk/news")
    return crawler.spider


def page(url: str, links: str) -> HtmlResponse:
    body = f"<html><body>{links}</body></html>".encode()
    return HtmlResponse(url, body=body, headers={"Content-Type": "text/html"}, request=Request(url))


def requested(outputs) -> list[str]:
    return [output.url for output in outputs if isinstance(output, Request)]


def sitemap(count: int) -> XmlResponse:
    entries = "".join(f"<url><loc>{SITE}/kk/news/{number}.html</loc></url>" for number in range(count))
    body = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'.encode()
    return XmlResponse(SITE + "/sitemap.xml", body=body, headers={"Content-Type": "application/xml"})


def test_a_relative_link_resolves_against_its_own_page_whatever_the_cache_holds(tmp_path):
    spider = spider_for(tmp_path)
    first = requested(spider.parse_page(page(SITE + "/kk/news/", '<a href="item.html">x</a>')))
    second = requested(spider.parse_page(page(SITE + "/ru/novosti/", '<a href="item.html">x</a>')))
    assert (first, second) == ([SITE + "/kk/news/item.html"], [SITE + "/ru/novosti/item.html"])


def test_a_menu_link_on_every_page_is_requested_once_and_its_variants_not_at_all(tmp_path):
    spider = spider_for(tmp_path)
    menu = '<a href="/kk/about">about</a><a href="/kk/about?utm_source=menu">about</a>'
    pages = [page(f"{SITE}/kk/news/{number}.html", menu) for number in range(3)]
    assert [requested(spider.parse_page(response)) for response in pages] == [[SITE + "/kk/about"], [], []]


def test_links_attachments_and_images_are_requested_in_page_order(tmp_path):
    spider = spider_for(tmp_path)
    links = '<a href="/a.pdf">a</a><img src="/i.png"><a href="/kk/news/1.html">1</a><a href="mailto:x@y.kz">m</a>'
    assert requested(spider.parse_page(page(SITE + "/kk/news/", links))) == [
        SITE + "/kk/news/1.html", SITE + "/a.pdf", SITE + "/i.png"]


def test_a_sitemap_hands_over_its_pages_as_the_queue_drains(tmp_path):
    spider = spider_for(tmp_path)
    first = requested(spider.parse_sitemap(sitemap(1000)))
    assert len(first) == _SITEMAP_AHEAD  # the rest wait, already counted against the budgets
    assert spider.crawler.stats.get_value("newsarchive/requests/page") == 1000


class EngineTakingRequests:
    """Where spider_idle hands requests over: Scrapy's engine.crawl, which would queue them."""

    def __init__(self, taken: list[str]):
        self.taken = taken

    def crawl(self, request: Request) -> None:
        self.taken.append(request.url)


def test_the_waiting_sitemap_pages_are_all_requested_before_the_crawl_may_end(tmp_path):
    spider = spider_for(tmp_path)
    handed_over = requested(spider.parse_sitemap(sitemap(1000)))
    spider.crawler.engine = EngineTakingRequests(handed_over)
    while True:
        try:
            spider.spider_idle()
        except DontCloseSpider:
            continue
        break
    assert sorted(handed_over) == sorted(f"{SITE}/kk/news/{number}.html" for number in range(1000))


def test_a_shared_frontier_gets_a_sitemaps_pages_at_once(tmp_path):
    spider = spider_for(tmp_path, SCHEDULER="crawler.frontier.scheduler.SharedFrontierScheduler")
    assert len(requested(spider.parse_sitemap(sitemap(1000)))) == 1000


def test_depth_bookkeeping_is_left_out_without_a_depth_limit():
    with pytest.raises(NotConfigured):
        DepthLimitMiddleware.from_crawler(get_crawler(NewsSpider, settings_dict={"DEPTH_LIMIT": 0}))


def test_a_depth_limit_is_scrapys_own():
    middleware = DepthLimitMiddleware.from_crawler(get_crawler(NewsSpider, settings_dict={"DEPTH_LIMIT": 3}))
    assert middleware.maxdepth == 3


def test_the_profile_scope_middleware_is_left_out_without_a_profile(tmp_path):
    spider = spider_for(tmp_path)
    with pytest.raises(NotConfigured):
        ProfileScopeMiddleware.from_crawler(spider.crawler)


def test_the_duplicate_filter_still_treats_url_variants_scrapy_canonicalises_as_one(tmp_path):
    spider = spider_for(tmp_path)
    dupefilter = ArchiveDupeFilter.from_crawler(spider.crawler)
    assert not dupefilter.request_seen(Request(SITE + "/kk/news?a=1&b=2"))
    assert dupefilter.request_seen(Request(SITE + "/kk/news?b=2&a=1"))
    assert not dupefilter.request_seen(Request(SITE + "/kk/news?a=1&b=3"))


def test_the_lean_stats_collector_counts_like_scrapys():
    from scrapy.statscollectors import MemoryStatsCollector

    from crawler.stats import LeanStatsCollector

    def exercise(stats):
        stats.inc_value("pages")
        stats.inc_value("pages", 2)
        stats.max_value("largest", 5)
        stats.max_value("largest", 3)
        stats.min_value("smallest", 5)
        stats.min_value("smallest", 3)
        stats.set_value("reason", "finished")
        return stats.get_stats()

    crawler = get_crawler(NewsSpider)
    assert exercise(LeanStatsCollector(crawler)) == exercise(MemoryStatsCollector(crawler)) == {
        "pages": 3, "largest": 5, "smallest": 3, "reason": "finished"}


@pytest.mark.parametrize("level, logged", [("INFO", False), ("WARNING", False), ("DEBUG", True)])
def test_per_page_debug_lines_are_built_only_when_the_log_shows_them(level, logged):
    from crawler.logformatter import QuietLogFormatter

    formatter = QuietLogFormatter.from_crawler(get_crawler(NewsSpider, settings_dict={"LOG_LEVEL": level}))
    request = Request(SITE + "/kk/news")
    crawled = formatter.crawled(request, HtmlResponse(request.url, body=b"", request=request), None)
    assert (crawled is not None) == logged
