"""The demo portal serves what it promises, seen from an ordinary HTTP client.

The crawler's end-to-end tests trust this ground truth, so here it is checked
independently with urllib, http.client and raw sockets.
"""

import gzip
import http.client
import re
import socket
import threading
import urllib.error
import urllib.request
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import pytest

from crawler.demo.portal import DemoPortal
from crawler.demo.sites import SITE_CLASSES


def fetch(url, headers=None):
    """(status, headers, body) of a GET, without following redirects."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        connection.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def raw_exchange(url, request_headers=""):
    """The bytes on the wire for a GET that asks the server to close afterwards."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n{request_headers}"
                     "Connection: close\r\n\r\n".encode())
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    return head.decode("latin-1"), body


def dechunk(body):
    chunks, rest = [], body
    while True:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            return chunks
        chunks.append(rest[:size])
        assert rest[size:size + 2] == b"\r\n"
        rest = rest[size + 2:]


def test_each_site_has_its_own_port_and_a_listing_start_url(portal):
    assert set(portal.sites) == {"kk", "ru", "en"}
    assert len({site.base_url for site in portal.sites.values()}) == 3
    for site in portal.sites.values():
        status, headers, body = fetch(site.start_url)
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        assert int(headers["Content-Length"]) == len(body)
        assert headers["Date"]


def test_robots_txt_disallows_linked_paths_and_names_the_sitemap(portal):
    for site in portal.sites.values():
        robots = urllib.request.urlopen(site.robots_url, timeout=5).read().decode()
        for path in site.disallowed_paths:
            assert f"Disallow: {path}\n" in robots
        assert f"Sitemap: {site.sitemap_url}" in robots
        assert "Crawl-delay" not in robots
        start_page = urllib.request.urlopen(site.start_url, timeout=5).read().decode(site.charset)
        assert any(f'href="{path}' in start_page for path in site.disallowed_paths)


def test_crawl_delay_is_advertised_only_when_given():
    with DemoPortal(3, crawl_delay=1.5) as slow:
        robots = urllib.request.urlopen(slow.sites["en"].robots_url, timeout=5).read().decode()
    assert "Crawl-delay: 1.5\n" in robots


def test_russian_site_is_served_in_windows_1251(portal):
    site = portal.sites["ru"]
    article = site.expected_articles[0]
    status, headers, body = fetch(article.url)
    assert headers["Content-Type"] == "text/html; charset=windows-1251"
    assert b'<meta charset="windows-1251">' in body
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    text = body.decode("windows-1251")
    assert article.title in text and article.key_sentence in text
    assert "Последние новости" in text


def test_kazakh_article_has_a_kazakh_byline_and_the_seed_footer(portal):
    site = portal.sites["kk"]
    article = site.expected_articles[0]
    assert article.published == "2026-11-25T10:30:00+05:00"
    page = urllib.request.urlopen(article.url, timeout=5).read().decode("utf-8")
    assert '<span class="date">25 қараша 2026, 10:30</span>' in page
    assert article.key_sentence in page
    for chrome in ("ФОТОГАЛЕРЕЯ", "Біріңғай мемлекеттік байланыс", "AqPrint", "Байланыс номерi", "Соңғы жаңалықтар"):
        assert chrome in page


def test_articles_without_a_time_of_day_have_a_date_only_ground_truth(portal):
    for site in portal.sites.values():
        published = [article.published for article in site.expected_articles]
        assert any(re.fullmatch(r"\d{4}-\d\d-\d\d", value) for value in published)
        assert any(value.endswith("+05:00") for value in published)


def test_english_article_carries_time_datetime_og_tags_and_json_ld(portal):
    article = portal.sites["en"].expected_articles[0]
    page = urllib.request.urlopen(article.url, timeout=5).read().decode()
    assert f'Published <time datetime="{article.published}">25 November 2026</time>' in page
    assert f'<meta property="og:url" content="{article.url}">' in page
    assert '"@type": "NewsArticle"' in page and f'"datePublished": "{article.published}"' in page


