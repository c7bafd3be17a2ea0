"""Commands that check and rebuild an archive: verify (and repair), reindex."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from crawler.cli import cli, data_option

PROBLEMS_SHOWN = 20


def _profile_options(sites_file: Path):
    """url -> the extract options of its site's profile; every profile must be valid.

    A profile left out would rebuild its site's rows differently from its
    crawls, so an invalid file stops the reindex before anything is replaced.
    """
    from archive.profiles import extraction_options, profile_for_url
    from crawler.cli.sites import load_or_fail

    profiles, errors = load_or_fail(sites_file)
    if errors:
        raise click.ClickException(f"{sites_file} has {len(errors)} invalid profile(s) (above); "
                                   "fix them first: reindex would rebuild their sites' rows differently")
    return lambda url: extraction_options(profile_for_url(profiles, url))


@cli.command()
@data_option
@click.option("--repair", is_flag=True,
              help="First recover from a killed crawl: cut .open WARC files back to the last complete exchange, "
                   "index the records the catalog missed, mark the dead crawl interrupted.")
@click.option("--no-catalog", is_flag=True, help="Check the WARC files only, not the catalog's pointers into them.")
def verify(data_dir, repair, no_catalog):
    """Check that the WARC files are intact and the catalog points where it says.

    Recomputes every record's block and payload digests, checks each file opens
    with its warcinfo record, record ids are unique, requests and responses are
    linked, revisits name a real original, and every catalog row opens the
    record it names. Exits 1 if anything is wrong.

    \b
    Example:
        newsarchive verify --data ./data
        newsarchive verify --data ./data --repair     # after a crawl was killed
    """
    from archive.recover import recover
    from archive.verify import verify as verify_archive

    if repair:
        for line in recover(data_dir).describe():
            click.echo("repair: " + line)
    report = verify_archive(data_dir, check_catalog=not no_catalog)
    catalog = "" if no_catalog else f"; {report.rows_checked} catalog rows checked"
    click.echo(f"{data_dir}: {report.files} WARC files, {report.records} records "
               f"({report.responses} responses, {report.revisits} revisits){catalog}")
    if report.ok:
        click.echo("OK: every digest matches" + ("" if no_catalog else " and every catalog row opens its record"))
        return
    click.echo(f"{report.problem_count} problem{'s' if report.problem_count != 1 else ''}:")
    for line in report.problems[:PROBLEMS_SHOWN]:
        click.echo("  " + line)
    if report.problem_count > PROBLEMS_SHOWN:
        click.echo(f"  ... and {report.problem_count - PROBLEMS_SHOWN} more")
    sys.exit(1)


@cli.command()
@data_option
@click.option("--into", type=click.Path(path_type=Path), default=None,
              help="Write the new catalog here (must not exist) and leave the current one alone.")
@click.option("--workers", type=click.IntRange(min=0), default=0, show_default=True,
              help="Extraction processes (0: one per core).")
@click.option("--timezone", default="Asia/Almaty", show_default=True, help="Zone of dates shown without an offset.")
@click.option("--file", "sites_file", type=click.Path(path_type=Path), default=None,
              help="Site profiles (sites.toml) the crawls used: each page is extracted with the options of the "
                   "profile whose scope has its host (timezone, article URL pattern, boilerplate selectors).")
def reindex(data_dir, into, workers, timezone, sites_file):
    """Rebuild the catalog from the WARC files alone.

    Without --into, the current catalog.db is kept as catalog.db.bak-<time> and
    replaced. The errors table cannot be rebuilt: failed fetches left no record.
    Crawls made with `crawl --site` are rebuilt alike only with --file.

    \b
    Example:
        newsarchive reindex --data ./data
        newsarchive reindex --data ./data --into /tmp/catalog-check.db --workers 2
        newsarchive reindex --data ./data --file sites.toml
    """
    from archive.reindex import reindex as reindex_archive

    options_for = _profile_options(sites_file) if sites_file is not None else None
    report = reindex_archive(data_dir, into, workers=workers, timezone=timezone, options_for=options_for)
    for note in report.skipped:
        click.echo("skipped " + note)
    click.echo(f"read {report.files} WARC files, {report.records} records: {report.captures} captures, "
               f"{report.articles} articles, {report.crawls} crawls")
    click.echo(f"extracted {report.pages_extracted} pages with {report.workers} workers in "
               f"{report.seconds:.1f} s ({report.pages_per_second:.0f} pages/s)")
    click.echo(f"catalog: {report.catalog}" + (f"   previous one kept as {report.backup}" if report.backup else ""))
