"""The rules that bound a hostile site, one behaviour each: URL traps, URL identity, Retry-After, trouble."""

from datetime import datetime, timezone

import pytest

from archive.traps import is_calendar, is_pagination, series_kind, trap_kind
from archive.urls import clean_url
from crawler.middlewares.politeness import retry_after_seconds
from crawler.trouble import trouble, trouble_line

NOW = datetime(2026, 11, 25, tzinfo=timezone.utc)


@pytest.mark.parametrize("url, kind", [
    ("http://x.kz/a/a/a/", "path_repetition"),
    ("http://x.kz/news/2026/news/2026/news/", "path_repetition"),
    ("http://x.kz/search?q=1&q=1", "query_growth"),
    ("http://x.kz/search?" + "&".join(f"p{i}=1" for i in range(13)), "query_growth"),
    ("http://x.kz/search?q=" + "x" * 500, "query_growth"),
    ("http://x.kz/" + "x" * 2100, "long_url"),
    ("http://x.kz/calendar?month=2150-01", "calendar"),
    ("http://x.kz/calendar/1850/01/", "calendar"),
    ("http://x.kz/events?year=1989", "calendar"),
])
def test_traps_by_kind(url, kind):
    assert trap_kind(url, now=NOW) == kind


@pytest.mark.parametrize("url", [
    "http://x.kz/kk/news/12345-akim-visited",
    "http://x.kz/a/b/a/",  # a segment twice is a normal path
    "http://x.kz/calendar?month=2026-11",
    "http://x.kz/calendar?month=2027-01",
    "http://127.0.0.1:4567/calendar?month=2026-11",  # a port is not a year
    "http://x.kz/news?page=9999",
])
def test_ordinary_urls_are_not_traps(url):
    assert trap_kind(url, now=NOW) is None


def test_series_pages():
    assert is_calendar("http://x.kz/ru/календарь/2026/11")
    assert is_pagination("http://x.kz/news/page/7/")
    assert series_kind("http://x.kz/news?page=2") == "pagination"
    assert series_kind("http://x.kz/news/123") is None


def test_an_idn_host_is_punycode_and_a_cyrillic_path_is_percent_encoded():
    assert clean_url("http://акимат.қаз/жаңа?q=ә") == "http://xn--80aaxhl1b.xn--80ao21a/%D0%B6%D0%B0%D2%A3%D0%B0?q=%D3%99"


def test_a_raw_and_a_percent_encoded_cyrillic_link_are_one_url():
    assert clean_url("http://x.kz/новости") == clean_url("http://x.kz/%D0%BD%D0%BE%D0%B2%D0%BE%D1%81%D1%82%D0%B8")


def test_a_host_that_cannot_be_a_name_is_left_alone():
    assert clean_url("http://a..b\u0300/") == "http://a..b\u0300/"


@pytest.mark.parametrize("value, seconds", [("120", 120.0), ("0", 0.0), ("Wed, 25 Nov 2026 00:00:30 GMT", 30.0),
                                            ("Tue, 24 Nov 2026 00:00:00 GMT", 0.0), ("soon", None), ("", None)])
def test_retry_after_values(value, seconds):
    assert retry_after_seconds(value, now=NOW) == seconds


def test_trouble_keeps_only_trouble_counters_by_kind():
    stats = {"newsarchive/trap/calendar": 2, "robots/unreachable": 1, "downloader/request_count": 50,
             "warc/response": 40, "warc/truncated/length": 1, "ssrf/refused": 0}
    assert trouble(stats) == {"robots/unreachable": 1, "trap/calendar": 2, "warc/truncated/length": 1}
    assert trouble_line(trouble(stats)) == "trouble: robots/unreachable 1, trap/calendar 2, warc/truncated/length 1"
    assert trouble_line({}) == ""
