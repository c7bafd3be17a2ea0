"""Archivists' commands: crawl sites, and the demo that shows a crawl end to end."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from urllib.parse import urlsplit

import click

from archive.datadir import DataDir
from archive.urls import origin
from crawler.cli import cli, data_option


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.BadParameter(f"{url!r} is not an http(s) URL (example: https://example.kz/kk/news)",
                                 param_hint="URL")
    return url


def _parse_overrides(pairs: tuple[str, ...]) -> dict:
    overrides = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{pair!r} is not NAME=VALUE (example: -s DOWNLOAD_DELAY=2)", param_hint="-s")
        overrides[name.strip()] = value
    return overrides


def _recover(data_dir: Path) -> DataDir:
    """Prepare the data dir and repair what a crash left in it, saying what was done."""
    from archive.recover import recover

    data = DataDir(data_dir).prepare()
    for line in recover(data.path).describe():
        click.echo(f"recovered: {line}", err=True)
    return data


def _crawl(urls, data_dir: Path, overrides: dict, max_pages: int, site_budget: int, resume: bool = False,
           spider_args: dict | None = None, crawl_id: str | None = None) -> dict:
    """Recover the data dir from any crash, run a crawl, and return its ``crawls`` row.

    Given ``crawl_id`` (a part of a split crawl, or a crawl to resume already
    chosen), the caller has recovered the data dir and the crawl has that id.
    The row carries the crawl's trouble counters under ``"trouble"`` (not a column).
    """
    from archive.catalog import Catalog
    from crawler.runner import run_crawl

    if crawl_id is None:
        data = _recover(data_dir)
        if resume:
            crawl_id, seeds = _crawl_to_resume(data)
            urls = urls or seeds
    else:
        data = DataDir(data_dir).prepare()
    overrides = {"NEWSARCHIVE_DATA_DIR": str(data.path), **overrides}
    result = run_crawl(list(urls), overrides, crawl_id=crawl_id, resume=resume,
                       max_pages=max_pages, site_budget=site_budget, spider_args=spider_args)
    if result.stop_message:
        raise click.ClickException(f"crawl {result.crawl_id} stopped: {result.stop_message}")
    with Catalog(data.catalog_path, read_only=True) as catalog:
        rows = list(catalog.db.query("select * from crawls where id = ?", [result.crawl_id]))
    if not rows:
        raise click.ClickException(f"crawl {result.crawl_id} did not start; see the log above")
    return {**rows[0], "trouble": result.trouble}


def _site_profile(site_id: str, sites_file: Path):
    """The profile ``--site`` names, or one line saying why it cannot be crawled (file:line when invalid)."""
    from archive.profiles import load_profiles
    from crawler.cli.sites import checked_settings

    if not sites_file.exists():
        raise click.ClickException(f"no profiles file {sites_file} (start one with: newsarchive sites add URL)")
    profiles, errors = checked_settings(*load_profiles(sites_file), sites_file)
    for profile in profiles:
        if profile.id == site_id:
            return profile
    for error in errors:
        if error.site == site_id:
            raise click.ClickException(f"site {site_id} cannot be crawled: {error}")
    known = ", ".join(profile.id for profile in profiles) or "none valid"
    unplaced = next((f"; first error: {error}" for error in errors if error.site is None), "")
    raise click.ClickException(f'no site "{site_id}" in {sites_file} (sites: {known}){unplaced}')


def _crawl_to_resume(data: DataDir) -> tuple[str, list[str]]:
    """The latest crawl that did not finish, and its seeds."""
    from archive.catalog import Catalog

    if not data.catalog_path.exists():
        raise click.ClickException(f"nothing to resume: no catalog in {data.path}")
    with Catalog(data.catalog_path, read_only=True) as catalog:
        rows = list(catalog.db.query(
            "select id, seeds from crawls where status != 'finished' order by started_at desc limit 1"))
    if not rows:
        raise click.ClickException(f"nothing to resume: every crawl in {data.path} finished")
    return rows[0]["id"], json.loads(rows[0]["seeds"])


def _report(crawl: dict, data: DataDir) -> None:
    click.echo(
        f"crawl {crawl['id']}: {crawl['status']}; {crawl['pages']} responses archived "
        f"({(crawl['bytes'] or 0) / 1e6:.1f} MB of WARC), {crawl['articles']} articles catalogued, "
        f"{crawl['errors']} fetch errors")
    if crawl.get("trouble"):
        from crawler.trouble import trouble_line

        click.echo(trouble_line(crawl["trouble"]))
    click.echo(f"WARC files: {data.warc_dir}   catalog: {data.catalog_path}")


@cli.command()
@click.argument("urls", nargs=-1, callback=lambda ctx, p, v: [_check_url(u) for u in v])
@data_option
@click.option("--max-pages", type=click.IntRange(min=0), default=0, help="Stop after this many requests (0: no limit).")
@click.option("--site-budget", type=click.IntRange(min=0), default=0,
              help="Requests per site, so a trap cannot run forever (default: NEWSARCHIVE_SITE_BUDGET).")
@click.option("--depth", type=click.IntRange(min=0), default=None, help="Link depth limit (Scrapy DEPTH_LIMIT).")
@click.option("--contact", help="E-mail or URL put in the User-Agent so site owners can reach you.")
@click.option("--operator", help="Who runs this crawl; written into every warcinfo record.")
@click.option("--no-extract", is_flag=True, help="Archive only; extract later from the WARC files.")
@click.option("-s", "--set", "settings", multiple=True, metavar="NAME=VALUE", help="Override a Scrapy setting.")
@click.option("--site", "site_id", metavar="ID",
              help="Crawl this site of the profiles file: its start URLs, scope, article URL pattern, timezone, "
                   "politeness, page budget and boilerplate selectors.")
@click.option("--file", "sites_file", default="sites.toml", show_default=True, type=click.Path(path_type=Path),
              help="The site profiles file --site reads.")
@click.option("--full", is_flag=True,
              help="Fetch every page again, not only what changed since the last crawl (NEWSARCHIVE_INCREMENTAL=False).")
@click.option("--resume", is_flag=True,
              help="Continue the latest crawl that did not finish (killed or stopped), without refetching.")
@click.option("--allow-private", is_flag=True,
              help="Also fetch private, loopback and link-local addresses outside the start URLs' hosts.")
@click.option("--render", is_flag=True,
              help="Browser mode: load pages in Debian's headless Chromium and archive every exchange they make "
                   "(for sites whose news is built by JavaScript; needs pip install '.[render]').")
@click.option("--redis", "redis_url", metavar="URL",
              help="Be one worker of a shared frontier in this Redis (scrapy-redis), e.g. redis://host:6379/0.")
@click.option("--frontier", metavar="NAME", help="With --redis: the shared frontier's name (default: from the seeds).")
@click.option("--worker", metavar="ID",
              help="With --redis: this worker's id, also put in its WARC file names (default: host-pid).")
@click.option("--processes", metavar="N|auto",
              help="Split the sites over N crawl processes, never one host in two (auto: one per core; "
                   "default: NEWSARCHIVE_PROCESSES, 1).")
@click.option("--crawl-id", "part_id", hidden=True, help="A part of a split crawl: its crawl id (set by the parent).")
@click.option("--settings-json", hidden=True, help="A part of a split crawl: the parent's setting overrides.")
@click.option("-v", "--verbose", is_flag=True, help="Show Scrapy's log (LOG_LEVEL=INFO).")
def crawl(urls, data_dir, max_pages, site_budget, depth, contact, operator, no_extract, settings, resume,
          allow_private, verbose, site_id, sites_file, full, render, redis_url, frontier, worker, processes,
          part_id, settings_json):
    """Crawl news sites from their start URLs into WARC files and the catalog.

    Polite by default: robots.txt and its Crawl-delay, AutoThrottle, one request
    at a time per host. Any Scrapy setting can be overridden with -s (also over
    a profile's politeness).

    \b
    Example:
        newsarchive crawl https://example.kz/kk/news --data ./data --max-pages 500 --contact me@example.org
        newsarchive crawl --site atyrau --file sites.toml --data ./data
        newsarchive crawl --resume --data ./data
        newsarchive crawl --processes 2 --no-extract https://a.example.kz/news https://b.example.kz/news
        newsarchive crawl --redis redis://127.0.0.1:6379/0 --worker w1 https://example.kz/kk/news
        newsarchive crawl --render https://www.gov.kz/memleket/entities/atyrau/press/news
    """
    profile = None
    if site_id:
        if urls:
            raise click.UsageError("give start URLs or --site, not both (the profile has the start URLs)")
        profile = _site_profile(site_id, sites_file)
        urls = list(profile.start_urls)
        site_budget = site_budget or profile.page_budget
    # The profile's politeness and timezone are applied in the crawl (crawler.middlewares.scope.ProfileSettings).
    overrides = {"LOG_LEVEL": "INFO" if verbose else "WARNING"}
    if depth is not None:
        overrides["DEPTH_LIMIT"] = depth
    if contact:
        overrides["NEWSARCHIVE_CONTACT"] = contact
    if operator:
        overrides["NEWSARCHIVE_OPERATOR"] = operator
    if no_extract:
        overrides["NEWSARCHIVE_EXTRACT"] = False
    if allow_private:
        overrides["NEWSARCHIVE_ALLOW_PRIVATE"] = True
    if full:
        overrides["NEWSARCHIVE_INCREMENTAL"] = False
    if render or (profile is not None and profile.render):
        try:
            import scrapy_playwright  # noqa: F401
        except ImportError:
            raise click.ClickException("browser mode needs scrapy-playwright: pip install 'newsarchive[render]' "
                                       "(and Debian's chromium: apt-get install chromium)") from None
        from crawler.render import render_overrides

        # --render renders every site; a profile's `render = true` renders its own start URLs' origins.
        overrides.update(render_overrides(sites=None if render else sorted({origin(u) for u in urls})))
    if (frontier or worker) and not redis_url:
        raise click.UsageError("--frontier and --worker name a shared frontier: give --redis URL too")
    if redis_url:
        if _processes(processes, {**overrides, **_parse_overrides(settings)}) > 1:
            raise click.UsageError("--processes and --redis do not combine: start one `newsarchive crawl --redis` "
                                   "worker per core instead (each with its own --worker)")
        if resume:
            raise click.UsageError("--resume is not needed with --redis: the frontier in Redis resumes by itself")
        from crawler.frontier import connect, redis_overrides

        overrides.update(redis_overrides(redis_url, frontier, worker))
        connect(redis_url).close()  # one line now, not a traceback mid-crawl, if Redis is not there
    overrides.update(_parse_overrides(settings))
    if settings_json:
        overrides.update(json.loads(settings_json))
    processes = _processes(processes, overrides)
    if not urls and not resume:
        raise click.UsageError("give at least one start URL (example: newsarchive crawl https://example.kz/kk/news)")
    spider_args = {"site_profile": profile.to_json()} if profile else None
    crawl_id = part_id
    if part_id is None and (resume or (processes > 1 and profile is None)):
        from crawler.parallel import new_group_id, parts_to_resume, plan_parts

        data = _recover(data_dir)
        if resume:
            crawl_id, seeds = _crawl_to_resume(data)
            urls = urls or seeds
            parts = parts_to_resume(data.catalog_path, crawl_id, seeds)  # a part resumes with its siblings
        else:
            parts = plan_parts(new_group_id(), list(urls), processes, max_pages)
            parts = parts if len(parts) > 1 else None
        if parts:
            _crawl_parts(parts, data, overrides, site_budget)
            return
    row = _crawl(urls, data_dir, overrides, max_pages, site_budget, resume=resume, spider_args=spider_args,
                 crawl_id=crawl_id)
    _report(row, DataDir(data_dir))
    if row["status"] not in ("finished",):
        sys.exit(1)


def _processes(option: str | None, overrides: dict) -> int:
    """How many crawl processes: the option, else NEWSARCHIVE_PROCESSES; "auto" is one per core."""
    value = option
    if value is None:
        from crawler.runner import project_settings

        value = project_settings(overrides).get("NEWSARCHIVE_PROCESSES", 1)
    text = str(value).strip().lower()
    if text == "auto":
        import os

        return os.cpu_count() or 1
    if not text.isdigit() or int(text) < 1:
        raise click.BadParameter(f"{value!r} is not a number of processes (1, 2, ... or auto)",
                                 param_hint="--processes")
    return int(text)


def _crawl_parts(parts, data: DataDir, overrides: dict, site_budget: int) -> None:
    """Crawl the parts of a split crawl in child processes, then report their totals (exit 1 unless finished)."""
    from archive.catalog import Catalog
    from archive.recover import recover
    from crawler.parallel import (
        PART_ID,
        ParallelCrawl,
        child_command,
        overall_status,
        part_settings,
    )
    from crawler.scheduler import ensure_catalog

    ensure_catalog(data.path)  # before the children open it side by side
    count = len(parts)
    runner = ParallelCrawl(
        parts, data.path, lambda part: child_command(part, data.path, part_settings(part, overrides, count),
                                                     site_budget),
        echo=click.echo, board=_progress_board(parts, overrides))
    outcomes = runner.run()
    status = overall_status(outcomes)
    if status != "finished":  # a child that died left its row "running" and its last records unindexed
        for line in recover(data.path).describe():
            click.echo(f"recovered: {line}", err=True)
    with Catalog(data.catalog_path, read_only=True) as catalog:
        rows = [row for part in parts
                for row in catalog.db.query("select * from crawls where id = ?", [part.crawl_id])]
    total = {name: sum(row[name] or 0 for row in rows) for name in ("pages", "bytes", "articles", "errors")}
    group = PART_ID.fullmatch(parts[0].crawl_id).group("group")
    _report({"id": f"{group} ({count} process{'es' * (count > 1)})", "status": status, **total}, data)
    if status != "finished":
        sys.exit(1)


def _progress_board(parts, overrides: dict):
    """One live board for all children on a terminal (one line per child), as a crawl draws its sites.

    Scrapy is imported only then: the parent of the crawls has no other use for it (its memory counts).
    """
    if not sys.stderr.isatty():
        return None
    from crawler.extensions.progress import CrawlProgress, SiteProgress
    from crawler.runner import project_settings

    if not project_settings(overrides).getbool("NEWSARCHIVE_PROGRESS", True):
        return None
    progress = CrawlProgress(sys.stderr)
    names = {part.label: f"{part.label} {part.hosts}" for part in parts}

    def draw(counts: dict[str, dict], final: bool) -> None:
        now = progress.clock()
        for label, figures in counts.items():
            line = progress.board.sites.setdefault(names[label], SiteProgress())
            if figures["pages"] > line.pages:
                line.first_at = line.first_at if line.first_at is not None else now
                line.last_at = now
            line.pages, line.articles, line.errors = figures["pages"], figures["articles"], figures["errors"]
        progress.redraw(final=final)

    return draw


@cli.command()
@data_option
@click.option("--articles", type=click.IntRange(min=1, max=5000), default=12, show_default=True,
              help="Articles per demo site.")
@click.option("-v", "--verbose", is_flag=True, help="Show Scrapy's log.")
def demo(data_dir, articles, verbose):
    """Serve the bundled demo portal on loopback, crawl it, and show what was archived.

    Three small regional sites (Kazakh, Russian in windows-1251, English) with
    sitemaps, feeds, pagination, print versions, redirects and footers to strip.

    \b
    Example:
        newsarchive demo --data ./demo-data
    """
    from archive.catalog import Catalog
    from crawler.demo.portal import DemoPortal

    data = DataDir(data_dir)
    with DemoPortal(articles_per_site=articles) as portal:
        click.echo("demo portal on loopback: " + "  ".join(site.start_url for site in portal.sites.values()))
        # Loopback and ours: no need to wait between requests.
        overrides = {"LOG_LEVEL": "INFO" if verbose else "WARNING", "AUTOTHROTTLE_ENABLED": False,
                     "DOWNLOAD_DELAY": 0, "CONCURRENT_REQUESTS_PER_DOMAIN": 2}
        row = _crawl([site.start_url for site in portal.sites.values()], data_dir, overrides, 0, 0)
    with Catalog(data.catalog_path, read_only=True) as catalog:
        articles_rows = list(catalog.db.query(
            "select site, published, language, title from articles where crawl_id = ? order by site, published desc",
            [row["id"]]))
    for article in articles_rows:
        click.echo(f"  {article['language'] or '--'}  {(article['published'] or '')[:16]:16}  {article['title']}")
    _report(row, data)