def test_every_article_and_every_variant_is_served(portal):
    for site in portal.sites.values():
        for article in site.expected_articles:
            status, headers, _ = fetch(article.url)
            assert status == 200 and headers["ETag"] and headers["Last-Modified"], article.url
            for variant in article.variant_urls:
                status, headers, _ = fetch(variant)
                assert status == 200 or (status == 301 and headers["Location"] == article.url), variant


def test_print_versions_point_their_canonical_link_at_the_article(portal):
    for site in portal.sites.values():
        article = site.expected_articles[0]
        print_url = article.variant_urls[0]
        body = urllib.request.urlopen(print_url, timeout=5).read().decode(site.charset)
        assert f'<link rel="canonical" href="{article.url}">' in body


def test_session_id_variants_are_linked_from_the_listing(portal):
    site = portal.sites["kk"]
    listing = urllib.request.urlopen(site.start_url, timeout=5).read().decode()
    sid_links = [v for a in site.expected_articles for v in a.variant_urls if "?sid=" in v]
    assert sid_links
    assert all(f'href="{urlsplit(v).path}?{urlsplit(v).query}"' in listing for v in sid_links[:3])


def test_old_url_redirects_permanently_to_the_article(portal):
    for site in portal.sites.values():
        moved = next(article for article in site.articles if article.linked_by_old_url)
        old_url = site.absolute(site.old_path(moved))
        expected = site.expected_articles[moved.index]
        assert old_url in expected.variant_urls
        status, headers, _ = fetch(old_url)
        assert (status, headers["Location"], headers["Content-Length"]) == (301, expected.url, "0")


def test_broken_links_and_listing_pages_past_the_end_are_404(portal):
    for site in portal.sites.values():
        for url in site.broken_urls[:2] + [site.base_url + site.listing_path(site.page_count + 1)]:
            with pytest.raises(urllib.error.HTTPError) as error:
                urllib.request.urlopen(url, timeout=5)
            assert error.value.code == 404


def test_pagination_links_to_the_next_page(portal):
    site = portal.sites["en"]
    listing = urllib.request.urlopen(site.start_url, timeout=5).read().decode()
    assert f'<a href="{site.listing_path(2)}" rel="next">' in listing
    assert site.base_url + site.listing_path(2) in site.non_article_urls


def test_feed_is_advertised_and_lists_tracking_variants(portal):
    site = portal.sites["kk"]
    listing = urllib.request.urlopen(site.start_url, timeout=5).read().decode()
    assert f'<link rel="alternate" type="application/rss+xml" title="Жаңалықтар" href="{site.feed_path}">' in listing
    feed = urllib.request.urlopen(site.feed_url, timeout=5).read().decode()
    assert site.expected_articles[0].variant_urls[-1].replace("&", "&amp;") in feed


def test_russian_sitemap_index_points_to_a_gzipped_sitemap_of_every_article(portal):
    site = portal.sites["ru"]
    index = urllib.request.urlopen(site.sitemap_url, timeout=5).read().decode()
    child = re.search(r"<loc>([^<]+\.xml\.gz)</loc>", index).group(1)
    urlset = gzip.decompress(urllib.request.urlopen(child, timeout=5).read()).decode()
    assert all(f"<loc>{article.url}</loc>" in urlset for article in site.expected_articles)


def test_attachments_are_a_real_pdf_and_png(portal):
    site = portal.sites["kk"]
    article = site.articles[0]
    status, headers, body = fetch(site.absolute(site.pdf_path(article)))
    assert (status, headers["Content-Type"]) == (200, "application/pdf") and body.startswith(b"%PDF-1.4")
    status, headers, body = fetch(site.absolute(site.image_path(article, 1)))
    assert (status, headers["Content-Type"]) == (200, "image/png") and body.startswith(b"\x89PNG\r\n\x1a\n")


def test_gzip_url_sends_gzip_to_clients_that_accept_it(portal):
    status, headers, body = fetch(portal.gzip_url, {"Accept-Encoding": "gzip, deflate"})
    assert (status, headers["Content-Encoding"]) == (200, "gzip")
    assert body == portal.served_entity(portal.gzip_url) and int(headers["Content-Length"]) == len(body)
    assert portal.sites["kk"].expected_articles[1].key_sentence in gzip.decompress(body).decode()


