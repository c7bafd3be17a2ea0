"""A hostile web on loopback: traps, broken responses, bad encodings, bad robots.txt, an internal service.

The tests crawl it to show that every case is bounded, archived, reported and
never fatal. It is several servers, because robots.txt and address checks are
per host:

- ``main`` (127.0.0.1): the akimat site from hell. Its home page links to every
  case; each path below is one behaviour, named in ``HostileWeb.CASES``.
- ``robots_5xx``, ``robots_timeout``, ``robots_html``, ``robots_404``
  (127.0.0.1, other ports): a small site each, whose robots.txt answers 503,
  never answers, is an HTML page, or is missing.
- ``internal`` (127.0.0.2): a service the main site links and redirects to;
  nothing should ever reach it unless private addresses are allowed.

Every request is logged (server, method, path, arrival time) for the tests.
Run by hand: ``python -m crawler.demo.hostile``.
"""

from __future__ import annotations

import gzip
import os
import select
import socket
import struct
import threading
import time
from dataclasses import dataclass
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

NEVER = 30.0  # seconds a "never answers" handler sleeps: far beyond any test's DOWNLOAD_TIMEOUT
SIZE_LIMIT = 100_000  # DOWNLOAD_MAXSIZE the tests crawl with; /big serves twice as much
LAST_LISTING_PAGE = 3
CYRILLIC_PATH = "/новости/аким-встретился-с-жителями"
IDN_LINK = "http://акимат.қаз/жаңалықтар"

# Russian article texts, one per encoding case; the catalog must hold them without mojibake.
ENCODING_CASES = {
    # path: (description, key sentence, charset of the bytes, Content-Type header, meta charset, BOM)
    "/enc/header-utf8-bytes-cp1251": (
        "Content-Type says utf-8, the bytes are windows-1251",
        "Аким области провёл совещание по вопросам водоснабжения сельских округов.",
        "cp1251", "text/html; charset=utf-8", None, False),
    "/enc/meta-disagrees": (
        "utf-8 bytes and header, a stale <meta charset=windows-1251> in the template",
        "В районном центре открылась новая школа на шестьсот учеников.",
        "utf-8", "text/html; charset=utf-8", "windows-1251", False),
    "/enc/koi8r": (
        "KOI8-R, declared in the header",
        "Жители посёлка получили ключи от новых квартир в торжественной обстановке.",
        "koi8-r", "text/html; charset=koi8-r", None, False),
    "/enc/bom": (
        "a UTF-8 BOM, no charset in the header, a wrong meta",
        "Депутаты маслихата утвердили бюджет области на следующий год.",
        "utf-8", "text/html", "windows-1251", True),
    "/enc/undeclared": (
        "windows-1251 bytes and no declaration anywhere",
        "Сотрудники акимата приняли участие в весеннем субботнике на набережной.",
        "cp1251", "text/html", None, False),
}
CYRILLIC_ARTICLE_SENTENCE = "Аким города встретился с жителями микрорайона и обсудил ремонт дорог."

_FILLER = ("Мероприятие прошло в здании областного акимата при участии представителей общественности. "
           "Участники обсудили ход выполнения поручений и наметили планы на ближайший период. "
           "По итогам встречи было принято решение усилить контроль за сроками работ. "
           "Подробная информация будет опубликована на официальном сайте в ближайшее время. ")


@dataclass(frozen=True)
class HostileRequest:
    """One request as a hostile server received it."""

    server: str
    method: str
    path: str
    time: float


def article_html(title: str, sentence: str, published: str, meta_charset: str | None = None) -> str:
    meta = f'<meta charset="{meta_charset}">' if meta_charset else ""
    return (f'<!DOCTYPE html><html lang="ru"><head>{meta}<title>{escape(title)}</title>'
            f'<meta property="og:type" content="article"></head><body>'
            f'<nav><a href="/">Главная</a></nav><article><h1>{escape(title)}</h1>'
            f'<time datetime="{published}">{published}</time>'
            f'<p>{escape(sentence)}</p><p>{_FILLER}</p><p>{_FILLER}</p></article></body></html>')


