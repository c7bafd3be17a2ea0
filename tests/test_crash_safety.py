"""A crawl that is stopped, or cannot write, leaves an archive that is still valid."""

import resource
import signal
import subprocess
import sys
import time

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive.catalog import Catalog
from archive.errors import WarcWriteError
from archive.records import open_record
from archive.warc import HttpExchange, WarcWriter
from crawler.demo.portal import DemoPortal


def read_all(directory):
    """Every record of every WARC, read to its end: raises on a cut or corrupt record."""
    kinds = []
    for path in sorted(directory.glob("*.warc.gz")):
        with open(path, "rb") as stream:
            for record in ArchiveIterator(stream, check_digests=True):
                record.content_stream().read()
                assert record.digest_checker.passed is not False
                kinds.append(record.rec_type)
    return kinds


def assert_pointers_open(data, catalog):
    for row in catalog.db.query("select url, warc_filename, warc_offset from captures "
                                "union all select url, warc_filename, warc_offset from articles"):
        with open_record(data / "warc", row["warc_filename"], row["warc_offset"]) as record:
            assert record.rec_headers.get_header("WARC-Target-URI") == row["url"]


@pytest.fixture
def file_size_limit():
    """RLIMIT_FSIZE: writes past it fail with EFBIG, like a full disk (Python ignores SIGXFSZ)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)

    def limit(size):
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))

    yield limit
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def test_a_failed_write_leaves_whole_exchanges_only(tmp_path, file_size_limit):
    writer = WarcWriter(tmp_path / "warc")
    body = bytes(range(256)) * 40
    file_size_limit(60_000)
    with pytest.raises(WarcWriteError, match="File too large"):
        for i in range(100):
            writer.write_exchange(HttpExchange(f"http://127.0.0.1/n/{i}", 200, [], body))
    writer.close()
    file_size_limit(resource.RLIM_INFINITY)
    kinds = read_all(tmp_path / "warc")
    assert kinds[0] == "warcinfo" and kinds.count("request") == kinds.count("response") > 3
    assert kinds[-1] == "response"


def test_a_crawl_that_cannot_write_stops_with_one_line_and_a_valid_archive(tmp_path):
    data = tmp_path / "data"

    def limit_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (600_000, resource.RLIM_INFINITY))

    with DemoPortal(articles_per_site=150) as portal:  # a WARC well past the limit, a catalog under it
        result = subprocess.run(
            [sys.executable, "-m", "crawler.cli", "crawl", portal.sites["kk"].start_url, "--data", str(data),
             "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0"],
            capture_output=True, text=True, timeout=240, preexec_fn=limit_file_size)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and "File too large" in errors[0], result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert not list((data / "warc").glob("*.open"))
    kinds = read_all(data / "warc")
    assert kinds.count("request") == kinds.count("response") > 10
    with Catalog(data / "catalog.db", read_only=True) as catalog:
        assert_pointers_open(data, catalog)


def test_sigterm_finishes_in_flight_records_and_marks_the_crawl_interrupted(tmp_path):
    data = tmp_path / "data"
    with DemoPortal(articles_per_site=60, latency=0.05) as portal:
        crawl = subprocess.Popen(
            [sys.executable, "-m", "crawler.cli", "crawl", *[s.start_url for s in portal.sites.values()],
             "--data", str(data), "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while len(portal.requests()) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        crawl.send_signal(signal.SIGTERM)
        stdout, stderr = crawl.communicate(timeout=120)
        total = sum(len(site.expected_articles) for site in portal.sites.values())
    assert crawl.returncode != 0, stderr[-2000:]
    assert "interrupted" in stdout
    assert not list((data / "warc").glob("*.open"))
    read_all(data / "warc")
    with Catalog(data / "catalog.db", read_only=True) as catalog:
        (row,) = catalog.db.query("select status, finished_at from crawls")
        assert row["status"] == "interrupted" and row["finished_at"]
        assert 0 < catalog.counts()["articles"] < total
        assert_pointers_open(data, catalog)
