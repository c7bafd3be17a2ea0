"""Downloader middleware that archives an oversized response up to DOWNLOAD_MAXSIZE instead of dropping it.

Scrapy's download handler cancels a response larger than ``DOWNLOAD_MAXSIZE``
and hands back nothing, so the archive would silently miss it. Here the
handler's own limit is switched off for each request and the body is cut at
the limit as it arrives (Scrapy's ``bytes_received`` signal and
``StopDownload(fail=False)``): the first ``DOWNLOAD_MAXSIZE`` bytes are archived
with ``WARC-Truncated: length``. The limit is put back on the request before
HttpCompressionMiddleware sees the response, so decompression (a gzip bomb)
stays bounded by the same number.

Priority 955: its ``process_response`` runs before the WARC middleware's (950).
"""

from __future__ import annotations

from scrapy import signals
from scrapy.exceptions import NotConfigured, StopDownload

TRUNCATED_FLAG = "truncated_length"
_LIMIT = "_newsarchive_maxsize"
_RECEIVED = "_newsarchive_received"


class ResponseSizeLimitMiddleware:
    def __init__(self, crawler, limit: int):
        self.crawler = crawler
        self.limit = limit

    @classmethod
    def from_crawler(cls, crawler):
        limit = crawler.settings.getint("DOWNLOAD_MAXSIZE")
        if limit <= 0:
            raise NotConfigured
        middleware = cls(crawler, limit)
        crawler.signals.connect(middleware.bytes_received, signal=signals.bytes_received)
        return middleware

    def process_request(self, request):
        limit = request.meta.get(_LIMIT) or request.meta.get("download_maxsize", self.limit)
        if not limit:
            return None  # the request itself asked for no limit
        request.meta[_LIMIT] = limit
        request.meta[_RECEIVED] = 0
        request.meta["download_maxsize"] = 0  # the handler would drop the whole response
        return None

    def bytes_received(self, data, request, spider=None):
        limit = request.meta.get(_LIMIT)
        if not limit:
            return
        request.meta[_RECEIVED] = request.meta.get(_RECEIVED, 0) + len(data)
        if request.meta[_RECEIVED] > limit:
            raise StopDownload(fail=False)

    def process_response(self, request, response):
        limit = self._restore(request)
        if limit and "download_stopped" in response.flags and len(response.body) > limit:
            self.crawler.stats.inc_value("newsarchive/broken/over_size_limit")
            return response.replace(body=response.body[:limit], flags=[*response.flags, TRUNCATED_FLAG])
        return response

    def process_exception(self, request, exception):
        self._restore(request)

    @staticmethod
    def _restore(request) -> int | None:
        """Give the request its limit back, for decompression and for retried copies."""
        limit = request.meta.pop(_LIMIT, None)
        request.meta.pop(_RECEIVED, None)
        if limit:
            request.meta["download_maxsize"] = limit
        return limit
