"""A shared frontier: several crawl processes (on one or many machines) crawl one site together.

``newsarchive crawl --redis redis://host:6379/0 URL`` runs the news spider on
scrapy-redis: the request queue and the duplicate filter live in Redis, so every
worker started with the same seeds (or the same ``--frontier`` name) takes its
next request from one queue, and a URL any worker has scheduled is never
scheduled again. :func:`redis_overrides` turns a crawl into such a worker.

Keys (all under ``newsarchive:frontier:<name>:``): ``requests`` (scrapy-redis's
priority queue), ``dupefilter`` (its fingerprint set), and per worker
``held:<worker>`` and ``alive:<worker>`` (see :mod:`crawler.frontier.scheduler`
for how a request popped by a worker that dies is crawled by another). The queue
persists when workers stop (``SCHEDULER_PERSIST``): starting a worker again
resumes it, and a finished frontier's dupefilter still remembers every URL, so
:func:`clear_frontier` is how the same seeds are crawled afresh.

What stays per worker: the spider's own seen-set and budgets (``max_pages``,
the per-site budget count what *this* worker scheduled) and the per-host
politeness gate, so N workers may have N x ``CONCURRENT_REQUESTS_PER_DOMAIN``
requests in flight to one host and each honours robots.txt Crawl-delay on its
own. Each worker fetches robots.txt itself (one record per worker).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import crawler.settings as project_settings
from archive.errors import NewsArchiveError

KEY_ROOT = "newsarchive:frontier"
DEFAULT_HEARTBEAT = 2.0  # seconds; a worker silent for 5 beats is taken for dead
SCHEDULER = "crawler.frontier.scheduler.SharedFrontierScheduler"
RELEASE_MIDDLEWARE = "crawler.frontier.release.HeldRequestsMiddleware"
RELEASE_ORDER = 10  # outermost spider middleware: sees every request a callback really yields
_REDIS_SCHEMES = ("redis", "rediss", "unix")


class FrontierError(NewsArchiveError):
    """Redis cannot be reached, a worker id is already in use, or a frontier cannot be cleared."""


@dataclass(frozen=True)
class FrontierKeys:
    """The Redis keys of one frontier, and of one worker on it."""

    name: str
    worker: str = ""

    @property
    def prefix(self) -> str:
        return f"{KEY_ROOT}:{self.name}:"

    @property
    def requests(self) -> str:
        return self.prefix + "requests"

    @property
    def dupefilter(self) -> str:
        return self.prefix + "dupefilter"

    @property
    def workers(self) -> str:
        """Workers that may hold requests (their ``held`` hash is checked when they go silent)."""
        return self.prefix + "workers"

    def held(self, worker: str | None = None) -> str:
        return self.prefix + f"held:{worker or self.worker}"

    def alive(self, worker: str | None = None) -> str:
        return self.prefix + f"alive:{worker or self.worker}"


def frontier_name(seeds: list[str]) -> str:
    """``<first host>-<12 hex>``: the same seeds, in any order, name the same frontier."""
    digest = hashlib.sha1("\n".join(sorted(set(seeds))).encode()).hexdigest()[:12]
    host = urlsplit(min(seeds)).hostname if seeds else None
    return f"{host or 'seeds'}-{digest}"


def redis_overrides(redis_url: str, frontier: str | None = None, worker: str | None = None) -> dict:
    """Scrapy setting overrides that make a crawl one worker of a shared frontier in Redis.

    ``frontier`` names the shared queue (default: derived from the crawl's seeds,
    so workers given the same seeds meet); ``worker`` names this process among
    the frontier's workers (default ``<hostname>-<pid>``) and, when given, its
    WARC files (``newsarchive-<worker>-...warc.gz``).
    """
    if urlsplit(redis_url).scheme not in _REDIS_SCHEMES:
        raise FrontierError(f"not a Redis URL: {redis_url!r} (expected redis://host:6379/0)")
    spider_middlewares = dict(getattr(project_settings, "SPIDER_MIDDLEWARES", {}) or {})
    spider_middlewares[RELEASE_MIDDLEWARE] = RELEASE_ORDER
    overrides = {
        "SCHEDULER": SCHEDULER,
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_PERSIST": True,
        "REDIS_URL": redis_url,
        "SPIDER_MIDDLEWARES": spider_middlewares,
        "NEWSARCHIVE_FRONTIER": frontier or "",
        "NEWSARCHIVE_FRONTIER_WORKER": worker or "",
    }
    if worker:
        overrides["NEWSARCHIVE_WARC_PREFIX"] = "newsarchive-" + _slug(worker)
    return overrides


def connect(redis_url: str):
    """A client for ``redis_url`` that has answered a PING; FrontierError if none answers."""
    import redis

    client = redis.Redis.from_url(redis_url, socket_connect_timeout=10, socket_timeout=30)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise FrontierError(f"cannot reach Redis at {redis_url}: {exc}") from None
    return client


def frontier_status(redis_url: str, frontier: str) -> dict[str, int]:
    """How far a frontier is: requests queued, URLs seen, requests held by workers, workers alive."""
    client, keys = connect(redis_url), FrontierKeys(frontier)
    workers = [w.decode() for w in client.smembers(keys.workers)]
    return {
        "queued": client.zcard(keys.requests),
        "seen": client.scard(keys.dupefilter),
        "held": sum(client.hlen(keys.held(w)) for w in workers),
        "alive": sum(client.exists(keys.alive(w)) for w in workers),
    }


def clear_frontier(redis_url: str, frontier: str) -> int:
    """Delete a frontier's queue, dupefilter and worker keys; returns how many keys went.

    Refused while a worker of it is alive: clearing under a running crawl would
    let it refetch everything.
    """
    client, keys = connect(redis_url), FrontierKeys(frontier)
    names = list(client.scan_iter(match=_glob_escape(keys.prefix) + "*", count=1000))
    alive = [name for name in names if name.decode().startswith(keys.prefix + "alive:")]
    if alive:
        raise FrontierError(f"frontier {frontier} has {len(alive)} worker(s) running; stop them first")
    return client.delete(*names) if names else 0


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_") or "worker"


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)
