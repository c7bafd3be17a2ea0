"""Commands that index, package and replay an archive: index, wacz, replay."""

from __future__ import annotations

from pathlib import Path

import click

from archive.datadir import DataDir
from crawler.cli import cli, data_option, stop_like_ctrl_c


def _existing_archive(data_dir: Path) -> DataDir:
    data = DataDir(data_dir)
    if not data.warc_dir.is_dir():
        raise click.ClickException(f"no WARC files in {data.path} (expected {data.warc_dir}); crawl something first")
    return data


def _update_indexes(data: DataDir):
    from archive.cdxj import indexes_dir, update_indexes

    return update_indexes(data.warc_dir, indexes_dir(data.path))


def _a_seed(data: DataDir) -> str:
    """A start URL of the latest crawl, to show a replay address that works."""
    import json

    from archive.catalog import Catalog
    from archive.errors import CatalogError

    try:
        with Catalog(data.catalog_path, read_only=True) as catalog:
            row = next(catalog.db.query("SELECT seeds FROM crawls ORDER BY started_at DESC LIMIT 1"), None)
        return json.loads(row["seeds"])[0]
    except (CatalogError, TypeError, IndexError, ValueError):
        return "https://example.kz/kk/news"


@cli.command()
@data_option
def index(data_dir):
    """Write a CDXJ index for every closed WARC file that lacks an up-to-date one.

    One sorted index per WARC, in <data>/indexes/<warc name>.cdxj, as pywb and
    WACZ readers use it. A WARC is indexed again only when it is newer than its
    index; files still being written (.open) are skipped.

    \b
    Example:
        newsarchive index --data ./data
    """
    data = _existing_archive(data_dir)
    report = _update_indexes(data)
    click.echo(f"indexed {len(report.indexed)} WARC files, {len(report.up_to_date)} already up to date"
               + (f", {len(report.removed)} indexes of missing WARC files removed" if report.removed else ""))
    for path in report.indexed:
        click.echo(f"  {path}")


@cli.command()
@data_option
@click.option("--crawl", "crawl_id", metavar="ID", help="Package only this crawl's WARC files and articles.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="WACZ file to write (default: newsarchive.wacz, or newsarchive-<crawl id>.wacz).")
def wacz(data_dir, crawl_id, output):
    """Package the archive (or one crawl) as a WACZ 1.1.1 file.

    The WACZ holds the WARC files, their CDXJ index, the list of articles with
    their text (pages/pages.jsonl) and a manifest with the SHA-256 of every file.
    It opens in ReplayWeb.page and any WACZ reader.

    \b
    Example:
        newsarchive wacz --data ./data --crawl 20261125T103000Z-ab12cd -o kz-news.wacz
    """
    from archive.wacz import write_wacz

    data = _existing_archive(data_dir)
    output = output or Path(f"newsarchive-{crawl_id}.wacz" if crawl_id else "newsarchive.wacz")
    report = write_wacz(data.path, output, crawl_id=crawl_id)
    click.echo(f"wrote {report.path}: {len(report.warcs)} WARC files, {report.index_lines} index lines, "
               f"{report.pages} pages, {report.bytes / 1e6:.1f} MB")


@cli.command()
@data_option
@click.option("--port", type=click.IntRange(min=0, max=65535), default=8080, show_default=True,
              help="Port to serve on (0: any free port).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; the default keeps the archive on this machine.")
@click.option("-v", "--verbose", is_flag=True, help="Show pywb's log.")
def replay(data_dir, port, host, verbose):
    """Serve the archive with pywb so archived pages open in a browser.

    WARC files are indexed first if needed. pywb runs from its own virtualenv
    (it pins packages Scrapy cannot share): set NEWSARCHIVE_PYWB to its wayback
    command, or create .venv-pywb with pywb 2.10.0. Stop with Ctrl-C.

    \b
    Example:
        newsarchive replay --data ./data --port 8080
        then open http://127.0.0.1:8080/newsarchive/https://example.kz/kk/news
    """
    from archive.replay import ReplayServer

    data = _existing_archive(data_dir)
    report = _update_indexes(data)
    if report.indexed:
        click.echo(f"indexed {len(report.indexed)} WARC files")
    server = ReplayServer(data.path, host=host, port=port)
    # pywb runs in a session of its own (so a Ctrl-C reaches it only through us); a
    # SIGTERM to this command must stop it as a Ctrl-C does, not leave it running.
    stop_like_ctrl_c()
    server.start(foreground_output=verbose)
    click.echo(f"replaying {data.path} with pywb ({server.wayback}) at {server.base_url}")
    click.echo(f"open {server.base_url}<archived URL>, e.g. {server.replay_url(_a_seed(data))}")
    click.echo("Ctrl-C to stop")
    try:
        status = server.wait()
    except KeyboardInterrupt:
        status = 0
    finally:
        tail = "" if verbose else server.log_tail()
        server.stop()
    if status not in (0, -2, -15):
        raise click.ClickException(f"pywb stopped with status {status}\n{tail}")