class _Log:
    def __init__(self):
        self._lock = threading.Lock()
        self.entries: list[HostileRequest] = []

    def add(self, entry: HostileRequest) -> None:
        with self._lock:
            self.entries.append(entry)

    def of(self, server: str) -> list[HostileRequest]:
        with self._lock:
            return [entry for entry in self.entries if entry.server == server]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, name: str, host: str, log: _Log, web: "HostileWeb"):
        super().__init__((host, 0), _Handler)
        self.name = name
        self.log = log
        self.web = web
        self.hits: dict[str, int] = {}
        self.hits_lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.hanging: set[_Handler] = set()  # hanging requests still counted in flight

    @property
    def base_url(self) -> str:
        return f"http://{self.server_address[0]}:{self.server_address[1]}"

    def uncount_hung_up(self) -> None:
        """Stop counting hanging requests whose client has gone (call with hits_lock held).

        A client that gives up closes the connection before it sends its next request, so checking
        here, as a request arrives, keeps the count exact; the hanging thread notices only later.
        """
        for handler in list(self.hanging):
            if handler.client_gone():
                self.hanging.discard(handler)
                handler.counted = False
                self.in_flight -= 1

    def hit(self, path: str) -> int:
        """How many times ``path`` was asked for, this time included."""
        with self.hits_lock:
            self.hits[path] = self.hits.get(path, 0) + 1
            return self.hits[path]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hostile/1.0"
    timeout = 10
    server: _Server

    def log_message(self, format, *args) -> None:
        pass

    def do_GET(self) -> None:
        self.server.log.add(HostileRequest(self.server.name, "GET", self.path, time.time()))
        route = getattr(self.server.web, f"_serve_{self.server.name}")
        server = self.server
        with server.hits_lock:
            server.uncount_hung_up()
            server.in_flight += 1
            server.max_in_flight = max(server.max_in_flight, server.in_flight)
            self.counted = True
        try:
            route(self, urlsplit(self.path))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            with server.hits_lock:
                server.hanging.discard(self)
                if self.counted:
                    server.in_flight -= 1
                    self.counted = False

    # -- response helpers --------------------------------------------------------

    def send(self, status: int, body: bytes = b"", content_type: str | None = "text/html; charset=utf-8",
             headers: tuple[tuple[str, str], ...] = ()) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def html(self, markup: str, status: int = 200) -> None:
        self.send(status, markup.encode("utf-8"))

    def redirect(self, location: str, status: int = 302) -> None:
        self.send(status, b"", headers=(("Location", location),))

    def hang(self) -> None:
        """Never answer; stop waiting when the client gives up, so in-flight counts stay true."""
        with self.server.hits_lock:
            self.server.hanging.add(self)
        deadline = time.monotonic() + NEVER
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.connection], [], [], 0.05)
            if ready and not self.connection.recv(1, socket.MSG_PEEK):
                break
        self.close_connection = True

    def client_gone(self) -> bool:
        """Whether the client closed this connection (end of file waiting to be read)."""
        try:
            ready, _, _ = select.select([self.connection], [], [], 0)
            return bool(ready) and not self.connection.recv(1, socket.MSG_PEEK)
        except OSError:
            return True

    def reset_mid_body(self, body: bytes, sent: int) -> None:
        """Promise ``len(body)`` bytes, send ``sent`` of them, then reset the connection."""
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[:sent])
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True


