"""The generic news spider: give it a start URL, it finds the articles.

Discovery, in the order a site usually offers it: robots.txt ``Sitemap:`` lines
(read from Scrapy's ``robots_parsed`` signal, so robots.txt is fetched once),
``/sitemap.xml`` and sitemap indexes, RSS/Atom feeds advertised with
``<link rel="alternate">``, listing pagination, and every in-scope link.

Scope is the start URLs' origins. Every URL is cleaned of session ids and
trackers before it is requested (``archive.urls.clean_url``), so ``?sid=``
variants are never fetched twice. A page whose ``rel=canonical`` names another
address is archived but not catalogued; the canonical address is fetched
instead, and its capture becomes the catalog row. Limits: ``max_pages`` for the
whole crawl, ``site_budget`` per origin, and Scrapy's ``DEPTH_LIMIT``.

Traps are refused before they cost a request (``archive.traps``: repeated path
segments, growing queries, calendars outside plausible years), and a page of an
open-ended series (a calendar month, ``?page=N``) that offers nothing new but
the next page of the same series is a dead end: its series links are not
followed. Every refusal is counted in the stats as ``newsarchive/trap/<kind>``.

The per-page work runs on the crawl's one reactor core, so it is kept lean: each
link is resolved and cleaned once and cached by origin (a menu repeats on every
page), seen URLs are kept as 64-bit digests, and a sitemap's pages are decided at
once (seen, budgets, stats) but handed to Scrapy's queue only as it drains.

A crawl of sites the catalog already holds is incremental (``crawler.incremental``):
archived URLs are asked again only when new, due or changed, conditionally, and
a listing series is walked only until it shows nothing new; counted as
``newsarchive/incremental/<what>``. ``NEWSARCHIVE_INCREMENTAL=False`` fetches everything.

Usage: ``scrapy crawl news -a start_url=https://example.kz/kk/news``.
"""

from __future__ import annotations

import secrets
import sys
import time
from collections import Counter, deque
from dataclasses import replace
from functools import cached_property
from datetime import datetime, timezone
from typing import NamedTuple
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy import signals
from scrapy.core.scheduler import Scheduler
from scrapy.exceptions import DontCloseSpider
from scrapy.http import TextResponse
from lxml import etree

from archive.datadir import DataDir
from archive.identity import canonical_elsewhere, is_html_page
from archive.traps import series_kind, trap_kind
from archive.urls import SESSION_PARAMS, clean_url, origin, url_key
from crawler.discovery import SKIPPED_SCHEMES, feed_urls, is_attachment, sitemap_entries, sitemap_urls
from crawler.incremental import VALIDATORS_META, CrawlHistory, RecheckPolicy
from crawler.items import ArchivedPage
from crawler.middlewares.scope import SKIPPED_STAT as PROFILE_SKIPPED_STAT
from crawler.middlewares.scope import crawl_profile, in_profile_scope
from crawler.resume import archived_captures, archived_response, redirect_target

# As archive.pagemeta reads it (rel token in any case, first non-empty href), so reindex agrees.
_CANONICAL = ("//link[contains(concat(' ', translate(normalize-space(@rel), 'CANOIL', 'canoil'), ' '), ' canonical ')]"
              "[normalize-space(@href)]/@href")
_PARENT_LINKS = "newsarchive_parent_links"  # own links of the previous page of the same series
_STALE_RUN = "newsarchive_stale_run"  # pages in a row, up to the linking one, whose links were all archived
_FEEDS = ("//link[contains(concat(' ', normalize-space(@rel), ' '), ' alternate ')]"
          "[contains(@type, 'rss') or contains(@type, 'atom')]/@href")
# Compiled once, run on the lxml tree parsel built: no Selector object per result.
_XPATH = {name: etree.XPath(expr, smart_strings=False)
          for name, expr in (("canonical", _CANONICAL), ("feeds", _FEEDS), ("links", "//a/@href"), ("images", "//img/@src"))}
