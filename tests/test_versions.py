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
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import permutations

import pytest
from click.testing import CliRunner

from archive.catalog import Catalog
from archive.errors import ArticleNotFound
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


def sighting(offset, fetched_at, text=TEXT_1, *, title="Әкім жиналыс өткізді", published="2026-11-20",
             crawl="crawl-1", url=URL):
    """The capture row and article row the crawl queues for one article page."""
    capture = {"url": url, "status": 200, "content_type": "text/html", "fetched_at": fetched_at,
               "warc_filename": WARC, "warc_offset": offset, "warc_length": 500,
               "payload_digest": f"sha1:PAGE{offset}", "crawl_id": crawl, "record_type": "response"}
    article = {"url": url, "site": "akimat.example.kz", "title": title, "published": published,
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


def test_a_changed_publication_date_alone_is_a_new_version(catalog):
    add(catalog, sighting(0, "2026-11-25T10:00:00Z"), sighting(1000, "2026-11-26T10:00:00Z", published="2026-11-19"))

    assert catalog.article(URL)["versions"] == 2


def test_a_changed_author_or_description_alone_is_no_new_version(catalog):
    _, later = sighting(1000, "2026-11-26T10:00:00Z")
    add(catalog, sighting(0, "2026-11-25T10:00:00Z"),
        (sighting(1000, "2026-11-26T10:00:00Z")[0], {**later, "author": "Баспасөз қызметі", "description": "Жаңа"}))

    assert catalog.article(URL)["versions"] == 1


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


def test_a_crawl_keeps_its_removal_count_when_the_article_comes_back_later(catalog):
    catalog.start_crawl([], crawl_id="crawl-1")
    add(catalog, sighting(0, "2026-11-25T10:00:00Z"))
    catalog.finish_crawl("crawl-1", "finished")
    catalog.start_crawl([], crawl_id="crawl-2")
    add(catalog, gone(1000, "2026-11-26T10:00:00Z", crawl="crawl-2"))
    catalog.start_crawl([], crawl_id="crawl-3")
    add(catalog, sighting(2000, "2026-11-27T10:00:00Z", crawl="crawl-3"))
    catalog.finish_crawl("crawl-3", "finished")
    catalog.finish_crawl("crawl-2", "finished")  # as a reindex does: every crawl finished at the end

    removed = {row["id"]: row["removed_articles"] for row in catalog.db.query("SELECT * FROM crawls")}
    assert removed == {"crawl-1": 0, "crawl-2": 1, "crawl-3": 0}
    assert catalog.article(URL)["removed_at"] is None


def test_history_lists_versions_with_a_diff_of_the_text(catalog):
    add(catalog, sighting(0, "2026-11-25T10:00:00Z"), sighting(1000, "2026-11-26T10:00:00Z", TEXT_2, crawl="crawl-2"))

    history = article_history(catalog.db.conn, URL)

    assert [(v.version, v.crawl_id, v.warc_offset) for v in history.versions] == [(1, "crawl-1", 0), (2, "crawl-2", 1000)]
    (change,) = history.changes
    assert change.title == [] and change.published is None
    assert "-Жиналысқа аудан әкімдері қатысты." in change.text
    assert "+Жиналысқа аудан әкімдері мен кәсіпорындар қатысты." in change.text
    assert change.text[:2] == ["--- version 1 text", "+++ version 2 text"]


def test_history_diffs_a_changed_title_and_names_a_changed_date(catalog):
    add(catalog, sighting(0, "2026-11-25T10:00:00Z"),
        sighting(1000, "2026-11-26T10:00:00Z", title="Түзетілген", published="2026-11-21"))

    (change,) = article_history(catalog.db.conn, URL).changes

    assert change.title == ["--- version 1 title", "+++ version 2 title", "@@ -1 +1 @@", "-Әкім жиналыс өткізді",
                            "+Түзетілген"]
    assert change.published == ("2026-11-20", "2026-11-21") and change.text == []


def test_history_of_an_unknown_url_is_a_named_error(catalog):
    with pytest.raises(ArticleNotFound, match="not an article"):
        article_history(catalog.db.conn, "https://akimat.example.kz/nothing")


# -- four crawls of a site that changes -----------------------------------------------------

TODAY = datetime.now(timezone.utc).date().isoformat()  # recent, so an incremental re-crawl re-checks them
PARAGRAPHS = [
    "Облыс әкімі аудандардың жылу маусымына дайындығын тексеріп, қазандықтарды аралады.",
    "Жиналысқа аудан әкімдері, коммуналдық кәсіпорындардың басшылары мен депутаттар қатысты.",
    "Әкім барлық нысандарды қараша айының соңына дейін толық іске қосуды тапсырды.",
    "Тұрғындардың өтініштері бойынша жеке тексеру жүргізіліп, нәтижесі жарияланады.",
]


class ChangingSite:
    """A listing and two article pages on loopback whose text, footer and existence the test changes."""

    def __init__(self):
        self.texts = {1: list(PARAGRAPHS), 2: list(reversed(PARAGRAPHS))}
        self.footer = "© Облыс әкімдігі, 2026"
        self.gone: set[int] = set()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                status, body = site.page(self.path)
                data = body.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def page(self, path):
        if path == "/news/":
            links = "".join(f'<li><a href="/news/{n}">Жаңалық {n}</a></li>' for n in self.texts)
            return 200, f"<html><head><title>Жаңалықтар</title></head><body><ul>{links}</ul></body></html>"
        number = path.removeprefix("/news/")
        if number.isdigit() and int(number) in self.texts and int(number) not in self.gone:
            paragraphs = "".join(f"<p>{p}</p>" for p in self.texts[int(number)])
            return 200, (
                '<html lang="kk"><head><meta charset="utf-8"><meta property="og:type" content="article">'
                f'<title>Әкім жиналыс өткізді {number}</title></head><body>'
                f'<nav><a href="/news/">Жаңалықтар</a></nav><article><h1>Әкім жиналыс өткізді {number}</h1>'
                f'<time datetime="{TODAY}">{TODAY}</time>{paragraphs}</article>'
                f"<footer><p>{self.footer}</p></footer></body></html>")
        return 404, "<html><body><h1>Бет табылмады</h1></body></html>"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


CRAWL_SCRIPT = (
    "import json, sys\n"
    "from crawler.runner import run_crawl\n"
    "result = run_crawl([sys.argv[1]], json.loads(sys.argv[2]))\n"
    "print(json.dumps([result.crawl_id, result.finish_reason]))\n"
)


def crawl(site, data):
    settings = {"NEWSARCHIVE_DATA_DIR": str(data), "AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0,
                "NEWSARCHIVE_DEDUP": True}
    done = subprocess.run([sys.executable, "-c", CRAWL_SCRIPT, site.base + "/news/", json.dumps(settings)],
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    crawl_id, reason = json.loads(done.stdout.strip().splitlines()[-1])
    assert reason == "finished"
    return crawl_id


def query(path, sql, params=()):
    with closing(sqlite3.connect(path)) as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute(sql, params)]


@pytest.fixture(scope="module")
def recrawled(tmp_path_factory):
    """Crawled four times: as first served; article 1 edited; only its footer changed; article 2 gone."""
    data = tmp_path_factory.mktemp("versions") / "data"
    site = ChangingSite()
    try:
        crawls = [crawl(site, data)]
        site.texts[1][1] = "Жиналысқа аудан әкімдері мен облыстық мәслихат депутаттары қатысты."
        crawls.append(crawl(site, data))
        site.footer = "© Облыс әкімдігі, 2026. Барлық құқықтар қорғалған."
        crawls.append(crawl(site, data))
        site.gone.add(2)
        crawls.append(crawl(site, data))
    finally:
        site.close()
    rebuilt = data.parent / "rebuilt.db"
    done = subprocess.run([sys.executable, "-m", "crawler.cli", "reindex", "--data", str(data), "--into",
                           str(rebuilt), "--workers", "1"], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    return data, crawls, site.base, rebuilt


def test_an_edited_article_has_two_versions_and_the_other_one(recrawled):
    data, crawls, base, _ = recrawled
    rows = query(data / "catalog.db", "SELECT url, version, crawl_id, text FROM article_versions ORDER BY url, version")
    assert [(r["url"], r["version"], r["crawl_id"]) for r in rows] == [
        (f"{base}/news/1", 1, crawls[0]), (f"{base}/news/1", 2, crawls[1]), (f"{base}/news/2", 1, crawls[0])]
    assert "облыстық мәслихат" in rows[1]["text"] and "облыстық мәслихат" not in rows[0]["text"]


def test_a_footer_change_is_no_version_but_the_article_points_at_the_newest_capture(recrawled):
    data, crawls, base, _ = recrawled
    (article,) = query(data / "catalog.db", "SELECT * FROM articles WHERE url = ?", [f"{base}/news/1"])
    assert (article["versions"], article["crawl_id"]) == (2, crawls[2])
    assert "облыстық мәслихат" in article["text"] and "құқықтар" not in article["text"]


def test_the_article_that_answers_404_is_marked_removed_and_kept(recrawled):
    data, crawls, base, _ = recrawled
    (article,) = query(data / "catalog.db", "SELECT * FROM articles WHERE url = ?", [f"{base}/news/2"])
    (gone_capture,) = query(data / "catalog.db", "SELECT fetched_at FROM captures WHERE url = ? AND status = 404",
                            [f"{base}/news/2"])
    assert (article["removed_at"], article["removed_crawl_id"]) == (gone_capture["fetched_at"], crawls[3])
    assert article["text"].startswith(PARAGRAPHS[-1])
    (still_there,) = query(data / "catalog.db", "SELECT removed_at FROM articles WHERE url = ?", [f"{base}/news/1"])
    assert still_there["removed_at"] is None


def test_each_crawl_counts_its_new_changed_and_removed_articles(recrawled):
    data, crawls, _, _ = recrawled
    rows = {r["id"]: r for r in query(data / "catalog.db", "SELECT * FROM crawls")}
    counts = [(rows[c]["new_articles"], rows[c]["changed_articles"], rows[c]["removed_articles"]) for c in crawls]
    assert counts == [(2, 0, 0), (0, 1, 0), (0, 0, 0), (0, 0, 1)]


def test_history_shows_the_versions_and_the_diff(recrawled):
    data, crawls, base, _ = recrawled
    result = CliRunner().invoke(cli, ["history", f"{base}/news/1", "--data", str(data)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"{base}/news/1: 2 versions"
    assert any(line.startswith("version 2 · first seen ") and line.endswith(f"crawl {crawls[1]}") for line in lines)
    assert f"  -{PARAGRAPHS[1]}" in lines
    assert "  +Жиналысқа аудан әкімдері мен облыстық мәслихат депутаттары қатысты." in lines


def test_history_says_when_an_article_was_removed(recrawled):
    data, crawls, base, _ = recrawled
    result = CliRunner().invoke(cli, ["history", f"{base}/news/2", "--data", str(data), "--json"])
    assert result.exit_code == 0, result.output
    history = json.loads(result.output)
    assert history["removed_crawl_id"] == crawls[3] and history["removed_at"]
    assert [v["version"] for v in history["versions"]] == [1] and history["changes"] == []


def test_history_of_an_unknown_url_or_a_missing_catalog_is_one_line(recrawled, tmp_path):
    data, _, base, _ = recrawled
    for args in (["history", f"{base}/news/99", "--data", str(data)],
                 ["history", f"{base}/news/1", "--data", str(tmp_path / "nothing")]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code != 0
        assert len(result.output.strip().splitlines()) == 1 and result.output.startswith("Error: "), result.output


@pytest.mark.parametrize("table, columns", [
    ("article_versions", "*"),
    ("article_sightings", "*"),
    ("articles", "*"),
    ("crawls", "id, pages, articles, errors, bytes, new_articles, changed_articles, removed_articles"),
])
def test_reindex_rebuilds_the_same_versions_articles_and_crawl_counts(recrawled, table, columns):
    data, _, _, rebuilt = recrawled
    sql = f"SELECT {columns} FROM {table}"
    crawled = sorted(query(data / "catalog.db", sql), key=repr)
    assert crawled
    assert sorted(query(rebuilt, sql), key=repr) == crawled
