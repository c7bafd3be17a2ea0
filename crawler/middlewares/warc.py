"""Downloader middleware that writes every HTTP exchange to WARC files.

It sits nearest the downloader (priority 950 in ``settings.py``): above
RetryMiddleware (550), HttpCompressionMiddleware (590) and RedirectMiddleware
(600), so it sees 3xx and retried responses, and the body still content-encoded
with a Content-Length that matches it. Cached responses are not re-archived.

A 304 answer to a conditional request (``crawler.middlewares.conditional``) is
written as a server-not-modified revisit of the capture whose validators were
sent; a 304 nobody asked for stays a plain response record.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.defer import deferred_from_coro
from twisted.internet.threads import deferToThread

from archive.errors import IndexBuildError, WarcWriteError
from archive.cdxj import StreamingIndex, indexes_dir
from archive.dedup import DedupIndex
from archive.warc import HttpExchange, RevisitOf, WarcWriter, payload_digest
from crawler import signals as archive_signals
from crawler.middlewares.conditional import sent_validators
from crawler.middlewares.size import TRUNCATED_FLAG
from archive.datadir import DataDir

logger = logging.getLogger(__name__)


class WarcCaptureMiddleware:
    def __init__(self, crawler, writer: WarcWriter, dedup: DedupIndex | None = None):
        self.crawler = crawler
        self.writer = writer
        self.dedup = dedup
        self.stats = crawler.stats
        self.write_error: WarcWriteError | None = None
        self.index: StreamingIndex | None = None
        self._closing = False

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        if not settings.getbool("NEWSARCHIVE_WARC_ENABLED", True):
            raise NotConfigured
        data = DataDir(settings.get("NEWSARCHIVE_DATA_DIR")).prepare()
        spider = crawler.spider
        warcinfo = {
            "software": f"newsarchive/{_version()} (Scrapy {_scrapy_version()}, warcio {_warcio_version()})",
            "operator": settings.get("NEWSARCHIVE_OPERATOR") or None,
            "http-header-user-agent": settings.get("USER_AGENT"),
            "robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
            "isPartOf": getattr(spider, "crawl_id", None),
            "description": "seeds: " + " ".join(getattr(spider, "start_urls", [])),
        }
        writer = WarcWriter(
            data.warc_dir,
            prefix=settings.get("NEWSARCHIVE_WARC_PREFIX"),
            max_size=settings.getint("NEWSARCHIVE_WARC_MAX_SIZE"),
            warcinfo=warcinfo,
        )
        dedup = DedupIndex(data.catalog_path) if settings.getbool("NEWSARCHIVE_DEDUP") else None
        middleware = cls(crawler, writer, dedup)
        if settings.getbool("NEWSARCHIVE_CDXJ"):
            middleware.index = writer.record_listener = StreamingIndex(indexes_dir(data.path))
            writer.on_close = middleware.index_closed_file
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def process_response(self, request, response):
        if "cached" in response.flags:
            return response
        if self.write_error is not None:
            raise IgnoreRequest("not archived: the crawl is stopping after a WARC write error")
        exchange = exchange_from(request, response)
        try:
            capture = self.writer.write_exchange(exchange, self._revisit_of(request, exchange))
        except WarcWriteError as exc:
            # Nothing more can be archived faithfully: stop the crawl, keep what is written.
            self.write_error = exc
            logger.error("%s; stopping the crawl", exc)
            self.stats.set_value("newsarchive/stop_message", str(exc))
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="warc_write_error"))
            raise IgnoreRequest(str(exc)) from exc
        request.meta["warc_capture"] = capture
        if self.dedup is not None:
            self.dedup.remember(capture)
        self.stats.inc_value(f"warc/{capture.record_type}")
        self.stats.set_value("warc/bytes", self.writer.bytes_written)
        if capture.truncated:
            self.stats.inc_value(f"warc/truncated/{capture.truncated}")
        self.crawler.signals.send_catch_log(
            archive_signals.capture_archived, capture=capture, request=request, response=response)
        return response

    def _revisit_of(self, request, exchange: HttpExchange) -> RevisitOf | None:
        """The capture this response repeats: for a 304, the one whose validators were sent."""
        if exchange.status == 304:
            validators = sent_validators(request)
            return validators.revisit_of if validators is not None else None  # unasked: a plain response
        return self._earlier_capture(exchange)

    def _earlier_capture(self, exchange: HttpExchange) -> RevisitOf | None:
        """The capture this response repeats (same URL, same payload), if dedup is on."""
        if self.dedup is None or not exchange.body or exchange.truncated:
            return None
        return self.dedup.lookup(exchange.url, payload_digest(exchange.body))

    def process_exception(self, request, exception):
        if isinstance(exception, IgnoreRequest):
            return None  # a policy decision (robots.txt), not a failed fetch
        self.stats.inc_value(f"warc/fetch_failed/{type(exception).__name__}")
        self.crawler.signals.send_catch_log(
            archive_signals.fetch_failed, request=request, reason=f"{type(exception).__name__}: {exception}")

    def index_closed_file(self, path):
        """CDXJ for a WARC just closed, in step with rotation (sorted off the reactor while crawling)."""
        if self._closing:
            _index_quietly(self.index, path)
        else:
            deferToThread(_index_quietly, self.index, path)

    def spider_closed(self, spider, reason):
        self._closing = True
        self.writer.close()
        if self.index is not None:
            self.index.discard()
        if self.dedup is not None:
            self.dedup.close()
        self.stats.set_value("warc/files", len(self.writer.files_written))


def _index_quietly(index: StreamingIndex, path) -> None:
    """A missing index is not worth stopping a crawl: `newsarchive index` builds it later."""
    try:
        index.finish(path)
        if path.name in index.read_back:
            logger.warning("%s was indexed by reading it back: a record's index line could not be made "
                           "as it was written", path.name)
    except IndexBuildError as exc:
        logger.warning("%s; run newsarchive index to retry", exc)


def exchange_from(request, response) -> HttpExchange:
    """The exchange as it crossed the wire, from Scrapy's request and response."""
    request_headers = _header_pairs(request.headers)
    if not any(name.lower() == "host" for name, _ in request_headers):
        request_headers.insert(0, ("Host", urlsplit(request.url).netloc))
    return HttpExchange(
        url=response.url,
        status=response.status,
        response_headers=_header_pairs(response.headers),
        body=response.body,
        method=request.method,
        request_headers=request_headers,
        request_body=request.body or b"",
        protocol=response.protocol or "HTTP/1.1",
        ip_address=str(response.ip_address) if response.ip_address else None,
        fetched_at=datetime.now(timezone.utc),
        truncated=_truncation(response.flags),
    )


def _truncation(flags) -> str | None:
    """The WARC-Truncated reason of a response cut short: at our size limit, or by the server."""
    if TRUNCATED_FLAG in flags:
        return "length"
    if "dataloss" in flags:
        return "disconnect"
    return None


def _header_pairs(headers) -> list[tuple[str, str]]:
    """Every header line, repeated ones kept (two Set-Cookie stay two)."""
    return [
        (name.decode("latin-1"), value.decode("latin-1"))
        for name in headers
        for value in headers.getlist(name)
    ]


def _version() -> str:
    from archive import __version__

    return __version__


def _scrapy_version() -> str:
    import scrapy

    return scrapy.__version__


def _warcio_version() -> str:
    from importlib.metadata import version

    return version("warcio")
