"""``newsarchive scheduler``: a long-running loop that starts each site's crawl when it is due.

Why a loop over :func:`archive.schedule.plan` (croniter computes cron cadences)
rather than APScheduler: the due times already come from the catalog, each
site's cadence applied to its last crawl there, so the catalog is the job store
and a restart, a ``run-due`` from cron or a crawl started by hand are all taken
into account with nothing to keep in sync. APScheduler would keep a second
record of next run times that can disagree with the catalog, and runs its jobs
in threads of its own process, while every crawl here must be a process of its
own (Scrapy's reactor cannot be restarted, and a crash or a leak must end with
its process). What is left to write is small: sleep until the next due time,
start what is due, reap what ended.

Each pass re-reads the profiles file (edits apply without a restart; a bad
profile is reported once and skipped), starts due sites up to
``max_parallel`` at once, never one site twice (the per-site lock of
:func:`archive.schedule.site_lock`, which a concurrent ``run-due`` respects
too), and reaps crawls that ended. A crawl that crashes is reported and its site
retried at its next due time; the ``crawls`` row it left "running" is marked
interrupted by :func:`archive.recover.recover` when the next crawl in that data
directory starts. On SIGTERM or SIGINT the scheduler starts nothing more, asks
the running crawls to stop (Scrapy then closes cleanly and the row ends
"interrupted"), waits a grace period, kills what is left, and returns one line
saying what it did.

Crawls are started by a launcher: :class:`LocalLauncher` (child processes
here) or :class:`crawler.scrapyd.ScrapydPool` (jobs on Scrapyd nodes).
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Protocol

from archive.errors import NewsArchiveError, ScrapydError
from archive.profiles import ProfileError, SiteProfile, load_profiles
from archive.schedule import SiteSchedule, plan, read_all_crawls, site_lock

OUTCOMES = ("finished", "interrupted", "failed")


@dataclass(frozen=True)
class Outcome:
    status: str  # one of OUTCOMES
    line: str  # what happened, in one line, with where to read more


class Crawl(Protocol):
    """A crawl the scheduler started (or found running at its start)."""

    site_id: str
    where: str  # "pid 1234" or "job <id> on <worker>", for the log

    def poll(self) -> Outcome | None:
        """None while it runs; then how it ended."""

    def stop(self) -> None:
        """Ask it to end cleanly (the crawl is recorded "interrupted")."""

    def kill(self) -> None:
        """End it now."""


class Launcher(Protocol):
    def start(self, profile: SiteProfile, now: datetime) -> Crawl:
        """Start the site's crawl; SiteBusy if it is already being crawled, ScrapydError if no node took it."""

    def adopt(self) -> list[Crawl]:
        """Crawls already running when the scheduler starts (Scrapyd jobs of an earlier scheduler)."""

    def history_paths(self) -> list[Path]:
        """The catalogs whose ``crawls`` rows say when each site was last crawled."""


# -- local crawls: child processes ---------------------------------------------------------


def crawl_command(profile: SiteProfile, data_dir: Path, sites_file: Path) -> list[str]:
    """The ``newsarchive crawl --site`` command line of one site's crawl.

    The crawl reads its profile from the file itself (scope, article pattern,
    politeness, budget, timezone...), so an edit made since this pass applies.
    """
    return [sys.executable, "-m", "crawler.cli", "crawl", "--site", profile.id,
            "--file", str(Path(sites_file).resolve()), "--data", str(data_dir)]


