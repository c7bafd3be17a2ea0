"""The long-running scheduler on the loopback demo portal: real crawl processes, real crashes, real signals.

The story fixture runs one Scheduler twice with a pinned clock: first over
kk, en and a site whose crawl crashes (while kk's crawl is SIGKILLed mid-way
from the test), then an hour later, after a site was added to the file.
"""

import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from archive.schedule import read_crawls, site_lock, site_locked
from crawler.demo.portal import DemoPortal
from crawler.scheduler import LocalLauncher, Scheduler

LOOPBACK = ("politeness = { AUTOTHROTTLE_ENABLED = false, DOWNLOAD_DELAY = 0, "
            "CONCURRENT_REQUESTS_PER_DOMAIN = 1 }\n")


def site_table(site_id, start_url, cadence="daily", extra=""):
    return f'\n[sites.{site_id}]\nstart_urls = ["{start_url}"]\ncadence = "{cadence}"\n{extra or LOOPBACK}'


def lock_holder(data, site_id):
    path = data / "locks" / f"{site_id}.lock"
    text = path.read_text().strip() if path.exists() else ""
    return int(text) if text else None


class LockWatcher(threading.Thread):
    """Counts, from the lock files alone, how many sites are being crawled at once."""

    def __init__(self, data, site_ids):
        super().__init__(daemon=True)
        self.data, self.site_ids = data, site_ids
        self.most_at_once = 0
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            locked = sum(site_locked(self.data, site_id) for site_id in self.site_ids)
            self.most_at_once = max(self.most_at_once, locked)
            time.sleep(0.01)


class Killer(threading.Thread):
    """SIGKILLs a site's crawl process once the portal has served it a few requests."""

    def __init__(self, portal, data, site_id):
        super().__init__(daemon=True)
        self.portal, self.data, self.site_id = portal, data, site_id
        self.killed_pid = None

    def run(self):
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            holder = lock_holder(self.data, self.site_id)
            if holder and holder != os.getpid() and len(self.portal.requests(self.site_id)) >= 3:
                os.kill(holder, signal.SIGKILL)
                self.killed_pid = holder
                return
            time.sleep(0.01)


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    root = tmp_path_factory.mktemp("scheduler")
    sites, data = root / "sites.toml", root / "data"
    with DemoPortal(articles_per_site=5, latency=0.05) as portal:
        sites.write_text(
            site_table("kk", portal.sites["kk"].start_url, cadence="1h")
            + site_table("en", portal.sites["en"].start_url)
            + site_table("broken", portal.sites["ru"].start_url,  # Scrapy cannot read this setting: exit 1
                         extra='politeness = { CONCURRENT_REQUESTS = "many" }\n')
            + '\n[sites.typo]\nstart_urls = ["http://127.0.0.1:9/"]\ncadence = "every 6 hourz"\n')
        start = datetime.now(timezone.utc)
        clock = [start]
        lines = []
        scheduler = Scheduler(sites, LocalLauncher(data, sites), max_parallel=2, clock=lambda: clock[0],
                              echo=lines.append, poll_seconds=0.1)
        watcher, killer = LockWatcher(data, ["kk", "en", "broken"]), Killer(portal, data, "kk")
        watcher.start()
        killer.start()
        first = scheduler.run(until_idle=True)
        watcher.done.set()
        first_lines = list(lines)

        with open(sites, "a") as out:  # the archivist adds a site while the scheduler runs
            out.write(site_table("ru", portal.sites["ru"].start_url))
        clock[0] = start + timedelta(minutes=61)  # kk (1h) is due again; en and broken (daily) are not
        second = scheduler.run(until_idle=True)
        scheduler.close()
        schedule = subprocess.run([sys.executable, "-m", "crawler.cli", "schedule", "--file", str(sites),
                                   "--data", str(data), "--history", "3"], capture_output=True, text=True, timeout=120)
    return {"data": data, "first": first, "second": second, "first_lines": first_lines,
            "second_lines": lines[len(first_lines):], "all_lines": lines, "most_at_once": watcher.most_at_once,
            "killed_pid": killer.killed_pid, "schedule": schedule}


def started(lines):
    return [re.match(r"(\S+): started", line).group(1) for line in lines if re.match(r"\S+: started", line)]


def crawls_of(data, site_url_part):
    return [crawl for crawl in read_crawls(data / "catalog.db") if site_url_part in crawl["seeds"][0]]


def test_due_sites_are_crawled_at_most_max_parallel_at_once(story):
    assert sorted(started(story["first_lines"])) == ["broken", "en", "kk"]
    assert story["most_at_once"] == 2  # seen from the lock files: two ran together, never three


def test_a_crawl_killed_mid_way_is_reported_and_the_others_go_on(story):
    assert story["killed_pid"] is not None
    killed = next(line for line in story["first_lines"] if line.startswith("kk: "))
    assert "kk: started" in killed
    assert any(line.startswith("kk: FAILED (killed by SIGKILL)") for line in story["first_lines"])
    (en,) = crawls_of(story["data"], "/en/")
    assert en["status"] == "finished" and en["articles"] == 5
    assert story["first"] == "scheduler idle: 3 crawl(s) started (1 finished, 2 failed)"


