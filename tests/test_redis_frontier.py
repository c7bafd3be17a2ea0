"""Two crawl workers share one frontier in a real Redis: together they archive what one crawl does.

A real ``redis-server`` runs on a loopback port in the test's directory; each
worker is its own process (``crawler.runner.run_crawl`` with
``crawler.frontier.redis_overrides``) with its own data directory, as on two
machines. The reference is one ordinary crawl (no Redis) of the same portal.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.demo.portal import DemoPortal
from crawler.frontier import FrontierError, clear_frontier, frontier_status, redis_overrides

REPO = Path(__file__).resolve().parents[1]
POLITENESS_OFF = {"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0, "CONCURRENT_REQUESTS_PER_DOMAIN": 2}
WORKER = """
import json, sys
from crawler.frontier import redis_overrides
from crawler.runner import run_crawl
urls, overrides, frontier = (json.loads(arg) for arg in sys.argv[1:4])
if frontier:
    overrides.update(redis_overrides(**frontier))
print(run_crawl(urls, overrides).finish_reason)
"""

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    """A throwaway redis-server: loopback only, nothing saved to disk."""
    directory = tmp_path_factory.mktemp("redis")
    port = free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", str(directory)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 20
    while True:
        try:
            frontier_status(url, "ping")
            break
        except FrontierError:
            assert server.poll() is None and time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
    yield url
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture(scope="module")
def portal():
    with DemoPortal(articles_per_site=12, latency=0.02) as portal:
        yield portal


def start_worker(portal, data: Path, frontier: dict | None, **settings) -> subprocess.Popen:
    """One crawl process; with ``frontier`` (redis_overrides arguments) a worker of that frontier."""
    overrides = {**POLITENESS_OFF, "NEWSARCHIVE_DATA_DIR": str(data), "LOG_LEVEL": "INFO", **settings}
    urls = [site.start_url for site in portal.sites.values()]
    data.parent.mkdir(parents=True, exist_ok=True)
    with open(data.parent / f"{data.name}.log", "w") as log:  # the worker keeps its own descriptor
        return subprocess.Popen([sys.executable, "-c", WORKER, json.dumps(urls), json.dumps(overrides),
                                 json.dumps(frontier)], cwd=REPO, stdout=subprocess.PIPE, stderr=log, text=True,
                                start_new_session=True)


def finish(worker: subprocess.Popen, data: Path) -> str:
    out, _ = worker.communicate(timeout=300)
    assert worker.returncode == 0, (data.parent / f"{data.name}.log").read_text()[-3000:]
    return out.strip()


def captures(*data_dirs: Path) -> Counter:
    """URL -> number of response/revisit records, over every WARC file (a killed worker's too)."""
    counts = Counter()
    for data in data_dirs:
        for path in sorted((data / "warc").glob("*.warc.gz*")):
            with open(path, "rb") as stream:
                try:
                    for record in ArchiveIterator(stream):
                        if record.rec_type in ("response", "revisit"):
                            counts[record.rec_headers.get_header("WARC-Target-URI")] += 1
                except Exception:  # noqa: BLE001, S110 -- the record a SIGKILL cut short: not archived
                    pass
    return counts


def not_robots(urls) -> set[str]:
    return {url for url in urls if not url.endswith("/robots.txt")}


def wait_for_requests(portal, count: int, *workers: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while len(portal.requests()) < count:
        assert all(worker.poll() is None for worker in workers), "a worker ended before the test could stop it"
        assert time.monotonic() < deadline
        time.sleep(0.01)


@pytest.fixture(scope="module")
def single_crawl(portal, tmp_path_factory):
    """The URLs one ordinary crawl (no Redis) archives."""
    data = tmp_path_factory.mktemp("single") / "data"
    assert finish(start_worker(portal, data, None), data) == "finished"
    return set(captures(data))


@pytest.mark.slow
def test_two_workers_archive_what_one_crawl_does_and_no_page_twice(portal, redis_url, single_crawl, tmp_path):
    frontier = {"redis_url": redis_url, "frontier": "together"}
    a, b = tmp_path / "a", tmp_path / "b"
    workers = [start_worker(portal, a, {**frontier, "worker": "a"}),
               start_worker(portal, b, {**frontier, "worker": "b"})]
    assert [finish(worker, data) for worker, data in zip(workers, (a, b))] == ["finished", "finished"]

    union = captures(a, b)
    assert set(union) == single_crawl
    assert not {url: n for url, n in union.items() if n > 1 and not url.endswith("/robots.txt")}
    assert not_robots(captures(a)) and not_robots(captures(b)), "both workers took part"
    assert all(path.name.startswith(("newsarchive-a-", "newsarchive-b-"))
               for path in [*(a / "warc").glob("*.warc.gz"), *(b / "warc").glob("*.warc.gz")])
    status = frontier_status(redis_url, "together")
    assert (status["queued"], status["held"], status["alive"]) == (0, 0, 0)


@pytest.mark.slow
def test_requests_held_by_a_killed_worker_are_crawled_by_the_other(portal, redis_url, single_crawl, tmp_path):
    frontier = {"redis_url": redis_url, "frontier": "killed"}
    fast_heartbeat = {"NEWSARCHIVE_FRONTIER_HEARTBEAT": 0.5}
    a, b = tmp_path / "a", tmp_path / "b"
    portal.reset_log()
    doomed = start_worker(portal, a, {**frontier, "worker": "a"}, **fast_heartbeat)
    survivor = start_worker(portal, b, {**frontier, "worker": "b"}, **fast_heartbeat)
    wait_for_requests(portal, 60, doomed, survivor)
    os.killpg(doomed.pid, signal.SIGKILL)
    doomed.wait()
    lost_without_recovery = frontier_status(redis_url, "killed")["held"]

    assert finish(survivor, b) == "finished"
    assert lost_without_recovery > 0, "the killed worker held requests in flight"
    assert "held requests queued again" in (tmp_path / "b.log").read_text()
    assert set(captures(a, b)) == single_crawl
    assert frontier_status(redis_url, "killed")["held"] == 0


@pytest.mark.slow
def test_a_stopped_frontier_is_finished_by_a_new_worker_without_refetching(portal, redis_url, single_crawl,
                                                                          tmp_path):
    frontier = {"redis_url": redis_url, "frontier": "persisted"}
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    portal.reset_log()
    first = [start_worker(portal, a, {**frontier, "worker": "a"}), start_worker(portal, b, {**frontier, "worker": "b"})]
    wait_for_requests(portal, 50, *first)
    for worker in first:
        worker.send_signal(signal.SIGINT)  # Scrapy's graceful stop: requests in progress finish
    assert [finish(worker, data) for worker, data in zip(first, (a, b))] == ["shutdown", "shutdown"]
    left = frontier_status(redis_url, "persisted")
    assert left["queued"] > 0 and left["held"] == 0 and left["alive"] == 0
    archived_before = set(captures(a, b))

    portal.reset_log()
    assert finish(start_worker(portal, c, {**frontier, "worker": "c"}), c) == "finished"
    asked_again = {site.base_url + entry.path for site in portal.sites.values() for entry in portal.requests(site.id)}
    assert not_robots(asked_again) - archived_before, "the new worker had work left"
    assert not not_robots(asked_again & archived_before)
    assert set(captures(a, b, c)) == single_crawl


def test_clearing_a_frontier_lets_the_same_seeds_be_crawled_afresh(redis_url):
    import redis

    client = redis.Redis.from_url(redis_url)
    client.sadd("newsarchive:frontier:cleared:dupefilter", "fingerprint")
    client.zadd("newsarchive:frontier:cleared:requests", {"request": 0})
    client.sadd("newsarchive:frontier:other:dupefilter", "fingerprint")

    assert clear_frontier(redis_url, "cleared") == 2
    assert frontier_status(redis_url, "cleared") == {"queued": 0, "seen": 0, "held": 0, "alive": 0}
    assert client.exists("newsarchive:frontier:other:dupefilter")


def test_a_running_frontier_cannot_be_cleared(redis_url):
    import redis

    redis.Redis.from_url(redis_url).set("newsarchive:frontier:busy:alive:w1", 1, px=60_000)
    with pytest.raises(FrontierError, match="running"):
        clear_frontier(redis_url, "busy")


def test_overrides_name_the_worker_in_its_warc_files_and_refuse_a_non_redis_url():
    overrides = redis_overrides("redis://127.0.0.1:6379/0", frontier="site", worker="host-1:w2")
    assert overrides["NEWSARCHIVE_WARC_PREFIX"] == "newsarchive-host_1_w2"
    assert overrides["SCHEDULER_PERSIST"] is True
    with pytest.raises(FrontierError):
        redis_overrides("http://127.0.0.1:6379/0")


def test_an_unreachable_redis_stops_the_crawl_with_a_one_line_message(tmp_path):
    code = ("from crawler.frontier import redis_overrides\nfrom crawler.runner import run_crawl\n"
            f"result = run_crawl(['http://127.0.0.1:9/news'], {{'NEWSARCHIVE_DATA_DIR': {str(tmp_path / 'data')!r},"
            f" 'LOG_LEVEL': 'CRITICAL', **redis_overrides('redis://127.0.0.1:{free_port()}/0')}})\n"
            "print(result.stop_message)")
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                         check=False)
    assert run.stdout.strip().startswith("cannot reach Redis at redis://127.0.0.1:")


def run_cli(*args, timeout=240):
    return subprocess.run([sys.executable, "-m", "crawler.cli", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, check=False)


def test_the_crawl_command_with_an_unreachable_redis_is_one_line_and_fetches_nothing(tmp_path):
    result = run_cli("crawl", "--redis", f"redis://127.0.0.1:{free_port()}/0", "http://127.0.0.1:9/news",
                     "--data", str(tmp_path / "data"))
    assert result.returncode == 1
    assert result.stderr.strip().startswith("Error: cannot reach Redis at redis://127.0.0.1:")
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "data" / "warc").exists()


def test_frontier_and_worker_options_need_redis(tmp_path):
    result = run_cli("crawl", "--worker", "w1", "http://127.0.0.1:9/news", "--data", str(tmp_path / "data"))
    assert result.returncode == 2 and "give --redis URL too" in result.stderr


@pytest.mark.slow
def test_crawl_redis_on_the_command_line_is_a_named_worker_of_the_frontier(portal, redis_url, single_crawl, tmp_path):
    data = tmp_path / "data"
    settings = [item for name, value in POLITENESS_OFF.items() for item in ("-s", f"{name}={value}")]
    result = run_cli("crawl", *[site.start_url for site in portal.sites.values()], "--data", str(data),
                     "--redis", redis_url, "--frontier", "cli", "--worker", "w1", *settings)
    assert result.returncode == 0, result.stderr[-2000:]
    assert set(captures(data)) == single_crawl
    assert all(path.name.startswith("newsarchive-w1-") for path in (data / "warc").glob("*.warc.gz"))
    assert frontier_status(redis_url, "cli")["queued"] == 0
