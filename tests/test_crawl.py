"""End to end: `newsarchive crawl` of the loopback demo portal, then everything read back.

One real crawl (a subprocess running the installed CLI, like a user) feeds every
test here: the WARC files are read with warcio, the catalog is a real SQLite
file, and the portal's own request log says what reached the servers.
"""

import subprocess
import sys
from urllib.parse import urlsplit

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive.catalog import Catalog
from archive.records import open_record
from archive.urls import clean_url
from crawler.demo.portal import DemoPortal

HOST_LIMIT = 2


def run_cli(*args, timeout=240):
    return subprocess.run([sys.executable, "-m", "crawler.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def crawl(tmp_path_factory):
    """The demo portal, crawled once with politeness relaxed for loopback but the host limit kept."""
    data = tmp_path_factory.mktemp("crawl") / "data"
    with DemoPortal(articles_per_site=12, latency=0.02) as portal:
        result = run_cli("crawl", *[site.start_url for site in portal.sites.values()], "--data", str(data),
                         "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0",
                         "-s", f"CONCURRENT_REQUESTS_PER_DOMAIN={HOST_LIMIT}")
        assert result.returncode == 0, result.stderr[-3000:]
        catalog = Catalog(data / "catalog.db", read_only=True)
        yield portal, data, catalog, result
        catalog.close()


def warc_files(data):
    return sorted((data / "warc").glob("*.warc.gz"))


def all_records(data):
    for path in warc_files(data):
        with open(path, "rb") as stream:
            for record in ArchiveIterator(stream, check_digests=True):
                record.content_stream().read()
                yield path, record


def test_the_cli_reports_what_it_archived(crawl):
    portal, data, catalog, result = crawl
    expected = sum(len(site.expected_articles) for site in portal.sites.values())
    assert f"{expected} articles catalogued" in result.stdout
    assert "finished" in result.stdout


def test_warcio_check_passes_on_every_file(crawl):
    _, data, _, _ = crawl
    files = warc_files(data)
    assert files and not list((data / "warc").glob("*.open"))
    check = subprocess.run([sys.executable, "-m", "warcio.cli", "check", *map(str, files)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_every_record_has_valid_digests_and_files_open_with_warcinfo(crawl):
    _, data, _, _ = crawl
    first_of_file = {}
    for path, record in all_records(data):
        first_of_file.setdefault(path, record.rec_type)
        assert record.digest_checker.passed is not False, (path.name, record.rec_headers.get_header("WARC-Target-URI"))
    assert set(first_of_file.values()) == {"warcinfo"}


def test_every_response_has_its_request(crawl):
    _, data, _, _ = crawl
    responses, requests = {}, {}
    for _, record in all_records(data):
        if record.rec_type == "response":
            responses[record.rec_headers.get_header("WARC-Record-ID")] = record.rec_headers.get_header("WARC-Concurrent-To")
        elif record.rec_type == "request":
            requests[record.rec_headers.get_header("WARC-Record-ID")] = record.rec_headers.get_header("WARC-Concurrent-To")
    assert responses and all(requests[request_id] == response_id for response_id, request_id in responses.items())


def test_every_request_the_servers_saw_is_in_the_warc(crawl):
    portal, data, catalog, _ = crawl
    archived = {row["url"] for row in catalog.db.query("select url from captures")}
    for site in portal.sites.values():
        for entry in portal.requests(site.id):
            assert site.base_url + entry.path in archived, entry.path


def test_every_catalog_pointer_opens_the_record_it_names(crawl):
    _, data, catalog, _ = crawl
    rows = list(catalog.db.query("select url, warc_filename, warc_offset, record_id from captures"))
    rows += list(catalog.db.query("select url, warc_filename, warc_offset, null as record_id from articles"))
    for row in rows:
        with open_record(data / "warc", row["warc_filename"], row["warc_offset"]) as record:
            assert record.rec_type == "response"
            assert record.rec_headers.get_header("WARC-Target-URI") == row["url"]
            if row["record_id"]:
                assert record.rec_headers.get_header("WARC-Record-ID") == row["record_id"]


def test_articles_have_the_right_fields(crawl):
    portal, _, catalog, _ = crawl
    for site in portal.sites.values():
        for expected in site.expected_articles:
            row = catalog.article(expected.url)
            assert row is not None, expected.url
            assert row["title"] == expected.title
            assert row["published"] == expected.published, expected.url
            assert row["language"] == expected.language
            assert expected.key_sentence in row["text"]


def test_no_boilerplate_in_article_text(crawl):
    portal, _, catalog, _ = crawl
    for site in portal.sites.values():
        for expected in site.expected_articles:
            text = catalog.article(expected.url)["text"]
            for chrome in site.boilerplate:
                assert chrome not in text, (expected.url, chrome)


def test_one_row_per_article_whatever_variant_was_linked(crawl):
    portal, _, catalog, _ = crawl
    expected = {a.url for site in portal.sites.values() for a in site.expected_articles}
    rows = {row["url"] for row in catalog.db.query("select url from articles")}
    assert rows == expected
    variants = {v for site in portal.sites.values() for a in site.expected_articles for v in a.variant_urls}
    assert not rows & {clean_url(v) for v in variants} - expected


def test_pages_that_are_not_articles_are_archived_but_not_catalogued_as_articles(crawl):
    portal, _, catalog, _ = crawl
    captured = {row["url"] for row in catalog.db.query("select url from captures")}
    articles = {row["url"] for row in catalog.db.query("select url from articles")}
    for site in portal.sites.values():
        for url in site.non_article_urls:
            assert url not in articles
        assert any(url in captured for url in site.non_article_urls)


def test_robots_disallowed_paths_are_never_requested(crawl):
    portal, _, _, _ = crawl
    for site in portal.sites.values():
        assert site.disallowed_paths
        for entry in portal.requests(site.id):
            assert not any(entry.path.startswith(path) for path in site.disallowed_paths), entry.path


def test_the_per_host_limit_holds_at_the_server(crawl):
    portal, _, _, _ = crawl
    for site in portal.sites.values():
        assert 1 <= portal.max_in_flight(site.id) <= HOST_LIMIT


def test_user_agent_names_newsarchive(crawl):
    portal, _, _, _ = crawl
    agents = {entry.headers.get("User-Agent") for site in portal.sites.values() for entry in portal.requests(site.id)}
    assert agents and all(agent.startswith("newsarchive/") for agent in agents)


def test_redirects_errors_feeds_sitemaps_and_attachments_are_archived(crawl):
    _, _, catalog, _ = crawl
    statuses = {row["status"] for row in catalog.db.query("select distinct status from captures")}
    assert {200, 301, 404} <= statuses
    types = " ".join(row["content_type"] or "" for row in catalog.db.query("select content_type from captures"))
    for kind in ("application/pdf", "image/", "xml"):
        assert kind in types
    paths = {urlsplit(row["url"]).path for row in catalog.db.query("select url from captures")}
    assert "/robots.txt" in paths


def test_gzip_and_chunked_responses_hold_exactly_what_was_served(crawl):
    portal, data, catalog, _ = crawl
    for url in (portal.gzip_url, portal.chunked_url):
        row = next(catalog.db.query(
            "select warc_filename, warc_offset from captures where url = ? and status = 200", [url]))
        with open_record(data / "warc", row["warc_filename"], row["warc_offset"]) as record:
            assert record.http_headers.get_header("Transfer-Encoding") is None
            if url == portal.gzip_url:
                assert record.http_headers.get_header("Content-Encoding") == "gzip"
                assert record.raw_stream.read() == portal.served_entity(url)
            else:
                assert record.content_stream().read() == portal.served_entity(url)


def test_the_crawl_is_recorded(crawl):
    _, _, catalog, _ = crawl
    (row,) = catalog.db.query("select * from crawls")
    assert row["status"] == "finished" and row["finished_at"] >= row["started_at"]
    assert row["pages"] == catalog.counts()["captures"]
    assert row["articles"] == catalog.counts()["articles"]


def test_start_urls_waiting_together_for_robots_txt_are_all_checked(tmp_path):
    """Every seed of a host waits for the one robots.txt fetch; each must be checked against it,
    not only the first (Scrapy hands the parser to the first waiter alone)."""
    with DemoPortal(articles_per_site=3, latency=0.05) as portal:
        site = portal.sites["kk"]
        root = site.start_url.split("/kk/")[0]
        refused = [f"{root}{path}x{n}" for path in site.disallowed_paths for n in range(3)]
        result = run_cli("crawl", site.start_url, *refused, "--data", str(tmp_path / "data"),
                         "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0",
                         "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8")
        assert result.returncode in (0, 1), result.stderr[-2000:]
        paths = [entry.path for entry in portal.requests("kk")]
    assert "/robots.txt" in paths
    assert not [path for path in paths if any(path.startswith(d) for d in site.disallowed_paths)]
