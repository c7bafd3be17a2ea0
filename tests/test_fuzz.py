"""Parsers that take text from the web, fuzzed: no exception escapes, no hang.

Each property runs a few hundred generated inputs (hypothesis); a deadline per
example catches pathological slowness (a regex that backtracks, a parser that
loops), generous enough for a loaded 2-core machine.
"""

import string
from datetime import datetime, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archive import extract
from archive.charset import decode_html
from archive.dates import parse_date
from archive.traps import series_kind, trap_kind
from archive.urls import clean_url, origin
from crawler.discovery import feed_urls, is_attachment, sitemap_urls

NOW = datetime(2026, 11, 25, tzinfo=timezone.utc)
FUZZ = settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])

url_alphabet = st.sampled_from(list(string.printable + "жаңалықтарқазӘ%#?&=;/:.@[]\u0300\x00"))
urls = st.one_of(
    st.text(url_alphabet, max_size=300),
    st.builds(lambda scheme, host, path: f"{scheme}://{host}/{path}",
              st.sampled_from(["http", "https", "HTTP", "ftp", ""]),
              st.text(url_alphabet, min_size=0, max_size=40),
              st.text(url_alphabet, max_size=200)),
)
month_words = st.sampled_from(["қараша", "ноября", "November", "қарашада", "мая", "Jan", "жылғы", "г.", "года"])
date_like = st.lists(st.one_of(st.integers(-5, 100_000).map(str), month_words,
                               st.sampled_from([" ", ".", "-", "/", ":", ",", "T", "+05:00"])), max_size=20).map("".join)


@FUZZ
@given(urls)
def test_clean_url_never_raises_and_is_idempotent(url):
    cleaned = clean_url(url)
    assert isinstance(cleaned, str)
    assert clean_url(cleaned) == cleaned


@FUZZ
@given(urls)
def test_origin_and_trap_rules_never_raise(url):
    origin(url)
    trap_kind(url, now=NOW)
    series_kind(url)
    is_attachment(url)


@FUZZ
@given(st.one_of(date_like, st.text(max_size=300)))
def test_parse_date_never_raises(text):
    found = parse_date(text, now=NOW)
    assert found is None or 1991 <= found.year <= 2027


@FUZZ
@given(st.binary(max_size=3000), st.sampled_from([None, "utf-8", "windows-1251", "koi8-r", "nonsense", ""]))
def test_charset_decoding_never_raises(data, declared):
    headers = {"Content-Type": f"text/html; charset={declared}"} if declared is not None else None
    text, encoding = decode_html(data, headers)
    assert isinstance(text, str) and isinstance(encoding, str)


xmlish = st.lists(st.one_of(st.sampled_from(["<urlset>", "</urlset>", "<sitemapindex>", "<url>", "<loc>",
                                             "</loc>", "<rss>", "<item>", "<link>", "</link>", "<entry>",
                                             '<link href="', '"/>', "<!ENTITY x 'y'>", "&x;", "<![CDATA[", "]]>"]),
                            st.text(max_size=30)), max_size=40).map("".join)


@FUZZ
@given(st.one_of(xmlish.map(str.encode), st.binary(max_size=2000)))
def test_sitemap_and_feed_parsing_never_raise(body):
    kind, locations = sitemap_urls(body)
    assert kind in ("", "urlset", "sitemapindex") and isinstance(locations, list)
    assert isinstance(feed_urls(body), list)


@settings(max_examples=60, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=4000),
                 st.lists(st.sampled_from(["<html>", "<p>", "</div>", "<h1>", "25 қараша 2026", "<time datetime='",
                                           "'>", "<meta charset='koi8-r'>", "\x00", "Аким", "<<", "&#0;"]),
                          max_size=60).map("".join)))
def test_extract_never_raises(html):
    article = extract(html, url="http://x.kz/news/1")
    assert isinstance(article.is_article, bool)
