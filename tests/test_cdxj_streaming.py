"""CDXJ indexes made while the WARC is written: the same bytes as reading the WARC back.

A crawl spools each record's index line as it writes it and sorts the lines on
disk when the file closes (archive.cdxj.StreamingIndex). Every test compares
that index with `index_warc`, which reads the closed WARC with cdxj-indexer.
"""

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest

from archive.cdxj import StreamingIndex, index_path, index_warc, update_indexes
from archive.warc import HttpExchange, RevisitOf, WarcWriter
from crawler.demo.portal import DemoPortal

PINNED = datetime(2026, 11, 25, 5, 30, tzinfo=timezone.utc)


def streaming_writer(tmp_path, **kwargs):
    """A writer whose closed files are indexed from their spooled lines into tmp_path/indexes."""
    index = StreamingIndex(tmp_path / "indexes", **kwargs)
    writer = WarcWriter(tmp_path / "warc", hostname="testhost", record_listener=index, on_close=index.finish)
    return writer, index


def read_back_index(warc, tmp_path):
    """The index cdxj-indexer makes of the closed file, elsewhere."""
    return index_warc(warc, tmp_path / "read-back").read_bytes()


def page(url, body=b"<html><p>news</p></html>", status=200, headers=None, moment=PINNED, **kwargs):
    return HttpExchange(url=url, status=status, body=body, fetched_at=moment, ip_address="127.0.0.1",
                        response_headers=headers or [("Content-Type", "text/html; charset=utf-8")],
                        request_headers=[("Host", "127.0.0.1:8080")], **kwargs)


def assert_index_is_the_read_back_one(data, warc_name):
    warc = data / "warc" / warc_name
    assert index_path(warc, data / "indexes").read_bytes() == read_back_index(warc, data), warc_name


def assert_same_as_read_back(tmp_path, writer, index):
    assert writer.files_written
    for name in writer.files_written:
        assert_index_is_the_read_back_one(tmp_path, name)
    assert index.read_back == [], "every file should have been indexed from its spooled lines"
    assert not list((tmp_path / "indexes").glob("*.unsorted*")), "spools are removed once sorted"


def test_every_kind_of_record_gets_the_line_reading_back_gives(tmp_path):
    writer, index = streaming_writer(tmp_path)
    first = writer.write_exchange(page("http://127.0.0.1:8080/kk/news/1"))
    writer.write_exchange(page("http://127.0.0.1:8080/kk/news/1", moment=PINNED + timedelta(days=1)),
                          RevisitOf(first.record_id, first.url, first.fetched_at))
    writer.write_exchange(page("http://127.0.0.1:8080/kk/news/1", status=304, body=b"",
                               moment=PINNED + timedelta(days=2)),
                          RevisitOf(first.record_id, first.url, first.fetched_at))  # left out of the index
    writer.write_exchange(page("http://127.0.0.1:8080/old", status=301, body=b"",
                               headers=[("Location", "/kk/news/1"), ("Content-Length", "0")]))
    writer.write_exchange(page("http://127.0.0.1:8080/report.pdf", body=b"%PDF-1.4",
                               headers=[("Content-Type", " application/pdf ")]))
    writer.write_exchange(page("http://127.0.0.1:8080/no-type", headers=[("X-A", "b")]))
    writer.write_exchange(page("http://127.0.0.1:8080/empty-type", headers=[("Content-Type", "")]))
    writer.write_exchange(page("http://127.0.0.1:8080/latin", reason="D\xe9plac\xe9",
                               headers=[("Content-Type", "text/html;charset=\xd2\x9b")]))
    writer.write_exchange(page("http://127.0.0.1:8080/kk/%D0%B6%D0%B0%D2%A3%D0%B0?q=1&a=%20"))
    writer.write_record("http://127.0.0.1:8080/kk/news/1", "conversion", b"<html>dom</html>",
                        content_type="text/html")
    writer.write_record("http://127.0.0.1:8080/shot.png", "resource", b"\x89PNG", content_type="image/png")
    writer.write_record("http://127.0.0.1:8080/kk/news/1", "metadata", b"a: b\r\n",
                        content_type="application/warc-fields")
    writer.close()
    assert_same_as_read_back(tmp_path, writer, index)


def test_rotated_files_each_get_their_own_index(tmp_path):
    index = StreamingIndex(tmp_path / "indexes")
    writer = WarcWriter(tmp_path / "warc", hostname="testhost", max_size=3000, record_listener=index,
                        on_close=index.finish)
    for n in range(30):
        writer.write_exchange(page(f"http://127.0.0.1:8080/kk/news/{n}", body=b"<p>%d</p>" % n * 50))
    writer.close()
    assert len(writer.files_written) > 3
    assert_same_as_read_back(tmp_path, writer, index)


def test_an_index_larger_than_one_sorted_run_is_merged_from_runs_on_disk(tmp_path):
    writer, index = streaming_writer(tmp_path, run_lines=7)
    urls = [f"http://127.0.0.1:8080/kk/news/{(n * 37) % 101}" for n in range(60)]  # out of order, repeated
    for n, url in enumerate(urls):
        writer.write_exchange(page(url, moment=PINNED + timedelta(seconds=n % 3)))
    writer.close()
    assert_same_as_read_back(tmp_path, writer, index)


