"""URL identity: variants of one article's address collapse into one URL."""

import pytest

from archive.urls import clean_url, origin, url_key


@pytest.mark.parametrize(
    "variant",
    [
        "http://example.kz/kk/news/123",
        "HTTP://Example.KZ:80/kk/news/123",
        "http://example.kz/kk/news/123#comments",
        "http://example.kz/kk/news/123?sid=8f3a9c",
        "http://example.kz/kk/news/123?utm_source=fb&utm_medium=social",
        "http://example.kz/kk/news/123?PHPSESSID=abc&fbclid=IwAR0",
        "http://example.kz/kk/news/123;jsessionid=0A1B2C",
    ],
)
def test_session_and_tracking_variants_collapse(variant):
    assert clean_url(variant) == "http://example.kz/kk/news/123"


def test_parameters_that_select_content_are_kept_in_the_sites_order():
    assert clean_url("http://example.kz/news?page=2&sid=1&lang=kk") == "http://example.kz/news?page=2&lang=kk"
    assert clean_url("http://example.kz/news?b=2&a=1") == "http://example.kz/news?b=2&a=1"


def test_non_default_port_is_part_of_the_identity():
    assert clean_url("http://127.0.0.1:8080/a?utm_source=x") == "http://127.0.0.1:8080/a"
    assert origin("http://127.0.0.1:8080/a/b?c=d") == "http://127.0.0.1:8080"


@pytest.mark.parametrize("odd", ["mailto:press@akimat.kz", "javascript:void(0)", "not a url", "http://[::1"])
def test_what_is_not_an_http_url_is_returned_unchanged(odd):
    assert clean_url(odd) == odd


def test_a_url_key_is_the_same_for_the_same_url_and_fits_in_eight_bytes():
    url = "https://akimat.example.kz/kk/news/2024/05/item-7.html"
    assert url_key(url) == url_key(url)
    assert 0 <= url_key(url) < 2 ** 64


def test_url_keys_of_different_urls_differ():
    urls = [f"https://akimat.example.kz/kk/news/{number}" for number in range(10_000)]
    assert len({url_key(url) for url in urls}) == len(urls)
