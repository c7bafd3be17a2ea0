"""Scheduling: due times from the catalog, run-due on real demo sites, the per-site lock, sites add.

Crawls run as the archivist runs them: ``newsarchive run-due`` in a subprocess
against the loopback demo portal, each crawl its own process.
"""

import re
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta, timezone

import psutil
import pytest
from click.testing import CliRunner

from archive.catalog import Catalog
from archive.errors import SiteBusy
from archive.profiles import load_profiles, parse_profiles
from archive.schedule import plan, read_crawls, site_lock
from crawler.cli import cli
from crawler.demo.portal import DemoPortal

LOOPBACK_PRESET = """\
[presets.loopback]   # our own demo sites: no need to wait between requests
cadence = "daily"
politeness = { AUTOTHROTTLE_ENABLED = false, DOWNLOAD_DELAY = 0, CONCURRENT_REQUESTS_PER_DOMAIN = 2 }
"""


def run_cli(*args, timeout=240):
    return subprocess.run([sys.executable, "-m", "crawler.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


def site_table(site_id, start_url, extra=""):
    return f'\n[sites.{site_id}]\nextends = "loopback"\nstart_urls = ["{start_url}"]\n{extra}'


@pytest.fixture(scope="module")
def demo():
    with DemoPortal(articles_per_site=5) as portal:
        yield portal


# -- due times from the catalog ------------------------------------------------------------


def test_a_sites_crawls_are_recognised_by_their_seeds(tmp_path):
    (aktau, atyrau), _ = parse_profiles(
        '[sites.aktau]\nstart_urls = ["https://aktau.kz/ru/"]\ncadence = "6h"\n'
        '[sites.atyrau]\nstart_urls = ["https://atyrau.kz/ru/"]\ncadence = "6h"\n')
    morning = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)
    with Catalog(tmp_path / "catalog.db") as catalog:
        own = catalog.start_crawl(["https://aktau.kz/ru/", "https://aktau.kz/kk/"], now=morning)
        catalog.finish_crawl(own, "finished", now=morning + timedelta(minutes=5))
        catalog.start_crawl(["https://aktau.kz/ru/", "https://atyrau.kz/ru/"], now=morning + timedelta(hours=1))
    first, second = plan([aktau, atyrau], read_crawls(tmp_path / "catalog.db"))
    assert first.last_crawl["id"] == own and first.last_crawl["status"] == "finished"
    assert first.next_due == morning + timedelta(hours=6)
    assert not first.is_due(morning + timedelta(hours=5)) and first.is_due(morning + timedelta(hours=6))
    assert second.last_crawl is None and second.is_due(morning)  # the two-site crawl is neither's


def test_without_a_catalog_every_site_is_due(tmp_path):
    (site,), _ = parse_profiles('[sites.a]\nstart_urls = ["https://a.kz/"]\n')
    (entry,) = plan([site], read_crawls(tmp_path / "no-catalog.db"))
    assert entry.next_due is None and entry.is_due(datetime.now(timezone.utc))


def test_schedule_tells_a_running_crawl_from_one_that_stopped_without_finishing(tmp_path):
    sites, data = tmp_path / "sites.toml", tmp_path / "data"
    sites.write_text('[sites.aktau]\nstart_urls = ["https://aktau.kz/ru/"]\n')
    with Catalog(data / "catalog.db") as catalog:
        catalog.start_crawl(["https://aktau.kz/ru/"])
    with site_lock(data, "aktau"):
        running = CliRunner().invoke(cli, ["schedule", "--file", str(sites), "--data", str(data)])
    stopped = CliRunner().invoke(cli, ["schedule", "--file", str(sites), "--data", str(data)])
    assert running.output.splitlines()[1].endswith(" running")
    assert stopped.output.splitlines()[1].endswith(" stopped before finishing (killed or crashed)")


# -- the per-site lock -------------------------------------------------------------------


def test_a_site_lock_refuses_a_second_holder_until_released(tmp_path):
    with site_lock(tmp_path, "atyrau"):
        with pytest.raises(SiteBusy, match="site atyrau is already being crawled"):
            with site_lock(tmp_path, "atyrau"):
                pass
        with site_lock(tmp_path, "aktau"):  # other sites are not held up
            pass
    with site_lock(tmp_path, "atyrau"):
        pass


def test_a_site_lock_holds_across_processes_and_dies_with_its_holder(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys
            from archive.schedule import site_lock
            with site_lock({str(tmp_path)!r}, "atyrau"):
                print("held", flush=True)
                sys.stdin.read()
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(SiteBusy, match=f"pid {holder.pid} holds"):
            with site_lock(tmp_path, "atyrau"):
                pass
    finally:
        holder.kill()
        holder.wait(timeout=30)
    with site_lock(tmp_path, "atyrau"):  # the kernel released it with the process
        pass


def test_run_due_skips_a_site_that_is_being_crawled(demo, tmp_path):
    sites = tmp_path / "sites.toml"
    sites.write_text(LOOPBACK_PRESET + site_table("kk", demo.sites["kk"].start_url))
    data = tmp_path / "data"
    with site_lock(data, "kk"):
        result = run_cli("run-due", "--file", str(sites), "--data", str(data))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "kk: skipped: site kk is already being crawled" in result.stdout
    assert read_crawls(data / "catalog.db") == []


def test_the_crawl_keeps_its_site_locked_when_run_due_is_killed(tmp_path):
    """The lock file descriptor is handed to the crawl process, so the lock lives as long as the crawl."""
    sites, data = tmp_path / "sites.toml", tmp_path / "data"
    with DemoPortal(articles_per_site=8, latency=0.1) as slow:
        sites.write_text(LOOPBACK_PRESET + site_table("kk", slow.sites["kk"].start_url,
                                                      "politeness = { CONCURRENT_REQUESTS_PER_DOMAIN = 1 }\n"))
        run_due = subprocess.Popen([sys.executable, "-m", "crawler.cli", "run-due", "--file", str(sites),
                                    "--data", str(data)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        lock_file = data / "locks" / "kk.lock"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # until run-due names the crawl process as the holder
            holder = lock_file.read_text().strip() if lock_file.exists() else ""
            if holder and int(holder) != run_due.pid:
                break
            time.sleep(0.05)
        crawl_pid = int(holder)
        run_due.kill()
        run_due.wait(timeout=30)
        with pytest.raises(SiteBusy, match=f"pid {crawl_pid} holds"):
            with site_lock(data, "kk"):
                pass
        psutil.Process(crawl_pid).wait(timeout=120)  # the orphaned crawl finishes its work
    with site_lock(data, "kk"):
        pass
    (crawl,) = read_crawls(data / "catalog.db")
    assert crawl["status"] == "finished"


# -- run-due on two demo sites and one that crashes -------------------------------------------


@pytest.fixture(scope="module")
def runs(demo, tmp_path_factory):
    """run-due twice, then schedule, over three sites; "broken" crashes (a setting Scrapy cannot read)."""
    root = tmp_path_factory.mktemp("run-due")
    sites, data = root / "sites.toml", root / "data"
    sites.write_text(LOOPBACK_PRESET
                     + site_table("broken", demo.sites["ru"].start_url, 'politeness = { CONCURRENT_REQUESTS = "many" }\n')
                     + site_table("kk", demo.sites["kk"].start_url)
                     + site_table("en", demo.sites["en"].start_url))
    first = run_cli("run-due", "--file", str(sites), "--data", str(data))
    second = run_cli("run-due", "--file", str(sites), "--data", str(data))
    schedule = run_cli("schedule", "--file", str(sites), "--data", str(data))
    return data, first, second, schedule


def test_run_due_crawls_every_due_site_in_its_own_crawl(demo, runs):
    data, first, _, _ = runs
    crawls = read_crawls(data / "catalog.db")
    by_seeds = {tuple(crawl["seeds"]): crawl for crawl in crawls}
    for site_id in ("kk", "en"):
        crawl = by_seeds[(demo.sites[site_id].start_url,)]
        assert crawl["status"] == "finished"
        assert crawl["articles"] == len(demo.sites[site_id].expected_articles)
        assert re.search(rf"^{site_id}: crawl {crawl['id']}: finished", first.stdout, re.M), first.stdout
    assert len(crawls) == 2


def test_a_crashing_crawl_does_not_stop_the_others(runs):
    data, first, _, _ = runs
    assert first.returncode == 1
    failed = next(line for line in first.stdout.splitlines() if line.startswith("broken:") and "FAILED" in line)
    assert "FAILED (exit 1): ValueError" in failed and "'many'" in failed
    assert "2 of 3 due crawl(s) ran without failing" in first.stdout
    logs = sorted((data / "logs" / "broken").glob("*.log"))  # one per run-due
    assert logs and all("Traceback" in log.read_text() for log in logs)


def test_crawled_sites_are_not_due_again_and_a_crash_is_retried(runs):
    _, _, second, _ = runs
    crawling = re.findall(r"^(\S+): crawling", second.stdout, re.M)
    assert crawling == ["broken"]  # it never started a crawl, so it is still due
    assert second.returncode == 1


def test_schedule_shows_last_crawl_result_and_next_due(runs):
    data, _, _, schedule = runs
    assert schedule.returncode == 0, schedule.stderr
    rows = {line.split()[0]: line for line in schedule.stdout.splitlines()[1:]}
    assert "never crawled" in rows["broken"] and "due now" in rows["broken"]
    kk = next(c for c in read_crawls(data / "catalog.db") if "/kk/" in c["seeds"][0])
    started = datetime.fromisoformat(kk["started_at"].replace("Z", "+00:00"))
    assert f"{started:%Y-%m-%d %H:%M} UTC" in rows["kk"]
    assert f"{started + timedelta(days=1):%Y-%m-%d %H:%M} UTC" in rows["kk"]
    assert re.search(r"finished in \d+s \(\d+ pages, 5 articles, 0 errors\)$", rows["kk"]), rows["kk"]


# -- sites add -----------------------------------------------------------------------------


def test_sites_add_probes_politely_and_writes_a_profile_that_check_accepts_and_crawls(demo, tmp_path):
    site = demo.sites["en"]
    sites, data = tmp_path / "sites.toml", tmp_path / "data"
    before = len(demo.requests("en"))
    added = run_cli("sites", "add", site.start_url, "--id", "ministry", "--pause", "0", "--file", str(sites))
    assert added.returncode == 0, added.stderr
    probe_requests = demo.requests("en")[before:]
    assert len(probe_requests) <= 5 and probe_requests[0].path == "/robots.txt"

    checked = run_cli("sites", "check", "--file", str(sites))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    (profile,), _ = load_profiles(sites)
    assert (profile.id, profile.start_urls, profile.languages) == ("ministry", (site.start_url,), ("en",))
    assert all(re.search(profile.article_url_pattern, article.url) for article in site.expected_articles)
    text = sites.read_text()
    assert f"# feeds: {site.feed_url}" in text and f"{site.sitemap_url}" in text

    with open(sites, "a") as out:  # the archivist's edit: loopback needs no politeness delay
        out.write("politeness = { AUTOTHROTTLE_ENABLED = false, DOWNLOAD_DELAY = 0 }\n")
    crawled = run_cli("run-due", "--file", str(sites), "--data", str(data))
    assert crawled.returncode == 0, crawled.stdout + crawled.stderr
    (crawl,) = read_crawls(data / "catalog.db")
    assert crawl["status"] == "finished" and crawl["articles"] == len(site.expected_articles)


def test_sites_add_refuses_an_id_already_in_the_file(demo, tmp_path):
    sites = tmp_path / "sites.toml"
    sites.write_text(LOOPBACK_PRESET + site_table("kk", demo.sites["kk"].start_url))
    result = run_cli("sites", "add", demo.sites["ru"].start_url, "--id", "kk", "--pause", "0", "--file", str(sites))
    assert result.returncode == 1
    assert "already has a site 'kk'" in result.stderr


def test_run_due_runs_the_valid_sites_of_a_file_with_a_bad_one_and_says_so(demo, tmp_path):
    sites, data = tmp_path / "sites.toml", tmp_path / "data"
    sites.write_text(LOOPBACK_PRESET + site_table("kk", demo.sites["kk"].start_url)
                     + '\n[sites.typo]\nstart_urls = ["http://127.0.0.1:9/"]\ncadence = "every 6 hourz"\n')
    result = run_cli("run-due", "--file", str(sites), "--data", str(data))
    assert result.returncode == 1
    assert 'site "typo": cadence "every 6 hourz" is not a cadence' in result.stderr
    assert re.search(r"^kk: crawl \S+: finished", result.stdout, re.M)


def test_sites_add_of_an_unreachable_site_adds_nothing(tmp_path):
    sites = tmp_path / "sites.toml"
    result = run_cli("sites", "add", "http://127.0.0.1:9/news", "--pause", "0", "--file", str(sites))
    assert result.returncode == 1
    assert "cannot reach http://127.0.0.1:9/news" in result.stderr and "nothing added" in result.stderr
    assert not sites.exists()


def test_sites_add_never_fetches_what_robots_disallows(demo, tmp_path):
    site = demo.sites["kk"]
    disallowed = site.absolute(site.disallowed_paths[-1])  # /kk/search
    before = len(demo.requests("kk"))
    result = run_cli("sites", "add", disallowed, "--pause", "0", "--file", str(tmp_path / "sites.toml"))
    assert f"robots.txt disallows {disallowed}: not fetched" in result.stderr
    paths = [entry.path for entry in demo.requests("kk")[before:]]
    assert not any(path.startswith(site.disallowed_paths[-1]) for path in paths), paths


def test_sites_add_waits_robots_crawl_delay_between_requests(tmp_path):
    with DemoPortal(articles_per_site=3, crawl_delay=0.3) as slow:
        result = run_cli("sites", "add", slow.sites["en"].start_url, "--pause", "0",
                         "--file", str(tmp_path / "sites.toml"))
        times = [entry.time for entry in slow.requests("en")]
    assert result.returncode == 0, result.stderr
    assert "DOWNLOAD_DELAY = 0.3" in (tmp_path / "sites.toml").read_text()
    assert len(times) >= 3 and all(later - earlier >= 0.3 for earlier, later in zip(times, times[1:]))


def test_sites_add_appends_to_a_file_keeping_what_is_there(demo, tmp_path):
    sites = tmp_path / "sites.toml"
    sites.write_text(LOOPBACK_PRESET + site_table("kk", demo.sites["kk"].start_url))
    before = sites.read_text()
    result = run_cli("sites", "add", demo.sites["ru"].start_url, "--pause", "0", "--file", str(sites))
    assert result.returncode == 0, result.stderr
    assert sites.read_text().startswith(before)
    profiles, errors = load_profiles(sites)
    port = demo.sites["ru"].start_url.split(":")[2].split("/")[0]
    assert errors == [] and [p.id for p in profiles] == ["kk", f"127-0-0-1-{port}"]
    assert profiles[1].languages == ("ru",) and profiles[1].article_url_pattern == r"/ru/novosti/\d+\.html$"


def test_a_crawl_merged_from_a_node_shard_counts_once_with_its_end(tmp_path):
    """After `newsarchive merge` a node's crawl is in the shard and the central catalog alike."""
    from archive.schedule import catalog_paths, read_all_crawls

    morning = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)
    shard = tmp_path / "nodes" / "w1"
    with Catalog(shard / "catalog.db") as catalog:
        crawl_id = catalog.start_crawl(["https://aktau.kz/ru/"], now=morning)
        catalog.finish_crawl(crawl_id, "finished", now=morning + timedelta(minutes=5))
    with Catalog(tmp_path / "catalog.db") as catalog:  # merged while it was still running
        catalog.start_crawl(["https://aktau.kz/ru/"], crawl_id=crawl_id, now=morning)
    (crawl,) = read_all_crawls(catalog_paths(tmp_path))
    assert (crawl["id"], crawl["status"]) == (crawl_id, "finished")
