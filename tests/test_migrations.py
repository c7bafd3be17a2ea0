"""An old catalog opens with a new release: schema versions and the steps between them."""

import sqlite3

import pytest
import sqlite_utils

from archive.catalog import Catalog, _create_schema
from archive.errors import CatalogError
from archive.migrations import BASE_VERSION, LATEST_VERSION, VIEW_DOC, migrate
from archive.query import connect, search

ARTICLE = {"url": "https://akimat.example.kz/news/1", "site": "akimat.example.kz", "title": "Конференция өтті",
           "published": "2021-03-05T10:30:00+06:00", "language": "kk", "text": "Филиалдың конференциясы өтті.",
           "warc_filename": "a.warc.gz", "warc_offset": 0, "warc_length": 100}


def version_one_catalog(path, *, without_dedup_columns=False):
    """A catalog as the first release wrote it (optionally from before captures had dedup columns)."""
    db = sqlite_utils.Database(path)
    _create_schema(db)
    db["articles"].insert(ARTICLE)
    if without_dedup_columns:
        db.execute("ALTER TABLE captures DROP COLUMN refers_to")
        db.execute("ALTER TABLE captures DROP COLUMN record_type")
    db.close()
    return path


def version(path):
    with sqlite3.connect(path) as conn:
        value = int(conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0])
    conn.close()
    return value


def objects(path, kind):
    with sqlite3.connect(path) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = ?", [kind])}
    conn.close()
    return names


def test_the_first_release_wrote_the_base_version(tmp_path):
    assert version(version_one_catalog(tmp_path / "catalog.db")) == BASE_VERSION == 1


def test_opening_an_old_catalog_writable_upgrades_it_and_keeps_its_rows(tmp_path):
    path = version_one_catalog(tmp_path / "catalog.db")
    with Catalog(path) as catalog:
        assert catalog.article(ARTICLE["url"])["title"] == ARTICLE["title"]
    assert version(path) == LATEST_VERSION
    assert set(VIEW_DOC) <= objects(path, "view")
    assert "sites" in objects(path, "table")


def test_a_new_catalog_gets_every_step(tmp_path):
    Catalog(tmp_path / "catalog.db").close()
    assert version(tmp_path / "catalog.db") == LATEST_VERSION
    assert set(VIEW_DOC) <= objects(tmp_path / "catalog.db", "view")


def test_a_catalog_from_before_dedup_gets_the_capture_columns(tmp_path):
    path = version_one_catalog(tmp_path / "catalog.db", without_dedup_columns=True)
    Catalog(path).close()
    with sqlite3.connect(path) as conn:
        columns = {r[1] for r in conn.execute("PRAGMA table_info(captures)")}
    conn.close()
    assert {"record_type", "refers_to"} <= columns


def test_the_month_column_follows_published(tmp_path):
    path = version_one_catalog(tmp_path / "catalog.db")
    Catalog(path).close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT month FROM articles").fetchone()[0] == "2021-03"
        conn.execute("UPDATE articles SET published = '2024-12-01'")
        assert conn.execute("SELECT month FROM articles").fetchone()[0] == "2024-12"
    conn.close()


def test_search_upgrades_an_old_catalog_it_may_write(tmp_path):
    path = version_one_catalog(tmp_path / "catalog.db")
    conn = connect(path)
    assert [r["url"] for r in search(conn, "конференция")] == [ARTICLE["url"]]
    conn.close()
    assert version(path) == LATEST_VERSION


def test_an_old_catalog_that_may_not_be_upgraded_is_one_clear_error(tmp_path):
    path = version_one_catalog(tmp_path / "catalog.db")
    with pytest.raises(CatalogError, match="schema version 1 and this newsarchive needs"):
        connect(path, upgrade=False)
    assert version(path) == 1


def test_a_read_only_open_reads_an_old_catalog_without_changing_it(tmp_path):
    path = version_one_catalog(tmp_path / "catalog.db")
    with Catalog(path, read_only=True) as catalog:
        assert catalog.article(ARTICLE["url"]) is not None
    assert version(path) == 1


def test_a_failing_step_leaves_the_catalog_at_the_last_whole_version(tmp_path):
    path = version_one_catalog(tmp_path / "catalog.db")
    with sqlite3.connect(path) as conn:  # a table where step 2 creates a view
        conn.execute("CREATE TABLE latest_captures (x)")
    conn.close()
    with pytest.raises(CatalogError, match="cannot upgrade catalog .* to schema version 2"):
        Catalog(path)
    assert version(path) == 1
    with sqlite3.connect(path) as conn:
        columns = {r[1] for r in conn.execute("PRAGMA table_xinfo(articles)")}
    conn.close()
    assert "month" not in columns  # the step's earlier statements were rolled back too


