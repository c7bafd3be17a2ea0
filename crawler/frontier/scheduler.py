"""scrapy-redis's scheduler, extended so that a worker that dies loses no request.

scrapy-redis pops a request out of Redis and forgets it: if the worker is killed
before the response is archived, no one ever fetches that URL (the dupefilter
has it, the queue does not). Two small additions close the gap, both atomic
Lua scripts on Redis:

* **Pop into a held hash.** The pop moves the request from the queue into the
  worker's ``held:<worker>`` hash in one step. It leaves the hash only once the
  worker is done with it: its response archived *and* the spider's callback
  over, every link it yielded already in the queue (each child counts as one
  reference, :mod:`crawler.frontier.release`); or a copy of it (a redirect, a
  retry) queued in its place. A request that ends in a failure or a robots.txt
  refusal stays held until the worker is next idle (idle means nothing is in
  flight), so a crash meanwhile re-asks it: at least once, never lost.
* **Heartbeat.** Every ``NEWSARCHIVE_FRONTIER_HEARTBEAT`` seconds a worker
  renews ``alive:<worker>`` (expiring after five beats) from a thread of its
  own, so a reactor busy for a while (the extraction pool starting) is not
  taken for a dead worker; and, on the reactor, it moves the held requests of
  every worker whose key expired back into the queue, with their priority and
  bypassing the dupefilter. It does so on start too, so a worker restarted
  after a crash takes back its own.

A third script makes "seen" and "queued" one step: scrapy-redis adds the
fingerprint, then pushes, and a kill between the two would lose the URL.

An idle worker does not close while the frontier has work queued or held by
any worker (a living one may yield more links; a dead one's requests come
back when its heartbeat expires). Scrapy asks an idle scheduler again only
every 5 s, so the heartbeat hands an idle worker the next request itself.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
import threading
from collections import deque

import redis
from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy_redis import connection
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler
from twisted.internet.task import LoopingCall

from crawler.frontier import DEFAULT_HEARTBEAT, FrontierError, FrontierKeys, frontier_name

logger = logging.getLogger(__name__)

HELD = "newsarchive_frontier_held"  # meta: the held-hash field of the request being crawled
CHILD_OF = "newsarchive_frontier_child_of"  # meta: the held request whose callback yielded this one
_WAKE = "newsarchive_frontier_wake"  # meta: popped by the heartbeat for an idle engine
BEATS_TO_DEATH = 5

# KEYS: queue, held hash. ARGV: token. The field keeps the queue score for requeueing.
_POP_HELD = """
local top = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #top == 0 then return false end
redis.call('ZREM', KEYS[1], top[1])
local field = ARGV[1] .. ' ' .. top[2]
redis.call('HSET', KEYS[2], field, top[1])
return {field, top[1]}
"""
# KEYS: queue, dupefilter. ARGV: fingerprint, score, request.
_PUSH_UNSEEN = """
if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
return 1
"""
# KEYS: alive key, held hash, queue, workers set. ARGV: worker. Returns requests requeued, -1 if alive.
_REQUEUE_IF_DEAD = """
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
local entries = redis.call('HGETALL', KEYS[2])
for i = 1, #entries, 2 do
  local field = entries[i]
  redis.call('ZADD', KEYS[3], string.sub(field, string.find(field, ' ', 1, true) + 1), entries[i + 1])
end
redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[4], ARGV[1])
return #entries / 2
"""


class HeldPriorityQueue(PriorityQueue):
    """scrapy-redis's priority queue with a pop that holds what it hands out."""

    def __init__(self, server, spider, key, serializer=None):
        super().__init__(server, spider, key, serializer)
        self._pop_held = server.register_script(_POP_HELD)
        self._push_unseen = server.register_script(_PUSH_UNSEEN)

    def pop_held(self, held_key: str, token: str):
        """(request, held field) of the top request, now in ``held_key``; None if the queue is empty."""
        popped = self._pop_held(keys=[self.key, held_key], args=[token])
        if not popped:
            return None
        field, data = popped
        return self._decode_request(data), field.decode()

    def push_unseen(self, request, dupefilter: RFPDupeFilter) -> bool:
        """Queue the request unless its fingerprint is seen; marking and queueing are one step."""
        data = self._encode_request(request)
        return bool(self._push_unseen(keys=[self.key, dupefilter.key],
                                      args=[dupefilter.request_fingerprint(request), -request.priority, data]))


