"""Look at a news site once, politely, to write its first profile.

A handful of plain GET requests, one at a time with a pause between them
(robots.txt's Crawl-delay if longer), none to a path robots.txt disallows:
robots.txt, the start page, one sitemap (and one child of a sitemap index),
one feed. What they show (Crawl-delay, disallowed paths, sitemaps, feeds,
listing pagination, article-looking links, the page's language and title)
becomes a profile the archivist edits, with the findings as comments.
"""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

from lxml import html as lxml_html

from archive.traps import series_kind
from archive.urls import clean_url
from crawler.discovery import SKIPPED_SCHEMES, feed_urls, is_attachment, sitemap_urls

MAX_BYTES = 5 * 1024 * 1024
TIMEOUT = 15
SAMPLE_SIZE = 5
MAX_PAUSE = 30.0  # a Crawl-delay longer than this is still honoured by the crawl, not by five probe requests
_FEEDS = ("//link[contains(concat(' ', normalize-space(@rel), ' '), ' alternate ')]"
          "[contains(@type, 'rss') or contains(@type, 'atom')]/@href")
_NEXT = "//*[self::a or self::link][contains(concat(' ', normalize-space(@rel), ' '), ' next ')]/@href"
# A numeric id of three digits or more, or a date, in the path: how most news CMSs name articles.
_ARTICLE_PATH = re.compile(r"/\d{3,}(?:[-./]|$)|[-_/]\d{3,}(?:\.html?)?$|/20\d\d/\d\d/")


@dataclass
class Probe:
    url: str
    reachable: bool = True
    requests: int = 0
    robots: bool = False
    crawl_delay: float | None = None
    disallowed: list[str] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)
    sitemap_urls: int = 0  # URLs listed by the sitemap read (and its first child)
    feeds: list[str] = field(default_factory=list)
    feed_items: int = 0
    pagination: list[str] = field(default_factory=list)
    articles: list[str] = field(default_factory=list)  # a sample
    title: str | None = None
    language: str | None = None
    problems: list[str] = field(default_factory=list)

    def article_url_pattern(self) -> str | None:
        """A regular expression every sampled article URL matches, if their paths share one shape."""
        shapes = {_path_shape(urlsplit(url).path) for url in self.articles}
        if len(self.articles) < 2 or len(shapes) != 1:
            return None
        return shapes.pop()


def _path_shape(path: str) -> str:
    """``/kk/news/123`` -> ``/kk/news/\\d+$``: numbers generalised, words kept, a slug after an id dropped."""
    segments = []
    for segment in path.split("/"):
        if re.fullmatch(r"\d+[-_][^/]+", segment):  # 123-a-title-slug
            segments.append(r"\d+[-_][^/]+")
        else:
            segments.append(re.sub(r"\d+", lambda _: r"\d+", re.escape(segment)))
    return "/".join(segments) + "$"


