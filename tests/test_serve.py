"""newsarchive serve: the real Datasette on a free loopback port, asked through its JSON API."""

import json
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from archive.catalog import SCHEMA_DOC
from archive.serve import DatasetteServer, datasette_metadata
from querydata import build_catalog, url_of

pytest.importorskip("datasette")


@pytest.fixture(scope="module")
def catalog_path(tmp_path_factory):
    return build_catalog(tmp_path_factory.mktemp("serve") / "data")


@pytest.fixture(scope="module")
def server(catalog_path):
    with DatasetteServer(catalog_path, port=0) as running:
        yield running


def get(server, path, **params):
    url = server.base_url + path + ("?" + urllib.parse.urlencode(params) if params else "")
    with urllib.request.urlopen(url, timeout=30) as answer:
        return json.load(answer)


def test_it_listens_on_loopback_by_default(server):
    assert server.host == "127.0.0.1"
    assert server.base_url.startswith("http://127.0.0.1:")


def test_articles_are_served_with_their_rows(server):
    rows = get(server, "catalog/articles.json", _shape="array", _size="max")
    assert {row["url"] for row in rows} >= {url_of("primaries-kk"), url_of("school-en")}


def test_articles_facet_on_site_language_and_month(server):
    answer = get(server, "catalog/articles.json")
    facets = answer["facet_results"]
    assert {"site", "language", "month"} <= set(facets)
    months = {item["value"]: item["count"] for item in facets["month"]["results"]}
    assert months["2021-03"] == 2


def test_full_text_search_is_configured(server):
    rows = get(server, "catalog/articles.json", _search="конференц*", _shape="array")
    assert {row["url"] for row in rows} == {url_of("conference-kk"), url_of("conference-ru")}


def test_column_descriptions_come_from_the_schema_docs(server):
    metadata = get(server, "-/metadata.json")
    articles = metadata["databases"]["catalog"]["tables"]["articles"]
    assert articles["columns"]["warc_offset"] == SCHEMA_DOC["articles"]["warc_offset"]
    assert articles["facets"] == ["site", "language", "month"]


def test_article_versions_and_sightings_are_served_titled_and_described(server):
    tables = get(server, "-/metadata.json")["databases"]["catalog"]["tables"]
    for table, title in (("article_versions", "Article versions"), ("article_sightings", "Article sightings")):
        assert tables[table]["title"].startswith(title + ": ")
        assert tables[table]["description"]
        assert tables[table]["columns"]["warc_offset"] == SCHEMA_DOC[table]["warc_offset"]
        page = get(server, f"catalog/{table}.json")
        assert page["human_description_en"].startswith("sorted by fetched_at descending")
        assert {row[0] for row in page["rows"]} >= {url_of("primaries-kk"), url_of("school-en")}
        with urllib.request.urlopen(server.base_url + f"catalog/{table}", timeout=30) as answer:
            assert f"<h1>{tables[table]['title']}</h1>" in answer.read().decode()


def test_views_are_browsable(server):
    rows = get(server, "catalog/articles_by_site_month.json", _shape="array")
    assert {"site", "month", "language", "articles"} <= set(rows[0])


def test_sql_can_read(server):
    answer = get(server, "catalog.json", sql="select count(*) as n from articles", _shape="array")
    assert answer == [{"n": 7}]


def test_sql_cannot_write(server, catalog_path):
    with pytest.raises(urllib.error.HTTPError) as refused:
        get(server, "catalog.json", sql="delete from articles")
    assert refused.value.code == 400
    with sqlite3.connect(catalog_path) as conn:
        assert conn.execute("select count(*) from articles").fetchone()[0] == 7
    conn.close()


def test_the_catalog_file_is_not_offered_for_download(server):
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(server.base_url + "catalog.db", timeout=30)
    assert refused.value.code in (403, 404)


def test_rows_a_crawl_commits_later_are_seen(server, catalog_path):
    with sqlite3.connect(catalog_path) as conn:  # as a running crawl would, in WAL mode
        conn.execute("INSERT INTO sites (id, name, region) VALUES ('late.example.kz', 'Late', 'Astana')")
    conn.close()
    rows = get(server, "catalog/sites.json", _shape="array", id="late.example.kz")
    assert [row["region"] for row in rows] == ["Astana"]


def test_the_metadata_hides_the_fts_shadow_tables():
    tables = datasette_metadata()["databases"]["catalog"]["tables"]
    assert all(tables[f"articles_fts_{suffix}"]["hidden"] for suffix in ("config", "data", "docsize", "idx"))


def test_the_serve_command_starts_and_stops(catalog_path):
    data = catalog_path.parent
    process = subprocess.Popen([sys.executable, "-m", "crawler.cli", "serve", "--data", str(data), "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("Datasette on http://127.0.0.1:"), line + process.stderr.read()
        base = line.split()[2]
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(base + "catalog/articles.json?_shape=array", timeout=5) as answer:
                    assert len(json.load(answer)) >= 1
                break
            except urllib.error.URLError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
    finally:
        process.send_signal(2)  # Ctrl-C
        process.wait(timeout=20)
    assert process.returncode == 0, process.stderr.read()
