"""Incremental re-crawl: only what is new, due or changed is fetched again.

The rules (crawler.incremental) are tested with a pinned clock; the conditional
request and its 304 revisit record with real Scrapy requests and a real WARC
writer; and the whole behaviour with real loopback crawls of a demo site that
changes between them (new, edited and removed articles), counted at the server.
"""

import re
import sqlite3
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import pytest
from scrapy import Request
from scrapy.http import Response
from scrapy.utils.test import get_crawler
from warcio.archiveiterator import ArchiveIterator

from archive.catalog import Catalog
from archive.datadir import DataDir
from archive.records import open_record
from archive.warc import SERVER_NOT_MODIFIED, HttpExchange, RevisitOf, WarcWriter
from crawler.demo.portal import DemoPortal
from crawler.incremental import (
    VALIDATORS_META,
    CrawlHistory,
    PastCapture,
    RecheckPolicy,
    Validators,
    changed_since,
)
from crawler.middlewares.conditional import ConditionalRequestMiddleware
from crawler.middlewares.warc import WarcCaptureMiddleware
from crawler.resume import archived_response

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SITE = "https://akimat.example.kz"


def past(path, *, days_ago=1, article=False, published=None, status=200):
    return PastCapture(SITE + path, status, NOW - timedelta(days=days_ago), article, published)


def history(*captures, **policy):
    return CrawlHistory({capture.url: capture for capture in captures}, RecheckPolicy(**policy))


# -- the rules ---------------------------------------------------------------


def test_an_unknown_url_is_fetched():
    assert history().decide(SITE + "/ru/novosti/1.html", "page", now=NOW) == ("fetch", "new")


def test_a_url_that_failed_with_a_5xx_is_fetched_again():
    known = history(past("/ru/novosti/1.html", status=503))
    assert known.decide(SITE + "/ru/novosti/1.html", "page", now=NOW) == ("fetch", "failed_before")


@pytest.mark.parametrize("kind", ["seed", "sitemap", "feed"])
def test_seeds_sitemaps_and_feeds_are_always_asked_again(kind):
    known = history(past("/ru/novosti/", days_ago=0))
    assert known.decide(SITE + "/ru/novosti/", kind, now=NOW) == ("recheck", "listing")


def test_a_listing_page_is_walked_again_when_linked_from_a_page_but_not_from_a_sitemap():
    known = history(past("/ru/novosti/page/2/", days_ago=0))
    assert known.decide(SITE + "/ru/novosti/page/2/", "page", now=NOW, from_page=True) == ("recheck", "listing")
    assert known.decide(SITE + "/ru/novosti/page/2/", "page", now=NOW) == ("skip", "archived")


def test_a_recent_article_is_asked_again_every_crawl():
    known = history(past("/ru/novosti/1.html", days_ago=0, article=True, published=date(2026, 11, 20)),
                    recent_days=7)
    assert known.decide(SITE + "/ru/novosti/1.html", "page", now=NOW) == ("recheck", "due")


def test_an_old_article_fetched_lately_is_not_asked_again():
    known = history(past("/ru/novosti/1.html", days_ago=3, article=True, published=date(2025, 1, 10)),
                    old_days=30)
    assert known.decide(SITE + "/ru/novosti/1.html", "page", now=NOW) == ("skip", "article_not_due")


def old_article(number, days_ago):
    return past(f"/ru/novosti/{number}.html", days_ago=days_ago, article=True, published=date(2024, 1, 1))


def test_an_old_article_comes_due_between_old_days_and_half_as_much_again():
    policy = RecheckPolicy(recent_days=7, old_days=30)
    for number in range(50):
        assert not policy.article_due(old_article(number, 29.9), NOW)
        assert policy.article_due(old_article(number, 45), NOW)
    spread = [policy.article_due(old_article(number, 37), NOW) for number in range(200)]
    assert 0 < sum(spread) < 200  # a first crawl's articles do not all come due the same day


def test_other_archived_urls_are_not_asked_again_until_the_old_rhythm():
    known = history(past("/upload/iblock/1_1.png", days_ago=2), past("/news.php?id=7", days_ago=90))
    assert known.decide(SITE + "/upload/iblock/1_1.png", "attachment", now=NOW) == ("skip", "archived")
    assert known.decide(SITE + "/news.php?id=7", "page", now=NOW) == ("recheck", "due")


