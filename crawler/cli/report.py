"""``newsarchive report``: the archive's coverage and crawl history as one HTML page, plus a short summary."""

from __future__ import annotations

import os
from pathlib import Path

import click

from archive.datadir import DataDir
from crawler.cli import cli, data_option


@cli.command("report")
@data_option
@click.option("--site", "site_id", metavar="ID",
              help="Only this site: a host (example.kz, any port) or, with --file, a site profile id.")
@click.option("--file", "sites_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Site profiles (sites.toml): --site may name a profile, and sites show by their profile's name.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="HTML file to write (default: report.html in the data directory).")
def report_command(data_dir, site_id, sites_file, output):
    """Write an HTML report of what the archive holds and how its crawls went, and print a summary.

    The page is one file with inline SVG charts (no script, nothing fetched):
    articles per month per site, with gap months in red; crawl durations and
    errors over time; new, changed and removed articles per crawl; the latest
    crawls and the most frequent errors.

    \b
    Example:
        newsarchive report --data ./data
        newsarchive report --site akimat.example.kz -o akimat.html
        newsarchive report --site atyrau --file sites.toml --data ./data
    """
    from archive.charts import render_html
    from archive.query import connect
    from archive.report import gather, known_sites, profile_names, select_site, summary_lines

    profiles = _profiles(sites_file) if sites_file is not None else []
    data = DataDir(data_dir)
    output = output or data.path / "report.html"
    conn = connect(data.catalog_path)
    try:
        selection = None
        if site_id:
            selection = select_site(conn, site_id, profiles)
            if not selection.sites and not selection.hosts:
                known = ", ".join(known_sites(conn)[:10]) or "none yet"
                raise click.ClickException(f"no articles or captures of site {site_id!r} in {data.catalog_path} "
                                           f"(sites: {known})")
        report = gather(conn, selection, names=profile_names(conn, profiles))
    finally:
        conn.close()
    title = f"newsarchive report: {site_id}" if site_id else "newsarchive report"
    _write(output, render_html(report, title=title))
    for line in summary_lines(report, str(output)):
        click.echo(line)


def _profiles(path: Path) -> list:
    from archive.profiles import load_profiles

    profiles, errors = load_profiles(path)
    if errors and not profiles:
        raise click.ClickException(str(errors[0]))
    for error in errors:
        click.echo(f"skipped: {error}", err=True)
    return profiles


def _write(path: Path, text: str) -> None:
    """Whole or not at all: a browser left open on the old report never sees half a page."""
    partial = path.with_name(path.name + ".partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise click.ClickException(f"cannot write the report to {path}: {exc.strerror}") from None