def test_steps_can_run_again_after_a_crash_between_step_and_version(tmp_path):
    path = tmp_path / "catalog.db"
    Catalog(path).close()
    db = sqlite_utils.Database(path)
    db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    db.conn.commit()
    assert migrate(db, path) == list(range(2, LATEST_VERSION + 1))
    db.close()
    assert version(path) == LATEST_VERSION


# -- version 6: article versions and removals ------------------------------------------


def version_five_catalog(path):
    """A catalog as release 5 wrote it: one article, a 404 of it fetched later, a finished crawl."""
    Catalog(path).close()
    db = sqlite_utils.Database(path)
    for table in ("article_versions", "article_sightings"):
        db[table].drop()
    for table, columns in (("articles", ("versions", "first_seen", "removed_at", "removed_crawl_id")),
                           ("crawls", ("new_articles", "changed_articles", "removed_articles"))):
        for column in columns:
            db.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    db.execute("DROP TRIGGER articles_au")
    db.execute("CREATE TRIGGER articles_au AFTER UPDATE ON articles BEGIN"
               " INSERT INTO articles_fts (articles_fts, rowid, title, text) VALUES ('delete', old.rowid, old.title, old.text);"
               " INSERT INTO articles_fts (rowid, title, text) VALUES (new.rowid, new.title, new.text); END")
    db["crawls"].insert({"id": "crawl-1", "started_at": "2021-03-05T10:00:00Z", "status": "finished", "articles": 1})
    db["articles"].insert({**ARTICLE, "fetched_at": "2021-03-05T10:00:00Z", "crawl_id": "crawl-1",
                           "payload_digest": "sha1:PAGE"})
    db["captures"].insert({"url": ARTICLE["url"], "status": 404, "fetched_at": "2021-04-01T10:00:00Z",
                           "warc_filename": "b.warc.gz", "warc_offset": 0, "warc_length": 50, "crawl_id": "crawl-2"})
    db.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")
    db.conn.commit()
    db.close()
    return path


def test_a_version_five_catalog_gets_version_one_of_every_article(tmp_path):
    path = version_five_catalog(tmp_path / "catalog.db")
    with Catalog(path) as catalog:
        (first,) = catalog.db.query("SELECT * FROM article_versions")
        article = catalog.article(ARTICLE["url"])
    assert first["version"] == 1
    assert (first["text"], first["warc_filename"], first["crawl_id"]) == (ARTICLE["text"], "a.warc.gz", "crawl-1")
    assert (article["versions"], article["first_seen"]) == (1, "2021-03-05T10:00:00Z")
    assert version(path) == LATEST_VERSION >= 6


def test_a_version_five_catalog_marks_an_article_its_captures_show_gone(tmp_path):
    path = version_five_catalog(tmp_path / "catalog.db")
    with Catalog(path) as catalog:
        article = catalog.article(ARTICLE["url"])
        (crawl,) = catalog.db.query("SELECT * FROM crawls")
    assert (article["removed_at"], article["removed_crawl_id"]) == ("2021-04-01T10:00:00Z", "crawl-2")
    assert (crawl["articles"], crawl["new_articles"], crawl["removed_articles"]) == (1, None, None)


def test_after_version_six_the_same_text_again_is_no_new_version_and_a_new_one_is(tmp_path):
    path = version_five_catalog(tmp_path / "catalog.db")
    (tmp_path / "warc").mkdir()
    (tmp_path / "warc" / "a.warc.gz").write_bytes(b"\0" * 1000)
    with Catalog(path, warc_dir=tmp_path / "warc") as catalog:
        catalog.add_article({**ARTICLE, "warc_offset": 200, "fetched_at": "2021-05-01T10:00:00Z"})
        catalog.flush()
        assert catalog.article(ARTICLE["url"])["versions"] == 1
        catalog.add_article({**ARTICLE, "text": "Түзетілген мәтін.", "warc_offset": 400,
                             "fetched_at": "2021-06-01T10:00:00Z"})
        catalog.flush()
        article = catalog.article(ARTICLE["url"])
    assert (article["versions"], article["removed_at"]) == (2, None)


def test_search_follows_a_new_version_after_the_trigger_is_replaced(tmp_path):
    path = version_five_catalog(tmp_path / "catalog.db")
    (tmp_path / "warc").mkdir()
    (tmp_path / "warc" / "a.warc.gz").write_bytes(b"\0" * 1000)
    with Catalog(path, warc_dir=tmp_path / "warc") as catalog:
        catalog.add_article({**ARTICLE, "text": "Жаңа су құбыры салынды.", "warc_offset": 400,
                             "fetched_at": "2021-06-01T10:00:00Z"})
        catalog.flush()
        assert [hit["url"] for hit in catalog.search("құбыры")] == [ARTICLE["url"]]
        assert catalog.search("конференциясы") == []
