"""The private-address rule for what a rendered page's script makes the browser fetch.

Scrapy's PrivateAddressMiddleware checks the page request; a script can then
ask the browser for ``http://169.254.169.254/`` or ``http://10.0.0.5/admin``
from inside the operator's network. This guard applies the same rule to every
request of the page (seed hosts and ``NEWSARCHIVE_ALLOW_PRIVATE`` allowed),
through a Playwright route: a refused request is aborted (the page sees
``net::ERR_BLOCKED_BY_CLIENT``) and counted as ``ssrf/refused``.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from crawler.middlewares.ssrf import refusal_reason

logger = logging.getLogger(__name__)


class AddressGuard:
    def __init__(self, seed_hosts: set[str], stats=None):
        self.seed_hosts = {host.lower() for host in seed_hosts}
        self.stats = stats
        self._verdicts: dict[str, str | None] = {}  # host -> refusal reason or None

    async def refusal(self, host: str) -> str | None:
        """Why the browser may not fetch from ``host``, or None."""
        host = host.lower()
        if host in self.seed_hosts:
            return None
        if host not in self._verdicts:
            self._verdicts[host] = await refusal_reason(host)
        return self._verdicts[host]

    async def route(self, route, request) -> None:
        """A Playwright route handler: abort a refused request, hand the others on."""
        host = urlsplit(request.url).hostname
        reason = await self.refusal(host) if host and urlsplit(request.url).scheme in ("http", "https") else None
        if reason:
            if self.stats is not None:
                self.stats.inc_value("ssrf/refused")
            logger.warning("browser request refused %s: %s (use --allow-private to fetch it)", request.url, reason)
            await route.abort("blockedbyclient")
            return
        await route.fallback()
