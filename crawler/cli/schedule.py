"""``newsarchive schedule`` and ``run-due``: each site crawled on its own rhythm.

``run-due`` is made for cron or a systemd timer: it crawls every due site once,
one after another, each in its own process (a crash, a memory leak or a stuck
reactor ends with that process), under a per-site lock so that an overlapping
run never crawls the same site twice at once. Each crawl's output goes to
``<data>/logs/<site>/<time>-<pid>.log``.
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
from crawler.cli.sites import file_option, load_or_fail


def _when(moment: datetime | None) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if moment else "now"


def _result(crawl: dict | None, locked: bool) -> str:
    if crawl is None:
        return "never crawled"
    if crawl["status"] == "running":
        return "running" if locked else "stopped before finishing (killed or crashed)"
    counts = f"{crawl['pages'] or 0} pages, {crawl['articles'] or 0} articles, {crawl['errors'] or 0} errors"
    return f"{crawl['status']} ({counts})"


@cli.command()
@file_option
@data_option
def schedule(sites_file, data_dir):
    """Each site's last crawl, its result, and when it is next due.

    \b
    Example:
        newsarchive schedule --file sites.toml --data ./data
    """
    from archive.schedule import plan, read_crawls, site_locked

    profiles, _ = load_or_fail(sites_file)
    data = DataDir(data_dir)
    now = datetime.now(timezone.utc)
    click.echo(f"{'SITE':20} {'CADENCE':14} {'LAST CRAWL':21} {'NEXT DUE':21} RESULT")
    for entry in plan(profiles, read_crawls(data.catalog_path)):
        last = entry.last_crawl
        started = datetime.fromisoformat(last["started_at"].replace("Z", "+00:00")) if last else None
        due = "due now" if entry.is_due(now) else _when(entry.next_due)
        click.echo(f"{entry.profile.id:20} {entry.profile.cadence.text:14} {_when(started) if last else '-':21} "
                   f"{due:21} {_result(last, site_locked(data.path, entry.profile.id))}")


def crawl_command(profile, data_dir: Path) -> list[str]:
    """The ``newsarchive crawl`` command line of one site's crawl."""
    command = [sys.executable, "-m", "crawler.cli", "crawl", *profile.start_urls, "--data", str(data_dir)]
    for name, value in profile.politeness.items():
        command += ["-s", f"{name}={value}"]
    if profile.page_budget:
        command += ["--site-budget", str(profile.page_budget)]
    return command


def run_site(profile, data_dir: Path, now: datetime) -> tuple[bool, str]:
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
                crawl = subprocess.Popen(crawl_command(profile, data_dir), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, pass_fds=(lock.fd,))
                lock.record_holder(crawl.pid)
                returncode = crawl.wait()
    except SiteBusy as exc:
        return True, f"skipped: {exc}"
    output = [line for line in log_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    summary = next((line for line in output if line.startswith("crawl ")), "")
    if returncode == 0:
        return True, summary or "finished"
    reason = summary or (output[-1] if output else "no output")
    return False, f"FAILED (exit {returncode}): {reason}  [log: {log_path}]"


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
        succeeded, line = run_site(profile, data.path, datetime.now(timezone.utc))
        failures += not succeeded
        click.echo(f"{profile.id}: {line}")
    click.echo(f"{len(due) - failures} of {len(due)} due crawl(s) ran without failing")
    if failures or errors:
        sys.exit(1)
