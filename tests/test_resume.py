"""kill -9 at any moment, then resume: the archive stays valid and ends up as if never stopped."""

import os
import signal
import subprocess
import sys
import time

import pytest

from archive.catalog import Catalog
from crawler.demo.portal import DemoPortal

POLITENESS_OFF = ["-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0",
                  "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2"]


def newsarchive(*args):
    return [sys.executable, "-m", "crawler.cli", *args]


def article_rows(data):
    with Catalog(data / "catalog.db", read_only=True) as catalog:
        return {row["url"]: (row["title"], row["published"], row["language"], row["text"])
                for row in catalog.db.query("select * from articles")}


def captured_paths(data):
    with Catalog(data / "catalog.db", read_only=True) as catalog:
        return {row["url"] for row in catalog.db.query("select url from captures where status < 500")}


@pytest.fixture(scope="module")
def portal():
    with DemoPortal(articles_per_site=12, latency=0.01) as portal:
        yield portal


@pytest.fixture(scope="module")
def uninterrupted(portal, tmp_path_factory):
    data = tmp_path_factory.mktemp("whole") / "data"
    result = subprocess.run(newsarchive("crawl", *[s.start_url for s in portal.sites.values()], "--data", str(data),
                                        *POLITENESS_OFF), capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]
    return article_rows(data)


def kill_crawl_after(portal, data, requests_seen):
    """Start a crawl and SIGKILL its whole process group once the servers saw that many requests."""
    portal.reset_log()
    crawl = subprocess.Popen(newsarchive("crawl", *[s.start_url for s in portal.sites.values()],
                                         "--data", str(data), *POLITENESS_OFF),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while len(portal.requests()) < requests_seen and crawl.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert crawl.poll() is None, "the crawl ended before it could be killed"
    os.killpg(crawl.pid, signal.SIGKILL)
    crawl.wait()


@pytest.mark.slow
@pytest.mark.parametrize("requests_seen", [5, 40, 120])
def test_a_killed_crawl_resumes_to_the_same_articles_without_refetching(portal, uninterrupted, tmp_path,
                                                                       requests_seen):
    data = tmp_path / "data"
    kill_crawl_after(portal, data, requests_seen)
    assert list((data / "warc").glob("*.warc.gz.open")), "a killed crawl leaves its WARC file open"
    subprocess.run(newsarchive("verify", "--repair", "--data", str(data)), capture_output=True, timeout=120)
    archived_before = captured_paths(data)

    portal.reset_log()
    resumed = subprocess.run(newsarchive("crawl", "--resume", "--data", str(data), *POLITENESS_OFF),
                             capture_output=True, text=True, timeout=240)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    refetched = {site.base_url + entry.path for site in portal.sites.values() for entry in portal.requests(site.id)}
    assert refetched - archived_before, "the resumed crawl had work left to do"
    assert not {url for url in refetched & archived_before if not url.endswith("/robots.txt")}

    verify = subprocess.run(newsarchive("verify", "--data", str(data)), capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0, verify.stdout[-2000:] + verify.stderr[-2000:]
    assert article_rows(data) == uninterrupted
    with Catalog(data / "catalog.db", read_only=True) as catalog:
        statuses = [row["status"] for row in catalog.db.query("select status from crawls")]
    assert statuses == ["finished"]
