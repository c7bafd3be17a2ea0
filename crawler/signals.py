"""Signals newsarchive's components send each other through the crawler's signal manager.

The WARC middleware sees every response (redirects, 404s, retried 500s, robots.txt);
the catalog pipeline listens here instead of depending on the middleware.
"""

capture_archived = object()  # capture: archive.warc.Capture, request, response
fetch_failed = object()  # request, reason: str -- no response came back to archive