def test_a_sitemap_lastmod_later_than_the_last_fetch_asks_again():
    known = history(past("/ru/novosti/1.html", days_ago=3, article=True, published=date(2025, 1, 10)))
    url = SITE + "/ru/novosti/1.html"
    assert known.decide(url, "page", now=NOW, lastmod="2026-11-24T08:00:00+05:00") == ("recheck", "lastmod")
    assert known.decide(url, "page", now=NOW, lastmod="2026-11-20") == ("skip", "article_not_due")


def test_a_lastmod_not_later_than_the_last_fetch_does_not_stop_a_due_recheck():
    known = history(past("/ru/novosti/1.html", days_ago=0, article=True, published=date(2026, 11, 24)))
    assert known.decide(SITE + "/ru/novosti/1.html", "page", now=NOW, lastmod="2026-11-01") == ("recheck", "due")


def test_a_date_only_lastmod_covers_its_whole_day():
    fetched = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    assert changed_since("2026-11-25", fetched)  # may have changed after 09:00 that day
    assert not changed_since("2026-11-23", fetched)
    assert changed_since("2026-11-25T09:00:01Z", fetched) and not changed_since("2026-11-25T08:59:59Z", fetched)


def test_an_unreadable_lastmod_counts_as_changed():
    assert changed_since("last tuesday", NOW)


def test_due_articles_are_the_recent_and_the_long_unchecked_newest_first():
    known = history(past("/a", days_ago=0, article=True, published=date(2026, 11, 24)),
                    past("/b", days_ago=0, article=True, published=date(2026, 11, 22)),
                    past("/c", days_ago=2, article=True, published=date(2025, 3, 1)),
                    past("/d", days_ago=60, article=True, published=date(2024, 3, 1)),
                    past("/e", days_ago=60))  # not an article: found by links, not scheduled
    assert known.due_articles(NOW) == [SITE + "/a", SITE + "/b", SITE + "/d"]


# -- loading the history from a catalog ----------------------------------------


def capture_row(url, fetched_at, crawl_id, record_id, *, status=200, record_type="response", refers_to=None,
                etag=None, last_modified=None, offset=0):
    return {"url": url, "status": status, "content_type": "text/html", "fetched_at": fetched_at,
            "warc_filename": "a.warc.gz", "warc_offset": offset, "warc_length": 10, "record_id": record_id,
            "payload_digest": "sha1:X", "crawl_id": crawl_id, "record_type": record_type, "refers_to": refers_to,
            "etag": etag, "last_modified": last_modified}


@pytest.fixture
def catalog_path(tmp_path):
    path = tmp_path / "catalog.db"
    Catalog(path).close()  # the real schema, at its latest version
    db = sqlite3.connect(path)
    rows = [
        capture_row(SITE + "/ru/novosti/1.html", "2026-11-01T10:00:00Z", "c1", "<r1>", etag='"v1"', offset=0),
        capture_row(SITE + "/ru/novosti/1.html", "2026-11-10T10:00:00Z", "c2", "<r2>", etag='"v2"',
                    last_modified="Tue, 10 Nov 2026 09:00:00 GMT", offset=100),
        capture_row(SITE + "/ru/novosti/1.html", "2026-11-20T10:00:00Z", "c3", "<r3>", status=304,
                    record_type="revisit", refers_to="<r2>", etag='"v2"', offset=200),
        capture_row(SITE + "/ru/novosti/2.html", "2026-11-01T10:00:00Z", "c1", "<r4>", etag='"w"', offset=300),
        capture_row(SITE + "/ru/novosti/2.html", "2026-11-20T10:00:00Z", "c3", "<r5>", status=404, offset=400),
        capture_row(SITE + "/ru/novosti/3.html", "2026-11-25T10:00:00Z", "resumed", "<r6>", offset=500),
        capture_row("https://other.example.kz/ru/", "2026-11-20T10:00:00Z", "c3", "<r7>", offset=600),
    ]
    db.executemany(f"INSERT INTO captures ({', '.join(rows[0])}) VALUES ({', '.join('?' * len(rows[0]))})",
                   [list(row.values()) for row in rows])
    db.execute("INSERT INTO articles (url, published, warc_filename, warc_offset, warc_length)"
               " VALUES (?, '2026-11-09T15:00:00+05:00', 'a.warc.gz', 100, 10)", [SITE + "/ru/novosti/1.html"])
    db.commit()
    db.close()
    return path


