"""Scrapy's in-memory stats collector without its per-access deprecation check.

Scrapy 2.19's ``StatsCollector.__getattribute__`` runs on every attribute
access (each ``inc_value`` and the ``_stats`` it reads), trying a cached
wrapper first, to warn about the deprecated ``spider`` argument. A crawl makes
several stats calls per request, all on the reactor's one core: py-spy put that
check at ~2 % of the reactor's busy time. The stats themselves are unchanged,
and so is ``spider_stats`` after the crawl.
"""

from __future__ import annotations

from scrapy.statscollectors import MemoryStatsCollector


class LeanStatsCollector(MemoryStatsCollector):
    __getattribute__ = object.__getattribute__
