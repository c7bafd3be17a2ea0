"""``newsarchive history URL``: every version of an article and what changed between them.

The command only formats; archive.versions reads the catalog and makes the diffs.
"""

from __future__ import annotations

import json

import click

from archive.datadir import DataDir
from crawler.cli import cli, data_option


@cli.command("history")
@click.argument("url")
@data_option
@click.option("--json", "as_json", is_flag=True, help="Versions, changes and removal as one JSON object.")
def history_command(url, data_dir, as_json):
    """Show every version of an article, a diff between each two, and whether it was removed.

    A new version is recorded when a re-crawl finds a changed title, date or
    text; a page that answers 404 or 410 on a re-check is marked removed. Each
    version points at the WARC record that first showed it.

    \b
    Example:
        newsarchive history https://example.kz/kk/news/123
        newsarchive history https://example.kz/kk/news/123 --json
    """
    from archive.query import connect
    from archive.versions import article_history

    conn = connect(DataDir(data_dir).catalog_path)
    try:
        history = article_history(conn, url)
    finally:
        conn.close()
    if as_json:
        click.echo(json.dumps(history.as_dict(), ensure_ascii=False, indent=2))
        return
    count = len(history.versions)
    click.echo(f"{history.url}: {count} version{'s' if count != 1 else ''}")
    if history.removed_at:
        click.echo(f"removed: gone (HTTP 404/410) since {history.removed_at}, crawl {history.removed_crawl_id}")
    changes = {change.after: change for change in history.changes}
    for version in history.versions:
        click.echo("")
        click.echo(f"version {version.version} · first seen {version.fetched_at} · crawl {version.crawl_id}")
        click.echo(f"  title: {version.title or '(no title)'}")
        click.echo(f"  published: {version.published or 'unknown'}")
        click.echo(f"  warc: {version.warc_filename} offset {version.warc_offset} length {version.warc_length}")
        change = changes.get(version.version)
        if change is None:
            continue
        if change.published:
            click.echo(f"  published changed: {change.published[0] or 'unknown'} -> {change.published[1] or 'unknown'}")
        for line in change.title + change.text:
            click.echo(f"  {line}")