def test_the_history_holds_each_urls_latest_capture_from_earlier_crawls_of_the_crawled_sites(catalog_path):
    known = CrawlHistory.load(catalog_path, [SITE], exclude_crawl="resumed")
    assert set(known.captures) == {SITE + "/ru/novosti/1.html", SITE + "/ru/novosti/2.html"}
    first = known.get(SITE + "/ru/novosti/1.html")
    assert (first.status, first.fetched_at, first.is_article, first.published) == (
        304, datetime(2026, 11, 20, 10, tzinfo=UTC), True, date(2026, 11, 9))


def test_a_revisits_validators_refer_to_the_full_response_it_stands_for(catalog_path):
    validators = CrawlHistory.load(catalog_path, [SITE]).get(SITE + "/ru/novosti/1.html").validators
    assert (validators.etag, validators.revisit_of) == ('"v2"', RevisitOf("<r2>", SITE + "/ru/novosti/1.html",
                                                                           "2026-11-10T10:00:00Z"))
    assert (validators.warc_filename, validators.warc_offset) == ("a.warc.gz", 100)


def test_a_url_last_answered_with_an_error_has_no_validators(catalog_path):
    removed = CrawlHistory.load(catalog_path, [SITE]).get(SITE + "/ru/novosti/2.html")
    assert removed.status == 404 and removed.validators is None


def test_no_catalog_means_no_history(tmp_path):
    assert len(CrawlHistory.load(tmp_path / "catalog.db", [SITE])) == 0


# -- conditional request and its record -----------------------------------------


def validators_for(url):
    return Validators(url, '"v2"', "Tue, 10 Nov 2026 09:00:00 GMT",
                      RevisitOf("<urn:uuid:original>", url, "2026-11-10T10:00:00Z"), "a.warc.gz", 100)


def test_a_recheck_sends_the_stored_validators():
    url = SITE + "/ru/novosti/1.html"
    request = Request(url, meta={VALIDATORS_META: validators_for(url)})
    ConditionalRequestMiddleware().process_request(request)
    assert request.headers[b"If-None-Match"] == b'"v2"'
    assert request.headers[b"If-Modified-Since"] == b"Tue, 10 Nov 2026 09:00:00 GMT"


def test_a_redirect_does_not_carry_another_pages_validators():
    url = SITE + "/ru/novosti/1.html"
    redirected = Request(SITE + "/ru/novosti/9.html", headers={"If-None-Match": '"v2"'},
                         meta={VALIDATORS_META: validators_for(url)})
    ConditionalRequestMiddleware().process_request(redirected)
    assert b"If-None-Match" not in redirected.headers and VALIDATORS_META not in redirected.meta


def write_answer(tmp_path, request, status):
    crawler = get_crawler(settings_dict={})
    writer = WarcWriter(tmp_path, hostname="test")
    middleware = WarcCaptureMiddleware(crawler, writer)
    middleware.process_response(request, Response(request.url, status=status, request=request))
    writer.close()
    capture = request.meta["warc_capture"]
    with open_record(tmp_path, capture.warc_filename, capture.warc_offset) as record:
        return capture, record.rec_type, dict(record.rec_headers.headers)


def test_a_304_to_a_conditional_request_is_a_server_not_modified_revisit_of_the_validated_capture(tmp_path):
    url = SITE + "/ru/novosti/1.html"
    capture, kind, headers = write_answer(tmp_path, Request(url, meta={VALIDATORS_META: validators_for(url)}), 304)
    assert (kind, capture.record_type, capture.refers_to) == ("revisit", "revisit", "<urn:uuid:original>")
    assert headers["WARC-Profile"] == SERVER_NOT_MODIFIED
    assert headers["WARC-Refers-To"] == "<urn:uuid:original>"
    assert headers["WARC-Refers-To-Target-URI"] == url


def test_a_304_nobody_asked_for_stays_a_plain_response_record(tmp_path):
    capture, kind, _ = write_answer(tmp_path, Request(SITE + "/ru/novosti/1.html"), 304)
    assert (kind, capture.record_type, capture.refers_to) == ("response", "response", None)


# -- real re-crawls of a changing demo site ----------------------------------------

ARTICLES = 150
POLITENESS_OFF = ["-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0",
                  "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=4"]


