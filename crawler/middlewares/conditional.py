"""Downloader middleware that turns a re-check into a conditional request.

The spider attaches :class:`crawler.incremental.Validators` (taken from the
latest capture of the URL) to a request it re-checks; this middleware sends
them as ``If-None-Match`` (the ETag) and ``If-Modified-Since`` (Last-Modified),
so an unchanged page costs the server a 304 and the archive a small revisit
record. The headers go out with the request, so the WARC request record shows
exactly what was asked.

Validators belong to one URL: a request copied by a redirect or a retry
carries the meta along, and a redirect target must not be asked "changed since?"
with another page's ETag, so they are dropped when the URL differs.
"""

from __future__ import annotations

from crawler.incremental import VALIDATORS_META, Validators

_CONDITIONAL_HEADERS = (b"If-None-Match", b"If-Modified-Since")


def sent_validators(request) -> Validators | None:
    """The validators this request went out with (None for an unconditional request)."""
    validators = request.meta.get(VALIDATORS_META)
    return validators if validators is not None and validators.url == request.url else None


class ConditionalRequestMiddleware:
    def process_request(self, request):
        validators = request.meta.get(VALIDATORS_META)
        if validators is None:
            return
        for name in _CONDITIONAL_HEADERS:
            request.headers.pop(name, None)
        if validators.url != request.url:  # a redirect of the URL they belong to
            del request.meta[VALIDATORS_META]
            return
        if validators.etag:
            request.headers[b"If-None-Match"] = validators.etag.encode("latin-1")
        if validators.last_modified:
            request.headers[b"If-Modified-Since"] = validators.last_modified.encode("latin-1")
