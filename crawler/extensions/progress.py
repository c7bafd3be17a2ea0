"""Live progress of a crawl on the terminal: one line per site, redrawn every second.

Someone watching a crawl wants to see it move: pages, articles and errors per
site and how fast each site is answering. Logs and cron mail must not fill with
redraw escapes, so the extension switches itself off (NotConfigured) unless
stderr is a terminal, ``NEWSARCHIVE_PROGRESS`` is true and Scrapy's own log is
not scrolling INFO lines through the same terminal. The counting is a dict
lookup per signal; drawing happens once a second on the reactor.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet.task import LoopingCall

from crawler import signals as archive_signals
from crawler.items import ArchivedPage

REDRAW_SECONDS = 1.0
RATE_WINDOW_SECONDS = 5.0  # pages/s while running is over the last few seconds, so a stalled site shows 0
CLEAR_BELOW = "\x1b[J"


@dataclass
class SiteProgress:
    pages: int = 0
    articles: int = 0
    errors: int = 0
    first_at: float | None = None
    last_at: float | None = None
    samples: deque = field(default_factory=lambda: deque(maxlen=64))  # (time, pages) at each redraw


class ProgressBoard:
    """Counts per origin and the lines that show them; no I/O, so it is tested without a terminal."""

    def __init__(self, started_at: float):
        self.started_at = started_at
        self.sites: dict[str, SiteProgress] = {}

    def _site(self, url: str) -> SiteProgress:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}" if parts.netloc else url
        site = self.sites.get(origin)
        if site is None:
            site = self.sites[origin] = SiteProgress()
        return site

    def page(self, url: str, now: float) -> None:
        site = self._site(url)
        site.pages += 1
        site.first_at = site.first_at if site.first_at is not None else now
        site.last_at = now

    def article(self, url: str) -> None:
        self._site(url).articles += 1

    def error(self, url: str) -> None:
        self._site(url).errors += 1

    def sample(self, now: float) -> None:
        for site in self.sites.values():
            site.samples.append((now, site.pages))

    def lines(self, now: float, *, width: int = 100, height: int = 24, final: bool = False) -> list[str]:
        """A header, then one line per site, each cut to ``width`` characters.

        Sites keep the order they were first seen in, so lines do not jump between redraws;
        when they do not all fit in ``height``, the busiest are shown and the rest summed up.
        """
        total = SiteProgress(pages=sum(s.pages for s in self.sites.values()),
                             articles=sum(s.articles for s in self.sites.values()),
                             errors=sum(s.errors for s in self.sites.values()))
        elapsed = _clock(now - self.started_at)
        head = (f"{'crawled' if final else 'crawling'} {len(self.sites)} site{'s' * (len(self.sites) != 1)}"
                f" · {elapsed} · {_figures(total)}")
        room = max(1, height - 2)
        shown, hidden = list(self.sites.items()), []
        if len(shown) > room:
            ranked = sorted(shown, key=lambda item: (-item[1].pages, item[0]))
            shown, hidden = ranked[:room - 1], ranked[room - 1:]
        name_width = min(max((len(origin) for origin, _ in shown), default=0), 40)
        lines = [head]
        for origin, site in shown:
            rate = self._average_rate(site) if final else self._recent_rate(site, now)
            name = origin if len(origin) <= name_width else origin[:name_width - 1] + "…"
            lines.append(f"  {name:<{name_width}}  {_figures(site)}  {rate:6.1f} pages/s")
        if hidden:
            rest = SiteProgress(pages=sum(s.pages for _, s in hidden), articles=sum(s.articles for _, s in hidden),
                                errors=sum(s.errors for _, s in hidden))
            lines.append(f"  … {len(hidden)} more sites: {_figures(rest)}")
        return [line if len(line) <= width else line[:width - 1] + "…" for line in lines]

    @staticmethod
    def _recent_rate(site: SiteProgress, now: float) -> float:
        window = [(t, p) for t, p in site.samples if now - t <= RATE_WINDOW_SECONDS + 1e-9]
        if not window:
            return 0.0
        since, pages_then = window[0]
        return (site.pages - pages_then) / (now - since) if now > since else 0.0

    @staticmethod
    def _average_rate(site: SiteProgress) -> float:
        if site.first_at is None or site.last_at is None or site.last_at <= site.first_at:
            return 0.0
        return site.pages / (site.last_at - site.first_at)


def _figures(site: SiteProgress) -> str:
    return f"{site.pages:>7,} pages  {site.articles:>6,} articles  {site.errors:>4,} errors"


def _clock(seconds: float) -> str:
    seconds = int(max(0, seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"


class CrawlProgress:
    """The extension: counts from signals into a :class:`ProgressBoard`, redraws it on ``stream``."""

    def __init__(self, stream, clock=time.monotonic):
        self.stream = stream
        self.clock = clock
        self.board = ProgressBoard(clock())
        self.drawn = 0  # lines on screen from the previous redraw
        self.loop: LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        stream = sys.stderr
        if not settings.getbool("NEWSARCHIVE_PROGRESS", True) or not _is_terminal(stream):
            raise NotConfigured
        if settings.getbool("LOG_ENABLED") and not settings.get("LOG_FILE") and \
                log_level_number(settings.get("LOG_LEVEL")) <= logging.INFO:
            raise NotConfigured  # the log scrolls through the same terminal; redraws would tear it
        extension = cls(stream)
        # Pages are what the crawl archives (redirects and 404s too), as in the summary printed at its
        # end; without WARC writing, the responses that reach the engine.
        if settings.getbool("NEWSARCHIVE_WARC_ENABLED"):
            pages = (extension.capture_archived, archive_signals.capture_archived)
        else:
            pages = (extension.response_received, signals.response_received)
        for handler, signal in (
            (extension.spider_opened, signals.spider_opened),
            (extension.spider_closed, signals.spider_closed),
            pages,
            (extension.item_scraped, signals.item_scraped),
            (extension.spider_error, signals.spider_error),
            (extension.fetch_failed, archive_signals.fetch_failed),
        ):
            crawler.signals.connect(handler, signal=signal)
        return extension

    def spider_opened(self, spider):
        self.board = ProgressBoard(self.clock())
        self.loop = LoopingCall(self.redraw)
        self.loop.start(REDRAW_SECONDS, now=False)

    def spider_closed(self, spider, reason):
        if self.loop is None:  # the crawl never started (its own error says why)
            return
        if self.loop.running:
            self.loop.stop()
        self.redraw(final=True)  # the final state stays on screen

    def capture_archived(self, capture, request, response):
        self.board.page(response.url, self.clock())

    def response_received(self, response, request, spider):
        self.board.page(response.url, self.clock())

    def item_scraped(self, item, response, spider):
        if isinstance(item, ArchivedPage) and item.article is not None and getattr(item.article, "is_article", False):
            self.board.article(item.url)

    def spider_error(self, failure, response, spider):
        self.board.error(response.url)

    def fetch_failed(self, request, reason):
        self.board.error(request.url)

    def redraw(self, final: bool = False) -> None:
        now = self.clock()
        self.board.sample(now)
        width, height = _terminal_size(self.stream)
        lines = self.board.lines(now, width=width, height=height, final=final)
        up = f"\x1b[{self.drawn}F" if self.drawn else "\r"
        try:
            self.stream.write(up + CLEAR_BELOW + "".join(line + "\n" for line in lines))
            self.stream.flush()
        except (OSError, ValueError):  # the terminal went away: stop drawing, never stop the crawl
            if self.loop is not None and self.loop.running:
                self.loop.stop()
            return
        self.drawn = len(lines)


def log_level_number(value) -> int:
    """LOG_LEVEL as a number, however it was given ("WARNING", "warning", "30", 30)."""
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    level = logging.getLevelName(text.upper())
    return level if isinstance(level, int) else logging.DEBUG


def _is_terminal(stream) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):
        return False


def _terminal_size(stream) -> tuple[int, int]:
    try:
        size = os.get_terminal_size(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return 100, 24
    # A terminal that does not know its size (0 x 0, as a fresh pty) gets the classic 80 x 24.
    return max(size.columns or 80, 20), max(size.lines or 24, 3)
