"""``newsarchive sites``: the profiles file an archivist keeps of the sites they look after."""

from __future__ import annotations

import re
import sys
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

import click

from crawler.cli import cli

DEFAULT_SITES_FILE = "sites.toml"
NEW_FILE_HEADER = """\
# newsarchive site profiles: one [sites.<id>] table per site, shared settings in [presets.<name>].
# Check with `newsarchive sites check`; see `newsarchive sites --help`.
"""


def file_option(command):
    return click.option("--file", "sites_file", default=DEFAULT_SITES_FILE, show_default=True,
                        type=click.Path(path_type=Path), help="The site profiles file (TOML).")(command)


def load_or_fail(sites_file: Path):
    """The valid profiles; every error on stderr (a bad profile never hides the good ones)."""
    from archive.profiles import load_profiles

    if not sites_file.exists():
        raise click.ClickException(f"no profiles file {sites_file} (start one with: newsarchive sites add URL)")
    profiles, errors = load_profiles(sites_file)
    profiles, errors = checked_settings(profiles, errors, sites_file)
    for error in errors:
        click.echo(f"error: {error}", err=True)
    return profiles, errors


def known_setting_names() -> set[str]:
    """Scrapy's settings and newsarchive's own: what a profile's politeness table may set."""
    from scrapy.settings import default_settings

    from crawler import settings

    return {name for module in (default_settings, settings) for name in dir(module) if name.isupper()}


def checked_settings(profiles, errors, sites_file: Path):
    """Move profiles whose politeness names a setting nobody reads (a typo does nothing) to the errors."""
    from difflib import get_close_matches

    from archive.profiles import KeyLines, ProfileError

    known = known_setting_names()
    lines = KeyLines(sites_file.read_text(encoding="utf-8"))
    good = []
    for profile in profiles:
        unknown = [name for name in profile.politeness if name not in known]
        if not unknown:
            good.append(profile)
            continue
        name = unknown[0]
        keys = [("sites", profile.id, "politeness", name), ("presets", profile.extends or "", "politeness", name)]
        line = next((lines.line(key) for key in keys if lines.line(key) > lines.line(key[:2])), profile.line)
        guess = get_close_matches(name, known, n=1)
        hint = f"; did you mean {guess[0]}?" if guess else ""
        errors.append(ProfileError(str(sites_file), line, profile.id,
                                   f'politeness "{name}" is not a Scrapy or newsarchive setting{hint}'))
    return good, sorted(errors, key=lambda error: error.line)


@cli.group()
def sites():
    """Site profiles: list, check and add the sites to archive.

    \b
    Example:
        newsarchive sites add https://atyrau.example.kz/ru/news/ --id atyrau
        newsarchive sites check
        newsarchive sites list
    """


@sites.command("list")
@file_option
def list_sites(sites_file):
    """One line per valid site: id, cadence, timezone, start URLs, name."""
    profiles, _ = load_or_fail(sites_file)
    for profile in profiles:
        extends = f" (extends {profile.extends})" if profile.extends else ""
        click.echo(f"{profile.id:20} {profile.cadence.text:14} {profile.timezone:16} "
                   f"{' '.join(profile.start_urls)}  {profile.name}{extends}")


@sites.command()
@file_option
def check(sites_file):
    """Validate every profile; print each error as file:line; exit 1 if there is any."""
    profiles, errors = load_or_fail(sites_file)
    click.echo(f"{sites_file}: {len(profiles)} valid site(s), {len(errors)} error(s)")
    if errors:
        sys.exit(1)


