"""Scrapy settings of the newsarchive project.

Polite by default: robots.txt obeyed (Crawl-delay too), AutoThrottle on, one
request at a time per host, a User-Agent that names newsarchive and, with
``NEWSARCHIVE_CONTACT``, how to reach its operator. Every value stays
overridable the Scrapy way (``-s NAME=VALUE``), e.g. to benchmark on loopback.
"""

from archive import __version__

BOT_NAME = "newsarchive"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# -- politeness ---------------------------------------------------------------
USER_AGENT = f"newsarchive/{__version__} (web archive crawler)"
ROBOTSTXT_OBEY = True
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_DELAY = 0.5
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 1  # enforced per origin by HostPolitenessMiddleware
COOKIES_ENABLED = False  # an archive records what any visitor gets, not a session

# -- fetching -----------------------------------------------------------------
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 64 * 1024 * 1024  # archived up to here, marked WARC-Truncated: length
DOWNLOAD_WARNSIZE = 16 * 1024 * 1024
DOWNLOAD_FAIL_ON_DATALOSS = False  # archive what came, marked WARC-Truncated
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]  # 429/503 wait for their Retry-After first
REDIRECT_MAX_TIMES = 10  # a redirect loop ends here (each hop archived)
# No depth limit by default: depth counts pagination too, so a limit silently loses the older articles
# of a long listing (measured: 1-2 of 900 demo articles, depending on crawl order). The per-site
# budget and the trap rules bound the crawl instead; --depth sets a limit.
DEPTH_LIMIT = 0
HTTPERROR_ALLOW_ALL = False
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "INFO"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
# Scrapy starts CONCURRENT_ITEMS asyncio tasks for every response's output (default 100), though a page
# yields one item at most: 4 cut the reactor's CPU per page by ~20 % (benchmarks/README.md, crawl.py).
CONCURRENT_ITEMS = 4
# Scrapy's stats collector checks every attribute access for a deprecated argument (~2 % of the reactor's core).
STATS_CLASS = "crawler.stats.LeanStatsCollector"
# Per-page DEBUG lines ("Crawled (200)") are built only when LOG_LEVEL shows them.
LOG_FORMATTER = "crawler.logformatter.QuietLogFormatter"

DUPEFILTER_CLASS = "crawler.dupefilter.ArchiveDupeFilter"  # on resume, archived URLs count as seen
DOWNLOADER_MIDDLEWARES = {
    # RFC 9309: an unreachable or 5xx robots.txt disallows the host, a 4xx allows it.
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.middlewares.robots.Rfc9309RobotsTxtMiddleware": 100,
    # Incremental re-crawl: If-None-Match / If-Modified-Since from the validators of the latest capture.
    "crawler.middlewares.conditional.ConditionalRequestMiddleware": 930,
    # No request to a private/loopback/link-local address outside the seed hosts.
    "crawler.middlewares.ssrf.PrivateAddressMiddleware": 940,
    # Nearest the downloader: sees 3xx, retried and still-encoded responses.
    "crawler.middlewares.warc.WarcCaptureMiddleware": 950,
    # Cuts an oversized body at DOWNLOAD_MAXSIZE (before 950 archives it) instead of losing it.
    "crawler.middlewares.size.ResponseSizeLimitMiddleware": 955,
    # The per-host gate is the very last step before a request goes out.
    "crawler.middlewares.politeness.HostPolitenessMiddleware": 960,
    # Scope is the spider's (start origins, site profile), checked before a request is made; no allowed_domains.
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
}
SPIDER_MIDDLEWARES = {
    # Each spider middleware wraps every page's output in one more generator on the reactor's core
    # (benchmarks/README.md); these have nothing to do in this crawl:
    # depth bookkeeping only when --depth sets DEPTH_LIMIT (crawler/middlewares/depth.py);
    "scrapy.spidermiddlewares.depth.DepthMiddleware": None,
    "crawler.middlewares.depth.DepthLimitMiddleware": 900,
    # archive.traps refuses URLs over 2,000 characters (long_url) before they are requests;
    "scrapy.spidermiddlewares.urllength.UrlLengthMiddleware": None,
    # a development warning about meta copied from a response; the spider builds every request's meta.
    "scrapy.spidermiddlewares.metacopy.MetaCopyDetectionMiddleware": None,
    # A site profile's scope (path prefixes, excluded patterns): out-of-scope requests never scheduled.
    "crawler.middlewares.scope.ProfileScopeMiddleware": 950,
}
# A site profile's politeness, timezone and page budget (spider argument site_profile) become settings.
ADDONS = {"crawler.middlewares.scope.ProfileSettings": 0}
ITEM_PIPELINES = {
    "crawler.pipelines.extraction.ExtractionPipeline": 300,
    "crawler.pipelines.catalog.CatalogPipeline": 800,
}
EXTENSIONS = {
    # Per-site pages, articles, errors and pages/s on a terminal; silent otherwise (NEWSARCHIVE_PROGRESS).
    "crawler.extensions.progress.CrawlProgress": 500,
}

# -- newsarchive --------------------------------------------------------------
NEWSARCHIVE_DATA_DIR = "data"
NEWSARCHIVE_CONTACT = ""  # e-mail or URL added to the User-Agent
NEWSARCHIVE_OPERATOR = ""  # written into every warcinfo record
NEWSARCHIVE_WARC_ENABLED = True
NEWSARCHIVE_WARC_PREFIX = "newsarchive"
NEWSARCHIVE_WARC_MAX_SIZE = 1_000_000_000
NEWSARCHIVE_CDXJ = True  # write <data>/indexes/<warc>.cdxj as each WARC file is closed
NEWSARCHIVE_DEDUP = True  # a payload seen before at the same URL is written as a revisit record
NEWSARCHIVE_MAX_PAGES = 0  # whole crawl; 0 = no limit
NEWSARCHIVE_SITE_BUDGET = 20_000  # per origin, so one trap cannot eat a crawl
NEWSARCHIVE_MAX_CRAWL_DELAY = 60.0  # cap on a robots.txt Crawl-delay, seconds
NEWSARCHIVE_MAX_RETRY_AFTER = 120.0  # cap on a 429/503 Retry-After, seconds
NEWSARCHIVE_ALLOW_PRIVATE = False  # True: fetch private/loopback addresses outside the seed hosts
NEWSARCHIVE_EXTRACT = True  # False: archive only; extract later with reindex
NEWSARCHIVE_EXTRACT_WORKERS = 0  # 0 = one per core
NEWSARCHIVE_SITE_TEMPLATES = True  # learn each site's repeated blocks and strip them (archive.template)
NEWSARCHIVE_PROCESSES = 1  # crawl processes the sites are split over (crawl --processes); "auto" = one per core
NEWSARCHIVE_TIMEZONE = "Asia/Almaty"  # dates shown without an offset are in this zone
NEWSARCHIVE_CATALOG_BATCH = 200
NEWSARCHIVE_PROGRESS = True  # live progress lines when stderr is a terminal; False: never
# Incremental re-crawl (crawler/incremental.py): a crawl of sites the catalog already holds asks only
# for what is new, due or changed. False: fetch everything again (newsarchive crawl --full).
NEWSARCHIVE_INCREMENTAL = True
NEWSARCHIVE_RECHECK_RECENT_DAYS = 7  # articles published this recently are re-checked every crawl
NEWSARCHIVE_RECHECK_OLD_DAYS = 30  # older ones (and other archived URLs) once their last fetch is this old
NEWSARCHIVE_LISTING_MARGIN = 2  # listing pages in a row holding only archived links before the walk stops
