"""``newsarchive``: one command line for archivists and data users.

Each command parses its options, calls one library function and reports; a
user's mistake (a bad URL, an unwritable data directory) is one line on stderr
and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import signal
from pathlib import Path

import click

from archive import __version__
from archive.errors import NewsArchiveError

DEFAULT_DATA = "data"


class _OneLineErrors(click.Group):
    """Turn the library's named errors into one readable line."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except NewsArchiveError as exc:
            raise click.ClickException(str(exc)) from None


def stop_like_ctrl_c() -> None:
    """SIGINT and SIGTERM both raise KeyboardInterrupt, so a foreground server stops its child cleanly.

    Set explicitly: a process started in the background by a shell without job control inherits
    SIGINT ignored, and Python then installs no KeyboardInterrupt for it.
    """
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.default_int_handler)


def data_option(command):
    return click.option("--data", "data_dir", default=DEFAULT_DATA, show_default=True,
                        type=click.Path(path_type=Path),
                        help="Data directory: WARC files in warc/, the catalog in catalog.db.")(command)


@click.group(cls=_OneLineErrors)
@click.version_option(__version__, prog_name="newsarchive")
def cli():
    """Archive regional news sites into WARC files and a searchable SQLite catalog.

    \b
    Example:
        newsarchive demo
        newsarchive crawl https://example.kz/kk/news --data ./data
    """


def main():
    cli(prog_name="newsarchive")


# Commands register themselves on the group when their module is imported.
from crawler.cli import archive, crawl, extract, history, merge, query, replay, report, schedule, sites  # noqa: E402,F401
