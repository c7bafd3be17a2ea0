"""Politeness is measured where it matters: at the server."""

import subprocess
import sys
from pathlib import Path

from crawler.demo.portal import DemoPortal

ROOT = Path(__file__).parent.parent


def crawl(*args, cwd=None):
    result = subprocess.run(args, capture_output=True, text=True, timeout=240, cwd=cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_robots_crawl_delay_separates_requests_at_the_server(tmp_path):
    with DemoPortal(articles_per_site=3, crawl_delay=0.4, latency=0.01) as portal:
        site = portal.sites["kk"]
        crawl(sys.executable, "-m", "crawler.cli", "crawl", site.start_url, "--data", str(tmp_path),
              "--max-pages", "6", "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0",
              "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=4")
        arrivals = [entry.time for entry in portal.requests("kk")]
    assert len(arrivals) >= 5
    gaps = [later - earlier for earlier, later in zip(arrivals, arrivals[1:])]
    assert min(gaps) >= 0.4, gaps


def test_one_request_at_a_time_per_host_by_default(tmp_path):
    with DemoPortal(articles_per_site=4, latency=0.05) as portal:
        urls = [site.start_url for site in portal.sites.values()]
        crawl(sys.executable, "-m", "crawler.cli", "crawl", *urls, "--data", str(tmp_path), "--max-pages", "30",
              "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0", "-s", "CONCURRENT_REQUESTS=16")
        assert [portal.max_in_flight(site_id) for site_id in portal.sites] == [1, 1, 1]


def test_scrapy_crawl_works_as_scrapy_users_expect(tmp_path):
    with DemoPortal(articles_per_site=3) as portal:
        site = portal.sites["en"]
        crawl(sys.executable, "-m", "scrapy", "crawl", "news", "-a", f"start_url={site.start_url}",
              "-s", f"NEWSARCHIVE_DATA_DIR={tmp_path}", "-s", "NEWSARCHIVE_CONTACT=archivist@example.org",
              "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0", cwd=ROOT)
        agents = {entry.headers.get("User-Agent") for entry in portal.requests("en")}
    assert agents == {"newsarchive/0.1.0 (web archive crawler; +archivist@example.org)"}
    assert list((tmp_path / "warc").glob("*.warc.gz")) and (tmp_path / "catalog.db").exists()


def test_a_slow_site_gets_its_requests_spaced_out_with_autothrottle(tmp_path):
    """AutoThrottle (on by default) spaces requests by the site's latency, even where the gate allows 4.

    Measured as what the server saw (gaps between arrivals, requests in flight), not as a rate, so a
    busy machine only makes the throttled gaps longer.
    """

    def arrivals_and_overlap(autothrottle):
        with DemoPortal(articles_per_site=4, latency=0.3) as portal:
            site = portal.sites["en"]
            crawl(sys.executable, "-m", "crawler.cli", "crawl", site.start_url,
                  "--data", str(tmp_path / autothrottle), "--max-pages", "12",
                  "-s", f"AUTOTHROTTLE_ENABLED={autothrottle}", "-s", "AUTOTHROTTLE_START_DELAY=0.3",
                  "-s", "DOWNLOAD_DELAY=0", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=4",
                  # Scrapy draws each delay from 0.5-1.5 x the throttled one: off, so the gaps are the delay
                  "-s", "RANDOMIZE_DOWNLOAD_DELAY=False")
            arrivals = [entry.time for entry in portal.requests("en") if entry.path != "/robots.txt"]
            return arrivals, portal.max_in_flight("en")

    throttled, throttled_overlap = arrivals_and_overlap("True")
    unthrottled, unthrottled_overlap = arrivals_and_overlap("False")
    gaps = [later - earlier for earlier, later in zip(throttled, throttled[1:])]
    print(f"AutoThrottle: smallest gap {min(gaps):.2f} s, {throttled_overlap} in flight; "
          f"without: {unthrottled_overlap} in flight")
    assert len(throttled) >= 8 and min(gaps) >= 0.2, gaps  # about the site's 0.3 s latency apart
    assert throttled_overlap <= 2 < unthrottled_overlap  # without it, the gate's 4 are used
