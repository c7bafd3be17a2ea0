"""Captions and link counts reach the catalog (schema 7): crawl, reindex and an old catalog's upgrade.

A small site on loopback: one article with a figure caption and links in its
text. It is crawled through the real CLI, the catalog is rebuilt from the
WARCs alone, and both must store the same captions and link count.
"""

import sqlite3
import subprocess
import sys
import threading
from contextlib import closing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlite_utils

from archive.catalog import Catalog, captions_text
from archive.migrations import LATEST_VERSION

ARTICLE = """<!doctype html><html lang="ru"><head><meta charset="utf-8">
<title>Открыт новый мост через Ишим | Акимат</title>
<meta property="og:type" content="article">
<meta property="article:published_time" content="2026-03-05T10:00:00+05:00"></head>
<body><nav><a href="/">Главная</a></nav>
<article><h1>Открыт новый мост через Ишим</h1>
<time datetime="2026-03-05">5 марта 2026</time>
<figure><img src="/bridge.png" alt=""><figcaption>Мост через Ишим в день открытия</figcaption></figure>
<p>В Астане открыли новый мост через реку Ишим. Его строили два года, и теперь жители левого берега
добираются до центра за десять минут вместо получаса. Подробности на
<a href="https://example.org/akimat">сайте акимата города</a>.</p>
<p>Мост рассчитан на четыре полосы движения и пешеходные дорожки с обеих сторон. По словам
строителей, он выдержит нагрузку в два раза больше обычной. Схема движения опубликована в
<a href="/news/scheme">разделе транспорт</a>.</p>
<p>Аким города поблагодарил строителей и пообещал открыть ещё два моста до конца следующего года,
когда завершится реконструкция набережной.</p>
</article></body></html>"""
INDEX = '<html><body><a href="/news/bridge">Открыт новый мост через Ишим</a></body></html>'


class _Site(BaseHTTPRequestHandler):
    def do_GET(self):
        pages = {"/": INDEX, "/news/bridge": ARTICLE}
        body = pages.get(self.path)
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        payload = (body or "not found").encode("utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "crawler.cli", *args], capture_output=True, text=True, timeout=240)


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    data = tmp_path_factory.mktemp("structure") / "data"
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        start = f"http://127.0.0.1:{server.server_address[1]}/"
        crawl = run_cli("crawl", start, "--data", str(data), "-s", "AUTOTHROTTLE_ENABLED=False",
                        "-s", "DOWNLOAD_DELAY=0")
        assert crawl.returncode == 0, crawl.stderr[-3000:]
    finally:
        server.shutdown()
    rebuilt = data.parent / "rebuilt.db"
    result = run_cli("reindex", "--data", str(data), "--into", str(rebuilt), "--workers", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    return data / "catalog.db", rebuilt


def structure(path, table="articles"):
    with closing(sqlite3.connect(path)) as db:
        return db.execute(f"SELECT url, captions, links FROM {table} ORDER BY url").fetchall()


def test_a_crawl_stores_the_figure_caption_apart_from_the_text(crawled):
    catalog, _ = crawled
    with closing(sqlite3.connect(catalog)) as db:
        captions, text = db.execute("SELECT captions, text FROM articles").fetchone()
    assert captions == "Мост через Ишим в день открытия"
    assert "в день открытия" not in text


def test_a_crawl_counts_the_links_in_the_article_text(crawled):
    catalog, _ = crawled
    [(_url, _captions, links)] = structure(catalog)
    assert links == 2


def test_versions_and_sightings_carry_the_same_structure(crawled):
    catalog, _ = crawled
    [(_, captions, links)] = structure(catalog)
    assert [row[1:] for row in structure(catalog, "article_versions")] == [(captions, links)]
    assert [row[1:] for row in structure(catalog, "article_sightings")] == [(captions, links)]


def test_reindex_rebuilds_the_same_captions_and_links(crawled):
    catalog, rebuilt = crawled
    for table in ("articles", "article_versions", "article_sightings"):
        assert structure(rebuilt, table) == structure(catalog, table)


def test_captions_are_stored_one_a_line_and_none_is_null():
    assert captions_text(("Мост  через\nИшим", "Аким на открытии")) == "Мост через Ишим\nАким на открытии"
    assert captions_text(()) is None


def version_six_catalog(path):
    """A catalog as release 6 wrote it: no captions, links or site_templates, one article."""
    with Catalog(path) as catalog:
        catalog.db["articles"].insert({"url": "https://akimat.kz/news/1", "site": "akimat.kz", "title": "Жаңалық",
                                       "text": "Мәтін.", "warc_filename": "a.warc.gz", "warc_offset": 0,
                                       "warc_length": 10})
    db = sqlite_utils.Database(path)
    for table in ("articles", "article_versions", "article_sightings"):
        for column in ("captions", "links"):
            db.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    db["site_templates"].drop()
    db.execute("UPDATE meta SET value = '6' WHERE key = 'schema_version'")
    db.conn.commit()
    db.close()
    return path


def test_a_version_six_catalog_opens_with_the_new_columns_and_keeps_its_rows(tmp_path):
    path = version_six_catalog(tmp_path / "catalog.db")
    with Catalog(path) as catalog:
        article = catalog.article("https://akimat.kz/news/1")
        tables = catalog.db.table_names()
        version = catalog.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
    assert (article["title"], article["captions"], article["links"]) == ("Жаңалық", None, None)
    assert "site_templates" in tables
    assert int(version) == LATEST_VERSION