def crawl_outcome(returncode: int, log_path: Path, *, stop_requested: bool = False) -> Outcome:
    """How a ``newsarchive crawl`` process ended, from its exit status and its output."""
    try:
        output = [line for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    except OSError:
        output = []
    summary = next((line for line in output if line.startswith("crawl ")), "")
    if returncode == 0:
        return Outcome("finished", summary or "finished")
    reported = re.match(r"crawl \S+: (\w+)", summary)
    status = reported.group(1) if reported and reported.group(1) in OUTCOMES else "failed"
    if returncode < 0:
        how = f"killed by {signal.Signals(-returncode).name}"
        status = "interrupted" if stop_requested else "failed"
    else:
        how = f"exit {returncode}"
    reason = summary or (output[-1] if output else "no output")
    label = "interrupted" if status == "interrupted" else "FAILED"
    return Outcome(status, f"{label} ({how}): {reason}  [log: {log_path}]")


def ensure_catalog(data_dir: Path) -> None:
    """Create (or migrate) the catalog before crawls start side by side.

    Two crawls that both find no catalog race to create it, and the loser's
    switch to WAL fails at once with "database is locked" (seen in the tests);
    opening an existing WAL catalog is only reads, so concurrent crawls then
    open it safely.
    """
    from archive.catalog import Catalog
    from archive.datadir import DataDir

    data = DataDir(data_dir).prepare()
    Catalog(data.catalog_path, warc_dir=data.warc_dir).close()


def spawn_crawl(command: list[str], log_path: Path, *, pass_fds: tuple[int, ...] = ()) -> subprocess.Popen:
    """Start a crawl child process, its output into ``log_path``, in a session of its own.

    Its own session: a Ctrl-C in the terminal reaches the parent only, which then
    stops its children once, cleanly (a second signal would make Scrapy stop uncleanly).
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w", encoding="utf-8") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                pass_fds=pass_fds, start_new_session=True)


class LocalCrawl:
    def __init__(self, site_id: str, process: subprocess.Popen, log_path: Path):
        self.site_id = site_id
        self.process = process
        self.log_path = log_path
        self.where = f"pid {process.pid}"
        self._stop_requested = False

    def poll(self) -> Outcome | None:
        returncode = self.process.poll()
        if returncode is None:
            return None
        return crawl_outcome(returncode, self.log_path, stop_requested=self._stop_requested)

    def stop(self) -> None:
        self._stop_requested = True
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


class LocalLauncher:
    """Each crawl a ``newsarchive crawl`` child process writing into ``data_dir``.

    The child gets the site's lock descriptor and ours is closed at once, so the
    site stays locked exactly as long as its crawl runs, even if the scheduler
    dies first. Children run in their own session (:func:`spawn_crawl`).
    """

    def __init__(self, data_dir: Path, sites_file: Path):
        self.data_dir = Path(data_dir)
        self.sites_file = Path(sites_file)
        self._catalog_ready = False

    def start(self, profile: SiteProfile, now: datetime) -> LocalCrawl:
        if not self._catalog_ready:
            ensure_catalog(self.data_dir)
            self._catalog_ready = True
        logs = self.data_dir / "logs" / profile.id
        log_path = logs / f"{now.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}-{os.getpid()}.log"
        with site_lock(self.data_dir, profile.id) as lock:
            process = spawn_crawl(crawl_command(profile, self.data_dir, self.sites_file), log_path,
                                  pass_fds=(lock.fd,))
            lock.record_holder(process.pid)
        return LocalCrawl(profile.id, process, log_path)

    def adopt(self) -> list[Crawl]:
        return []  # a crawl left by an earlier scheduler holds its site's lock: start() says SiteBusy

    def history_paths(self) -> list[Path]:
        return [self.data_dir / "catalog.db"]


# -- the loop ------------------------------------------------------------------------------


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Scheduler:
    """Start due crawls through ``launcher``, at most ``max_parallel`` at once; see the module docstring.

    ``clock`` decides what is due (tests pin it); ``load`` reads the profiles
    (the CLI's also checks politeness setting names); ``echo`` gets one line per
    event. Waiting is real: at most ``poll_seconds`` while crawls run (a
    crawl's end wakes it at once when :meth:`handle_signals` is on), at most
    ``max_wait`` otherwise, so profile edits apply within that.
    """

    def __init__(self, sites_file: Path, launcher: Launcher, *, max_parallel: int = 2,
                 clock: Callable[[], datetime] = _utc_now, echo: Callable[[str], None] = print,
                 load: Callable[[Path], tuple[list[SiteProfile], list[ProfileError]]] = load_profiles,
                 poll_seconds: float = 1.0, max_wait: float = 60.0, busy_retry: timedelta = timedelta(minutes=1)):
        if max_parallel < 1:
            raise ValueError("max_parallel must be at least 1")
        self.sites_file = Path(sites_file)
        self.launcher = launcher
        self.max_parallel = max_parallel
        self.clock, self.echo, self.load = clock, echo, load
        self.poll_seconds, self.max_wait, self.busy_retry = poll_seconds, max_wait, busy_retry
        self.running: dict[str, Crawl] = {}
        self.most_running = 0  # the most crawls that ran at once
        self.tally: Counter[str] = Counter()  # "started", and each outcome
        self._launched: dict[str, datetime] = {}  # site -> when we started it (its crawl row may not exist)
        self._not_before: dict[str, datetime] = {}  # site -> after a refused start, when to try again
        self._reported: set[str] = set()
        self._stop_signals: list[int] = []
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)

    # -- control -----------------------------------------------------------------------

    def handle_signals(self) -> None:
        """SIGTERM/SIGINT stop the scheduler gracefully; SIGCHLD wakes it when a local crawl ends."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda number, frame: self.request_stop(number))
        signal.signal(signal.SIGCHLD, lambda number, frame: self._wake())

    def request_stop(self, signum: int = signal.SIGTERM) -> None:
        """Stop starting crawls and stop the running ones (a second request: kill them without waiting)."""
        self._stop_signals.append(signum)
        self._wake()

    def _wake(self) -> None:
        try:
            os.write(self._wake_write, b"!")
        except BlockingIOError:  # the pipe is full: it will wake anyway
            pass

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            select.select([self._wake_read], [], [], seconds)
        try:
            while os.read(self._wake_read, 512):
                pass
        except BlockingIOError:
            pass

    # -- running -----------------------------------------------------------------------

    def run(self, *, until_idle: bool = False, max_passes: int = 0, grace: float = 60.0) -> str:
        """Loop until stopped (or idle, or ``max_passes`` done); returns the closing line."""
        for crawl in self.launcher.adopt():
            self.running[crawl.site_id] = crawl
            self.echo(f"{crawl.site_id}: still running from before ({crawl.where})")
        passes = 0
        while not self._stop_signals:
            self.reap()
            now = self.clock()
            wake_at = self.start_due(now)
            passes += 1
            if until_idle and not self.running:
                return self._closing("idle")
            if max_passes and passes >= max_passes:
                return self._closing(f"after {passes} pass(es)")
            wait = self.max_wait if wake_at is None else (wake_at - now).total_seconds()
            self._sleep(max(0.0, min(wait, self.max_wait, self.poll_seconds if self.running else self.max_wait)))
        return self._shutdown(grace)

    def reap(self) -> None:
        """Collect the crawls that ended and say how each went."""
        for site_id, crawl in list(self.running.items()):
            try:
                outcome = crawl.poll()
            except ScrapydError as exc:
                self._report_once(f"{site_id}: cannot tell how {crawl.where} is doing: {exc}")
                continue
            if outcome is not None:
                del self.running[site_id]
                self.tally[outcome.status] += 1
                self.echo(f"{site_id}: {outcome.line}")

    def start_due(self, now: datetime) -> datetime | None:
        """Start what is due and a slot allows; returns when the next site not running falls due."""
        profiles, errors = self.load(self.sites_file)
        for error in errors:
            self._report_once(f"error: {error} (this site is skipped until the file is fixed)")
        crawls = read_all_crawls(self.launcher.history_paths())
        next_due = None
        for entry in plan(profiles, crawls):
            site_id = entry.profile.id
            if site_id in self.running:
                continue
            due = self.due_at(entry)
            if due is not None and due > now:
                next_due = due if next_due is None else min(next_due, due)
                continue
            if len(self.running) >= self.max_parallel:
                continue  # a crawl's end wakes the loop
            try:
                crawl = self.launcher.start(entry.profile, now)
            except (NewsArchiveError, OSError) as exc:  # busy, no node took it, an unusable data dir
                retry = now + self.busy_retry
                self._not_before[site_id] = retry
                next_due = retry if next_due is None else min(next_due, retry)
                self.echo(f"{site_id}: not started: {exc}")
                continue
            self.running[site_id] = crawl
            self.most_running = max(self.most_running, len(self.running))
            self._launched[site_id] = now
            self._not_before.pop(site_id, None)
            self.tally["started"] += 1
            self.echo(f"{site_id}: started ({crawl.where}): {' '.join(entry.profile.start_urls)}")
        return next_due

    def due_at(self, entry: SiteSchedule) -> datetime | None:
        """When the site is due: its catalog history, our own last start of it, a start refused lately."""
        profile = entry.profile
        due = entry.next_due
        launched = self._launched.get(profile.id)
        if launched is not None:  # a crawl that crashed before writing its row still counts
            own = profile.cadence.next_due(launched, profile.zone)
            due = own if due is None else max(due, own)
        hold = self._not_before.get(profile.id)
        if hold is not None:
            due = hold if due is None else max(due, hold)
        return due

    def _shutdown(self, grace: float) -> str:
        name = signal.Signals(self._stop_signals[0]).name
        if self.running:
            self.echo(f"{name}: starting no more crawls; stopping {len(self.running)} running "
                      f"({', '.join(self.running)}), waiting up to {grace:g}s")
        for crawl in self.running.values():
            try:
                crawl.stop()
            except ScrapydError as exc:
                self.echo(f"{crawl.site_id}: cannot stop {crawl.where}: {exc}")
        deadline = time.monotonic() + grace
        while self.running and time.monotonic() < deadline and len(self._stop_signals) < 2:
            self._sleep(min(self.poll_seconds, deadline - time.monotonic()))
            self.reap()
        killed = list(self.running)
        for crawl in self.running.values():
            try:
                crawl.kill()
            except ScrapydError as exc:
                self.echo(f"{crawl.site_id}: cannot kill {crawl.where}: {exc}")
            self.echo(f"{crawl.site_id}: killed ({crawl.where}) after the grace period")
        self.running.clear()
        self.tally["killed"] += len(killed)
        return self._closing(f"stopped on {name}")

    def _closing(self, why: str) -> str:
        counts = ", ".join(f"{self.tally[status]} {status}" for status in (*OUTCOMES, "killed") if self.tally[status])
        return (f"scheduler {why}: {self.tally['started']} crawl(s) started" + (f" ({counts})" if counts else "")
                + (f", {len(self.running)} still running" if self.running else ""))

    def _report_once(self, line: str) -> None:
        if line not in self._reported:
            self._reported.add(line)
            self.echo(line)

    def close(self) -> None:
        os.close(self._wake_read)
        os.close(self._wake_write)
