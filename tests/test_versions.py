"""Article versions and removals: a changed text is a new version, a vanished page is marked, nothing is lost.

The first half drives the real catalog with rows as the crawl queues them; the
second crawls a small loopback site four times while its pages change, and
checks the catalog, `newsarchive history` and a reindex of the same WARCs.
"""

import json
import sqlite3
import subprocess
import sys
import threading
from contextlib import closing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import permutations
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive.catalog import Catalog
from archive.errors import ArticleNotFound
from archive.query import connect
from archive.versions import article_history
from crawler.cli import cli

URL = "https://akimat.example.kz/news/1"
WARC = "news-00000.warc.gz"
TEXT_1 = "Облыс әкімі жылу маусымына дайындықты тексерді.\nЖиналысқа аудан әкімдері қатысты."
TEXT_2 = "Облыс әкімі жылу маусымына дайындықты тексерді.\nЖиналысқа аудан әкімдері мен кәсіпорындар қатысты."


# -- the catalog, row by row ------------------------------------------------------------


@pytest.fixture
def catalog(tmp_path):
    warc_dir = tmp_path / "warc"
    warc_dir.mkdir()
    (warc_dir / WARC).write_bytes(b"\0" * 100_000)
    with Catalog(tmp_path / "catalog.db", warc_dir=warc_dir) as opened:
        yield opened


def sighting(offset, fetched_at, text=TEXT_1, *, title="Әкім жиналыс өткізді", crawl="crawl-1", url=URL):
    """The capture row and article row the crawl queues for one article page."""
    capture = {"url": url, "status": 200, "content_type": "text/html", "fetched_at": fetched_at,
               "warc_filename": WARC, "warc_offset": offset, "warc_length": 500,
               "payload_digest": f"sha1:PAGE{offset}", "crawl_id": crawl, "record_type": "response"}
    article = {"url": url, "site": "akimat.example.kz", "title": title, "published": "2026-11-20",
               "language": "kk", "text": text, "warc_filename": WARC, "warc_offset": offset,
               "warc_length": 500, "payload_digest": f"sha1:PAGE{offset}", "fetched_at": fetched_at,
               "crawl_id": crawl}
    return capture, article


def gone(offset, fetched_at, *, status=404, crawl="crawl-3", url=URL):
    return {"url": url, "status": status, "content_type": "text/html", "fetched_at": fetched_at,
            "warc_filename": WARC, "warc_offset": offset, "warc_length": 300,
            "payload_digest": f"sha1:GONE{offset}", "crawl_id": crawl, "record_type": "response"}


def add(catalog, *events):
    for event in events:
        capture, article = event if isinstance(event, tuple) else (event, None)
        catalog.add_capture(capture)
        if article is not None:
            catalog.add_article(article)
    catalog.flush()


def versions(catalog, url=URL):
    return [(v["version"], v["fetched_at"], v["text"]) for v in
            catalog.db.query("SELECT * FROM article_versions WHERE url = ? ORDER BY version", [url])]


def test_the_first_capture_is_version_one(catalog):
    add(catalog, sighting(0, "2026-11-25T10:00:00Z"))

    assert versions(catalog) == [(1, "2026-11-25T10:00:00Z", TEXT_1)]
    article = catalog.article(URL)
    assert (article["versions"], article["first_seen"], article["removed_at"]) == (1, "2026-11-25T10:00:00Z", None)


def test_a_changed_text_is_a_new_version_and_the_article_shows_it(catalog):
    add(catalog, sighting(0, "2026-11-25T10:00:00Z"))
    add(catalog, sighting(1000, "2026-11-26T10:00:00Z", TEXT_2))

    assert versions(catalog) == [(1, "2026-11-25T10:00:00Z", TEXT_1), (2, "2026-11-26T10:00:00Z", TEXT_2)]
    article = catalog.article(URL)
    assert (article["text"], article["versions"], article["first_seen"]) == (TEXT_2, 2, "2026-11-25T10:00:00Z")


def test_a_changed_title_alone_is_a_new_version(catalog):
    add(catalog, sighting(0, "2026-11-25T10:00:00Z"), sighting(1000, "2026-11-26T10:00:00Z", title="Түзетілген"))

    assert catalog.article(URL)["versions"] == 2


def test_a_new_page_around_the_same_text_is_no_new_version_but_the_article_points_at_it(catalog):
    add(catalog, sighting(0, "2026-11-25T10:00:00Z"))
    add(catalog, sighting(1000, "2026-11-26T10:00:00Z"))

    (version,) = catalog.db.query("SELECT * FROM article_versions")
    assert (version["version"], version["warc_offset"]) == (1, 0)
    article = catalog.article(URL)
    assert (article["versions"], article["warc_offset"]) == (1, 1000)


def test_adding_the_same_capture_again_adds_nothing(catalog):
    add(catalog, sighting(0, "2026-11-25T10:00:00Z"), sighting(1000, "2026-11-26T10:00:00Z", TEXT_2))
    before = versions(catalog)

    add(catalog, sighting(0, "2026-11-25T10:00:00Z"), sighting(1000, "2026-11-26T10:00:00Z", TEXT_2))

    assert versions(catalog) == before
    assert catalog.db["article_sightings"].count == 2