def test_gzip_url_sends_identity_to_clients_that_do_not(portal):
    _, headers, body = fetch(portal.gzip_url)
    assert headers["Content-Encoding"] is None and body.startswith(b"<!DOCTYPE html>")


def test_chunked_url_really_is_chunked_on_the_wire(portal):
    head, body = raw_exchange(portal.chunked_url)
    assert "\r\nTransfer-Encoding: chunked" in head and "Content-Length" not in head
    chunks = dechunk(body)
    assert len(chunks) > 1
    assert b"".join(chunks) == portal.served_entity(portal.chunked_url)


def test_head_gives_the_headers_of_get_without_a_body(portal):
    url = portal.sites["en"].expected_articles[0].url
    _, get_headers, get_body = fetch(url)
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    connection.request("HEAD", parts.path)
    response = connection.getresponse()
    assert response.read() == b""
    assert response.headers["Content-Length"] == str(len(get_body))
    assert response.headers["ETag"] == get_headers["ETag"]
    connection.close()


def test_conditional_get_with_the_etag_gives_304(portal):
    url = portal.sites["ru"].expected_articles[0].url
    _, headers, _ = fetch(url)
    status, _, body = fetch(url, {"If-None-Match": headers["ETag"]})
    assert (status, body) == (304, b"")


def test_keep_alive_serves_several_requests_on_one_connection(portal):
    site = portal.sites["kk"]
    connection = http.client.HTTPConnection(urlsplit(site.base_url).hostname, urlsplit(site.base_url).port, timeout=5)
    for path in ("/robots.txt", site.start_path, urlsplit(portal.chunked_url).path, "/no-such-page"):
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        assert not response.will_close, path
    connection.close()


def test_request_log_records_method_path_and_headers():
    with DemoPortal(3) as fresh:
        site = fresh.sites["ru"]
        fetch(site.start_url + "?x=1", {"User-Agent": "probe/1.0"})
        (entry,) = fresh.requests("ru")
        assert (entry.method, entry.path, entry.headers.get("user-agent")) == ("GET", "/ru/novosti/?x=1", "probe/1.0")
        assert fresh.requests("kk") == []
        fresh.reset_log()
        assert fresh.requests() == []


