"""Serve the demo news sites over real HTTP/1.1 on loopback, each site on its own port.

`newsarchive demo`, the end-to-end tests and the benchmarks crawl these sites
exactly as they would crawl the web, so the portal speaks plain stdlib HTTP that
any client (Scrapy, wget, curl) understands: keep-alive with a Content-Length on
every response, real chunked framing and gzip on two chosen articles, HEAD and
conditional GET. It also records what it was asked, so tests can check
politeness (robots.txt, concurrency) from the server's side.

Run by hand: ``python -m crawler.demo.portal --articles 50``.
"""

from __future__ import annotations

import argparse
import gzip
import socket
import threading
import time
from dataclasses import dataclass
from email.message import Message
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from crawler.demo.sites import MAX_ARTICLES_PER_SITE, SITE_CLASSES, DemoSite, Page

CHUNK_COUNT = 4
IDLE_CONNECTION_TIMEOUT = 30.0
READ_ONLY_METHODS = "GET, HEAD"


@dataclass(frozen=True)
class RequestLogEntry:
    """One request as the portal received it."""

    site_id: str
    method: str
    path: str  # the request target: path plus query, as sent
    headers: Message  # case-insensitive: entry.headers.get("user-agent")
    time: float  # time.time() when the request line and headers had been read


def gzip_entity(body: bytes) -> bytes:
    """The gzip bytes sent for a body; mtime=0 keeps them identical on every request."""
    return gzip.compress(body, mtime=0)


def accepts_gzip(accept_encoding: str) -> bool:
    for coding in accept_encoding.split(","):
        name, _, params = coding.strip().partition(";")
        if name.strip().lower() in ("gzip", "*") and params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00"):
            return True
    return False


class _Traffic:
    """The request log and per-site in-flight counters, shared by all handler threads."""

    def __init__(self, site_ids):
        self._lock = threading.Lock()
        self._log: list[RequestLogEntry] = []
        self._in_flight = dict.fromkeys(site_ids, 0)
        self._max_in_flight = dict.fromkeys(site_ids, 0)

    def begin(self, entry: RequestLogEntry) -> None:
        with self._lock:
            self._log.append(entry)
            self._in_flight[entry.site_id] += 1
            self._max_in_flight[entry.site_id] = max(self._max_in_flight[entry.site_id], self._in_flight[entry.site_id])

    def end(self, site_id: str) -> None:
        with self._lock:
            self._in_flight[site_id] -= 1

    def entries(self, site_id: str | None = None) -> list[RequestLogEntry]:
        with self._lock:
            return [entry for entry in self._log if site_id is None or entry.site_id == site_id]

    def max_in_flight(self, site_id: str) -> int:
        with self._lock:
            return self._max_in_flight[site_id]

    def reset(self) -> None:
        with self._lock:
            self._log.clear()
            self._max_in_flight = dict(self._in_flight)