def test_a_header_that_would_read_back_differently_makes_the_index_read_the_warc(tmp_path):
    writer, index = streaming_writer(tmp_path)
    writer.write_exchange(page("http://127.0.0.1:8080/a b"))  # warcio rewrites the space as it reads
    writer.close()
    assert index.read_back == writer.files_written
    assert_index_is_the_read_back_one(tmp_path, writer.files_written[0])


def test_a_spool_lost_before_close_is_replaced_by_reading_the_warc(tmp_path):
    writer, index = streaming_writer(tmp_path)
    writer.write_exchange(page("http://127.0.0.1:8080/kk/news/1"))
    spool, = (tmp_path / "indexes").glob("*.unsorted")
    spool.unlink()
    writer.close()
    assert_index_is_the_read_back_one(tmp_path, writer.files_written[0])


def test_a_killed_crawls_spool_is_removed_once_its_warc_is_no_longer_open(tmp_path):
    writer, _index = streaming_writer(tmp_path)
    writer.write_exchange(page("http://127.0.0.1:8080/kk/news/1"))
    spool, = (tmp_path / "indexes").glob("*.unsorted")
    update_indexes(tmp_path / "warc", tmp_path / "indexes")
    assert spool.exists(), "the WARC is still being written"
    writer._file.close()  # killed: the .open file stays, as `verify --repair` finds it
    writer.open_path.rename(tmp_path / "warc" / writer.filename)  # what the repair does with a whole file
    report = update_indexes(tmp_path / "warc", tmp_path / "indexes")
    assert not spool.exists()
    assert [p.name for p in report.indexed] == [writer.filename + ".cdxj"]


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """Three demo-portal crawls into rotated WARC files: full, full again (identical-payload revisits),
    incremental (304s, server-not-modified revisits), each indexed as it was written."""
    data = tmp_path_factory.mktemp("streamed") / "data"
    with DemoPortal(articles_per_site=4) as portal:
        for mode in ("--full", "--full", "--no-extract"):
            crawl = subprocess.run(
                [sys.executable, "-m", "crawler.cli", "crawl", *[site.start_url for site in portal.sites.values()],
                 "--data", str(data), "--no-extract", mode, "-s", "AUTOTHROTTLE_ENABLED=False",
                 "-s", "DOWNLOAD_DELAY=0", "-s", "NEWSARCHIVE_WARC_MAX_SIZE=60000"],
                capture_output=True, text=True, timeout=240)
            assert crawl.returncode == 0, crawl.stderr[-3000:]
            assert "indexed by reading" not in crawl.stderr
    return data


def test_a_real_crawls_indexes_are_the_bytes_reading_its_warcs_gives(crawled, tmp_path):
    warcs = sorted((crawled / "warc").glob("*.warc.gz"))
    assert len(warcs) > 3
    kinds = set()
    for warc in warcs:
        streamed = index_path(warc, crawled / "indexes").read_bytes()
        assert streamed == read_back_index(warc, tmp_path), warc.name
        kinds |= {line.split(b'"mime": "')[1].split(b'"')[0] for line in streamed.splitlines()}
    assert {b"text/html", b"warc/revisit", b"application/xml"} <= kinds
    assert not list((crawled / "indexes").glob("*.unsorted*"))



def killed_once_spooled(data, portal):
    """A crawl SIGKILLed once its spool holds a few dozen lines: its WARC is left .open, its spool behind."""
    crawl = subprocess.Popen(
        [sys.executable, "-m", "crawler.cli", "crawl", *[s.start_url for s in portal.sites.values()],
         "--data", str(data), "--no-extract", "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    spooled = lambda: sum(p.stat().st_size for p in (data / "indexes").glob("*.unsorted")) > 12_000  # noqa: E731
    while time.monotonic() < deadline and crawl.poll() is None and not ((data / "indexes").is_dir() and spooled()):
        time.sleep(0.05)
    os.killpg(crawl.pid, signal.SIGKILL)
    crawl.wait(timeout=30)


@pytest.mark.slow
def test_a_killed_crawl_gets_its_index_from_the_repaired_warc(tmp_path):
    with DemoPortal(articles_per_site=12, latency=0.05) as portal:
        killed_once_spooled(tmp_path, portal)
    assert list((tmp_path / "warc").glob("*.open")) and list((tmp_path / "indexes").glob("*.unsorted"))
    subprocess.run([sys.executable, "-m", "crawler.cli", "verify", "--repair", "--data", str(tmp_path)],
                   capture_output=True, timeout=120)
    indexed = subprocess.run([sys.executable, "-m", "crawler.cli", "index", "--data", str(tmp_path)],
                             capture_output=True, text=True, timeout=120)
    assert indexed.returncode == 0, indexed.stderr
    warc, = (tmp_path / "warc").glob("*.warc.gz")
    assert_index_is_the_read_back_one(tmp_path, warc.name)
    assert sorted(p.name for p in (tmp_path / "indexes").iterdir()) == [warc.name + ".cdxj"]