@pytest.mark.parametrize("order", list(permutations(range(4))))
def test_versions_do_not_depend_on_the_order_captures_are_indexed_in(tmp_path, order):
    """A, A, B, A in time: three versions, whichever order the four captures arrive in, one per flush."""
    events = [sighting(0, "2026-11-21T10:00:00Z"), sighting(1000, "2026-11-22T10:00:00Z"),
              sighting(2000, "2026-11-23T10:00:00Z", TEXT_2), sighting(3000, "2026-11-24T10:00:00Z")]
    warc_dir = tmp_path / "warc"
    warc_dir.mkdir()
    (warc_dir / WARC).write_bytes(b"\0" * 10_000)
    with Catalog(tmp_path / "catalog.db", warc_dir=warc_dir) as catalog:
        for index in order:
            add(catalog, events[index])
        assert versions(catalog) == [(1, "2026-11-21T10:00:00Z", TEXT_1), (2, "2026-11-23T10:00:00Z", TEXT_2),
                                     (3, "2026-11-24T10:00:00Z", TEXT_1)]
        assert catalog.article(URL)["versions"] == 3


def test_a_404_after_the_article_marks_it_removed_and_keeps_every_row(catalog):
    add(catalog, sighting(0, "2026-11-25T10:00:00Z"))
    add(catalog, gone(1000, "2026-11-27T09:00:00Z"))

    article = catalog.article(URL)
    assert (article["removed_at"], article["removed_crawl_id"]) == ("2026-11-27T09:00:00Z", "crawl-3")
    assert article["text"] == TEXT_1 and len(versions(catalog)) == 1


def test_a_410_marks_it_removed_too_and_a_second_404_keeps_the_first_date(catalog):
    add(catalog, sighting(0, "2026-11-25T10:00:00Z"), gone(1000, "2026-11-27T09:00:00Z", status=410),
        gone(2000, "2026-11-28T09:00:00Z", crawl="crawl-4"))

    assert catalog.article(URL)["removed_at"] == "2026-11-27T09:00:00Z"


def test_a_404_before_the_article_capture_is_not_a_removal(catalog):
    add(catalog, gone(0, "2026-11-24T09:00:00Z"), sighting(1000, "2026-11-25T10:00:00Z"))

    assert catalog.article(URL)["removed_at"] is None


def test_an_article_that_comes_back_is_no_longer_removed(catalog):
    add(catalog, sighting(0, "2026-11-25T10:00:00Z"), gone(1000, "2026-11-27T09:00:00Z"))
    add(catalog, sighting(2000, "2026-11-28T10:00:00Z"))

    assert catalog.article(URL)["removed_at"] is None


def test_a_revisit_of_the_same_page_after_a_404_also_clears_the_removal(catalog):
    add(catalog, sighting(0, "2026-11-25T10:00:00Z"), gone(1000, "2026-11-27T09:00:00Z"))
    revisit = {**sighting(2000, "2026-11-28T10:00:00Z")[0], "record_type": "revisit", "payload_digest": "sha1:PAGE0"}
    add(catalog, revisit)

    assert catalog.article(URL)["removed_at"] is None


def test_a_404_indexed_before_the_article_it_follows_still_marks_it_removed(catalog):
    add(catalog, gone(1000, "2026-11-27T09:00:00Z"))
    add(catalog, sighting(0, "2026-11-25T10:00:00Z"))

    assert catalog.article(URL)["removed_at"] == "2026-11-27T09:00:00Z"


def test_finish_crawl_counts_new_changed_and_removed_articles(catalog):
    other = "https://akimat.example.kz/news/2"
    catalog.start_crawl([], crawl_id="crawl-1")
    add(catalog, sighting(0, "2026-11-25T10:00:00Z"), sighting(500, "2026-11-25T10:00:01Z", url=other))
    catalog.finish_crawl("crawl-1", "finished")
    catalog.start_crawl([], crawl_id="crawl-2")
    add(catalog, sighting(1000, "2026-11-26T10:00:00Z", TEXT_2, crawl="crawl-2"),
        gone(1500, "2026-11-26T10:00:01Z", crawl="crawl-2", url=other))
    catalog.finish_crawl("crawl-2", "finished")

    counts = {row["id"]: (row["articles"], row["new_articles"], row["changed_articles"], row["removed_articles"])
              for row in catalog.db.query("SELECT * FROM crawls")}
    assert counts == {"crawl-1": (2, 2, 0, 0), "crawl-2": (1, 0, 1, 1)}


def test_history_lists_versions_with_a_diff_of_the_text(catalog):
    add(catalog, sighting(0, "2026-11-25T10:00:00Z"), sighting(1000, "2026-11-26T10:00:00Z", TEXT_2, crawl="crawl-2"))

    history = article_history(catalog.db.conn, URL)

    assert [(v.version, v.crawl_id, v.warc_offset) for v in history.versions] == [(1, "crawl-1", 0), (2, "crawl-2", 1000)]
    (change,) = history.changes
    assert change.title == [] and change.published is None
    assert "-Жиналысқа аудан әкімдері қатысты." in change.text
    assert "+Жиналысқа аудан әкімдері мен кәсіпорындар қатысты." in change.text
    assert change.text[:2] == ["--- version 1", "+++ version 2"]


def test_history_of_an_unknown_url_is_a_named_error(catalog):
    with pytest.raises(ArticleNotFound, match="not an article"):
        article_history(catalog.db.conn, "https://akimat.example.kz/nothing")
