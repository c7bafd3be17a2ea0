"""``newsarchive schedule``, ``run-due`` and ``scheduler``: each site crawled on its own rhythm.

``run-due`` is made for cron or a systemd timer: it crawls every due site once,
one after another, each in its own process (a crash, a memory leak or a stuck
reactor ends with that process), under a per-site lock so that an overlapping
run never crawls the same site twice at once. Each crawl's output goes to
``<data>/logs/<site>/<time>-<pid>.log``.

``scheduler`` is the long-running alternative (a systemd service): several
crawls at once, started as they fall due, locally or as Scrapyd jobs
(:mod:`crawler.scheduler`, :mod:`crawler.scrapyd`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import click

from archive.datadir import DataDir
from crawler.cli import cli, data_option
from crawler.cli.sites import checked_settings, file_option, load_or_fail
from crawler.scheduler import crawl_command, crawl_outcome


def _when(moment: datetime | None) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if moment else "now"


def _duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``2h07m``."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def _result(crawl: dict | None, locked: bool) -> str:
    from archive.schedule import crawl_duration

    if crawl is None:
        return "never crawled"
    if crawl["status"] == "running":
        return "running" if locked else "stopped before finishing (killed or crashed)"
    counts = f"{crawl['pages'] or 0} pages, {crawl['articles'] or 0} articles, {crawl['errors'] or 0} errors"
    took = crawl_duration(crawl)
    return f"{crawl['status']}{f' in {_duration(took)}' if took is not None else ''} ({counts})"


@cli.command()
@file_option
@data_option
@click.option("--history", type=click.IntRange(min=0), default=0, metavar="N",
              help="Also list each site's N crawls before its last one.")
def schedule(sites_file, data_dir, history):
    """Each site's last crawl, its result and duration, and when it is next due.

    Crawls run by Scrapyd nodes count too: their catalog shards in
    <data>/nodes/<worker>/ are read with the data dir's own catalog.

    \b
    Example:
        newsarchive schedule --file sites.toml --data ./data
        newsarchive schedule --file sites.toml --data ./data --history 5
    """
    from archive.schedule import catalog_paths, is_site_crawl, plan, read_all_crawls, site_locked

    profiles, _ = load_or_fail(sites_file)
    data = DataDir(data_dir)
    now = datetime.now(timezone.utc)
    crawls = read_all_crawls(catalog_paths(data.path))
    click.echo(f"{'SITE':20} {'CADENCE':14} {'LAST CRAWL':21} {'NEXT DUE':21} RESULT")
    for entry in plan(profiles, crawls):
        last = entry.last_crawl
        started = datetime.fromisoformat(last["started_at"].replace("Z", "+00:00")) if last else None
        due = "due now" if entry.is_due(now) else _when(entry.next_due)
        click.echo(f"{entry.profile.id:20} {entry.profile.cadence.text:14} {_when(started) if last else '-':21} "
                   f"{due:21} {_result(last, site_locked(data.path, entry.profile.id))}")
        own = sorted((crawl for crawl in crawls if is_site_crawl(entry.profile, crawl)),
                     key=lambda crawl: crawl["started_at"], reverse=True)
        for earlier in own[1:history + 1]:
            when = _when(datetime.fromisoformat(earlier["started_at"].replace("Z", "+00:00")))
            click.echo(f"{'':20} {'':14} {when:21} {'':21} {_result(earlier, locked=False)}")


def run_site(profile, data_dir: Path, sites_file: Path, now: datetime) -> tuple[bool, str]:
    """Crawl one site in its own process under its lock: (succeeded, one line saying how it went)."""
    from archive.errors import SiteBusy
    from archive.schedule import site_lock

    logs = data_dir / "logs" / profile.id
    log_path = logs / f"{now:%Y%m%dT%H%M%SZ}-{os.getpid()}.log"
    try:
        with site_lock(data_dir, profile.id) as lock:
            logs.mkdir(parents=True, exist_ok=True)
            with open(log_path, "w", encoding="utf-8") as log:
                # The crawl inherits the lock: if run-due is killed, the site stays locked until the crawl ends.
                crawl = subprocess.Popen(crawl_command(profile, data_dir, sites_file), stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, pass_fds=(lock.fd,))
                lock.record_holder(crawl.pid)
                returncode = crawl.wait()
    except SiteBusy as exc:
        return True, f"skipped: {exc}"
    outcome = crawl_outcome(returncode, log_path)
    return outcome.status == "finished", outcome.line


@cli.command("run-due")
@file_option
@data_option
def run_due(sites_file, data_dir):
    """Crawl every site that is due, once, one after another; for cron or a systemd timer.

    Exits 1 if any crawl failed (the others still ran) or any profile is
    invalid (the valid ones still ran), so cron mails and systemd shows it. A
    site whose previous crawl is still running is skipped.

    \b
    Example:
        newsarchive run-due --file sites.toml --data ./data
        # crontab, every 15 minutes:
        */15 * * * * cd /srv/archive && newsarchive run-due --file sites.toml --data data
    """
    from archive.schedule import plan, read_crawls

    profiles, errors = load_or_fail(sites_file)
    data = DataDir(data_dir).prepare()
    now = datetime.now(timezone.utc)
    due = [entry.profile for entry in plan(profiles, read_crawls(data.catalog_path)) if entry.is_due(now)]
    if not due:
        click.echo("nothing is due")
        sys.exit(1 if errors else 0)
    failures = 0
    for profile in due:
        click.echo(f"{profile.id}: crawling {' '.join(profile.start_urls)}")
        succeeded, line = run_site(profile, data.path, sites_file, datetime.now(timezone.utc))
        failures += not succeeded
        click.echo(f"{profile.id}: {line}")
    click.echo(f"{len(due) - failures} of {len(due)} due crawl(s) ran without failing")
    if failures or errors:
        sys.exit(1)


@cli.command()
@file_option
@data_option
@click.option("--max-parallel", type=click.IntRange(min=1), default=2, show_default=True,
              help="Crawls running at once (never two of one site).")
@click.option("--scrapyd", "scrapyd_nodes", multiple=True, metavar="[WORKER=]URL",
              help="Run the crawls as jobs on this Scrapyd node instead of locally; repeat for a pool.")
@click.option("--node-data", default="{data}/nodes/{worker}", show_default=True,
              help="Each Scrapyd node's own data dir, on the node ({data}: --data, {worker}: the node's id).")
@click.option("--deploy", is_flag=True, help="First upload this code to every Scrapyd node (as scrapyd-deploy does).")
@click.option("--grace", type=click.FloatRange(min=0), default=60, show_default=True,
              help="On SIGTERM, seconds to let running crawls stop cleanly before killing them.")
@click.option("--max-wait", type=click.FloatRange(min=0.1), default=60, show_default=True,
              help="Re-read the profiles file at least this often (seconds).")
@click.option("--until-idle", is_flag=True,
              help="Exit once nothing is due or running (a parallel run-due); exit 1 if a crawl failed.")
def scheduler(sites_file, data_dir, max_parallel, scrapyd_nodes, node_data, deploy, grace, max_wait, until_idle):
    """Run as a service: start each site's crawl when it is due, several at once.

    Reads the profiles file again on every pass (at least every --max-wait
    seconds), so edits apply without a restart; a bad profile is reported once
    and skipped. Never crawls one site twice at once, even alongside run-due. A
    crawl that crashes is logged and its site retried when next due. SIGTERM or
    Ctrl-C: no new crawls, running ones stop cleanly (recorded "interrupted"),
    then exit 0. Each crawl's output: <data>/logs/<site>/.

    \b
    Example:
        newsarchive scheduler --file sites.toml --data ./data --max-parallel 3
        newsarchive scheduler --file sites.toml --data /srv/archive \\
            --scrapyd w1=http://10.0.0.5:6800/ --scrapyd w2=http://10.0.0.6:6800/ --deploy
    """
    from archive.profiles import load_profiles
    from crawler.scheduler import LocalLauncher, Scheduler
    from crawler.scrapyd import ScrapydNode, ScrapydPool

    load_or_fail(sites_file)  # a missing file is an error at start; later, a vanished one just idles
    data = DataDir(data_dir).prepare()
    if scrapyd_nodes:
        launcher = ScrapydPool([ScrapydNode.parse(text) for text in scrapyd_nodes], data.path, node_data=node_data)
        if deploy:
            for line in launcher.deploy():
                _log(line)
    else:
        if deploy:
            raise click.UsageError("--deploy goes with --scrapyd URL")
        launcher = LocalLauncher(data.path, sites_file)

    def load(path: Path):
        profiles, errors = load_profiles(path)
        try:
            return checked_settings(profiles, errors, path)
        except OSError:
            return profiles, errors

    loop = Scheduler(sites_file, launcher, max_parallel=max_parallel, echo=_log, load=load,
                     poll_seconds=2.0 if scrapyd_nodes else 1.0, max_wait=max_wait)
    loop.handle_signals()
    where = f"{len(scrapyd_nodes)} Scrapyd node(s)" if scrapyd_nodes else "local processes"
    _log(f"scheduler started: {sites_file}, data {data.path}, up to {max_parallel} crawl(s) at once on {where}")
    line = loop.run(until_idle=until_idle, grace=grace)
    click.echo(line)
    if until_idle and loop.tally["failed"]:
        sys.exit(1)


def _log(line: str) -> None:
    click.echo(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M:%S}Z {line}")
