"""Re-crawling an unchanged site stores revisits, not the same bytes again."""

import subprocess
import sys

import pytest

from archive.catalog import Catalog
from archive.dedup import DedupIndex
from archive.records import iter_records, open_record
from archive.warc import SERVER_NOT_MODIFIED, HttpExchange, RevisitOf, WarcWriter, payload_digest
from crawler.demo.portal import DemoPortal


def test_a_revisit_record_keeps_headers_and_names_its_original(tmp_path):
    body = "<html>Жаңалық</html>".encode()
    with WarcWriter(tmp_path) as writer:
        first = writer.write_exchange(HttpExchange("http://127.0.0.1/a", 200, [("Content-Type", "text/html")], body))
        original = RevisitOf(first.record_id, first.url, first.fetched_at)
        again = writer.write_exchange(
            HttpExchange("http://127.0.0.1/a", 200, [("Content-Type", "text/html"), ("X-Again", "1")], body),
            original)
    assert (again.record_type, again.refers_to) == ("revisit", first.record_id)
    assert again.payload_digest == first.payload_digest == payload_digest(body)
    with open_record(tmp_path, again.warc_filename, again.warc_offset) as record:
        headers = record.rec_headers
        assert record.rec_type == "revisit"
        assert headers.get_header("WARC-Profile") == "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
        assert headers.get_header("WARC-Refers-To") == first.record_id
        assert headers.get_header("WARC-Refers-To-Target-URI") == "http://127.0.0.1/a"
        assert headers.get_header("WARC-Refers-To-Date") == first.fetched_at
        assert headers.get_header("WARC-Payload-Digest") == first.payload_digest
        assert record.http_headers.get_header("X-Again") == "1"
        assert record.raw_stream.read() == b""


def test_a_304_answer_is_a_server_not_modified_revisit(tmp_path):
    with WarcWriter(tmp_path) as writer:
        capture = writer.write_exchange(HttpExchange("http://127.0.0.1/a", 304, [("ETag", '"x"')], b""),
                                        RevisitOf("<urn:uuid:1>", "http://127.0.0.1/a", "2026-11-24T10:00:00Z"))
    with open_record(tmp_path, capture.warc_filename, capture.warc_offset) as record:
        assert record.rec_headers.get_header("WARC-Profile") == SERVER_NOT_MODIFIED


@pytest.fixture(scope="module")
def two_crawls(tmp_path_factory):
    """The same unchanged portal crawled twice into one data dir, the second time in full (no conditional requests)."""
    data = tmp_path_factory.mktemp("dedup") / "data"
    with DemoPortal(articles_per_site=12) as portal:
        urls = [site.start_url for site in portal.sites.values()]
        for _ in range(2):
            result = subprocess.run(
                [sys.executable, "-m", "crawler.cli", "crawl", *urls, "--data", str(data), "--full",
                 "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2"],
                capture_output=True, text=True, timeout=240)
            assert result.returncode == 0, result.stderr[-2000:]
    with Catalog(data / "catalog.db", read_only=True) as catalog:
        first, second = [row["id"] for row in catalog.db.query("select id from crawls order by started_at")]
        yield data, catalog, first, second


def payload_bytes(data, crawl_id):
    """Entity bytes stored for a crawl: what dedup saves (headers and request records stay)."""
    total = 0
    for path in (data / "warc").glob("*.warc.gz"):
        for _, record in iter_records(path):
            if record.rec_type == "warcinfo":
                if f"isPartOf: {crawl_id}" not in record.content_stream().read().decode():
                    break
            elif record.rec_type in ("response", "revisit"):
                total += len(record.raw_stream.read())
    return total


def test_the_second_crawl_stores_almost_no_payload_again(two_crawls):
    data, catalog, first, second = two_crawls
    sizes = {row["id"]: row["bytes"] for row in catalog.db.query("select id, bytes from crawls")}
    payloads = {crawl: payload_bytes(data, crawl) for crawl in (first, second)}
    print(f"\nWARC bytes, second/first crawl: {sizes[second]}/{sizes[first]} = {sizes[second] / sizes[first]:.2f}; "
          f"payload bytes: {payloads[second]}/{payloads[first]} = {payloads[second] / payloads[first]:.3f}")
    assert payloads[second] < 0.05 * payloads[first]
    assert sizes[second] < sizes[first]


def test_unchanged_pages_are_revisits_of_the_first_crawls_captures(two_crawls):
    data, catalog, first, second = two_crawls
    revisits = list(catalog.db.query(
        "select url, payload_digest, refers_to, warc_filename, warc_offset from captures "
        "where crawl_id = ? and record_type = 'revisit'", [second]))
    assert len(revisits) > 100
    for revisit in revisits:
        (original,) = catalog.db.query("select url, payload_digest, crawl_id from captures where record_id = ?",
                                       [revisit["refers_to"]])
        assert (original["url"], original["payload_digest"], original["crawl_id"]) == (
            revisit["url"], revisit["payload_digest"], first)
        with open_record(data / "warc", revisit["warc_filename"], revisit["warc_offset"]) as record:
            assert record.rec_type == "revisit"


def test_articles_still_point_at_full_response_records(two_crawls):
    data, catalog, first, _ = two_crawls
    rows = list(catalog.db.query("select url, crawl_id, warc_filename, warc_offset from articles"))
    assert rows and {row["crawl_id"] for row in rows} == {first}
    for row in rows:
        with open_record(data / "warc", row["warc_filename"], row["warc_offset"]) as record:
            assert record.rec_type == "response"


def capture_of(writer, url, body):
    return writer.write_exchange(HttpExchange(url, 200, [("Content-Type", "text/html")], body))


def test_this_crawls_own_capture_is_found_by_url_and_payload(tmp_path):
    index = DedupIndex(None)
    with WarcWriter(tmp_path) as writer:
        first = capture_of(writer, "http://127.0.0.1/a", b"<p>one</p>")
    index.remember(first)
    assert index.lookup("http://127.0.0.1/a", payload_digest(b"<p>one</p>")) == RevisitOf(
        first.record_id, "http://127.0.0.1/a", first.fetched_at)


def test_another_payload_or_another_url_is_not_a_repeat(tmp_path):
    index = DedupIndex(None)
    with WarcWriter(tmp_path) as writer:
        index.remember(capture_of(writer, "http://127.0.0.1/a", b"<p>one</p>"))
    assert index.lookup("http://127.0.0.1/a", payload_digest(b"<p>two</p>")) is None
    assert index.lookup("http://127.0.0.1/b", payload_digest(b"<p>one</p>")) is None


def test_the_first_full_capture_stays_the_one_revisits_name(tmp_path):
    index = DedupIndex(None)
    with WarcWriter(tmp_path) as writer:
        first = capture_of(writer, "http://127.0.0.1/a", b"<p>one</p>")
        again = capture_of(writer, "http://127.0.0.1/a", b"<p>one</p>")
    index.remember(first)
    index.remember(again)
    assert index.lookup("http://127.0.0.1/a", payload_digest(b"<p>one</p>")).record_id == first.record_id