_LINK_CACHE_SIZE = 20_000  # resolved links kept across pages (menus repeat on every page); ~8 MB when full
# A sitemap's entries wait as the arguments of NewsSpider._request (~0.2 KB) until Scrapy's queue runs low:
# a sitemap of 50,000 URLs is 50,000 Requests (~2.5 KB each) in that queue otherwise. Queued this many ahead:
_SITEMAP_AHEAD = 256
_SCRAPY_SCHEDULER = "scrapy.core.scheduler.Scheduler"


class _Link(NamedTuple):
    """A link as the spider uses it, resolved once per (base, href) and kept for the next page."""

    url: str  # absolute, cleaned (archive.urls.clean_url)
    site: str  # its origin
    series: str | None  # series_kind(url)
    written_series: str | None  # series_kind of the absolute link as written, before cleaning
    session_id: bool  # the link as written carried a session id
    attachment: bool  # discovery.is_attachment of the href as written


def new_crawl_id(now: datetime | None = None) -> str:
    """``20261125T103000Z-1a2b3c``: sortable by start time, unique across machines."""
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return f"{moment:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def user_agent(contact: str) -> str:
    from archive import __version__

    return f"newsarchive/{__version__} (web archive crawler; +{contact})"


class NewsSpider(scrapy.Spider):
    name = "news"
    lazy_sitemaps = False  # set from the crawl's scheduler in from_crawler

    def __init__(self, start_url: str | None = None, start_urls: str | list[str] | None = None,
                 crawl_id: str | None = None, max_pages: int | str | None = None,
                 site_budget: int | str | None = None, resume: bool | str = False, **kwargs):
        super().__init__(**kwargs)
        urls = [start_url] if start_url else []
        if isinstance(start_urls, str):
            urls += [u for u in start_urls.replace(",", " ").split() if u]
        elif start_urls:
            urls += list(start_urls)
        bad = [u for u in urls if urlsplit(u).scheme not in ("http", "https") or not urlsplit(u).hostname]
        if not urls or bad:
            raise ValueError(f"news spider needs http(s) start URLs, got {bad or 'none'}: "
                             "use -a start_url=https://example.kz/news")
        self.start_urls = [clean_url(u) for u in urls]
        self.scope = {origin(u) for u in self.start_urls}
        self.crawl_id = crawl_id or new_crawl_id()
        self._max_pages_arg = max_pages
        self._site_budget_arg = site_budget
        self.resume = resume in (True, "1", "true", "yes")
        self._seen: set[int] = set()  # url_key of every URL requested or refused as a trap
        self._scheduled: Counter[str] = Counter()
        self.history: CrawlHistory | None = None  # set at start when the catalog knows these sites
        self.now = datetime.now(timezone.utc)
        self._skipped: set[int] = set()  # url_key of known URLs not asked again (counted once each)
        self._robots: dict[str, object] = {}  # netloc -> robots.txt parser
        self._links: dict[tuple[str, str], _Link | None] = {}  # (base or its origin, href) -> resolved link
        self._sitemap_backlog: deque[tuple] = deque()  # admitted sitemap entries not yet handed to Scrapy

    @classmethod
    def update_settings(cls, settings):
        super().update_settings(settings)
        contact = settings.get("NEWSARCHIVE_CONTACT")
        if contact and "+" not in settings.get("USER_AGENT", ""):
            settings.set("USER_AGENT", user_agent(contact), priority="spider")

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.max_pages = int(spider._max_pages_arg or settings.getint("NEWSARCHIVE_MAX_PAGES"))
        spider.site_budget = int(spider._site_budget_arg or settings.getint("NEWSARCHIVE_SITE_BUDGET"))
        spider.incremental = settings.getbool("NEWSARCHIVE_INCREMENTAL", True)
        spider.listing_margin = max(1, settings.getint("NEWSARCHIVE_LISTING_MARGIN", 2))
        spider.recheck_policy = RecheckPolicy(recent_days=settings.getint("NEWSARCHIVE_RECHECK_RECENT_DAYS", 7),
                                              old_days=settings.getint("NEWSARCHIVE_RECHECK_OLD_DAYS", 30))
        crawler.signals.connect(spider.robots_parsed, signal=signals.robots_parsed)
        # With Scrapy's own scheduler, a sitemap's pages are handed over as its queue drains; a shared
        # frontier (scrapy-redis) gets them at once, so other workers can take them and none is lost
        # with a worker that dies.
        spider.lazy_sitemaps = settings.get("SCHEDULER") in (_SCRAPY_SCHEDULER, Scheduler)
        crawler.signals.connect(spider.spider_idle, signal=signals.spider_idle)
        return spider

    @cached_property
    def profile(self):
        """The site profile this crawl was given (``-a site_profile=<json>``), or None."""
        return crawl_profile(self.crawler)

    # -- discovery -----------------------------------------------------------

    async def start(self):
        self.now = datetime.now(timezone.utc)
        if self.incremental:
            self._load_history()
        if self.resume:
            for request in self._frontier_from_archive():
                yield request
        for url in self.start_urls:
            for request in (self.follow_url(url, self.parse_page, "seed"),
                            self.follow_url(urljoin(url, "/sitemap.xml"), self.parse_sitemap, "sitemap")):
                if request is not None:
                    yield request
        if self.history is not None:
            # Listings no longer lead to old articles: the due ones are asked for directly.
            for url in self.history.due_articles(self.now):
                request = self.follow_url(url, self.parse_page, "recheck")
                if request is not None:
                    yield request

    def _load_history(self):
        """What earlier crawls archived of these sites; with none, the crawl is a full one."""
        stats = self.crawler.stats
        started = time.monotonic()
        data = DataDir(self.crawler.settings.get("NEWSARCHIVE_DATA_DIR"))
        history = CrawlHistory.load(data.catalog_path, self.scope, exclude_crawl=self.crawl_id,
                                    policy=self.recheck_policy)
        stats.set_value("newsarchive/incremental/known_urls", len(history))
        stats.set_value("newsarchive/incremental/load_seconds", round(time.monotonic() - started, 3))
        if len(history):
            self.history = history

    def _frontier_from_archive(self):
        """Requests a stopped crawl had not made yet, recovered from what it archived."""
        data = DataDir(self.crawler.settings.get("NEWSARCHIVE_DATA_DIR"))
        captures = archived_captures(data, self.crawl_id)
        for capture in captures:
            url = clean_url(capture["url"])
            key = url_key(url)
            if key not in self._seen:
                self._seen.add(key)
                self._scheduled[origin(url)] += 1
        self.crawler.stats.set_value("newsarchive/resumed_from_captures", len(captures))
        for capture in captures:
            response = archived_response(data, capture)
            target = redirect_target(response)
            if target:
                follow = self.follow_url(target, self.parse_page, "page")
                outputs = [follow] if follow is not None else []
            elif _is_html(response):
                outputs = self.parse_page(response)
            elif sitemap_urls(response.body)[0]:
                outputs = self.parse_sitemap(response)
            elif isinstance(response, TextResponse):
                outputs = self.parse_feed(response)
            else:
                continue  # an attachment: nothing to follow
            yield from (output for output in outputs if isinstance(output, scrapy.Request))

    def robots_parsed(self, robotparser, request):
        """robots.txt ``Sitemap:`` lines, read from the copy the robots middleware fetched."""
        self._robots[urlsplit(request.url).netloc] = robotparser
        protego = getattr(robotparser, "rp", None)
        for url in getattr(protego, "sitemaps", ()) or ():
            follow = self.follow_url(url, self.parse_sitemap, "sitemap")
            if follow is not None:
                self.crawler.engine.crawl(follow)

    def parse_sitemap(self, response):
        if _is_html(response):  # a site that answers /sitemap.xml with a page: treat it as one
            yield from self.parse_page(response)
            return
        kind, entries = sitemap_entries(response.body)
        self.crawler.stats.inc_value(f"newsarchive/sitemap/{kind or 'unreadable'}")
        callback, link_kind = (self.parse_sitemap, "sitemap") if kind == "sitemapindex" else (self.parse_page, "page")
        wait = self.lazy_sitemaps and kind == "urlset"
        for location, lastmod in entries:
            url = _absolute(response.url, location)
            if url is None:
                continue
            admitted = self._admit_url(url, callback, link_kind, lastmod=lastmod)
            if admitted is None:
                continue
            if wait:
                self._sitemap_backlog.append(admitted)  # decided (seen, budgets, stats) now, requested later
            else:
                yield self._request(*admitted)
        yield from self._sitemap_entries_due()

    def _sitemap_entries_due(self):
        """Requests for waiting sitemap entries, as many as keep Scrapy's queue _SITEMAP_AHEAD deep."""
        backlog = self._sitemap_backlog
        if not backlog:
            return
        queued = self._queued()
        while backlog and queued < _SITEMAP_AHEAD:
            yield self._request(*backlog.popleft())
            queued += 1

    def _queued(self) -> int:
        """Requests waiting in Scrapy's queue; 0 before the crawl has one."""
        try:
            return len(self.crawler.engine._slot.scheduler)
        except (AttributeError, RuntimeError):  # no engine, or no slot, yet
            return 0

    def spider_idle(self):
        """Nothing left to fetch but waiting sitemap entries: hand over the next of them."""
        if self._sitemap_backlog:
            for request in self._sitemap_entries_due():
                self.crawler.engine.crawl(request)
            raise DontCloseSpider

    def parse_feed(self, response):
        if _is_html(response):
            yield from self.parse_page(response)
            return
        yield from self._follow_all(feed_urls(response.body), response, self.parse_page, "page")

    def parse_page(self, response):
        if not _is_html(response):
            return
        if not response.body.strip():
            self.crawler.stats.inc_value("newsarchive/broken/empty_body")
            return
        if _looks_binary(response.body):
            self.crawler.stats.inc_value("newsarchive/broken/binary_as_html")
            return
        try:
            yield from self._parse_html(response)
        except ValueError:  # lxml gives up on some byte soup
            self.crawler.stats.inc_value("newsarchive/broken/unparseable_html")

    def _parse_html(self, response):
        root = response.selector.root  # parsed once; ValueError on byte soup lxml gives up on
        base = response.url
        canonical = next(iter(_XPATH["canonical"](root)), None)
        canonical = canonical_elsewhere(base, _absolute(base, canonical) if canonical else None)
        if canonical:
            # A print version or an alias: the row must point at a capture of the canonical URL.
            self.crawler.stats.inc_value("newsarchive/canonical_elsewhere")
            follow = self.follow_url(canonical, self.parse_page, "canonical", priority=10)
            if follow is not None:
                yield follow
        elif response.status == 200 and _fresh_capture(response):
            yield self._archived_page(response)

        resolve = self._resolver(base)
        feeds = [link for link in map(resolve, _XPATH["feeds"](root)) if link is not None]
        yield from (request for _link, request in self._follow_links(feeds, response, self.parse_feed, "feed"))
        links = [link for link in map(resolve, _XPATH["links"](root)) if link is not None]
        here = series_kind(base)
        pages, own_links = self._series_dead_end(response, here, [link for link in links if not link.attachment])
        pages, stale_run = self._listing_stop(response, pages, own_links)
        for link, request in self._follow_links(pages, response, self.parse_page, "page", from_page=True):
            if here and link.series == here:
                request.meta[_PARENT_LINKS] = own_links  # the next page of the same series
            if link.series:
                request.meta[_STALE_RUN] = stale_run
            yield request
        images = [link for link in map(resolve, _XPATH["images"](root)) if link is not None]
        attachments = [link for link in links if link.attachment] + images
        yield from (request for _link, request in self._follow_links(attachments, response, None, "attachment"))
        yield from self._sitemap_entries_due()

    def _resolver(self, base: str):
        """``href -> _Link | None`` for the links of the page at ``base``, through the cache of links.

        A path-absolute or absolute link resolves the same on every page of an
        origin, so it is cached by origin (or alone): a site's menu is resolved once.
        """
        cache = self._links
        parts = urlsplit(base)
        base_origin, base_scheme = f"{parts.scheme}://{parts.netloc}", parts.scheme + ":"

        def resolve(href: str) -> _Link | None:
            written = href.strip()
            if written.startswith("//"):
                key = (base_scheme, href)
            elif written.startswith("/"):
                key = (base_origin, href)
            elif written[:8].lower().startswith(("http://", "https://")):
                key = ("", href)
            else:
                key = (base, href)
            link = cache.get(key, False)
            if link is False:
                if len(cache) >= _LINK_CACHE_SIZE:
                    cache.clear()
                link = cache[key] = _resolve_link(base, href)
            return link

        return resolve

    def _series_dead_end(self, response, kind: str | None, links: list[_Link]) -> tuple[list[_Link], frozenset[str]]:
        """The links worth following, and this page's own links (those outside any series).

        A page of an open-ended series (a calendar month, ``?page=N``; ``kind``)
        reached from the previous page of the same series, whose own links are
        all on that previous page, adds nothing: an endless calendar's empty
        month, pagination past the last page. The series is not followed further
        from there. (The first page of a series, reached from elsewhere, is
        always followed on: a home page often lists the same articles as page 1.)
        """
        own = frozenset(link.url for link in links if link.series is None and link.site in self.scope)
        parent = response.meta.get(_PARENT_LINKS)
        if kind is None or parent is None or not own <= parent:
            return links, own
        self.crawler.stats.inc_value(f"newsarchive/trap/{kind}")
        return [link for link in links if link.written_series != kind], own

    def _listing_stop(self, response, links: list[_Link], own: frozenset[str]) -> tuple[list[_Link], int]:
        """Stop walking a listing series where it holds only what was archived before.

        In an incremental crawl, a page whose own links are all archived (or
        already found by this crawl, or refused by robots.txt) is "stale"; the
        run of stale pages is carried along the series. After
        ``NEWSARCHIVE_LISTING_MARGIN`` stale pages in a row the series links are
        not followed: everything further down was archived by an earlier crawl.
        Returns the links to follow and the run to hand to series pages.
        """
        if self.history is None:
            return links, 0
        if any(url not in self.history and url_key(url) not in self._seen and self._robots_allow(url)
               for url in own):
            return links, 0
        run = response.meta.get(_STALE_RUN, 0) + 1
        if run < self.listing_margin:
            return links, run
        kept = [link for link in links if link.written_series is None]
        if len(kept) < len(links):
            self.crawler.stats.inc_value("newsarchive/incremental/listing_stopped")
        return kept, run

    def _robots_allow(self, url: str) -> bool:
        parser = self._robots.get(urlsplit(url).netloc)
        if parser is None:
            return True
        agent = self.crawler.settings.get("ROBOTSTXT_USER_AGENT") or self.crawler.settings.get("USER_AGENT")
        try:
            return bool(parser.allowed(url, agent))
        except Exception:  # noqa: BLE001 -- a parser quirk must not stop the crawl: count the link as new
            return True

    def parse_revalidated(self, response, then: str):
        """The answer to a conditional request: a 304 is counted and its page's links read
        from the archived copy (nothing is extracted again); a full answer is parsed as usual."""
        callback = getattr(self, then)
        stats = self.crawler.stats
        if response.status != 304:
            stats.inc_value("newsarchive/incremental/modified")
            yield from callback(response)
            return
        stats.inc_value("newsarchive/incremental/not_modified")
        if then == "parse_attachment":
            return  # a document or image: no links to read
        validators = response.meta[VALIDATORS_META]
        data = DataDir(self.crawler.settings.get("NEWSARCHIVE_DATA_DIR"))
        try:
            stored = archived_response(data, {"url": validators.url, "status": 200,
                                              "warc_filename": validators.warc_filename,
                                              "warc_offset": validators.warc_offset})
        except Exception:  # noqa: BLE001 -- a missing or damaged WARC costs the links, not the crawl
            stats.inc_value("newsarchive/incremental/archived_copy_unreadable")
            return
        stored.request = response.request  # its meta: this crawl's capture (a revisit), series state
        yield from callback(stored)

    def _archived_page(self, response) -> ArchivedPage:
        capture = response.meta["warc_capture"]
        headers = {name.decode("latin-1"): value.decode("latin-1")
                   for name, value in ((n, response.headers.get(n)) for n in response.headers) if value}
        return ArchivedPage(url=response.url, site=urlsplit(response.url).netloc, body=response.body,
                            headers=headers, capture=capture, crawl_id=self.crawl_id)

    # -- scheduling ----------------------------------------------------------

    def _follow_all(self, hrefs, response, callback, kind, **options):
        for href in hrefs:
            url = _absolute(response.url, href)
            if url is None:
                continue
            request = self.follow_url(url, callback, kind, found_on=response.url, **options)
            if request is not None:
                yield request

    def _follow_links(self, links: list[_Link], response, callback, kind, **options):
        """``(link, request)`` for each link worth a request (see :meth:`follow_url`)."""
        for link in links:
            admitted = self._admit(link.url, link.site, link.session_id, callback, kind,
                                   found_on=response.url, **options)
            if admitted is not None:
                yield link, self._request(*admitted)

    def follow_url(self, url: str, callback, kind: str, priority: int = 0, *, lastmod: str | None = None,
                   from_page: bool = False, found_on: str | None = None):
        """A request for ``url`` if it is new, in scope, not a trap and within the budgets; else None.

        Scope is the start URLs' origins, or with a site profile its scope
        (hosts, path prefixes, exclusions; ``found_on``: the page that links
        to it, for attachments), checked before the URL costs any budget.

        In an incremental crawl, a URL archived before is asked again only when
        ``crawler.incremental`` says so (``lastmod``: its sitemap date;
        ``from_page``: linked from an HTML page), and then conditionally.
        """
        admitted = self._admit_url(url, callback, kind, priority, lastmod=lastmod, from_page=from_page,
                                   found_on=found_on)
        return None if admitted is None else self._request(*admitted)

    def _admit_url(self, url: str, callback, kind: str, priority: int = 0, **options):
        cleaned = clean_url(url)
        return self._admit(cleaned, origin(cleaned), _has_session_id(url), callback, kind, priority, **options)

    def _admit(self, url: str, site: str, session_id: bool, callback, kind: str, priority: int = 0, *,
               lastmod: str | None = None, from_page: bool = False, found_on: str | None = None):
        """:meth:`follow_url`'s decision for a cleaned ``url`` of origin ``site``, counted in the
        stats and budgets: the arguments of :meth:`_request`, or None."""
        key = url_key(url)
        if key in self._seen:
            return None
        stats = self.crawler.stats
        profile = self.profile
        if site not in self.scope and (profile is None or not profile.scope.has_host(url)):
            stats.inc_value("newsarchive/skipped/offsite")
            return None
        if profile is not None and not in_profile_scope(profile, url, kind, found_on):
            stats.inc_value(PROFILE_SKIPPED_STAT)  # not marked seen: an in-scope page may link it as an attachment
            return None
        trap = trap_kind(url)
        if trap:
            self._seen.add(key)  # refused once, counted once
            stats.inc_value(f"newsarchive/trap/{trap}")
            return None
        action, reason = "fetch", "new"
        if self.history is not None:
            action, reason = self.history.decide(url, kind, now=self.now, lastmod=lastmod, from_page=from_page)
            if action == "skip":
                if key not in self._skipped:
                    self._skipped.add(key)
                    stats.inc_value(f"newsarchive/incremental/skipped/{reason}")
                return None
        if session_id:
            stats.inc_value("newsarchive/trap/session_id")  # the cleaned URL is fetched, once
        if self.max_pages and sum(self._scheduled.values()) >= self.max_pages:
            stats.inc_value("newsarchive/skipped/max_pages")
            return None
        if self._scheduled[site] >= self.site_budget:
            stats.inc_value("newsarchive/skipped/site_budget")
            return None
        self._seen.add(key)
        self._scheduled[site] += 1
        stats.inc_value(f"newsarchive/requests/{kind}")
        if action == "recheck":
            stats.inc_value(f"newsarchive/incremental/recheck/{reason}")
        return url, callback, kind, priority, action == "recheck"

    def _request(self, url: str, callback, kind: str, priority: int, recheck: bool) -> scrapy.Request:
        callback = callback or self.parse_attachment
        request = scrapy.Request(url, callback=callback, errback=self.fetch_failed,
                                 priority=priority, meta={"newsarchive_kind": kind})
        if recheck:
            validators = self.history.get(url).validators
            if validators is not None:
                request = request.replace(callback=self.parse_revalidated, cb_kwargs={"then": callback.__name__})
                request.meta[VALIDATORS_META] = replace(validators, url=request.url)
                request.meta["handle_httpstatus_list"] = [304]
        return request

    def parse_attachment(self, response):
        """Attachments are archived by the WARC middleware; a link that was a page is a page."""
        if _is_html(response):
            yield from self.parse_page(response)

    def fetch_failed(self, failure):
        # Already archived (404s, 500s) or reported by the WARC middleware (timeouts):
        # count it here so the crawl summary names the trouble.
        self.crawler.stats.inc_value(f"newsarchive/failed/{failure.type.__name__}")
        status = getattr(getattr(failure.value, "response", None), "status", None)
        request = getattr(failure, "request", None)
        if status in (404, 410) and request is not None and request.meta.get("newsarchive_kind") == "recheck":
            self.crawler.stats.inc_value("newsarchive/incremental/gone")  # a removed article, archived
        message = str(failure.value)
        if "max redirections" in message:
            self.crawler.stats.inc_value("newsarchive/trap/redirect_loop")
        elif "during decompression" in message:
            # A gzip bomb: its raw bytes are archived, its decompression was cut off.
            self.crawler.stats.inc_value("newsarchive/broken/decompression_limit")


