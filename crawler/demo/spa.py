"""A single-page news portal on loopback, built like the regional government portals.

The HTML is a shell that holds no news: its script asks a JSON API for the
listing (``/api/v1/public/content-manager/news?projects=eq:<region>&page=N&size=20``)
and for each article (``.../news/<id>``), with an ``X-Request-Token`` header it
computes itself from the shell's build id and the request target (FNV-1a, as
:func:`request_token` does). The API refuses a request without the right token,
so only a crawler that runs the script gets the articles. The listing shows one
API page and a "load more" button (``#load-more``) for the next; article links
exist only in the rendered DOM.

Articles are in Kazakh, every third in Russian; dates are shown with Kazakh
month names ("25 қараша 2026, 10:30", some without the time), the API
carries them as ISO 8601 with the time.
JSON answers are gzip-encoded when the client accepts it, as real APIs do.

``/hang`` never finishes loading and ``/hang-late`` loads, then its script
never returns: a hung page must not hang a crawl. ``/memory-hog`` allocates
until the renderer's heap limit stops it. Run by hand: ``python -m crawler.demo.spa --articles 25``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self
from urllib.parse import parse_qs, urlsplit

from crawler.demo.sites import KK_MONTHS, KK_MONTHS_LOCATIVE, generate_articles, load_texts

ASSETS = Path(__file__).with_name("spa_assets")
PHOTO = Path(__file__).with_name("assets") / "photo.png"
REGION = "atyrau"
PAGE_SIZE = 20
BUILD_ID = "2026.11.3-b7f1"
FIRST_ID = 48_200
NEWS_PATH = f"/memleket/entities/{REGION}/press/news"
API_PATH = "/api/v1/public/content-manager/news"


def request_token(build_id: str, target: str) -> str:
    """The token the portal's script sends: FNV-1a (32 bit) of ``build|target``, in hex."""
    value = 0x811C9DC5
    for byte in f"{build_id}|{target}".encode():
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return f"{value:08x}"


def kazakh_date(moment: datetime) -> str:
    """How the portal shows a date: ``25 қараша 2026, 10:30``."""
    return f"{moment.day} {KK_MONTHS[moment.month - 1]} {moment.year}, {moment:%H:%M}"


@dataclass(frozen=True)
class SpaArticle:
    """One article as the API serves it, and what the catalog must hold for it."""

    id: int
    url: str  # the detail page (a shell until the script runs)
    title: str
    published: datetime
    language: str
    paragraphs: tuple[str, ...]
    shows_time: bool  # the page shows the time of day; the API always has it

    @property
    def published_iso(self) -> str:
        """The date as the API gives it (exact)."""
        return self.published.isoformat()

    @property
    def shown_published_iso(self) -> str:
        """The date as the page shows it: some articles show the day only."""
        return self.published_iso if self.shows_time else self.published.date().isoformat()

    def as_json(self) -> dict:
        return {"id": self.id, "title": self.title, "publishDate": self.published_iso, "showTime": self.shows_time,
                "lang": self.language,
                "image": f"/media/{self.id}.png",
                "content": "".join(f"<p>{escape(text)}</p>" for text in self.paragraphs)}

    def summary(self) -> dict:
        return {"id": self.id, "title": self.title, "publishDate": self.published_iso, "showTime": self.shows_time}


def spa_articles(base_url: str, count: int) -> list[SpaArticle]:
    """Newest first: Kazakh articles, every third one Russian."""
    lead_date = lambda moment: f"{moment.day} {KK_MONTHS_LOCATIVE[moment.month - 1]}"
    kazakh = generate_articles("spa-kk", load_texts("kk"), count, FIRST_ID, lead_date)
    russian = generate_articles("spa-ru", load_texts("ru"), count, FIRST_ID, lead_date)
    articles = []
    for index in range(count):
        source, language = (russian, "ru") if index % 3 == 2 else (kazakh, "kk")
        generated = source[index]
        article_id = FIRST_ID - index
        articles.append(SpaArticle(article_id, f"{base_url}{NEWS_PATH}/details/{article_id}", generated.title,
                                   kazakh[index].published, language, (generated.lead, *generated.paragraphs),
                                   kazakh[index].shows_time))
    return articles


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str
    compressible: bool = False


