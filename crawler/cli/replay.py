"""Commands that index, package and replay an archive: index, wacz, replay."""

from crawler.cli import cli  # noqa: F401
