"""What a rendered page fetched, turned into WARC exchanges as faithfully as a browser allows.

Playwright reports each exchange after the browser has processed it, so a
browser-mode record can hold less than a plain-crawl record:

* the body is the decoded entity: Chromium undoes gzip/br before handing it
  over, so ``Content-Encoding`` is dropped and ``Content-Length`` restated for
  the bytes kept (the original values go into ``X-Newsarchive-Decoded``);
* the headers are the browser's list (raw names and order as Chromium reports
  them for HTTP/1.1, which is close to but not guaranteed to be the wire's);
  the transfer framing (chunked) is gone, as in a plain crawl;
* the HTTP version is not reported: the request and status lines say
  ``HTTP/1.1``, which may be wrong for an HTTP/2 site;
* redirect responses carry no body (browsers do not keep it).

Every record says how it was made: ``X-Newsarchive-Capture: browser; ...``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

from archive.warc import CAPTURE_HEADER, Capture, HttpExchange  # noqa: F401 -- CAPTURE_HEADER re-exported

logger = logging.getLogger(__name__)

DECODED_HEADER = "X-Newsarchive-Decoded"
ASSUMED_PROTOCOL = "HTTP/1.1"  # Playwright does not say which HTTP version the browser spoke


def browser_exchange(url: str, status: int, reason: str, response_headers: list[dict], body: bytes, *,
                     method: str = "GET", request_headers: list[dict] = (), request_body: bytes = b"",
                     ip_address: str | None = None, fetched_at: datetime | None = None,
                     truncated: str | None = None) -> tuple[HttpExchange, list[tuple[str, str]]]:
    """The exchange to archive, and the WARC headers that say what the browser changed.

    Headers come as Playwright's ``headers_array()``: ``[{"name": ..., "value": ...}]``.
    """
    kept, decoded, stated_length = [], [], None
    for header in response_headers:
        name, value = header["name"], header["value"]
        lowered = name.lower()
        if lowered == "content-encoding" and value.strip().lower() not in ("", "identity"):
            decoded.append(f"content-encoding={value.strip()}")
        elif lowered == "content-length":
            stated_length = value.strip()
        else:
            kept.append((name, value))
    if stated_length is not None and (decoded or stated_length != str(len(body))):
        decoded.append(f"content-length={stated_length}")
    if stated_length is not None or decoded:
        kept.append(("Content-Length", str(len(body))))
    sent = [(header["name"], header["value"]) for header in request_headers]
    if not any(name.lower() == "host" for name, _ in sent):
        sent.insert(0, ("Host", urlsplit(url).netloc))
    exchange = HttpExchange(url=url, status=status, response_headers=kept, body=body, method=method,
                            request_headers=sent, request_body=request_body, protocol=ASSUMED_PROTOCOL,
                            reason=reason or None, ip_address=ip_address,
                            fetched_at=fetched_at or datetime.now(UTC), truncated=truncated)
    return exchange, ([(DECODED_HEADER, "; ".join(decoded))] if decoded else [])


class PageCapture:
    """Follows one browser page: archives each exchange as it completes, knows when the page is quiet.

    ``archive(exchange, warc_headers, resource_type)`` writes one exchange and
    returns its Capture (or None when nothing could be written).
    """

    def __init__(self, page, archive: Callable[[HttpExchange, list, str], Capture | None],
                 on_json: Callable[[str, bytes, str], None] | None = None):
        self.page = page
        self._archive = archive
        self._on_json = on_json
        self._loop = asyncio.get_running_loop()
        self._tasks: set[asyncio.Task] = set()
        self.in_flight = 0
        self.last_activity = self._loop.time()
        self.document: Capture | None = None
        self.captures: list[Capture] = []
        self.clicks = 0
        page.on("request", self._started)
        page.on("requestfinished", lambda request: self._ended(request, failed=False))
        page.on("requestfailed", lambda request: self._ended(request, failed=True))

    def _started(self, request) -> None:
        self.in_flight += 1
        self.last_activity = self._loop.time()

    def _ended(self, request, failed: bool) -> None:
        self.in_flight = max(0, self.in_flight - 1)
        self.last_activity = self._loop.time()
        task = asyncio.ensure_future(self._record(request, failed))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _record(self, request, failed: bool) -> None:
        from playwright.async_api import Error as PlaywrightError

        try:
            response = await request.response()
            if response is None:
                return  # refused before any answer (DNS, connection, aborted): nothing to archive
            body, truncated = b"", "disconnect" if failed else None
            if not failed and not 300 <= response.status < 400:
                try:
                    body = await response.body()
                except PlaywrightError:
                    truncated = "disconnect" if response.status not in (204, 304) else None
            response_headers = await response.headers_array()
            request_headers = await request.headers_array()
            server = None
            try:
                server = await response.server_addr()
            except PlaywrightError:
                pass
            is_document = request.is_navigation_request() and request.frame == self.page.main_frame
        except PlaywrightError as exc:  # the page or browser went away meanwhile
            logger.debug("not archived (%s): %s", exc, request.url)
            return
        exchange, notes = browser_exchange(
            response.url, response.status, response.status_text, response_headers, body, method=request.method,
            request_headers=request_headers, request_body=request.post_data_buffer or b"",
            ip_address=server["ipAddress"] if server else None, truncated=truncated)
        capture = self._archive(exchange, notes, request.resource_type)
        if capture is None:
            return
        self.captures.append(capture)
        if is_document and not 300 <= response.status < 400:
            self.document = capture
        if self._on_json and body and "json" in (exchange.content_type() or ""):
            self._on_json(response.url, body, capture.record_id)

    async def wait_quiet(self, quiet: float, deadline: float) -> bool:
        """Until no request has been in flight for ``quiet`` seconds (True), or the deadline (False)."""
        while self._loop.time() < deadline:
            idle = self._loop.time() - self.last_activity
            if self.in_flight == 0 and idle >= quiet:
                return True
            await asyncio.sleep(min(0.05, max(0.0, deadline - self._loop.time())))
        return False

    async def drain(self, deadline: float) -> None:
        """Until every completed exchange is written (or the deadline: the rest is lost, and logged)."""
        while self._tasks and self._loop.time() < deadline:
            await asyncio.wait(set(self._tasks), timeout=max(0.01, deadline - self._loop.time()))
        if self._tasks:
            logger.warning("%d exchanges of %s not archived before the page deadline", len(self._tasks),
                           self.page.url)


async def settle(page, capture: PageCapture, *, quiet: float, deadline: float, load_more: int,
                 selector: str) -> None:
    """Let the page's script finish, press "load more" up to ``load_more`` times, then write everything."""
    from playwright.async_api import Error as PlaywrightError

    loop = asyncio.get_running_loop()
    await capture.wait_quiet(quiet, deadline)
    for _ in range(load_more):
        button = page.locator(selector).first
        try:
            if not await button.is_visible() or not await button.is_enabled():
                break
            await button.click(timeout=max(100, (deadline - loop.time()) * 1000))
        except PlaywrightError:
            break
        capture.clicks += 1
        capture.last_activity = loop.time()
        if not await capture.wait_quiet(quiet, deadline):
            break
    await capture.drain(deadline)
