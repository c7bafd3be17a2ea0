"""End to end: one `newsarchive crawl` of the loopback hostile web, then every case checked.

The hostile web (crawler/demo/hostile.py) serves traps, broken responses, bad
encodings, broken robots.txt files and a link to an internal service. The crawl
must end by itself within its budget, archive what came, refuse what it must,
and name every class of trouble in its summary; `newsarchive verify` must pass.
"""

import subprocess
import sys
import time
from urllib.parse import quote, unquote, urlsplit

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive.catalog import Catalog
from archive.records import open_record
from crawler.demo.hostile import (
    CYRILLIC_ARTICLE_SENTENCE, CYRILLIC_PATH, ENCODING_CASES, LAST_LISTING_PAGE, SIZE_LIMIT, HostileWeb, big_body,
)

pytestmark = pytest.mark.slow

SITE_BUDGET = 200
TIME_BUDGET = 120  # seconds; the crawl takes ~20 s on an idle machine
DOWNLOAD_TIMEOUT = 1.5
REDIRECT_MAX_TIMES = 10
MOJIBAKE = ("Ð", "Ñ", "Ã", "â€", "\ufffd", "Р°", "СЃ")


def run_cli(*args, timeout=TIME_BUDGET + 60):
    return subprocess.run([sys.executable, "-m", "crawler.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    data = tmp_path_factory.mktemp("hostile") / "data"
    with HostileWeb() as web:
        started = time.monotonic()
        result = run_cli("crawl", *web.seeds, "--data", str(data), "--site-budget", str(SITE_BUDGET),
                         "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0",
                         "-s", f"DOWNLOAD_TIMEOUT={DOWNLOAD_TIMEOUT}", "-s", f"DOWNLOAD_MAXSIZE={SIZE_LIMIT}",
                         "-s", f"REDIRECT_MAX_TIMES={REDIRECT_MAX_TIMES}")
        elapsed = time.monotonic() - started
        catalog = Catalog(data / "catalog.db", read_only=True)
        yield web, data, catalog, result, elapsed
        catalog.close()


def paths(web, server="main"):
    return [entry.path for entry in web.requests(server)]


def captures(catalog, web, path):
    url = web.url("main", path)
    return list(catalog.db.query("select * from captures where url = ? order by id", [url]))


def payload(data, row) -> bytes:
    with open_record(data / "warc", row["warc_filename"], row["warc_offset"]) as record:
        return record.raw_stream.read()


# -- the whole crawl ---------------------------------------------------------------


def test_the_crawl_ends_by_itself_within_its_budget(hostile):
    web, _, _, result, elapsed = hostile
    assert result.returncode == 0, result.stderr[-3000:]
    assert "finished" in result.stdout
    assert elapsed < TIME_BUDGET
    assert len(web.requests("main")) <= SITE_BUDGET


def test_the_crawl_never_prints_a_traceback(hostile):
    _, _, _, result, _ = hostile
    assert "Traceback" not in result.stderr


def test_verify_passes_after_the_crawl(hostile):
    _, data, _, _, _ = hostile
    result = run_cli("verify", "--data", str(data))
    assert result.returncode == 0, result.stdout[-3000:]


def test_warcio_check_passes(hostile):
    _, data, _, _, _ = hostile
    files = sorted((data / "warc").glob("*.warc.gz"))
    check = subprocess.run([sys.executable, "-m", "warcio.cli", "check", *map(str, files)],
                           capture_output=True, text=True)
    assert files and check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize("kind", [
    "trap/calendar", "trap/pagination", "trap/path_repetition", "trap/query_growth", "trap/redirect_loop",
    "trap/session_id", "skipped/offsite", "robots/server_error", "robots/unreachable", "robots/unavailable",
    "robotstxt/forbidden", "ssrf/refused", "retry_after/honoured", "retry/count", "warc/truncated/disconnect",
    "warc/truncated/length", "broken/over_size_limit", "broken/decompression_limit", "broken/binary_as_html",
    "broken/empty_body", "warc/fetch_failed/DownloadTimeoutError",
])
def test_the_summary_names_every_class_of_trouble(hostile, kind):
    _, _, _, result, _ = hostile
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("trouble: ")]
    assert f" {kind} " in line.replace(",", " ") + " "


# -- traps and scope ---------------------------------------------------------------


def test_an_endless_calendar_stops_where_it_offers_nothing_new(hostile):
    web, *_ = hostile
    calendar = [path for path in paths(web) if path.startswith("/calendar")]
    assert "/calendar?month=2026-11" in calendar
    assert len(calendar) <= 3, calendar
    assert "/calendar?month=2150-01" not in calendar


def test_pagination_stops_one_page_past_the_last(hostile):
    web, *_ = hostile
    pages = [int(path.split("=")[1]) for path in paths(web) if path.startswith("/news?page=")]
    assert sorted(pages) == list(range(1, LAST_LISTING_PAGE + 2))


def test_a_repeated_path_segment_is_refused(hostile):
    web, *_ = hostile
    assert "/a/a/" in paths(web)
    assert not [path for path in paths(web) if path.startswith("/a/a/a/")]


def test_a_growing_query_string_is_refused(hostile):
    web, *_ = hostile
    assert [path for path in paths(web) if path.startswith("/search")] == ["/search?q=akimat"]


def test_a_redirect_loop_ends_at_the_redirect_limit_with_every_hop_archived(hostile):
    web, _, catalog, _, _ = hostile
    hops = [path for path in paths(web) if path.startswith("/loop")]
    assert len(hops) == REDIRECT_MAX_TIMES + 1
    archived = {urlsplit(row["url"]).path + "?" + urlsplit(row["url"]).query
                for row in catalog.db.query("select url from captures where status = 302")}
    assert {hop if "?" in hop else hop + "?" for hop in hops} <= archived


def test_a_session_id_variant_is_fetched_once_without_its_session_id(hostile):
    web, *_ = hostile
    assert paths(web).count("/news/1") == 1
    assert not [path for path in paths(web) if "sid=" in path]


def test_fragments_javascript_mailto_and_tel_links_are_not_requested(hostile):
    web, *_ = hostile
    assert paths(web).count("/news/2") == 1
    assert not [path for path in paths(web) if "#" in path or ":" in unquote(path)]


def test_a_cyrillic_path_linked_raw_and_percent_encoded_is_one_request(hostile):
    web, _, catalog, _, _ = hostile
    assert paths(web).count(quote(CYRILLIC_PATH)) == 1
    row = catalog.article(web.url("main", quote(CYRILLIC_PATH)))
    assert row is not None and CYRILLIC_ARTICLE_SENTENCE in row["text"]


def test_links_to_other_hosts_are_not_followed(hostile):
    web, _, catalog, _, _ = hostile
    hosts = {urlsplit(row["url"]).hostname for row in catalog.db.query("select url from captures")}
    assert hosts == {"127.0.0.1"}


# -- robots.txt ----------------------------------------------------------------------


def test_no_disallowed_path_is_requested(hostile):
    web, *_ = hostile
    for path in HostileWeb.DISALLOWED:
        assert path not in paths(web)


def test_a_longer_allow_rule_wins_and_a_wildcard_with_end_anchor_matches_exactly(hostile):
    web, *_ = hostile
    assert "/private/open-data.html" in paths(web)
    assert "/report.php?print=1" in paths(web)


@pytest.mark.parametrize("server", ["robots_5xx", "robots_timeout"])
def test_a_robots_txt_that_fails_or_never_answers_disallows_the_host(hostile, server):
    web, *_ = hostile
    requested = paths(web, server)
    assert requested and set(requested) == {"/robots.txt"}


def test_a_robots_txt_that_is_html_garbage_keeps_the_rules_that_parse(hostile):
    web, *_ = hostile
    requested = paths(web, "robots_html")
    assert "/page" in requested
    assert "/hidden/x" not in requested


def test_a_missing_robots_txt_allows_everything(hostile):
    web, *_ = hostile
    assert {"/page", "/hidden/x"} <= set(paths(web, "robots_404"))


# -- security --------------------------------------------------------------------------


def test_nothing_reaches_the_internal_service(hostile):
    web, *_ = hostile
    assert web.requests("internal") == []
    assert "/to-internal" in paths(web)


# -- politeness under pressure -----------------------------------------------------------


def test_retry_after_holds_every_request_to_the_site(hostile):
    web, *_ = hostile
    entries = web.requests("main")
    first = next(i for i, entry in enumerate(entries) if entry.path == "/retry-after")
    later = [entry for entry in entries if entry.time > entries[first].time]
    assert later and later[0].time - entries[first].time >= 1.0
    assert [entry.path for entry in entries].count("/retry-after") == 2


def test_one_request_at_a_time_per_host_even_while_a_page_hangs(hostile):
    web, *_ = hostile
    assert web.max_in_flight("main") == 1


# -- broken responses ----------------------------------------------------------------------


def test_a_500_then_200_is_retried_and_both_are_archived(hostile):
    web, _, catalog, _, _ = hostile
    assert [row["status"] for row in captures(catalog, web, "/flaky")] == [500, 200]
    assert catalog.article(web.url("main", "/flaky")) is not None


def test_a_page_that_never_answers_is_an_error_row(hostile):
    web, _, catalog, _, _ = hostile
    assert captures(catalog, web, "/slow") == []
    errors = list(catalog.db.query("select message from errors where url = ?", [web.url("main", "/slow")]))
    assert errors and all("Timeout" in row["message"] for row in errors)


def test_a_connection_reset_mid_body_is_archived_as_truncated_disconnect(hostile):
    web, data, catalog, _, _ = hostile
    (row,) = captures(catalog, web, "/reset")
    assert row["truncated"] == "disconnect"
    with open_record(data / "warc", row["warc_filename"], row["warc_offset"]) as record:
        assert record.rec_headers.get_header("WARC-Truncated") == "disconnect"


def test_a_response_over_the_size_limit_is_archived_up_to_the_limit(hostile):
    web, data, catalog, _, _ = hostile
    (row,) = captures(catalog, web, "/big")
    assert row["truncated"] == "length"
    with open_record(data / "warc", row["warc_filename"], row["warc_offset"]) as record:
        assert record.rec_headers.get_header("WARC-Truncated") == "length"
        assert record.raw_stream.read() == big_body()[:SIZE_LIMIT]


def test_a_gzip_bomb_is_archived_raw_and_never_inflated_past_the_limit(hostile):
    web, data, catalog, _, _ = hostile
    (row,) = captures(catalog, web, "/bomb")
    assert row["truncated"] is None
    assert payload(data, row) == web.bomb()
    assert catalog.article(web.url("main", "/bomb")) is None


@pytest.mark.parametrize("path", ["/garbage", "/broken", "/empty"])
def test_garbage_broken_and_empty_pages_are_archived_not_catalogued(hostile, path):
    web, _, catalog, _, _ = hostile
    assert [row["status"] for row in captures(catalog, web, path)] == [200]
    assert catalog.article(web.url("main", path)) is None


# -- encodings ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", list(ENCODING_CASES))
def test_every_encoding_case_gives_correct_cyrillic(hostile, path):
    web, _, catalog, _, _ = hostile
    row = catalog.article(web.url("main", path))
    assert row is not None, ENCODING_CASES[path][0]
    assert ENCODING_CASES[path][1] in row["text"]
    assert not [mark for mark in MOJIBAKE if mark in row["text"] + row["title"]]


def test_the_warc_holds_each_encoded_page_byte_for_byte(hostile):
    from crawler.demo.hostile import _encoded_article

    web, data, catalog, _, _ = hostile
    for path in ENCODING_CASES:
        (row,) = captures(catalog, web, path)
        assert payload(data, row) == _encoded_article(path)[0]


def test_every_record_reads_with_valid_digests(hostile):
    _, data, _, _, _ = hostile
    for path in sorted((data / "warc").glob("*.warc.gz")):
        with open(path, "rb") as stream:
            for record in ArchiveIterator(stream, check_digests=True):
                record.content_stream().read()
                assert record.digest_checker.passed is not False
