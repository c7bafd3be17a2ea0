"""A bundled portal of small regional news sites on loopback, with ground truth.

Lets `newsarchive demo`, the end-to-end tests and the benchmarks crawl real HTTP
without network access. See ``portal.DemoPortal``.
"""

from crawler.demo.sites import DemoSite, ExpectedArticle

__all__ = ["DemoPortal", "DemoSite", "ExpectedArticle", "RequestLogEntry"]


def __getattr__(name: str):
    # Imported on first use so that `python -m crawler.demo.portal` does not load the module twice.
    if name in ("DemoPortal", "RequestLogEntry"):
        from crawler.demo import portal

        return getattr(portal, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
