"""URL identity: one article, one URL, whatever variant a link used.

Links to the same article differ by session ids (``?sid=``, ``;jsessionid=``),
tracking parameters (``utm_*``, ``fbclid``), fragments, default ports and host
case. :func:`clean_url` removes exactly those differences and nothing that can
select different content, keeping the site's parameter order so the URL we
fetch is one the site itself produces.

Cyrillic paths and internationalised host names (``акимат.қаз``) are written
the way they go on the wire: the path and query percent-encoded as UTF-8, the
host in punycode (``xn--...``). A link written raw and one already
percent-encoded are then the same URL, and the same string Scrapy records.
"""

from __future__ import annotations

import re
from hashlib import blake2b
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

SESSION_PARAMS = frozenset({
    "sid", "sessid", "sessionid", "session_id", "session", "phpsessid", "jsessionid",
    "aspsessionid", "cfid", "cftoken", "s_id", "zenid", "osCsid".lower(),
})
TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "ysclid", "igshid",
    "mc_cid", "mc_eid", "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok", "ref_src", "share",
})
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_")
_PATH_SESSION = re.compile(r";(?:jsessionid|phpsessid|sid)=[^/?#]*", re.IGNORECASE)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_PATH_SAFE = "/%:@!$&'()*+,;=~"
_QUERY_SAFE = _PATH_SAFE + "?"


def is_noise_param(name: str) -> bool:
    """A query parameter that never selects content: a session id or a tracker."""
    lowered = name.lower()
    return lowered in SESSION_PARAMS or lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def clean_url(url: str) -> str:
    """The URL without session ids, trackers, fragment, default port; host lower-cased.

    Returns the input unchanged when it is not an absolute http(s) URL.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return url
    host = _ascii_host(parts.hostname.lower())
    if host is None:
        return url
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if parts.username:
        netloc = f"{parts.username}{':' + parts.password if parts.password else ''}@{netloc}"
    path = quote(_PATH_SESSION.sub("", parts.path), safe=_PATH_SAFE) or "/"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if not is_noise_param(k)]
    query = quote(parts.query, safe=_QUERY_SAFE) if len(kept) == len(pairs) else urlencode(kept)
    return urlunsplit((scheme, netloc, path, query, ""))


def _ascii_host(host: str) -> str | None:
    """The host as sent in DNS: punycode for an IDN; None when it cannot be a host name."""
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return None


def origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL, the unit of crawl scope and politeness; "" for a broken URL."""
    try:
        parts = urlsplit(clean_url(url))
    except ValueError:  # "http://[" and the like, found on real pages
        return ""
    return f"{parts.scheme}://{parts.netloc}"


def url_key(url: str) -> int:
    """A 64-bit digest of ``url``, for sets of URLs seen: an int holds a third of a URL string's memory.

    Two different URLs collide with odds of about n²/2⁶⁵ (10⁻⁸ for a million URLs).
    """
    return int.from_bytes(blake2b(url.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")