def test_a_crawl_that_exits_with_an_error_is_reported_with_its_log(story):
    failed = next(line for line in story["first_lines"] if line.startswith("broken: FAILED"))
    assert "(exit 1): ValueError" in failed and "'many'" in failed
    log = re.search(r"\[log: (.+)\]", failed).group(1)
    assert "Traceback" in Path(log).read_text()


def test_a_failed_site_is_retried_at_its_next_due_time_not_before(story):
    assert started(story["first_lines"]).count("kk") == 1  # not restarted at once after the crash
    assert sorted(started(story["second_lines"])) == ["kk", "ru"]  # an hour later: kk (1h) again; not broken (daily)


def test_the_next_crawl_of_the_site_marks_the_killed_one_interrupted(story):
    killed, retried = sorted(crawls_of(story["data"], "/kk/"), key=lambda crawl: crawl["started_at"])
    assert killed["status"] == "interrupted"
    assert retried["status"] == "finished" and retried["articles"] == 5


def test_profile_edits_apply_without_a_restart(story):
    (ru,) = crawls_of(story["data"], "/ru/")
    assert ru["status"] == "finished"
    assert story["second"] == "scheduler idle: 5 crawl(s) started (3 finished, 2 failed)"


def test_a_bad_profile_is_reported_once_and_skipped(story):
    reports = [line for line in story["all_lines"] if 'site "typo"' in line]
    assert len(reports) == 1 and "skipped until the file is fixed" in reports[0]
    assert "typo" not in started(story["all_lines"])


def test_schedule_shows_each_sites_last_crawl_with_its_duration(story):
    assert story["schedule"].returncode == 0, story["schedule"].stderr
    rows = {line.split()[0]: line for line in story["schedule"].stdout.splitlines()[1:] if not line.startswith(" ")}
    (en,) = crawls_of(story["data"], "/en/")
    seconds = (datetime.fromisoformat(en["finished_at"]) - datetime.fromisoformat(en["started_at"])).total_seconds()
    assert re.search(rf"finished in {round(seconds)}s \(\d+ pages, 5 articles, 0 errors\)$", rows["en"]), rows["en"]
    assert re.search(r"finished in \d+s \(\d+ pages, 5 articles, 0 errors\)$", rows["kk"])  # the retry


# -- a site someone else is crawling ----------------------------------------------------------


def test_a_site_locked_by_another_crawl_is_not_started(tmp_path):
    sites, data = tmp_path / "sites.toml", tmp_path / "data"
    sites.write_text(site_table("kk", "http://127.0.0.1:9/kk/news"))
    lines = []
    scheduler = Scheduler(sites, LocalLauncher(data, sites), echo=lines.append, poll_seconds=0.1)
    with site_lock(data, "kk"):  # as a run-due would hold it
        closing = scheduler.run(until_idle=True)
    scheduler.close()
    assert lines == [f"kk: not started: site kk is already being crawled (pid {os.getpid()} holds "
                     f"{data / 'locks' / 'kk.lock'})"]
    assert closing == "scheduler idle: 0 crawl(s) started"


# -- SIGTERM ---------------------------------------------------------------------------------


def test_sigterm_stops_the_running_crawls_cleanly_and_exits_0(tmp_path):
    sites, data = tmp_path / "sites.toml", tmp_path / "data"
    with DemoPortal(articles_per_site=8, latency=0.2) as slow:
        sites.write_text(site_table("kk", slow.sites["kk"].start_url) + site_table("en", slow.sites["en"].start_url))
        scheduler = subprocess.Popen([sys.executable, "-m", "crawler.cli", "scheduler", "--file", str(sites),
                                      "--data", str(data), "--grace", "60"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:  # both crawls are fetching: Scrapy's signal handlers are set
                holders = [lock_holder(data, site_id) for site_id in ("kk", "en")]
                if all(holders) and scheduler.pid not in holders and all(
                        len(slow.requests(site_id)) >= 2 for site_id in ("kk", "en")):
                    break
                time.sleep(0.05)
            scheduler.send_signal(signal.SIGTERM)
            out, err = scheduler.communicate(timeout=120)
        finally:
            scheduler.kill()
    assert scheduler.returncode == 0, err
    assert out.splitlines()[-1] == "scheduler stopped on SIGTERM: 2 crawl(s) started (2 interrupted)"
    crawls = read_crawls(data / "catalog.db")
    assert [crawl["status"] for crawl in crawls] == ["interrupted", "interrupted"]
    assert all(crawl["finished_at"] for crawl in crawls)


def test_schedule_history_lists_the_crawls_before_the_last(story):
    lines = story["schedule"].stdout.splitlines()
    kk = next(number for number, line in enumerate(lines) if line.startswith("kk "))
    killed, _ = sorted(crawls_of(story["data"], "/kk/"), key=lambda crawl: crawl["started_at"])
    started = datetime.fromisoformat(killed["started_at"])
    assert re.fullmatch(rf" +{started:%Y-%m-%d %H:%M} UTC +interrupted in \d+s \(\d+ pages, \d+ articles, 0 errors\)",
                        lines[kk + 1]), lines[kk:kk + 2]
    assert not lines[kk + 2].startswith(" ")  # kk crawled twice: one earlier crawl to list
