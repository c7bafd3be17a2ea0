"""Dispatch to Scrapyd: two real Scrapyd servers on loopback, our egg deployed, demo sites crawled as jobs."""

import configparser
import io
import re
import socket
import subprocess
import sys
import threading
import time
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from archive.errors import ScrapydError, SiteBusy
from archive.profiles import parse_profiles
from archive.schedule import read_crawls
from crawler.demo.portal import DemoPortal
from crawler.scheduler import Scheduler
from crawler.scrapyd import ScrapydNode, ScrapydPool, build_egg

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = "politeness = { AUTOTHROTTLE_ENABLED = false, DOWNLOAD_DELAY = 0, CONCURRENT_REQUESTS_PER_DOMAIN = 2 }\n"


def free_port():
    with socket.socket() as probe:  # Scrapyd cannot bind port 0 itself: take one the OS has just handed out
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ScrapydServer:
    """A Scrapyd process with its own config, eggs, logs and job databases under ``root``."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True)
        self.port = free_port()
        (root / "scrapyd.conf").write_text(
            "[scrapyd]\nbind_address = 127.0.0.1\n"
            f"http_port = {self.port}\npoll_interval = 0.2\nmax_proc = 2\n"
            f"eggs_dir = {root / 'eggs'}\nlogs_dir = {root / 'logs'}\ndbs_dir = {root / 'dbs'}\nitems_dir =\n")
        self.log = open(root / "scrapyd.out", "w")
        self.process = subprocess.Popen([str(Path(sys.executable).parent / "scrapyd")], cwd=root,
                                        stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}/"
        deadline = time.monotonic() + 60
        while True:
            try:
                ScrapydNode(self.url, "probe", timeout=2).status()
                return
            except ScrapydError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"scrapyd did not start: {(root / 'scrapyd.out').read_text()[-2000:]}")
                time.sleep(0.1)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    root = tmp_path_factory.mktemp("scrapyd")
    started = [ScrapydServer(root / name) for name in ("one", "two")]
    yield started
    for server in started:
        server.stop()


def site_table(site_id, start_url, extra=LOOPBACK):
    return f'\n[sites.{site_id}]\nstart_urls = ["{start_url}"]\n{extra}'


class JobWatcher(threading.Thread):
    """Lists the jobs of every node all along: how many of one site's jobs were ever queued or running at once."""

    def __init__(self, nodes):
        super().__init__(daemon=True)
        self.nodes = nodes
        self.most_per_site = {}
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            try:
                listings = [node.jobs() for node in self.nodes]
            except ScrapydError:  # a node busy listing its spiders: look again
                continue
            live = [job["id"].split(".")[0] for jobs in listings for job in jobs["pending"] + jobs["running"]]
            for site_id in set(live):
                self.most_per_site[site_id] = max(self.most_per_site.get(site_id, 0), live.count(site_id))
            time.sleep(0.05)


@pytest.fixture(scope="module")
def dispatched(servers, tmp_path_factory):
    """The scheduler hands kk, en and a crashing site to the two-node pool, until idle."""
    root = tmp_path_factory.mktemp("dispatch")
    sites, data = root / "sites.toml", root / "data"
    nodes = [ScrapydNode.parse(f"w{number}={server.url}") for number, server in enumerate(servers, start=1)]
    pool = ScrapydPool(nodes, data)
    deployed = pool.deploy()
    with DemoPortal(articles_per_site=5) as portal:
        sites.write_text(site_table("kk", portal.sites["kk"].start_url) + site_table("en", portal.sites["en"].start_url)
                         + site_table("broken", portal.sites["ru"].start_url,
                                      'politeness = { CONCURRENT_REQUESTS = "many" }\n'))
        lines = []
        scheduler = Scheduler(sites, pool, max_parallel=2, echo=lines.append, poll_seconds=0.3)
        watcher = JobWatcher(nodes)
        watcher.start()
        closing = scheduler.run(until_idle=True)
        watcher.done.set()
        scheduler.close()
    return {"data": data, "nodes": nodes, "pool": pool, "lines": lines, "closing": closing, "deployed": deployed,
            "most_per_site": watcher.most_per_site, "servers": servers}


def test_scrapy_cfg_has_a_deploy_target_for_scrapyd_deploy():
    config = configparser.ConfigParser()
    config.read(ROOT / "scrapy.cfg")
    assert config["settings"]["default"] == "crawler.settings"
    assert config["deploy"]["url"] == "http://localhost:6800/"
    assert config["deploy"]["project"] == "newsarchive"


def test_the_egg_holds_both_packages_the_demo_assets_and_the_settings_entry_point():
    egg = zipfile.ZipFile(io.BytesIO(build_egg()))
    names = set(egg.namelist())
    assert {"archive/catalog.py", "crawler/settings.py", "crawler/spiders/news.py", "crawler/scheduler.py"} <= names
    assert any(name.startswith("crawler/demo/assets/") for name in names)
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)
    assert egg.read("EGG-INFO/entry_points.txt").decode() == "[scrapy]\nsettings = crawler.settings\n"