def _is_html(response) -> bool:
    content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
    return is_html_page(200, content_type, response.body[:512])


def _absolute(base: str, href: str) -> str | None:
    """The absolute URL of a link; None for javascript:/mailto:/fragment links and unparseable ones."""
    href = href.strip()
    if not href or href.lower().startswith(SKIPPED_SCHEMES):
        return None
    try:
        return urljoin(base, href)
    except ValueError:  # href="http://[" and other broken markup
        return None


def _resolve_link(base: str, href: str) -> _Link | None:
    """``href`` on the page at ``base`` as a :class:`_Link`; None when it cannot be followed."""
    url = _absolute(base, href)
    if url is None:
        return None
    cleaned = clean_url(url)
    series = series_kind(cleaned)
    return _Link(url=cleaned, site=sys.intern(origin(cleaned)), series=series,
                 written_series=series if cleaned == url else series_kind(url),
                 session_id=_has_session_id(url), attachment=is_attachment(href))


_NOT_CONTROL = bytes(byte for byte in range(256) if not (byte < 9 or 13 < byte < 32))  # deleted to count the rest


def _looks_binary(body: bytes) -> bool:
    """Bytes no HTML page has: NULs or mostly control characters at the start."""
    head = body[:1024]
    if b"\x00" in head:
        return True
    controls = len(head.translate(None, _NOT_CONTROL))
    return controls > len(head) // 10


def _has_session_id(url: str) -> bool:
    parts = urlsplit(url)
    if ";jsessionid=" in parts.path.lower() or ";phpsessid=" in parts.path.lower():
        return True
    return any(pair.split("=", 1)[0].lower() in SESSION_PARAMS for pair in parts.query.split("&"))


def _fresh_capture(response) -> bool:
    """A full response record: a revisit repeats a payload whose article is already catalogued."""
    capture = response.meta.get("warc_capture")
    return capture is not None and capture.record_type == "response"