class _Fetcher:
    def __init__(self, user_agent: str, pause: float):
        self.user_agent, self.pause, self.count = user_agent, pause, 0

    def get(self, url: str) -> tuple[int, str, bytes]:
        """(status, content type, body); status 0 when the server could not be reached."""
        if self.count and self.pause:
            time.sleep(self.pause)
        self.count += 1
        request = urllib.request.Request(url, headers={"User-Agent": self.user_agent, "Accept-Encoding": "identity"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 (http(s) only)
                return response.status, response.headers.get("Content-Type", ""), response.read(MAX_BYTES)
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get("Content-Type", ""), b""
        except (urllib.error.URLError, OSError, ValueError) as exc:
            return 0, "", str(getattr(exc, "reason", exc)).encode()


def probe_site(url: str, *, user_agent: str, pause: float = 1.0) -> Probe:
    """At most five requests to ``url``'s site; every finding and problem in the returned Probe."""
    fetcher = _Fetcher(user_agent, pause)
    probe = Probe(url)
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
    robots = _read_robots(fetcher, origin, probe)
    fetcher.pause = max(pause, min(probe.crawl_delay or 0, MAX_PAUSE))

    def allowed(target: str) -> bool:
        if robots is None or robots.can_fetch(user_agent, target):
            return True
        probe.problems.append(f"robots.txt disallows {target}: not fetched")
        return False

    if allowed(url):
        status, content_type, body = fetcher.get(url)
        if status == 0:
            probe.reachable = False
            probe.problems.append(f"cannot reach {url}: {body.decode(errors='replace')}")
            probe.requests = fetcher.count
            return probe
        if status != 200:
            probe.problems.append(f"start URL answered HTTP {status}")
        elif "html" in content_type or body.lstrip()[:1] == b"<":
            _read_page(url, body, probe)
    sitemap = (probe.sitemaps or [origin + "/sitemap.xml"])[0]
    if allowed(sitemap):
        _read_sitemap(fetcher, sitemap, probe, allowed)
    if probe.feeds and allowed(probe.feeds[0]):
        status, _, body = fetcher.get(probe.feeds[0])
        probe.feed_items = len(feed_urls(body)) if status == 200 else 0
    probe.requests = fetcher.count
    return probe


def _read_robots(fetcher: _Fetcher, origin: str, probe: Probe) -> RobotFileParser | None:
    status, _, body = fetcher.get(origin + "/robots.txt")
    if status != 200:
        return None
    probe.robots = True
    lines = body.decode("utf-8", errors="replace").splitlines()
    parser = RobotFileParser()
    parser.parse(lines)
    delays = [line.split(":", 1)[1].strip() for line in lines if line.lower().startswith("crawl-delay:")]
    try:
        probe.crawl_delay = float(delays[0]) if delays else None  # the stdlib parser reads whole seconds only
    except ValueError:
        probe.problems.append(f"robots.txt Crawl-delay {delays[0]!r} is not a number")
    probe.sitemaps = list(parser.site_maps() or [])
    probe.disallowed = [line.split(":", 1)[1].strip() for line in lines
                        if line.lower().startswith("disallow:") and line.split(":", 1)[1].strip()]
    return parser


def _read_page(url: str, body: bytes, probe: Probe) -> None:
    try:
        tree = lxml_html.fromstring(body)
    except (ValueError, TypeError):
        probe.problems.append("the start page is not readable HTML")
        return
    probe.title = " ".join((tree.findtext(".//title") or "").split()) or None
    language = (tree.get("lang") or "").split("-")[0].lower()
    probe.language = language if re.fullmatch(r"[a-z]{2,3}", language) else None
    probe.feeds = list(dict.fromkeys(urljoin(url, href) for href in tree.xpath(_FEEDS)))
    links = [_absolute(url, href) for href in tree.xpath("//a/@href") + tree.xpath(_NEXT)]
    own = [link for link in dict.fromkeys(filter(None, links)) if urlsplit(link).netloc == urlsplit(url).netloc]
    probe.pagination = [link for link in own if series_kind(link) == "pagination" or link in
                        {_absolute(url, href) for href in tree.xpath(_NEXT)}][:3]
    probe.articles = [link for link in own if _looks_like_article(link) and link not in probe.pagination][:SAMPLE_SIZE]


def _read_sitemap(fetcher: _Fetcher, url: str, probe: Probe, allowed) -> None:
    status, _, body = fetcher.get(url)
    kind, locations = sitemap_urls(body) if status == 200 else ("", [])
    if not kind:
        if probe.sitemaps:
            probe.problems.append(f"sitemap {url} is not a readable sitemap")
        return
    probe.sitemaps = list(dict.fromkeys([url, *probe.sitemaps]))
    if kind == "sitemapindex" and locations and allowed(locations[0]):
        probe.sitemaps.append(locations[0])
        status, _, body = fetcher.get(locations[0])
        kind, locations = sitemap_urls(body) if status == 200 else ("", [])
    probe.sitemap_urls = len(locations)
    if not probe.articles:
        probe.articles = [clean_url(u) for u in locations if _looks_like_article(u)][:SAMPLE_SIZE]


def _looks_like_article(url: str) -> bool:
    return not is_attachment(url) and series_kind(url) is None and bool(_ARTICLE_PATH.search(urlsplit(url).path))


def _absolute(base: str, href: str) -> str | None:
    href = href.strip()
    if not href or href.lower().startswith(SKIPPED_SCHEMES):
        return None
    try:
        return clean_url(urljoin(base, href))
    except ValueError:
        return None