def test_scrapyds_runner_activates_the_egg_and_finds_the_settings_module(tmp_path):
    egg = tmp_path / "1795600000.egg"
    egg.write_bytes(build_egg())
    shown = subprocess.run([sys.executable, "-W", "ignore", "-c",
                            "from scrapyd.runner import activate_egg; import os, sys; activate_egg(sys.argv[1]); "
                            "print(sys.argv[1] in sys.path, os.environ['SCRAPY_SETTINGS_MODULE'])",
                            str(egg)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert shown.stdout.split() == ["True", "crawler.settings"], shown.stderr


def test_the_egg_deploys_to_every_node_with_the_news_spider(dispatched):
    assert all(line.endswith(": 1 spider(s)") for line in dispatched["deployed"]), dispatched["deployed"]
    assert [line.split()[4] for line in dispatched["deployed"]] == ["w1", "w2"]


def test_the_pool_crawls_each_site_as_a_job_and_reports_the_failing_one(dispatched):
    lines = dispatched["lines"]
    for site_id in ("kk", "en"):
        assert any(re.match(rf"{site_id}: crawl \S+: finished \(job {site_id}\.\S+ on w[12]\); \d+ pages, "
                            r"5 articles, 0 errors$", line) for line in lines), lines
    failed = next(line for line in lines if line.startswith("broken: FAILED"))
    assert "ValueError" in failed and "/logs/newsarchive/news/broken." in failed
    assert dispatched["closing"] == "scheduler idle: 3 crawl(s) started (2 finished, 1 failed)"


def test_jobs_are_spread_over_the_nodes_and_never_two_of_one_site(dispatched):
    workers = {re.search(r"on (w[12])\)", line).group(1) for line in dispatched["lines"] if " finished (job " in line}
    assert workers == {"w1", "w2"}, dispatched["lines"]  # kk and en ran side by side, one per node
    assert dispatched["most_per_site"] and max(dispatched["most_per_site"].values()) == 1


def test_each_node_writes_its_own_warc_files_and_catalog_shard(dispatched):
    data = dispatched["data"]
    crawled = {}
    for worker in ("w1", "w2"):
        node_dir = data / "nodes" / worker
        warcs = sorted((node_dir / "warc").glob("*.warc.gz"))
        assert warcs and all(path.name.startswith(f"newsarchive-{worker}-") for path in warcs)
        for crawl in read_crawls(node_dir / "catalog.db"):
            crawled[crawl["seeds"][0]] = (worker, crawl)
    statuses = {seed.split("/")[3]: crawl["status"] for seed, (_, crawl) in crawled.items()}
    assert statuses == {"kk": "finished", "en": "finished"}  # broken failed before its crawl began
    assert not (data / "catalog.db").exists() or read_crawls(data / "catalog.db") == []


def test_schedule_reads_the_node_shards(dispatched, tmp_path):
    sites = tmp_path / "sites.toml"
    crawl = next(crawl for worker in ("w1", "w2")
                 for crawl in read_crawls(dispatched["data"] / "nodes" / worker / "catalog.db")
                 if "/kk/" in crawl["seeds"][0])
    sites.write_text(site_table("kk", crawl["seeds"][0]))
    result = subprocess.run([sys.executable, "-m", "crawler.cli", "schedule", "--file", str(sites),
                             "--data", str(dispatched["data"])], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert re.search(r"finished in \d+s \(\d+ pages, 5 articles, 0 errors\)$", result.stdout.splitlines()[1])


def test_a_site_with_a_job_in_flight_is_not_dispatched_again(dispatched, tmp_path):
    (profile,), _ = parse_profiles(site_table("slow", "http://127.0.0.1:9/news"))  # nothing listens: a short job
    pool = ScrapydPool(dispatched["nodes"], tmp_path / "data")
    first = pool.start(profile, datetime.now(timezone.utc))
    with pytest.raises(SiteBusy, match="site slow is already being crawled"):
        pool.start(profile, datetime.now(timezone.utc))
    deadline = time.monotonic() + 120
    while (outcome := first.poll()) is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert outcome is not None and outcome.status == "finished"  # every fetch failed, the crawl still ended
    second = pool.start(profile, datetime.now(timezone.utc))  # the lock went with the job
    second.stop()


def test_an_unreachable_node_is_one_clear_error():
    node = ScrapydNode.parse(f"http://127.0.0.1:{free_port()}/")
    with pytest.raises(ScrapydError, match=rf"cannot reach Scrapyd {re.escape(node.url)}"):
        node.status()
    assert node.worker == f"127-0-0-1-{node.url.split(':')[2].rstrip('/')}"


def test_a_restarted_scheduler_waits_for_the_jobs_it_finds_and_stops_them_cleanly(servers, tmp_path):
    sites, data = tmp_path / "sites.toml", tmp_path / "data"
    nodes = [ScrapydNode.parse(f"w{number}={server.url}") for number, server in enumerate(servers, start=1)]
    ScrapydPool(nodes, data).deploy()
    with DemoPortal(articles_per_site=8, latency=0.2) as slow:
        sites.write_text(site_table("kk", slow.sites["kk"].start_url))
        first = Scheduler(sites, ScrapydPool(nodes, data), echo=lambda line: None, poll_seconds=0.3)
        assert first.run(max_passes=1) == "scheduler after 1 pass(es): 1 crawl(s) started, 1 still running"
        first.close()

        lines = []
        second = Scheduler(sites, ScrapydPool(nodes, data), echo=lines.append, poll_seconds=0.3)

        def stop_once_fetching():
            deadline = time.monotonic() + 120
            while len(slow.requests("kk")) < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            second.request_stop()

        threading.Thread(target=stop_once_fetching, daemon=True).start()
        closing = second.run(grace=60)
        second.close()
    assert lines[0].startswith("kk: still running from before (job kk.")
    assert not any(line.startswith("kk: started") for line in lines)  # never a second job of kk
    assert closing == "scheduler stopped on SIGTERM: 0 crawl(s) started (1 interrupted)"
    (crawl,) = [crawl for worker in ("w1", "w2") for crawl in read_crawls(data / "nodes" / worker / "catalog.db")]
    assert crawl["status"] == "interrupted" and crawl["finished_at"]