def test_concurrency_counter_counts_overlapping_requests():
    with DemoPortal(3, latency=0.3) as slow:
        site = slow.sites["en"]
        fetch(site.robots_url)
        assert slow.max_in_flight("en") == 1
        threads = [threading.Thread(target=fetch, args=(site.start_url,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert slow.max_in_flight("en") == 4
        assert slow.max_in_flight("kk") == 0


def test_generated_text_never_contains_the_boilerplate():
    for site_class in SITE_CLASSES.values():
        site = site_class("http://127.0.0.1:9", 300)
        for article in site.articles:
            text = " ".join((article.title, article.lead, *article.paragraphs))
            assert not [chrome for chrome in site.boilerplate if chrome in text], article.number


def test_ground_truth_does_not_depend_on_the_portal_size():
    for site_class in SITE_CLASSES.values():
        small = site_class("http://127.0.0.1:9", 12).expected_articles
        large = site_class("http://127.0.0.1:9", 2000).expected_articles[:12]
        assert [(a.url, a.title, a.published, a.key_sentence) for a in small] == \
               [(a.url, a.title, a.published, a.key_sentence) for a in large]


def test_key_sentences_are_unique_and_dates_run_newest_first():
    for site_class in SITE_CLASSES.values():
        site = site_class("http://127.0.0.1:9", 2000)
        assert len({a.key_sentence for a in site.expected_articles}) == 2000
        assert all(newer.published > older.published for newer, older in zip(site.articles, site.articles[1:]))


def test_every_page_answered_200_carries_an_etag_that_a_conditional_get_turns_into_304(portal):
    for site in portal.sites.values():
        for url in (site.start_url, site.sitemap_url, site.feed_url, site.non_article_urls[1]):
            status, headers, _ = fetch(url)
            assert status == 200 and headers["ETag"], url
            assert fetch(url, {"If-None-Match": headers["ETag"]})[0] == 304, url


def site_paths(site, url):
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_published_articles_are_newer_than_the_newest_and_lead_the_listing_and_sitemap():
    site = SITE_CLASSES["en"]("http://127.0.0.1:9", 12)
    newest_before = site.articles[0].published
    listing_etag = dict(site.respond(site.start_path).headers)["ETag"]
    added = site.publish_articles(3)
    assert [a.url for a in added] == [a.url for a in site.expected_articles[:3]]
    assert len(site.expected_articles) == 15 and len({a.url for a in site.expected_articles}) == 15
    assert all(article.published > newest_before for article in site.articles[:3])
    listing = site.respond(site.start_path)
    assert dict(listing.headers)["ETag"] != listing_etag
    assert f'href="{urlsplit(added[0].url).path}"' in listing.body.decode()
    assert all(f"<loc>{a.url}</loc>" in site.respond("/sitemap.xml").body.decode() for a in added)
    page = site.respond(site_paths(site, added[1].url))
    assert page.status == 200 and added[1].key_sentence in page.body.decode()


def test_published_articles_keep_every_lead_unique():
    site = SITE_CLASSES["kk"]("http://127.0.0.1:9", 40)
    site.publish_articles(25)
    assert len({a.key_sentence for a in site.expected_articles}) == 65


def test_an_edited_article_has_the_new_text_a_new_etag_and_a_later_last_modified():
    site = SITE_CLASSES["ru"]("http://127.0.0.1:9", 12)
    url = site.expected_articles[4].url
    before = dict(site.respond(site_paths(site, url)).headers)
    edited = site.edit_article(url, lead="Аким области уточнил сроки ремонта дорог.")
    after = site.respond(site_paths(site, url))
    assert edited.key_sentence == "Аким области уточнил сроки ремонта дорог." == site.expected_articles[4].key_sentence
    assert edited.key_sentence in after.body.decode("windows-1251")
    headers = dict(after.headers)
    assert headers["ETag"] != before["ETag"]
    assert parsedate_to_datetime(headers["Last-Modified"]) > parsedate_to_datetime(before["Last-Modified"])


def test_an_edit_without_text_appends_a_note_in_the_sites_language():
    site = SITE_CLASSES["kk"]("http://127.0.0.1:9", 12)
    original = site.expected_articles[0].key_sentence
    assert site.edit_article(site.expected_articles[0].url).key_sentence == f"{original} Мәтін нақтыланды."


@pytest.mark.parametrize("status", [404, 410])
def test_a_removed_article_answers_its_status_and_leaves_listing_and_ground_truth(status):
    site = SITE_CLASSES["kk"]("http://127.0.0.1:9", 12)
    gone = site.expected_articles[3]
    site.remove_article(gone.url, status=status)
    assert site.respond(site_paths(site, gone.url)).status == status
    assert site.respond(site_paths(site, gone.variant_urls[0])).status == status  # the print version
    assert gone.url not in {a.url for a in site.expected_articles} and len(site.expected_articles) == 11
    assert site.removed_urls == {gone.url: status}
    assert f'href="{urlsplit(gone.url).path}' not in site.respond(site.start_path).body.decode()


def test_ground_truth_follows_the_changes_feed_variants_and_older_links_included():
    site = SITE_CLASSES["en"]("http://127.0.0.1:9", 30)
    site.publish_articles(2)
    site.remove_article(site.expected_articles[5].url)
    fresh = SITE_CLASSES["en"]("http://127.0.0.1:9", 30)
    assert [a.url for a in site.expected_articles[2:]] == [a.url for i, a in enumerate(fresh.expected_articles) if i != 3]
    for position, article in enumerate(site.expected_articles):
        in_feed = any("utm_source=atom" in variant for variant in article.variant_urls)
        assert in_feed == (position < 20), article.url
        page = site.respond(site_paths(site, article.url))
        assert page.status == 200