class Holds:
    """This worker's held requests: references per held field, the field dropped at zero."""

    def __init__(self, server, held_key: str):
        self.server = server
        self.held_key = held_key
        self.references: dict[str, int] = {}

    def hold(self, field: str) -> None:
        self.references[field] = 1

    def add_child(self, field: str) -> None:
        if field in self.references:
            self.references[field] += 1

    def release(self, field: str) -> None:
        if field not in self.references:
            return  # released already (idle), or held by an earlier life of this worker
        self.references[field] -= 1
        if self.references[field] <= 0:
            del self.references[field]
            self.server.hdel(self.held_key, field)

    def release_all(self) -> None:
        self.references.clear()
        self.server.delete(self.held_key)


class SharedFrontierScheduler(Scheduler):
    """The scrapy-redis scheduler on a named frontier, holding every request until it is done."""

    def __init__(self, server, crawler, *, frontier: str, worker: str, heartbeat: float, **kwargs):
        super().__init__(server, persist=True, queue_cls=HeldPriorityQueue, **kwargs)
        self.crawler = crawler
        self.frontier = frontier
        self.worker = worker
        self.heartbeat = heartbeat
        self.keys: FrontierKeys | None = None
        self.holds: Holds | None = None
        self._tokens = itertools.count(1)
        self._beat_loop: LoopingCall | None = None
        self._alive: _AliveSignal | None = None
        self._idle = False
        self._woken: deque = deque()  # popped and held by the heartbeat, handed to the engine next
        self._requeue_if_dead = server.register_script(_REQUEUE_IF_DEAD)

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        server = connection.from_settings(settings)
        try:
            server.ping()
        except redis.RedisError as exc:
            raise _stopping(crawler, f"cannot reach Redis at {settings.get('REDIS_URL')}: {exc}") from None
        scheduler = cls(
            server, crawler,
            frontier=settings.get("NEWSARCHIVE_FRONTIER") or "",
            worker=settings.get("NEWSARCHIVE_FRONTIER_WORKER") or f"{socket.gethostname()}-{os.getpid()}",
            heartbeat=settings.getfloat("NEWSARCHIVE_FRONTIER_HEARTBEAT", DEFAULT_HEARTBEAT),
            dupefilter_key="",  # set per frontier in open()
            idle_before_close=0,
        )
        scheduler.stats = crawler.stats
        crawler.signals.connect(scheduler.spider_idle, signal=signals.spider_idle)
        return scheduler

    # -- lifecycle -------------------------------------------------------------

    def open(self, spider):
        self.keys = FrontierKeys(self.frontier or frontier_name(list(spider.start_urls)), self.worker)
        self.queue_key = self.keys.requests.replace("%", "%%")
        self.df = RFPDupeFilter(self.server, key=self.keys.dupefilter,
                                debug=spider.settings.getbool("DUPEFILTER_DEBUG"))
        if not self.server.set(self.keys.alive(), os.getpid(), nx=True, px=self._ttl_ms()):
            raise _stopping(self.crawler, f"worker {self.worker} is already running on frontier {self.keys.name}"
                                          " (a killed worker's id is free again after five heartbeats)")
        self.holds = Holds(self.server, self.keys.held())
        super().open(spider)
        self.crawler.stats.set_value("frontier/name", self.keys.name)
        self.crawler.stats.set_value("frontier/worker", self.worker)
        logger.info("Shared frontier %s, worker %s (%d requests queued)", self.keys.name, self.worker, len(self.queue))
        self.requeue_dead_workers(include_self=True)
        self.server.sadd(self.keys.workers, self.worker)
        self._alive = _AliveSignal(self.server, self.keys, self.worker, self.heartbeat, self._ttl_ms())
        self._alive.start()
        self._beat_loop = LoopingCall(self._beat)
        self._beat_loop.start(self.heartbeat, now=False)

    def close(self, reason):
        if self._beat_loop is not None and self._beat_loop.running:
            self._beat_loop.stop()
        if self._alive is not None:
            self._alive.stop()
        if self.keys is not None:
            # Scrapy closes only after every request in progress has finished: nothing is held.
            self.holds.release_all()
            self.server.srem(self.keys.workers, self.worker)
            self.server.delete(self.keys.alive())
        super().close(reason)

    # -- queue -----------------------------------------------------------------

    def enqueue_request(self, request):
        if request.meta.pop(_WAKE, False):
            self._woken.append(request)
            return True
        parent = request.meta.pop(CHILD_OF, None)  # a link yielded by a held request's callback
        replaced = request.meta.pop(HELD, None)  # a copy of a held request: a redirect, a retry
        if request.dont_filter:
            self.queue.push(request)
            queued = True
        else:
            queued = self.queue.push_unseen(request, self.df)
        if queued:
            self.stats.inc_value("scheduler/enqueued/redis")
        else:
            self.df.log(request, self.spider)
        for field in (parent, replaced):
            if field:
                self.holds.release(field)
        return queued

    def next_request(self):
        if self._woken:
            return self._woken.popleft()
        popped = self.queue.pop_held(self.keys.held(), str(next(self._tokens)))
        if popped is None:
            return None
        request, field = popped
        request.meta[HELD] = field
        self.holds.hold(field)
        self._idle = False
        self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self):
        return bool(self._woken) or super().has_pending_requests()

    # -- workers ---------------------------------------------------------------

    def _ttl_ms(self) -> int:
        return int(self.heartbeat * BEATS_TO_DEATH * 1000)

    def _beat(self) -> None:
        try:
            self.requeue_dead_workers()
            if self._idle:
                self._wake()
        except redis.RedisError as exc:  # a Redis restart should not stop the heartbeat
            logger.warning("frontier heartbeat failed: %s", exc)

    def requeue_dead_workers(self, include_self: bool = False) -> int:
        """Put back the held requests of every worker whose heartbeat expired; how many."""
        requeued = 0
        for member in self.server.smembers(self.keys.workers):
            worker = member.decode()
            if worker == self.worker and not include_self:
                continue
            if worker == self.worker:  # an earlier life of this worker: its alive key is ours now
                count = self._requeue_held(self.keys.held(), worker, alive_key=self.keys.prefix + "never")
            else:
                count = self._requeue_held(self.keys.held(worker), worker, alive_key=self.keys.alive(worker))
            if count > 0:
                logger.warning("worker %s of frontier %s stopped: %d held requests queued again",
                               worker, self.keys.name, count)
                self.stats.inc_value("frontier/requeued", count)
                requeued += count
        return requeued

    def _requeue_held(self, held_key: str, worker: str, alive_key: str) -> int:
        return self._requeue_if_dead(keys=[alive_key, held_key, self.queue.key, self.keys.workers], args=[worker])

    def _wake(self) -> None:
        """Hand an idle engine the next queued request (``engine.crawl`` makes it ask at once)."""
        popped = self.queue.pop_held(self.keys.held(), str(next(self._tokens)))
        if popped is not None:
            request, field = popped
            request.meta[HELD] = field
            request.meta[_WAKE] = True
            self.holds.hold(field)
            self._idle = False
            self.stats.inc_value("scheduler/dequeued/redis")
            self.crawler.engine.crawl(request)

    def spider_idle(self):
        """Nothing is in flight here: drop our holds, then wait while the frontier has work anywhere."""
        self._idle = True
        self.holds.release_all()
        self.requeue_dead_workers()
        if len(self.queue) or self._held_elsewhere():
            raise DontCloseSpider

    def _held_elsewhere(self) -> bool:
        return any(self.server.hlen(self.keys.held(member.decode()))
                   for member in self.server.smembers(self.keys.workers))


def _stopping(crawler, message: str) -> FrontierError:
    """The error that stops the crawl, its message also the crawl's one-line stop message."""
    crawler.stats.set_value("newsarchive/stop_message", message)
    return FrontierError(message)


class _AliveSignal(threading.Thread):
    """Renews the worker's ``alive`` key while the process lives, whatever the reactor is doing."""

    def __init__(self, server, keys: FrontierKeys, worker: str, interval: float, ttl_ms: int):
        super().__init__(name=f"frontier-alive-{worker}", daemon=True)
        self.server, self.keys, self.worker = server, keys, worker
        self.interval, self.ttl_ms = interval, ttl_ms
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.wait(self.interval):
            try:
                self.server.set(self.keys.alive(), os.getpid(), px=self.ttl_ms)
                self.server.sadd(self.keys.workers, self.worker)  # in case a stall got us requeued
            except redis.RedisError as exc:
                logger.warning("frontier heartbeat failed: %s", exc)

    def stop(self) -> None:
        self._stopped.set()
        self.join()
