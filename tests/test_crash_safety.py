"""A crawl that is stopped, or cannot write, leaves an archive that is still valid."""

import resource
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive.catalog import Catalog
from archive.errors import CatalogError, WarcWriteError
from archive.records import open_record
from archive.reindex import reindex
from archive.verify import verify
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


POINTERS = ("captures", "articles", "article_versions", "article_sightings")


def assert_pointers_open(data, catalog):
    """Every catalog row, article versions and sightings included, opens a record of its URL."""
    rows = " union all ".join(f"select url, warc_filename, warc_offset from {table}" for table in POINTERS)
    for row in catalog.db.query(rows):
        with open_record(data / "warc", row["warc_filename"], row["warc_offset"]) as record:
            assert record.rec_headers.get_header("WARC-Target-URI") == row["url"]


def warcio_check(directory):
    """``warcio check`` on every WARC file: an independent reader's verdict."""
    paths = sorted(str(path) for path in directory.glob("*.warc.gz"))
    result = subprocess.run([sys.executable, "-m", "warcio.cli", "check", *paths], check=False,
                            capture_output=True, text=True)
    assert paths and result.returncode == 0, result.stdout + result.stderr


def crawl_under_a_file_size_limit(data, start_url, limit, *options):
    """``newsarchive crawl`` in a process whose every file must stay under ``limit`` bytes (a disk filling up)."""
    def limit_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", "crawl", start_url, "--data", str(data),
         "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0", *options],
        check=False, capture_output=True, text=True, timeout=240, preexec_fn=limit_file_size)


def error_lines(result):
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    return [line for line in result.stderr.splitlines() if line.startswith("Error")]


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


def test_a_write_the_limit_cuts_short_is_not_taken_for_a_whole_record(tmp_path, file_size_limit):
    # The limit lands inside requests, responses and between them: the file system writes what
    # fits and reports a short count, which must end the exchange like the error itself.
    body = bytes(range(256)) * 40
    for limit in range(20_000, 40_000, 503):
        writer = WarcWriter(tmp_path / str(limit))
        file_size_limit(limit)
        with pytest.raises(WarcWriteError):
            for i in range(100):
                writer.write_exchange(HttpExchange(f"http://127.0.0.1/n/{i}", 200, [], body))
        writer.close()
        file_size_limit(resource.RLIM_INFINITY)
        kinds = read_all(tmp_path / str(limit))
        assert kinds[-1] == "response" and kinds.count("request") == kinds.count("response"), limit


def test_a_crawl_whose_warc_cannot_be_written_stops_with_one_line_and_a_valid_archive(tmp_path):
    data = tmp_path / "data"
    with DemoPortal(articles_per_site=150) as portal:
        # Archive only: the catalog (captures rows) stays far under the limit the WARC file reaches.
        result = crawl_under_a_file_size_limit(data, portal.sites["kk"].start_url, 600_000, "--no-extract")
    assert result.returncode == 1
    errors = error_lines(result)
    assert len(errors) == 1 and "File too large" in errors[0] and ".warc.gz.open" in errors[0], result.stderr
    assert not list((data / "warc").glob("*.open"))
    kinds = read_all(data / "warc")
    assert kinds.count("request") == kinds.count("response") > 10
    warcio_check(data / "warc")
    report = verify(data)
    assert report.problems == [] and report.rows_checked == kinds.count("response")
    with Catalog(data / "catalog.db", read_only=True) as catalog:
        (crawl,) = catalog.db.query("select status, pages from crawls")
    assert crawl == {"status": "failed", "pages": kinds.count("response")}


def test_a_crawl_whose_catalog_cannot_be_written_stops_with_one_line_and_a_valid_archive(tmp_path):
    data = tmp_path / "data"
    with DemoPortal(articles_per_site=150) as portal:
        # Articles, their versions and full-text index grow the catalog's WAL far faster than the
        # gzipped WARC grows: small batches make it reach the limit early, the WARC well under it.
        result = crawl_under_a_file_size_limit(data, portal.sites["kk"].start_url, 600_000,
                                               "-s", "NEWSARCHIVE_CATALOG_BATCH=40")
    assert result.returncode == 1
    errors = error_lines(result)
    assert len(errors) == 1 and "cannot write to catalog" in errors[0], result.stderr
    assert "newsarchive reindex" in errors[0]
    assert not list((data / "warc").glob("*.open"))
    kinds = read_all(data / "warc")
    assert 10 < kinds.count("response") < 150  # it stopped: the site has 150 articles and their images
    warcio_check(data / "warc")
    with Catalog(data / "catalog.db", read_only=True) as catalog:
        assert catalog.counts()["captures"] > 0
        assert_pointers_open(data, catalog)  # what the catalog holds was written whole
    missing = verify(data).problems
    assert len(missing) == 1 and "not in captures (newsarchive reindex rebuilds the catalog)" in missing[0]
    reindex(data, workers=1)
    assert verify(data).ok


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


def test_a_catalog_write_that_only_waited_for_another_writers_lock_is_retried_not_a_stop(tmp_path):
    from crawler.pipelines.catalog import _waited_for_a_lock

    (tmp_path / "warc").mkdir()
    with WarcWriter(tmp_path / "warc") as writer:
        capture = writer.write_exchange(HttpExchange("http://127.0.0.1/n/1", 200, [], b"page"))
    catalog = Catalog(tmp_path / "catalog.db", warc_dir=tmp_path / "warc")
    catalog.db.execute("PRAGMA busy_timeout = 0")  # give up at once instead of after five seconds
    catalog.add_capture(capture.as_row())
    other = sqlite3.connect(tmp_path / "catalog.db")
    other.execute("BEGIN IMMEDIATE")  # another crawl worker in the middle of its flush
    with pytest.raises(CatalogError) as locked:
        catalog.flush()
    other.rollback()
    other.close()
    assert _waited_for_a_lock(locked.value) and catalog.pending == 1  # still queued: the next flush writes it
    catalog.flush()
    assert catalog.counts()["captures"] == 1
    catalog.close()
    (tmp_path / "warc" / capture.warc_filename).unlink()
    catalog = Catalog(tmp_path / "catalog.db", warc_dir=tmp_path / "warc")
    catalog.add_capture(capture.as_row())
    with pytest.raises(CatalogError) as gone:
        catalog.flush()
    catalog.close()
    assert not _waited_for_a_lock(gone.value)  # a WARC file gone from under the crawl stops it