class _SiteServer(ThreadingHTTPServer):
    """One site's listening socket; remembers open connections so stop() can end keep-alive ones."""

    daemon_threads = True

    def __init__(self, host: str, traffic: _Traffic, latency: float):
        super().__init__((host, 0), _PortalHandler)
        self.site: DemoSite | None = None
        self.traffic = traffic
        self.latency = latency
        self.transfer_modes: dict[str, str] = {}  # URL path -> "gzip" | "chunked"
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def track(self, connection: socket.socket, is_open: bool) -> None:
        with self._connections_lock:
            (self._connections.add if is_open else self._connections.discard)(connection)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _PortalHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "newsarchive-demo/1.0"
    timeout = IDLE_CONNECTION_TIMEOUT
    server: _SiteServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without NODELAY, Nagle plus delayed ACK
        # would add ~40 ms to every keep-alive response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, is_open=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, is_open=False)

    def log_message(self, format: str, *args) -> None:
        """The request log is kept in memory (DemoPortal.requests), not printed."""

    def do_GET(self) -> None:
        self._serve(include_body=True)

    def do_HEAD(self) -> None:
        self._serve(include_body=False)

    def do_POST(self) -> None:
        self._serve(include_body=True, allowed=False)

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_POST

    def _serve(self, include_body: bool, allowed: bool = True) -> None:
        site = self.server.site
        traffic = self.server.traffic
        traffic.begin(RequestLogEntry(site.id, self.command, self.path, self.headers, time.time()))
        try:
            if self.server.latency:
                time.sleep(self.server.latency)
            if allowed:
                self._send(site.respond(self.path), include_body)
            else:
                self._refuse_method()
        finally:
            traffic.end(site.id)

    def _refuse_method(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)  # keep the connection in step for the next request
        self.send_response(405)
        self.send_header("Allow", READ_ONLY_METHODS)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send(self, page: Page, include_body: bool) -> None:
        mode = self.server.transfer_modes.get(urlsplit(self.path).path)
        body = page.body
        headers = [("Content-Type", page.content_type), *page.headers]
        if mode == "gzip":
            headers.append(("Vary", "Accept-Encoding"))
            if accepts_gzip(self.headers.get("Accept-Encoding", "")):
                body = gzip_entity(body)
                headers = [(name, value[:-1] + '-gzip"' if name == "ETag" else value) for name, value in headers]
                headers.append(("Content-Encoding", "gzip"))
        if self._not_modified(dict(headers)):
            self.send_response(304)
            for name, value in headers:
                if name in ("ETag", "Last-Modified", "Vary"):
                    self.send_header(name, value)
            self.end_headers()
            return
        chunked = mode == "chunked" and self.request_version == "HTTP/1.1"
        self.send_response(page.status)
        for name, value in headers:
            self.send_header(name, value)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not include_body:
            return
        if chunked:
            self._write_chunked(body)
        else:
            self.wfile.write(body)

    def _write_chunked(self, body: bytes) -> None:
        size = -(-len(body) // CHUNK_COUNT) or 1
        for start in range(0, len(body), size):
            piece = body[start:start + size]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        self.wfile.write(b"0\r\n\r\n")

    def _not_modified(self, headers: dict[str, str]) -> bool:
        etag = headers.get("ETag")
        if_none_match = self.headers.get("If-None-Match")
        if etag and if_none_match:
            return if_none_match.strip() == "*" or etag in [tag.strip() for tag in if_none_match.split(",")]
        last_modified = headers.get("Last-Modified")
        if_modified_since = self.headers.get("If-Modified-Since")
        if last_modified and if_modified_since:
            try:
                return parsedate_to_datetime(last_modified) <= parsedate_to_datetime(if_modified_since)
            except (TypeError, ValueError):
                return False
        return False


class DemoPortal:
    """Three regional news sites (kk, ru, en) on loopback, with their ground truth.

    ``sites`` is filled by start(), when each site has its port. The gzip and chunked
    special cases are two Kazakh articles: ``gzip_url`` and ``chunked_url``.
    """

    def __init__(self, articles_per_site: int = 12, *, host: str = "127.0.0.1", latency: float = 0.0,
                 crawl_delay: float | None = None):
        if not 3 <= articles_per_site <= MAX_ARTICLES_PER_SITE:
            raise ValueError(f"articles_per_site must be between 3 and {MAX_ARTICLES_PER_SITE}")
        self.articles_per_site = articles_per_site
        self.host = host
        self.latency = latency
        self.crawl_delay = crawl_delay
        self.sites: dict[str, DemoSite] = {}
        self.gzip_url: str | None = None
        self.chunked_url: str | None = None
        self._traffic = _Traffic(SITE_CLASSES)
        self._servers: dict[str, _SiteServer] = {}
        self._threads: list[threading.Thread] = []
        self._transfer_modes: dict[str, dict[str, str]] = {}  # site id -> URL path -> "gzip" | "chunked"

    def start(self) -> "DemoPortal":
        if self._servers:
            raise RuntimeError("DemoPortal is already started")
        try:
            for site_id, site_class in SITE_CLASSES.items():
                server = _SiteServer(self.host, self._traffic, self.latency)
                self._servers[site_id] = server
                server.site = site_class(f"http://{self.host}:{server.server_address[1]}",
                                         self.articles_per_site, self.crawl_delay)
                self.sites[site_id] = server.site
        except BaseException:
            self.stop()
            raise
        self._choose_transfer_cases()
        for site_id, server in self._servers.items():
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                      name=f"demo-portal-{site_id}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _choose_transfer_cases(self) -> None:
        kazakh = self.sites["kk"]
        self.gzip_url = kazakh.expected_articles[1].url
        self.chunked_url = kazakh.expected_articles[2].url
        self._transfer_modes["kk"] = {urlsplit(self.gzip_url).path: "gzip", urlsplit(self.chunked_url).path: "chunked"}
        self._servers["kk"].transfer_modes = self._transfer_modes["kk"]

    def stop(self) -> None:
        for server in self._servers.values():
            if self._threads:
                server.shutdown()
            server.server_close()
            server.close_connections()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers = {}
        self._threads = []

    def __enter__(self) -> "DemoPortal":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def requests(self, site_id: str | None = None) -> list[RequestLogEntry]:
        """Every request received since start (or reset_log), oldest first."""
        return self._traffic.entries(site_id)

    def max_in_flight(self, site_id: str) -> int:
        """The most requests the site was serving at once (latency makes overlaps observable)."""
        return self._traffic.max_in_flight(site_id)

    def reset_log(self) -> None:
        self._traffic.reset()

    def site_for(self, url: str) -> DemoSite:
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
        for site in self.sites.values():
            if site.base_url == origin:
                return site
        raise ValueError(f"{url} is not served by this portal")

    def served_entity(self, url: str) -> bytes:
        """The entity body sent for ``url`` to a GET with Accept-Encoding gzip.

        For the gzip URL these are the gzip bytes as sent (Content-Encoding: gzip);
        for the chunked URL the body with the chunk framing removed.
        """
        site = self.site_for(url)
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        body = site.respond(target).body
        mode = self._transfer_modes.get(site.id, {}).get(parts.path)
        return gzip_entity(body) if mode == "gzip" else body


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m crawler.demo.portal", description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=12, help="articles per site (default 12)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds of delay per request")
    parser.add_argument("--crawl-delay", type=float, default=None, help="advertise Crawl-delay in robots.txt")
    args = parser.parse_args(argv)
    with DemoPortal(args.articles, host=args.host, latency=args.latency, crawl_delay=args.crawl_delay) as portal:
        for site in portal.sites.values():
            print(f"{site.id}  {site.start_url}  {site.name}", flush=True)
        print("Serving; press Ctrl-C to stop.", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
