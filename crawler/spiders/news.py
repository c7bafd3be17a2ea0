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

A crawl of sites the catalog already holds is incremental (``crawler.incremental``):
archived URLs are asked again only when new, due or changed, conditionally, and
a listing series is walked only until it shows nothing new; counted as
``newsarchive/incremental/<what>``. ``NEWSARCHIVE_INCREMENTAL=False`` fetches everything.

Usage: ``scrapy crawl news -a start_url=https://example.kz/kk/news``.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from dataclasses import replace
from functools import cached_property
from datetime import datetime, timezone
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy import signals
from scrapy.http import TextResponse

from archive.datadir import DataDir
from archive.identity import canonical_elsewhere, is_html_page
from archive.traps import series_kind, trap_kind
from archive.urls import SESSION_PARAMS, clean_url, origin
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


def new_crawl_id(now: datetime | None = None) -> str:
    """``20261125T103000Z-1a2b3c``: sortable by start time, unique across machines."""
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return f"{moment:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def user_agent(contact: str) -> str:
    from archive import __version__

    return f"newsarchive/{__version__} (web archive crawler; +{contact})"


class NewsSpider(scrapy.Spider):
    name = "news"

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
        self._seen: set[str] = set()
        self._scheduled: Counter[str] = Counter()
        self.history: CrawlHistory | None = None  # set at start when the catalog knows these sites
        self.now = datetime.now(timezone.utc)
        self._skipped: set[str] = set()  # known URLs not asked again (counted once each)
        self._robots: dict[str, object] = {}  # netloc -> robots.txt parser

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
            if url not in self._seen:
                self._seen.add(url)
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
        for location, lastmod in entries:
            url = _absolute(response.url, location)
            request = url and self.follow_url(url, callback, link_kind, lastmod=lastmod)
            if request is not None:
                yield request

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
        canonical = response.xpath(_CANONICAL).get()
        canonical = canonical_elsewhere(response.url, _absolute(response.url, canonical) if canonical else None)
        if canonical:
            # A print version or an alias: the row must point at a capture of the canonical URL.
            self.crawler.stats.inc_value("newsarchive/canonical_elsewhere")
            follow = self.follow_url(canonical, self.parse_page, "canonical", priority=10)
            if follow is not None:
                yield follow
        elif response.status == 200 and _fresh_capture(response):
            yield self._archived_page(response)

        yield from self._follow_all(response.xpath(_FEEDS).getall(), response, self.parse_feed, "feed")
        links = response.xpath("//a/@href").getall()
        pages, own_links = self._series_dead_end(response, [u for u in links if not is_attachment(u)])
        pages, stale_run = self._listing_stop(response, pages, own_links)
        here = series_kind(response.url)
        for request in self._follow_all(pages, response, self.parse_page, "page", from_page=True):
            if here and series_kind(request.url) == here:
                request.meta[_PARENT_LINKS] = own_links  # the next page of the same series
            if series_kind(request.url):
                request.meta[_STALE_RUN] = stale_run
            yield request
        attachments = [u for u in links if is_attachment(u)] + response.xpath("//img/@src").getall()
        yield from self._follow_all(attachments, response, None, "attachment")

    def _series_dead_end(self, response, hrefs: list[str]) -> tuple[list[str], frozenset[str]]:
        """The links worth following, and this page's own links (those outside any series).

        A page of an open-ended series (a calendar month, ``?page=N``) reached
        from the previous page of the same series, whose own links are all on
        that previous page, adds nothing: an endless calendar's empty month,
        pagination past the last page. The series is not followed further from
        there. (The first page of a series, reached from elsewhere, is always
        followed on: a home page often lists the same articles as page 1.)
        """
        absolute = [clean_url(url) for url in (_absolute(response.url, href) for href in hrefs) if url]
        own = frozenset(url for url in absolute if origin(url) in self.scope and series_kind(url) is None)
        kind = series_kind(response.url)
        parent = response.meta.get(_PARENT_LINKS)
        if kind is None or parent is None or not own <= parent:
            return hrefs, own
        self.crawler.stats.inc_value(f"newsarchive/trap/{kind}")
        return [href for href in hrefs if series_kind(_absolute(response.url, href) or "") != kind], own

    def _listing_stop(self, response, hrefs: list[str], own: frozenset[str]) -> tuple[list[str], int]:
        """Stop walking a listing series where it holds only what was archived before.

        In an incremental crawl, a page whose own links are all archived (or
        already found by this crawl, or refused by robots.txt) is "stale"; the
        run of stale pages is carried along the series. After
        ``NEWSARCHIVE_LISTING_MARGIN`` stale pages in a row the series links are
        not followed: everything further down was archived by an earlier crawl.
        Returns the links to follow and the run to hand to series pages.
        """
        if self.history is None:
            return hrefs, 0
        if any(url not in self.history and url not in self._seen and self._robots_allow(url) for url in own):
            return hrefs, 0
        run = response.meta.get(_STALE_RUN, 0) + 1
        if run < self.listing_margin:
            return hrefs, run
        kept = [href for href in hrefs if series_kind(_absolute(response.url, href) or "") is None]
        if len(kept) < len(hrefs):
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
        stats = self.crawler.stats
        raw, url = url, clean_url(url)
        site = origin(url)
        if url in self._seen:
            return None
        profile = self.profile
        if site not in self.scope and (profile is None or not profile.scope.has_host(url)):
            stats.inc_value("newsarchive/skipped/offsite")
            return None
        if profile is not None and not in_profile_scope(profile, url, kind, found_on):
            stats.inc_value(PROFILE_SKIPPED_STAT)  # not marked seen: an in-scope page may link it as an attachment
            return None
        trap = trap_kind(url)
        if trap:
            self._seen.add(url)  # refused once, counted once
            stats.inc_value(f"newsarchive/trap/{trap}")
            return None
        action, reason = "fetch", "new"
        if self.history is not None:
            action, reason = self.history.decide(url, kind, now=self.now, lastmod=lastmod, from_page=from_page)
            if action == "skip":
                if url not in self._skipped:
                    self._skipped.add(url)
                    stats.inc_value(f"newsarchive/incremental/skipped/{reason}")
                return None
        if _has_session_id(raw):
            stats.inc_value("newsarchive/trap/session_id")  # the cleaned URL is fetched, once
        if self.max_pages and sum(self._scheduled.values()) >= self.max_pages:
            stats.inc_value("newsarchive/skipped/max_pages")
            return None
        if self._scheduled[site] >= self.site_budget:
            stats.inc_value("newsarchive/skipped/site_budget")
            return None
        self._seen.add(url)
        self._scheduled[site] += 1
        stats.inc_value(f"newsarchive/requests/{kind}")
        callback = callback or self.parse_attachment
        request = scrapy.Request(url, callback=callback, errback=self.fetch_failed,
                                 priority=priority, meta={"newsarchive_kind": kind})
        if action == "recheck":
            stats.inc_value(f"newsarchive/incremental/recheck/{reason}")
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


def _looks_binary(body: bytes) -> bool:
    """Bytes no HTML page has: NULs or mostly control characters at the start."""
    head = body[:1024]
    if b"\x00" in head:
        return True
    controls = sum(1 for byte in head if byte < 9 or 13 < byte < 32)
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
