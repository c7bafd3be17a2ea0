"""Commands that check and rebuild an archive: verify, reindex."""

from crawler.cli import cli  # noqa: F401