class HostileWeb:
    """The hostile servers, started together; ``url(server, path)`` names what they serve."""

    CASES = {
        "/calendar?month=2026-11": "an endless calendar: every month links to the previous and next",
        "/calendar?month=2150-01": "a calendar page far in the future",
        "/news?page=1": f"a listing whose pagination goes on past page {LAST_LISTING_PAGE}",
        "/news/1?sid=9f8e7d6c": "a session id in a link",
        "/a/": "a relative link that repeats its path segment (/a/a/a/...)",
        "/search?q=akimat": "a link that appends to its own query string",
        "/loop": "a redirect that never ends (/loop?n=1, n=2, ...)",
        "/retry-after": "429 with Retry-After: 1, then 200",
        "/flaky": "500, then 200",
        "/slow": "never answers",
        "/reset": "a connection reset mid-body",
        "/big": f"a body of {2 * SIZE_LIMIT} bytes, twice the size limit",
        "/bomb": "a gzip bomb: 10 kB that inflate to 20 MB",
        "/garbage": "binary garbage served as text/html",
        "/broken": "HTML broken beyond repair",
        "/empty": "an empty 200",
        "/to-internal": "a redirect to the internal service on 127.0.0.2",
        "/private/secret.html": "disallowed by robots.txt",
        "/private/open-data.html": "allowed by a longer Allow rule",
        "/report.php": "disallowed by a wildcard rule (Disallow: /*.php$)",
        **{path: case[0] for path, case in ENCODING_CASES.items()},
    }
    DISALLOWED = ("/private/secret.html", "/report.php")

    def __init__(self, internal_host: str = "127.0.0.2"):
        self.log = _Log()
        self.internal_host = internal_host
        self._servers: dict[str, _Server] = {}
        self._threads: list[threading.Thread] = []
        self._bomb: bytes | None = None

    def start(self) -> "HostileWeb":
        hosts = {"main": "127.0.0.1", "robots_5xx": "127.0.0.1", "robots_timeout": "127.0.0.1",
                 "robots_html": "127.0.0.1", "robots_404": "127.0.0.1", "internal": self.internal_host}
        try:
            for name, host in hosts.items():
                self._servers[name] = _Server(name, host, self.log, self)
        except BaseException:
            self.stop()
            raise
        for name, server in self._servers.items():
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                      name=f"hostile-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in self._servers.values():
            if self._threads:
                server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers, self._threads = {}, []

    def __enter__(self) -> "HostileWeb":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def url(self, server: str, path: str = "/") -> str:
        return self._servers[server].base_url + path

    @property
    def seeds(self) -> list[str]:
        """Start URLs: every server but the internal one."""
        return [self.url(name) for name in self._servers if name != "internal"]

    def requests(self, server: str) -> list[HostileRequest]:
        return self.log.of(server)

    def max_in_flight(self, server: str) -> int:
        """The most requests ``server`` was handling at once (a hanging /slow counts until it times out)."""
        return self._servers[server].max_in_flight

    # -- main: the akimat site from hell ----------------------------------------

    def _serve_main(self, handler: _Handler, target) -> None:
        path, query = unquote(target.path), target.query
        served = handler.server.hit(handler.path)
        internal = self._servers["internal"].base_url
        if path == "/robots.txt":
            handler.send(200, (b"User-agent: *\nDisallow: /private/\nAllow: /private/open-\n"
                               b"Disallow: /*.php$\n"), "text/plain")
        elif path == "/":
            links = [*self.CASES, "/news/2#comments", "/news/2", "javascript:void(0)", "mailto:press@akimat.kz",
                     "tel:+77172000000", CYRILLIC_PATH, _percent(CYRILLIC_PATH), IDN_LINK,
                     f"{internal}/secret", "/report.php?print=1", "http://[broken", "http://:80/", "//"]
            items = "".join(f'<li><a href="{escape(link)}">{escape(link)}</a></li>' for link in links)
            handler.html(f"<html><head><title>Акимат</title></head><body><ul>{items}</ul>"
                         f'<img src="{internal}/pixel.png"></body></html>')
        elif path == "/calendar":
            year, month = _month(query)
            previous = f"{year - (month == 1)}-{(month - 2) % 12 + 1:02d}"
            following = f"{year + (month == 12)}-{month % 12 + 1:02d}"
            handler.html(f'<html><body><a href="/">Главная</a><h1>{year}-{month:02d}</h1>'
                         f'<a href="/calendar?month={previous}">«</a> <a href="/calendar?month={following}">»</a>'
                         "</body></html>")
        elif path == "/news" and query.startswith("page="):
            page = int(query[5:] or 1) if query[5:].isdigit() else 1
            articles = "".join(f'<li><a href="{case}">{case}</a></li>' for case in
                               list(ENCODING_CASES)[(page - 1) * 2:page * 2]) if page <= LAST_LISTING_PAGE else ""
            handler.html(f'<html><body><a href="/">Главная</a><ul>{articles}</ul>'
                         f'<a href="/news?page={page + 1}">Следующая</a></body></html>')
        elif path.startswith("/news/"):
            handler.html(article_html(f"Новость {path[6:]}", CYRILLIC_ARTICLE_SENTENCE + " " + path, "2026-11-20"))
        elif path.startswith("/a/"):
            handler.html('<html><body><a href="a/">дальше</a></body></html>')
        elif path == "/search":
            handler.html(f'<html><body><a href="/search?{query}&q=akimat">ещё</a></body></html>')
        elif path == "/loop":
            number = int(query[2:]) if query.startswith("n=") and query[2:].isdigit() else 0
            handler.redirect(f"/loop?n={number + 1}")
        elif path == "/retry-after":
            if served == 1:
                handler.send(429, b"slow down", "text/plain", (("Retry-After", "1"),))
            else:
                handler.html(article_html("Терпение", CYRILLIC_ARTICLE_SENTENCE, "2026-11-21"))
        elif path == "/flaky":
            if served == 1:
                handler.send(500, b"<h1>Internal Server Error</h1>")
            else:
                handler.html(article_html("Со второго раза", CYRILLIC_ARTICLE_SENTENCE, "2026-11-22"))
        elif path == "/slow":
            handler.hang()
        elif path == "/reset":
            body = article_html("Оборвано", CYRILLIC_ARTICLE_SENTENCE, "2026-11-23").encode() + b" " * 20_000
            handler.reset_mid_body(body, sent=len(body) // 3)
        elif path == "/big":
            handler.send(200, big_body())
        elif path == "/bomb":
            handler.send(200, self.bomb(), headers=(("Content-Encoding", "gzip"),))
        elif path == "/garbage":
            handler.send(200, bytes(range(256)) * 8 + os.urandom(4096))
        elif path == "/broken":
            handler.send(200, b"<html><<<body<div class=\"<p>\xd0\xd1\xff<table><tr><td></tab</html>"
                              b"<script>document.write('<a href=\"/x\">')</scr" + b"\x00<<>>" * 50)
        elif path == "/empty":
            handler.send(200, b"")
        elif path == "/to-internal":
            handler.redirect(f"{internal}/admin")
        elif path in ENCODING_CASES:
            handler.send(200, *_encoded_article(path))
        elif path == CYRILLIC_PATH or path.startswith("/private/") or path.startswith("/report.php"):
            handler.html(article_html("Встреча с жителями", CYRILLIC_ARTICLE_SENTENCE, "2026-11-24"))
        else:
            handler.send(404, b"<h1>404</h1>")

    def bomb(self) -> bytes:
        if self._bomb is None:
            self._bomb = gzip.compress(b" " * 20_000_000, compresslevel=9, mtime=0)
        return self._bomb

    # -- robots.txt cases ----------------------------------------------------------

    def _small_site(self, handler: _Handler, path: str) -> None:
        if path == "/":
            handler.html('<html><body><a href="/page">страница</a> <a href="/hidden/x">скрыто</a></body></html>')
        elif path in ("/page", "/hidden/x"):
            handler.html("<html><body>страница</body></html>")
        else:
            handler.send(404, b"")

    def _serve_robots_5xx(self, handler, target) -> None:
        if target.path == "/robots.txt":
            handler.send(503, b"<h1>Service Unavailable</h1>")
        else:
            self._small_site(handler, target.path)

    def _serve_robots_timeout(self, handler, target) -> None:
        if target.path == "/robots.txt":
            handler.hang()
        else:
            self._small_site(handler, target.path)

    def _serve_robots_html(self, handler, target) -> None:
        if target.path == "/robots.txt":
            # A CMS that wraps the file in its page layout: only the bare lines parse.
            handler.html("<!DOCTYPE html>\n<html><head><title>Robots</title></head>\n<body>\n"
                         "<p>Правила для роботов</p>\nUser-agent: *\nDisallow: /hidden/\n"
                         "<div>Allow: <b>/hidden/</b></div>\n</body></html>")
        else:
            self._small_site(handler, target.path)

    def _serve_robots_404(self, handler, target) -> None:
        if target.path == "/robots.txt":
            handler.send(404, b"<h1>Not Found</h1>")
        else:
            self._small_site(handler, target.path)

    def _serve_internal(self, handler, target) -> None:
        handler.send(200, b"internal service: you should not be here", "text/plain")


def big_body() -> bytes:
    """Twice the size limit of HTML with numbered paragraphs (a huge report page)."""
    paragraphs = (f"<p>Пункт {number}: показатель {number * 7919 % 100003} тенге.</p>\n".encode()
                  for number in range(1, 100_000))
    body = b"<html><body>" + b"".join(paragraphs)
    return body[:2 * SIZE_LIMIT]


def _percent(path: str) -> str:
    from urllib.parse import quote

    return quote(path)


def _month(query: str) -> tuple[int, int]:
    value = query.partition("month=")[2][:7]
    try:
        year, month = int(value[:4]), int(value[5:7])
    except ValueError:
        return 2026, 11
    return year, min(max(month, 1), 12)


def _encoded_article(path: str) -> tuple[bytes, str]:
    description, sentence, charset, content_type, meta, bom = ENCODING_CASES[path]
    body = article_html("Новости области", sentence, "2026-11-19", meta_charset=meta).encode(charset)
    return (b"\xef\xbb\xbf" + body if bom else body), content_type


def main() -> None:
    with HostileWeb() as web:
        for name in ("main", "robots_5xx", "robots_timeout", "robots_html", "robots_404", "internal"):
            print(f"{name:15} {web.url(name)}", flush=True)
        print("Serving; press Ctrl-C to stop.", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
