"""Downloader middleware that keeps a public page from making the archiver fetch an internal service.

A redirect or a link to ``http://169.254.169.254/`` or ``http://10.0.0.5:8080/admin``
on a public site would otherwise be fetched from inside the operator's network
and archived. Any request to a host that is not a seed host is refused when the
host is, or resolves to, a private, loopback, link-local or otherwise
non-global address, unless ``NEWSARCHIVE_ALLOW_PRIVATE`` (``--allow-private``)
is set. Seed hosts are always allowed: the operator chose them.

Refusals are counted as ``ssrf/refused`` and logged. Known gap: the address is
resolved here and again by the download handler, so a DNS answer that changes
in between (rebinding) is not caught.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.httpobj import urlparse_cached

logger = logging.getLogger(__name__)


def is_internal_address(address: str) -> bool:
    """True for an address no public page should send us to (private, loopback, link-local...)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return True  # not an address at all: refuse rather than guess
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


class PrivateAddressMiddleware:
    def __init__(self, crawler, seed_hosts: set[str]):
        self.crawler = crawler
        self.seed_hosts = seed_hosts
        self._verdicts: dict[str, str | None] = {}  # host -> refusal reason or None

    @classmethod
    def from_crawler(cls, crawler):
        if crawler.settings.getbool("NEWSARCHIVE_ALLOW_PRIVATE"):
            raise NotConfigured
        spider = crawler.spider
        seeds = getattr(spider, "start_urls", None) or []
        return cls(crawler, {(urlsplit(url).hostname or "").lower() for url in seeds})

    async def process_request(self, request):
        host = urlparse_cached(request).hostname
        if not host or host in self.seed_hosts:
            return None
        if host not in self._verdicts:
            self._verdicts[host] = await refusal_reason(host)
        reason = self._verdicts[host]
        if reason:
            self.crawler.stats.inc_value("ssrf/refused")
            logger.warning("refused %s: %s (use --allow-private to fetch it)", request.url, reason)
            raise IgnoreRequest(f"refused: {reason}")
        return None


async def refusal_reason(host: str) -> str | None:
    """Why ``host`` may not be fetched, or None."""
    try:
        ipaddress.ip_address(host.strip("[]"))
        addresses = [host.strip("[]")]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            return None  # unresolvable: the download fails on its own, nothing internal is reached
        addresses = [info[4][0] for info in infos]
    internal = [address for address in addresses if is_internal_address(address)]
    if internal:
        return f"{host} is a non-public address ({internal[0]})"
    return None
