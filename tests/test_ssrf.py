"""A public page must not make the archiver fetch an internal service.

The hostile site on 127.0.0.1 redirects to a service on 127.0.0.2: without
--allow-private nothing reaches it; with the flag it is fetched (so the test
can tell the difference). Seed hosts are always allowed, loopback or not.
"""

import subprocess
import sys

import pytest

from crawler.demo.hostile import HostileWeb
from crawler.middlewares.ssrf import is_internal_address


def crawl(web, data, *extra):
    result = subprocess.run([sys.executable, "-m", "crawler.cli", "crawl", web.url("main", "/to-internal"),
                             "--data", str(data), "--max-pages", "5", "-s", "AUTOTHROTTLE_ENABLED=False",
                             "-s", "DOWNLOAD_DELAY=0", *extra], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_a_redirect_to_a_loopback_address_outside_the_seeds_is_refused(tmp_path):
    with HostileWeb() as web:
        result = crawl(web, tmp_path / "data")
        assert web.requests("internal") == []
        assert [entry.path for entry in web.requests("main")][:2] == ["/robots.txt", "/to-internal"]
    assert "ssrf/refused" in result.stdout


def test_allow_private_lets_the_redirect_through(tmp_path):
    with HostileWeb() as web:
        crawl(web, tmp_path / "data", "--allow-private")
        assert "/admin" in [entry.path for entry in web.requests("internal")]


@pytest.mark.parametrize("address", ["127.0.0.2", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
                                     "::1", "fe80::1", "fc00::1", "0.0.0.0", "::ffff:127.0.0.1", "224.0.0.1"])
def test_internal_addresses(address):
    assert is_internal_address(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "2.135.0.1", "2a00:1450:4001::1"])
def test_public_addresses(address):
    assert not is_internal_address(address)
