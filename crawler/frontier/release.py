"""Spider middleware that tells the shared frontier when a held request's links are all queued.

A page popped from Redis stays held (see :mod:`crawler.frontier.scheduler`)
until its callback is over, and each request the callback yields holds it too
until that request is in the queue: Scrapy hands callback output on through a
buffer, so the end of the callback alone does not mean its links are in Redis.
It is the outermost spider middleware, so it sees exactly what reaches the engine.
"""

from __future__ import annotations

from scrapy import Request
from scrapy.exceptions import NotConfigured
from scrapy.utils.misc import load_object

from crawler.frontier.scheduler import CHILD_OF, HELD, SharedFrontierScheduler


class HeldRequestsMiddleware:
    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        if not issubclass(load_object(crawler.settings["SCHEDULER"]), SharedFrontierScheduler):
            raise NotConfigured  # an ordinary crawl: nothing is held
        return cls(crawler)

    async def process_spider_output(self, response, result):
        field = response.meta.get(HELD)
        holds = self.crawler.engine.scheduler.holds if field else None
        try:
            async for output in result:
                if holds is not None and isinstance(output, Request):
                    output.meta.pop(HELD, None)  # a new request, not the held one again
                    output.meta[CHILD_OF] = field
                    holds.add_child(field)
                yield output
        finally:
            if holds is not None:
                holds.release(field)  # the response's own reference