def crawl(site, data, *settings) -> dict:
    """Run `newsarchive crawl` on one site; returns Scrapy's stats, read from its log."""
    result = subprocess.run([sys.executable, "-m", "crawler.cli", "crawl", site.start_url, "--data", str(data),
                             "-v", *POLITENESS_OFF, *settings], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return {name: int(value) for name, value in re.findall(r"'([\w/.-]+)': (\d+)[,}]", result.stderr)}


@pytest.fixture(scope="module")
def recrawls(tmp_path_factory):
    """One site crawled four times: first, unchanged, after changes (20 new, 1 edited, 1 removed), in full."""
    data = tmp_path_factory.mktemp("incremental") / "data"
    with DemoPortal(articles_per_site=ARTICLES) as portal:
        site = portal.sites["kk"]
        runs = {}

        def run(name, *settings):
            portal.reset_log()
            runs[name] = {"stats": crawl(site, data, *settings), "requests": portal.requests(site.id)}

        run("first")
        run("unchanged")
        edited_url, removed_url = site.expected_articles[1].url, site.expected_articles[3].url
        # Both re-checked every crawl, whatever the date the test runs on.
        published = date.fromisoformat(site.expected_articles[3].published[:10])
        recent_days = (datetime.now(UTC).date() - published).days + 1
        new = site.publish_articles(20)
        edited = site.edit_article(edited_url)
        site.remove_article(removed_url)
        run("changed", "-s", f"NEWSARCHIVE_RECHECK_RECENT_DAYS={recent_days}")
        run("full", "-s", "NEWSARCHIVE_INCREMENTAL=False")
        with Catalog(data / "catalog.db", read_only=True) as catalog:
            crawl_ids = [row["id"] for row in catalog.db.query("select id from crawls order by started_at")]
            assert len(crawl_ids) == 4
            for name, crawl_id in zip(("first", "unchanged", "changed", "full"), crawl_ids):
                runs[name]["id"] = crawl_id
            yield {"site": site, "data": data, "catalog": catalog, "runs": runs, "new": new, "edited": edited,
                   "removed_url": removed_url}


@pytest.mark.slow
def test_an_unchanged_recrawl_makes_under_5_percent_of_the_first_crawls_requests(recrawls):
    runs = recrawls["runs"]
    first, again = len(runs["first"]["requests"]), len(runs["unchanged"]["requests"])
    print(f"\nrequests at the server: first {first}, unchanged re-crawl {again} ({again / first:.1%})")
    assert again < 0.05 * first
    counted = runs["first"]["stats"]["downloader/request_count"], runs["unchanged"]["stats"]["downloader/request_count"]
    assert counted == (first, again)


@pytest.mark.slow
def test_an_unchanged_recrawl_asks_conditionally_and_hears_not_modified(recrawls):
    run = recrawls["runs"]["unchanged"]
    asked = [entry for entry in run["requests"] if entry.path != "/robots.txt"]
    assert asked and all(entry.headers.get("If-None-Match") for entry in asked)
    assert run["stats"]["newsarchive/incremental/not_modified"] == len(asked)
    assert run["stats"]["newsarchive/incremental/skipped/article_not_due"] > ARTICLES * 0.8


@pytest.mark.slow
def test_a_304_is_a_revisit_record_referring_to_the_capture_whose_validators_were_sent(recrawls):
    data, catalog, runs = recrawls["data"], recrawls["catalog"], recrawls["runs"]
    sent = {recrawls["site"].base_url + entry.path: entry.headers.get("If-None-Match")
            for entry in runs["unchanged"]["requests"]}
    not_modified = list(catalog.db.query(
        "select url, warc_filename, warc_offset from captures where crawl_id = ? and status = 304",
        [runs["unchanged"]["id"]]))
    assert not_modified
    for row in not_modified:
        with open(data / "warc" / row["warc_filename"], "rb") as stream:
            stream.seek(row["warc_offset"])
            record = next(iter(ArchiveIterator(stream)))
            assert record.rec_type == "revisit"
            assert record.rec_headers.get_header("WARC-Profile") == SERVER_NOT_MODIFIED
            refers_to = record.rec_headers.get_header("WARC-Refers-To")
        (original,) = catalog.db.query("select url, etag, crawl_id, record_type from captures where record_id = ?",
                                       [refers_to])
        assert original == {"url": row["url"], "etag": sent[row["url"]], "crawl_id": runs["first"]["id"],
                            "record_type": "response"}


@pytest.mark.slow
def test_a_recrawl_catalogues_all_20_new_articles(recrawls):
    catalog = recrawls["catalog"]
    for expected in recrawls["new"]:
        row = catalog.article(expected.url)
        assert row is not None, expected.url
        assert (row["title"], row["published"], row["crawl_id"]) == (
            expected.title, expected.published, recrawls["runs"]["changed"]["id"])
        assert expected.key_sentence in row["text"]


@pytest.mark.slow
def test_a_recrawl_of_a_site_with_20_new_articles_stays_small(recrawls):
    runs = recrawls["runs"]
    changed, first = len(runs["changed"]["requests"]), len(runs["first"]["requests"])
    print(f"\nrequests at the server: first {first}, re-crawl after 20 new articles {changed}")
    assert changed < 0.25 * first


@pytest.mark.slow
def test_an_edited_recent_article_is_fetched_again_and_catalogued_with_its_new_text(recrawls):
    edited = recrawls["edited"]
    row = recrawls["catalog"].article(edited.url)
    assert row["crawl_id"] == recrawls["runs"]["changed"]["id"]
    assert edited.key_sentence in row["text"] and edited.key_sentence.endswith("Мәтін нақтыланды.")


@pytest.mark.slow
def test_a_removed_article_that_is_rechecked_has_its_404_archived(recrawls):
    catalog, runs = recrawls["catalog"], recrawls["runs"]
    statuses = [row["status"] for row in catalog.db.query(
        "select status from captures where url = ? and crawl_id = ?", [recrawls["removed_url"], runs["changed"]["id"]])]
    assert statuses == [404]
    assert runs["changed"]["stats"]["newsarchive/incremental/gone"] == 1


@pytest.mark.slow
def test_a_full_crawl_fetches_everything_again_without_conditions(recrawls):
    site, run = recrawls["site"], recrawls["runs"]["full"]
    asked = {site.base_url + entry.path for entry in run["requests"]}
    assert {article.url for article in site.expected_articles} <= asked
    assert not [entry.path for entry in run["requests"] if entry.headers.get("If-None-Match")]
    assert len(run["requests"]) >= len(recrawls["runs"]["first"]["requests"])


def test_a_resumed_crawl_reads_a_304_page_from_the_record_it_refers_to(tmp_path):
    url = SITE + "/ru/novosti/"
    writer = WarcWriter(DataDir(tmp_path).warc_dir, hostname="test")
    original = writer.write_exchange(HttpExchange(
        url, 200, [("Content-Type", "text/html; charset=utf-8"), ("ETag", '"v1"')],
        b'<html><body><a href="/ru/novosti/2.html">2</a></body></html>'))
    not_modified = writer.write_exchange(HttpExchange(url, 304, [("ETag", '"v1"')], b""),
                                         RevisitOf(original.record_id, url, original.fetched_at))
    writer.close()
    response = archived_response(DataDir(tmp_path), {
        "url": url, "status": 304, "record_type": "revisit", "warc_filename": not_modified.warc_filename,
        "warc_offset": not_modified.warc_offset, "original_file": original.warc_filename,
        "original_offset": original.warc_offset})
    assert (response.status, response.headers[b"Content-Type"]) == (200, b"text/html; charset=utf-8")
    assert response.xpath("//a/@href").get() == "/ru/novosti/2.html"


def test_a_redirect_to_an_archived_article_not_due_is_not_followed(tmp_path):
    from crawler.dupefilter import ArchiveDupeFilter
    from crawler.spiders.news import NewsSpider

    crawler = get_crawler(NewsSpider, settings_dict={"NEWSARCHIVE_DATA_DIR": str(tmp_path)})
    crawler.spider = NewsSpider.from_crawler(crawler, start_url=SITE + "/ru/novosti/")
    crawler.spider.now = NOW
    crawler.spider.history = history(
        past("/ru/novosti/1.html", days_ago=2, article=True, published=date(2025, 1, 1)),
        past("/ru/novosti/2.html", days_ago=0, article=True, published=date(2026, 11, 24)))
    dupefilter = ArchiveDupeFilter.from_crawler(crawler)

    def redirected_to(path):
        return Request(SITE + path, meta={"redirect_urls": [SITE + "/news.php?id=1"]})

    assert dupefilter.request_seen(redirected_to("/ru/novosti/1.html"))  # archived, not due: not fetched
    assert not dupefilter.request_seen(redirected_to("/ru/novosti/2.html"))  # due for a re-check
    assert not dupefilter.request_seen(redirected_to("/ru/novosti/3.html"))  # new
    assert not dupefilter.request_seen(Request(SITE + "/ru/novosti/1.html"))  # the spider's own choice stands