@sites.command()
@click.argument("url")
@file_option
@click.option("--id", "site_id", help="Profile id (default: made from the host name).")
@click.option("--cadence", default="daily", show_default=True, help='How often to crawl: "6h", "daily", cron.')
@click.option("--pause", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="Seconds between the probe's requests (or robots.txt's Crawl-delay if longer).")
@click.option("--contact", help="E-mail or URL put in the probe's User-Agent.")
def add(url, sites_file, site_id, cadence, pause, contact):
    """Probe a site (robots.txt, sitemaps, feeds, pagination, article links) and append its profile.

    At most five requests, one at a time. The profile is written with the
    findings as comments, for the archivist to edit.

    \b
    Example:
        newsarchive sites add https://atyrau.example.kz/ru/news/ --id atyrau --cadence 6h
    """
    from archive.profiles import load_profiles, parse_cadence, parse_profiles, render_site
    from crawler.cli.crawl import _check_url
    from crawler.probe import probe_site
    from crawler.spiders.news import user_agent

    _check_url(url)
    try:
        parse_cadence(cadence)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--cadence") from None
    site_id = site_id or default_site_id(url)
    existing = ""
    if sites_file.exists():
        existing = sites_file.read_text(encoding="utf-8")
        profiles, errors = load_profiles(sites_file)
        taken = {p.id for p in profiles} | {e.site for e in errors if e.site}
        if site_id in taken:
            raise click.ClickException(f"{sites_file} already has a site {site_id!r}; choose another with --id")
    probe = probe_site(url, user_agent=user_agent(contact or "https://example.invalid/newsarchive"), pause=pause)
    if not probe.reachable:
        raise click.ClickException(f"{probe.problems[-1]}; nothing added to {sites_file}")
    text = render_site(site_id, profile_values(probe, cadence), findings(probe))
    _, errors = parse_profiles(text, str(sites_file))
    if errors:  # never append what `sites check` would reject
        raise click.ClickException(f"the probe's profile is not valid: {errors[0]}")
    separator = "" if not existing else ("\n" if existing.endswith("\n") else "\n\n")
    with open(sites_file, "a", encoding="utf-8") as out:
        out.write((NEW_FILE_HEADER if not existing else "") + separator + "\n" + text)
    for problem in probe.problems:
        click.echo(f"warning: {problem}", err=True)
    click.echo(f"added site {site_id} to {sites_file} ({probe.requests} requests): "
               f"{len(probe.sitemaps)} sitemap(s), {len(probe.feeds)} feed(s), "
               f"{len(probe.articles)} sample article(s); edit it, then run `newsarchive sites check`")


def default_site_id(url: str) -> str:
    """``https://www.atyrau.gov.kz/ru`` -> ``atyrau-gov-kz``; ports kept (loopback sites differ only there)."""
    netloc = urlsplit(url).netloc.lower().removeprefix("www.")
    return re.sub(r"[^a-z0-9]+", "-", netloc).strip("-") or "site"


def profile_values(probe, cadence: str) -> dict:
    values = {
        "name": probe.title or urlsplit(probe.url).netloc,
        "languages": [probe.language] if probe.language else None,
        "start_urls": [probe.url],
        "article_url_pattern": probe.article_url_pattern(),
        "timezone": "UTC",
        "cadence": cadence,
    }
    if probe.crawl_delay:
        values["politeness"] = {"DOWNLOAD_DELAY": probe.crawl_delay}
    return values


def findings(probe) -> list[str]:
    """What the probe saw, as comment lines above the profile."""
    today = datetime.now(timezone.utc).date().isoformat()
    lines = [f"Added by `newsarchive sites add` on {today} ({probe.requests} requests). Edit freely:",
             "set timezone, region, country; narrow scope = { path_prefixes = [...], exclude = [...] }."]
    if probe.robots:
        delay = f"Crawl-delay {probe.crawl_delay:g}; " if probe.crawl_delay else ""
        lines.append(f"robots.txt: {delay}disallows {', '.join(probe.disallowed) or 'nothing'}")
    else:
        lines.append("robots.txt: none")
    lines.append(f"sitemaps: {', '.join(probe.sitemaps)} ({probe.sitemap_urls} URLs)" if probe.sitemaps
                 else "sitemaps: none found")
    lines.append(f"feeds: {', '.join(probe.feeds)} ({probe.feed_items} items)" if probe.feeds else "feeds: none found")
    lines.append(f"listing pagination: {', '.join(probe.pagination)}" if probe.pagination
                 else "listing pagination: none found")
    if probe.articles:
        lines.append("sample article URLs:")
        lines += [f"  {article}" for article in probe.articles]
    if probe.article_url_pattern():
        lines.append("article_url_pattern decides: only pages whose URL matches it are catalogued as articles;"
                     " widen or delete it if the site has other article URLs.")
    lines += [f"problem: {problem}" for problem in probe.problems]
    return lines
