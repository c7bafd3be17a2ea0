"""``newsarchive merge``: bring Scrapyd nodes' shards (their WARC files and catalogs) into one archive.

The command only parses and reports; archive.merge does the work.
"""

from __future__ import annotations

from pathlib import Path

import click

from crawler.cli import cli, data_option


@cli.command("merge")
@click.argument("shards", nargs=-1, metavar="[SHARD_DIR]...", type=click.Path(path_type=Path))
@data_option
@click.option("--link", "mode", flag_value="link", default=True,
              help="Hard-link the shards' WARC files into the central warc/ (copied when on another "
                   "filesystem). The default.")
@click.option("--copy", "mode", flag_value="copy", help="Copy the WARC files (fsynced, checked by sha1).")
@click.option("--move", "mode", flag_value="move",
              help="Link or copy, then delete the shards' own files once the rows are committed.")
def merge_command(shards, data_dir, mode):
    """Fold node shards into the central data dir given by --data.

    Each SHARD_DIR is a data dir a node crawled into (warc/ and catalog.db; the
    Scrapyd pool writes them as DATA/nodes/<worker>, and those are merged when
    no SHARD_DIR is given). Finished WARC files become reachable from DATA/warc;
    then the shard's captures, articles, errors and crawls are added to
    DATA/catalog.db, versions and removals worked out over every node's
    captures together. Merging again changes nothing. A shard with a missing or
    damaged catalog is refused whole: rebuild it with `newsarchive reindex`.

    \b
    Example:
        newsarchive merge --data ./data                      # every ./data/nodes/<worker>
        newsarchive merge /mnt/node2/data --data ./data --copy
    """
    from archive.merge import MergeError, merge

    if not shards:
        shards = tuple(sorted(path.parent for path in (data_dir / "nodes").glob("*/catalog.db")))
        if not shards:
            raise MergeError(f"no shards given and none in {data_dir / 'nodes'}; name the shards' data dirs")
    report = merge(list(shards), data_dir, mode=mode)
    for shard in report.shards:
        for note in shard.skipped:
            click.echo("skipped " + note)
        added = ", ".join(f"{table} +{count}" for table, count in shard.added.items() if count)
        click.echo(f"merged {shard.path}: {shard.files} WARC files ({shard.linked} linked, {shard.copied} copied, "
                   f"{shard.present} already there); {added or 'no new rows'}; "
                   f"{shard.articles_updated} articles and {shard.crawls_updated} crawls updated")
    added = sum(shard.rows_added for shard in report.shards)
    updated = report.total("articles_updated") + report.total("crawls_updated")
    click.echo(f"merged {len(report.shards)} shard{'s' if len(report.shards) != 1 else ''} into {report.central} "
               f"in {report.seconds:.1f} s: {report.total('linked')} files linked, {report.total('copied')} copied; "
               f"{added} rows added, {updated} updated ({report.rows_per_second:.0f} shard rows/s)")
