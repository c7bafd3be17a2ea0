"""robots.txt by RFC 9309's rules for a file that cannot be read.

Scrapy's RobotsTxtMiddleware allows everything when robots.txt cannot be
fetched, and parses a 5xx error page as if it were the file. RFC 9309
section 2.3.1 says otherwise, and this subclass follows it:

- 2xx: parsed (Protego); HTML or other garbage yields the rules that parse,
  usually none, so everything is allowed;
- 4xx ("unavailable"): the crawler MAY access any resource: allow all;
- 5xx or no answer at all (timeout, refused connection; "unreachable"): the
  crawler MUST assume complete disallow. For this crawl the host gets no
  request but robots.txt itself.

Redirects of robots.txt are followed by RedirectMiddleware (RFC: at least five hops).
Each case is counted in the stats: ``robots/unavailable``, ``robots/server_error``,
``robots/unreachable``; requests refused by the rules count as ``robotstxt/forbidden``.
"""

from __future__ import annotations

import logging

from scrapy import Request, signals
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

logger = logging.getLogger(__name__)


class DisallowAll:
    """The robots parser of an unreachable robots.txt: nothing is allowed."""

    sitemaps = ()

    def allowed(self, url, user_agent) -> bool:
        return False

    def crawl_delay(self, user_agent) -> None:
        return None


class AllowAll:
    """The robots parser of an unavailable (4xx) robots.txt: everything is allowed."""

    sitemaps = ()

    def allowed(self, url, user_agent) -> bool:
        return True

    def crawl_delay(self, user_agent) -> None:
        return None


class Rfc9309RobotsTxtMiddleware(RobotsTxtMiddleware):
    async def robot_parser(self, request):
        """The host's parser, fetching robots.txt once; a failed fetch is one log line, not a traceback."""
        netloc = urlparse_cached(request).netloc
        if netloc not in self._parsers:
            self._parsers[netloc] = Deferred()
            robots_url = f"{urlparse_cached(request).scheme}://{netloc}/robots.txt"
            robots_request = Request(robots_url, priority=self.DOWNLOAD_PRIORITY, callback=NO_CALLBACK,
                                     meta={"dont_obey_robotstxt": True})
            try:
                response = await self.crawler.engine.download_async(robots_request)
            except Exception as exc:  # noqa: BLE001 -- any failure to fetch is "unreachable"
                self._robots_error(exc, netloc)
            else:
                await self._parse_robots(response, netloc, request)
            self._stats.inc_value("robotstxt/request_count")
        parser = self._parsers[netloc]
        if isinstance(parser, Deferred):
            await maybe_deferred_to_future(parser)  # only the first waiter gets the parser as the result
            return self._parsers[netloc]
        return parser

    async def _parse_robots(self, response, netloc, request) -> None:
        if 400 <= response.status < 500:
            self._stats.inc_value("robots/unavailable")
            self._settle(netloc, AllowAll())
        elif response.status >= 500:
            self._stats.inc_value("robots/server_error")
            logger.warning("robots.txt of %s answered %s: nothing on that host is fetched", netloc, response.status)
            self._settle(netloc, DisallowAll())
        else:
            await super()._parse_robots(response, netloc, request)
            return
        self._stats.inc_value("robotstxt/response_count")
        self._stats.inc_value(f"robotstxt/response_status_count/{response.status}")
        await self.crawler.signals.send_catch_log_async(
            signal=signals.robots_parsed, robotparser=self._parsers[netloc], request=request)

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        if isinstance(exc, IgnoreRequest):  # refused by our own policy (SSRF): nothing fetched there
            super()._robots_error(exc, netloc)
            return
        self._stats.inc_value("robots/unreachable")
        self._stats.inc_value(f"robotstxt/exception_count/{type(exc)}")
        logger.warning("robots.txt of %s is unreachable (%s): nothing on that host is fetched",
                       netloc, exc)
        self._settle(netloc, DisallowAll())

    def _settle(self, netloc: str, parser) -> None:
        waiting = self._parsers[netloc]
        self._parsers[netloc] = parser
        if hasattr(waiting, "callback"):
            waiting.callback(parser)