class SpaSite:
    """The portal's routes; no sockets here."""

    def __init__(self, base_url: str, articles: int):
        self.base_url = base_url
        self.articles = spa_articles(base_url, articles)
        self._by_id = {article.id: article for article in self.articles}

    @property
    def start_url(self) -> str:
        return self.base_url + NEWS_PATH

    @property
    def memory_hog_url(self) -> str:
        return self.base_url + "/memory-hog"

    @property
    def hang_urls(self) -> list[str]:
        return [self.base_url + "/hang", self.base_url + "/hang-late"]

    def respond(self, target: str, headers) -> Answer:
        parts = urlsplit(target)
        path, query = parts.path, parse_qs(parts.query)
        if path == "/robots.txt":
            return Answer(200, b"User-agent: *\nAllow: /\n", "text/plain; charset=utf-8")
        if path == NEWS_PATH or re.fullmatch(rf"{re.escape(NEWS_PATH)}/details/\d+", path):
            return Answer(200, self.shell().encode("utf-8"), "text/html; charset=utf-8")
        if path == "/static/app.js":
            return Answer(200, (ASSETS / "app.js").read_bytes(), "application/javascript; charset=utf-8", True)
        if path == "/static/app.css":
            return Answer(200, (ASSETS / "app.css").read_bytes(), "text/css; charset=utf-8", True)
        if re.fullmatch(r"/media/\d+\.png", path):
            return Answer(200, PHOTO.read_bytes(), "image/png")
        if path == "/hang":  # never finishes loading
            return Answer(200, b"<!doctype html><title>hang</title><script>for (;;) {}</script>", "text/html")
        if path == "/memory-hog":  # allocates until the renderer's heap limit stops it
            return Answer(200, b"<!doctype html><title>hog</title><p>loaded</p><script>"
                               b"addEventListener('load', () => { const kept = [];"
                               b" for (;;) { kept.push(new Array(1 << 20).fill(kept.length)); } });</script>",
                          "text/html")
        if path == "/hang-late":  # loads, then its script never returns
            return Answer(200, b"<!doctype html><title>hang</title><p>loaded</p>"
                               b"<script>addEventListener('load', () => setTimeout(() => { for (;;) {} }, 50));</script>",
                          "text/html")
        if path.startswith(API_PATH):
            return self.api(path, query, target, headers)
        return Answer(404, b"<!doctype html><title>404</title><p>Not found</p>", "text/html; charset=utf-8")

    def shell(self) -> str:
        return ('<!doctype html><html lang="kk"><head><meta charset="utf-8">'
                f'<meta name="app-build" content="{BUILD_ID}"><title>Атырау облысы әкімдігі</title>'
                '<link rel="stylesheet" href="/static/app.css"></head>'
                '<body><div id="app"><noscript>Бұл бетті көру үшін JavaScript қосыңыз.</noscript></div>'
                '<script src="/static/app.js"></script></body></html>')

    def api(self, path: str, query: dict, target: str, headers) -> Answer:
        if headers.get("X-Request-Token") != request_token(BUILD_ID, target):
            return Answer(403, b'{"error":"invalid token"}', "application/json; charset=utf-8")
        if query.get("projects") != [f"eq:{REGION}"]:
            return Answer(200, b'{"content":[],"totalElements":0}', "application/json; charset=utf-8")
        if path == API_PATH:
            page, size = int(query.get("page", ["0"])[0]), int(query.get("size", [str(PAGE_SIZE)])[0])
            chosen = self.articles[page * size:(page + 1) * size]
            data = {"content": [article.summary() for article in chosen], "page": page, "size": size,
                    "totalElements": len(self.articles), "last": (page + 1) * size >= len(self.articles)}
            return _json(data)
        match = re.fullmatch(rf"{API_PATH}/(\d+)", path)
        article = self._by_id.get(int(match.group(1))) if match else None
        if article is None:
            return Answer(404, b'{"error":"not found"}', "application/json; charset=utf-8")
        return _json(article.as_json())


def _json(data: dict) -> Answer:
    return Answer(200, json.dumps(data, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8", True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "newsarchive-spa/1.0"
    timeout = 30

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args) -> None:
        """Requests are kept in SpaPortal.requests, not printed."""

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.log.append((self.command, self.path, dict(self.headers.items())))
        answer = self.server.site.respond(self.path, self.headers)
        body, extra = answer.body, []
        if answer.compressible and "gzip" in self.headers.get("Accept-Encoding", ""):
            body, extra = gzip.compress(body, mtime=0), [("Content-Encoding", "gzip")]
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        for name, value in extra:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class SpaPortal:
    """The single-page portal on ``host``, port chosen by the OS; a context manager."""

    def __init__(self, articles: int = 25, *, host: str = "127.0.0.1"):
        self.articles_count = articles
        self.host = host
        self.site: SpaSite | None = None
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> SpaPortal:
        server = ThreadingHTTPServer((self.host, 0), _Handler)
        server.daemon_threads = True
        server.lock = threading.Lock()
        server.log = []
        server.site = self.site = SpaSite(f"http://{self.host}:{server.server_address[1]}", self.articles_count)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="spa-portal", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def requests(self) -> list[tuple[str, str, dict]]:
        """(method, target, headers) of every request so far, oldest first."""
        with self._server.lock:
            return list(self._server.log)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m crawler.demo.spa", description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=25)
    args = parser.parse_args(argv)
    with SpaPortal(args.articles) as portal:
        print(f"{portal.site.start_url}\nServing; press Ctrl-C to stop.", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
