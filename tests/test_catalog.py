"""The SQLite catalog: an index over the WARC files, written only after they are durable."""

import os
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from archive.catalog import SCHEMA_DOC, SCHEMA_VERSION, Catalog
from archive.errors import CatalogError

NOW = datetime(2026, 11, 25, 10, 30, tzinfo=timezone.utc)
WARC = "news-20261125103000-00000-host.warc.gz"
WARC_SIZE = 10_000


@pytest.fixture
def warc_dir(tmp_path):
    """A WARC directory holding one finished file; the catalog only needs it to exist and be long enough."""
    directory = tmp_path / "warcs"
    directory.mkdir()
    (directory / WARC).write_bytes(b"\0" * WARC_SIZE)
    return directory


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "data" / "catalog.db"


@pytest.fixture
def catalog(db_path, warc_dir):
    with Catalog(db_path, warc_dir=warc_dir) as opened:
        yield opened


def capture_row(**fields):
    row = {
        "url": "https://akimat.example.kz/news/1",
        "status": 200,
        "content_type": "text/html; charset=utf-8",
        "fetched_at": "2026-11-25T10:30:00Z",
        "warc_filename": WARC,
        "warc_offset": 0,
        "warc_length": 1200,
        "record_id": "<urn:uuid:00000000-0000-0000-0000-000000000001>",
        "payload_digest": "sha1:AAAA",
        "crawl_id": "crawl-1",
        "truncated": None,
        "record_type": "response",
        "refers_to": None,
        "etag": None,
        "last_modified": None,
    }
    row.update(fields)
    return row


def article_row(**fields):
    row = {
        "url": "https://akimat.example.kz/news/1",
        "site": "akimat.example.kz",
        "title": "Облыс әкімі жиналыс өткізді",
        "published": "2026-11-25T10:30:00+05:00",
        "language": "kk",
        "text": "Облыс әкімі аудандардың жылу маусымына дайындығын тексерді.",
        "warc_filename": WARC,
        "warc_offset": 0,
        "warc_length": 1200,
        "fetched_at": "2026-11-25T10:30:00Z",
        "crawl_id": "crawl-1",
    }
    row.update(fields)
    return row


def rows_on_disk(db_path, table):
    """Count rows through a separate connection: what another process would see."""
    with sqlite3.connect(db_path) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


# -- schema ----------------------------------------------------------------------


def test_new_catalog_creates_its_directory_schema_and_wal(catalog, db_path):
    assert db_path.is_file()
    assert catalog.db.journal_mode == "wal"
    assert {"articles", "articles_fts", "captures", "crawls", "errors", "meta"} <= set(catalog.db.table_names())
    assert catalog.db["meta"].get("schema_version")["value"] == str(SCHEMA_VERSION)


def test_every_column_is_documented(catalog):
    for table, docs in SCHEMA_DOC.items():
        assert list(docs) == [column.name for column in catalog.db[table].columns], table
        assert all(docs.values()), table


def test_articles_are_indexed_on_published_site_and_language(catalog):
    indexed = {tuple(index.columns) for index in catalog.db["articles"].indexes}
    assert {("published",), ("site",), ("language",)} <= indexed


def test_reopening_an_existing_catalog_leaves_the_file_unchanged(db_path, warc_dir):
    with Catalog(db_path, warc_dir=warc_dir) as catalog:
        catalog.add_article(article_row())
    before = db_path.read_bytes()

    Catalog(db_path, warc_dir=warc_dir).close()

    assert db_path.read_bytes() == before


# -- round trips -----------------------------------------------------------------


def test_a_capture_round_trips(catalog):
    catalog.add_capture(capture_row(truncated="length"))
    catalog.flush()

    (stored,) = catalog.db["captures"].rows
    assert stored == {"id": stored["id"], **capture_row(truncated="length")}


def test_an_article_round_trips(catalog):
    catalog.add_article(article_row(author="Баспасөз қызметі"))
    catalog.flush()

    stored = catalog.article("https://akimat.example.kz/news/1")
    assert stored["title"] == "Облыс әкімі жиналыс өткізді"
    assert stored["published"] == "2026-11-25T10:30:00+05:00"
    assert stored["author"] == "Баспасөз қызметі"
    assert (stored["warc_filename"], stored["warc_offset"], stored["warc_length"]) == (WARC, 0, 1200)


def test_an_unknown_url_has_no_article(catalog):
    assert catalog.article("https://akimat.example.kz/missing") is None


def test_datetimes_are_stored_as_iso_text(catalog):
    almaty = timezone(timedelta(hours=5))
    catalog.add_capture(capture_row(fetched_at=datetime(2026, 11, 25, 15, 30, tzinfo=almaty)))
    catalog.add_article(article_row(published=datetime(2026, 11, 25, 15, 30, tzinfo=almaty)))
    catalog.flush()

    assert next(catalog.db["captures"].rows)["fetched_at"] == "2026-11-25T10:30:00Z"
    assert catalog.article("https://akimat.example.kz/news/1")["published"] == "2026-11-25T15:30:00+05:00"


def test_reindexing_the_same_record_adds_no_second_capture(catalog):
    catalog.add_capture(capture_row())
    catalog.flush()
    catalog.add_capture(capture_row())
    catalog.flush()

    assert catalog.counts()["captures"] == 1


def test_a_misspelt_field_is_rejected_when_queued(catalog):
    with pytest.raises(ValueError, match="tittle"):
        catalog.add_article(article_row(tittle="typo"))


def test_a_row_without_its_warc_pointer_is_rejected(catalog):
    with pytest.raises(ValueError, match="warc_offset"):
        catalog.add_capture(capture_row(warc_offset=None))


def test_a_warc_filename_cannot_leave_the_warc_dir(catalog):
    with pytest.raises(ValueError, match="warc_filename"):
        catalog.add_capture(capture_row(warc_filename="../elsewhere.warc.gz"))


# -- one row per article ---------------------------------------------------------


def test_upsert_keeps_one_row_per_url_and_the_latest_capture_wins(catalog):
    catalog.add_article(article_row(title="Бірінші нұсқа", fetched_at="2026-11-25T10:30:00Z"))
    catalog.flush()
    catalog.add_article(article_row(title="Екінші нұсқа", fetched_at="2026-11-26T08:00:00Z", warc_offset=5000))
    catalog.flush()

    assert catalog.counts()["articles"] == 1
    stored = catalog.article("https://akimat.example.kz/news/1")
    assert (stored["title"], stored["warc_offset"]) == ("Екінші нұсқа", 5000)


def test_an_older_capture_indexed_later_does_not_replace_a_newer_one(catalog):
    catalog.add_article(article_row(title="Жаңа", fetched_at="2026-11-26T08:00:00Z"))
    catalog.add_article(article_row(title="Ескі", fetched_at="2026-11-20T08:00:00Z"))
    catalog.flush()

    assert catalog.article("https://akimat.example.kz/news/1")["title"] == "Жаңа"


# -- full-text search ------------------------------------------------------------


def test_search_finds_kazakh_words_whatever_their_case(catalog):
    catalog.add_article(article_row(title="ӘКІМДІК ЖАҢАЛЫҚТАРЫ", text="Өңірде жаңа мектеп ашылды."))
    catalog.flush()

    assert [hit["url"] for hit in catalog.search("әкімдік")] == ["https://akimat.example.kz/news/1"]
    assert catalog.search("өңірде")[0]["snippet"] == "[Өңірде] жаңа мектеп ашылды."


def test_search_finds_russian_words(catalog):
    catalog.add_article(article_row(language="ru", title="Аким области провёл совещание", text="Обсудили отопительный сезон."))
    catalog.flush()

    assert [hit["title"] for hit in catalog.search("отопительный")] == ["Аким области провёл совещание"]
    assert catalog.search("СОВЕЩАНИЕ")


def test_search_ranks_a_title_match_above_a_text_match(catalog):
    catalog.add_article(article_row(url="https://a.example.kz/text", title="Жаңалықтар", text="Мектеп салынды."))
    catalog.add_article(article_row(url="https://a.example.kz/title", title="Мектеп", text="Құрылыс аяқталды."))
    catalog.flush()

    assert [hit["url"] for hit in catalog.search("мектеп")] == ["https://a.example.kz/title", "https://a.example.kz/text"]


def test_search_follows_an_upsert(catalog):
    catalog.add_article(article_row(text="Алдымен жол жөндеу туралы.", fetched_at="2026-11-25T10:30:00Z"))
    catalog.flush()
    catalog.add_article(article_row(text="Енді су құбыры туралы.", fetched_at="2026-11-26T10:30:00Z"))
    catalog.flush()

    assert catalog.search("жөндеу") == []
    assert len(catalog.search("құбыры")) == 1


def test_a_query_that_is_not_fts_syntax_is_searched_as_words(catalog):
    catalog.add_article(article_row(text='Нұр-Сұлтан қаласында "Жасыл ел" акциясы өтті.'))
    catalog.flush()

    assert len(catalog.search('Нұр-Сұлтан "Жасыл')) == 1


# -- flushing: rows only after their WARC is durable -----------------------------


def test_queued_rows_are_invisible_until_flush(catalog, db_path):
    catalog.add_capture(capture_row())
    catalog.add_article(article_row())
    assert rows_on_disk(db_path, "captures") == 0
    assert catalog.article("https://akimat.example.kz/news/1") is None

    catalog.flush()

    assert rows_on_disk(db_path, "captures") == 1
    assert catalog.article("https://akimat.example.kz/news/1") is not None


def test_a_full_batch_is_flushed_automatically(db_path, warc_dir):
    with Catalog(db_path, warc_dir=warc_dir, batch_size=3) as catalog:
        catalog.add_capture(capture_row(warc_offset=0))
        catalog.add_capture(capture_row(warc_offset=2000))
        assert rows_on_disk(db_path, "captures") == 0
        catalog.add_capture(capture_row(warc_offset=4000))
        assert rows_on_disk(db_path, "captures") == 3


def test_flush_fsyncs_the_referenced_warc_before_writing_rows(catalog, db_path, warc_dir, monkeypatch):
    warc_inode = os.stat(warc_dir / WARC).st_ino
    rows_seen_while_syncing_warc = []
    real_fsync = os.fsync

    def watching_fsync(fd):
        if os.fstat(fd).st_ino == warc_inode:
            rows_seen_while_syncing_warc.append(rows_on_disk(db_path, "captures"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", watching_fsync)
    catalog.add_capture(capture_row())
    catalog.flush()

    assert rows_seen_while_syncing_warc == [0]
    assert rows_on_disk(db_path, "captures") == 1


def test_a_warc_still_being_written_is_found_by_its_open_suffix(catalog, warc_dir):
    (warc_dir / "live.warc.gz.open").write_bytes(b"\0" * 3000)
    catalog.add_capture(capture_row(warc_filename="live.warc.gz", warc_offset=1000, warc_length=2000))
    catalog.flush()

    assert catalog.counts()["captures"] == 1


def test_a_missing_warc_makes_flush_fail_write_nothing_and_drop_its_rows(catalog, db_path):
    catalog.add_capture(capture_row())
    catalog.add_article(article_row(warc_filename="gone.warc.gz"))

    with pytest.raises(CatalogError, match="gone.warc.gz is not in .*; dropped 1 catalog rows"):
        catalog.flush()

    assert rows_on_disk(db_path, "captures") == 0
    assert rows_on_disk(db_path, "articles") == 0
    assert catalog.pending == 1


def test_rows_of_durable_warcs_are_written_by_the_next_flush(catalog, db_path):
    catalog.add_capture(capture_row())
    catalog.add_article(article_row(warc_filename="gone.warc.gz"))
    with pytest.raises(CatalogError):
        catalog.flush()

    catalog.flush()

    assert rows_on_disk(db_path, "captures") == 1
    assert rows_on_disk(db_path, "articles") == 0


def test_a_pointer_past_the_end_of_the_warc_makes_flush_fail(catalog, db_path):
    catalog.add_capture(capture_row(warc_offset=WARC_SIZE - 100, warc_length=200))

    with pytest.raises(CatalogError, match="points up to byte 10100"):
        catalog.flush()

    assert rows_on_disk(db_path, "captures") == 0


def test_without_a_warc_dir_rows_pointing_at_warcs_are_refused(db_path):
    with Catalog(db_path) as catalog:
        catalog.start_crawl([], crawl_id="crawl-1", now=NOW)
        catalog.add_capture(capture_row())
        catalog.add_error("crawl-1", "https://akimat.example.kz/broken", "timeout", now=NOW)
        with pytest.raises(CatalogError, match="without warc_dir"):
            catalog.flush()

    assert rows_on_disk(db_path, "captures") == 0
    assert rows_on_disk(db_path, "errors") == 1


# -- crawls ----------------------------------------------------------------------


def test_start_crawl_records_a_running_crawl_named_after_its_start(catalog):
    crawl_id = catalog.start_crawl(["https://akimat.example.kz/"], {"DEPTH_LIMIT": 3}, now=NOW)

    assert crawl_id.startswith("20261125T103000Z-")
    crawl = catalog.db["crawls"].get(crawl_id)
    assert (crawl["status"], crawl["started_at"]) == ("running", "2026-11-25T10:30:00Z")
    assert crawl["seeds"] == '["https://akimat.example.kz/"]'
    assert crawl["settings"] == '{"DEPTH_LIMIT": 3}'


def test_finish_crawl_counts_the_rows_of_that_crawl(catalog, warc_dir):
    (warc_dir / "second.warc.gz").write_bytes(b"\0" * 800)
    crawl_id = catalog.start_crawl(["https://akimat.example.kz/"], crawl_id="crawl-1", now=NOW)
    catalog.add_capture(capture_row(warc_offset=0, warc_length=1200))
    catalog.add_capture(capture_row(url="https://akimat.example.kz/news/2", warc_offset=3000, warc_length=1500))
    catalog.add_capture(capture_row(warc_filename="second.warc.gz", warc_offset=200, warc_length=600))
    catalog.add_capture(capture_row(crawl_id="another-crawl", warc_offset=6000, warc_length=1000))
    catalog.add_article(article_row())
    catalog.add_error(crawl_id, "https://akimat.example.kz/broken", "HTTP 500", now=NOW)

    catalog.finish_crawl(crawl_id, "finished", now=datetime(2026, 11, 25, 11, 0, tzinfo=timezone.utc))

    crawl = catalog.db["crawls"].get(crawl_id)
    assert (crawl["status"], crawl["finished_at"]) == ("finished", "2026-11-25T11:00:00Z")
    assert (crawl["pages"], crawl["articles"], crawl["errors"]) == (3, 1, 1)
    assert crawl["bytes"] == (3000 + 1500) + (200 + 600)


def test_finish_crawl_ends_the_crawl_even_when_a_warc_went_missing(catalog):
    crawl_id = catalog.start_crawl([], crawl_id="crawl-1", now=NOW)
    catalog.add_capture(capture_row())
    catalog.add_capture(capture_row(warc_filename="gone.warc.gz"))

    with pytest.raises(CatalogError, match="gone.warc.gz"):
        catalog.finish_crawl(crawl_id, "failed", now=NOW)

    crawl = catalog.db["crawls"].get(crawl_id)
    assert (crawl["status"], crawl["pages"]) == ("failed", 1)


def test_finish_crawl_refuses_an_unknown_status(catalog):
    crawl_id = catalog.start_crawl([], now=NOW)
    with pytest.raises(ValueError, match="interrupted"):
        catalog.finish_crawl(crawl_id, "done")


def test_finish_crawl_refuses_an_unknown_crawl(catalog):
    with pytest.raises(CatalogError, match="no crawl nope"):
        catalog.finish_crawl("nope", "failed")


def test_counts_reports_each_table(catalog):
    catalog.start_crawl([], now=NOW)
    catalog.add_capture(capture_row())
    catalog.add_article(article_row())
    catalog.flush()

    assert catalog.counts() == {"articles": 1, "captures": 1, "crawls": 1}


# -- queries ---------------------------------------------------------------------


def test_articles_filters_by_equality_newest_first(catalog):
    catalog.add_article(article_row(url="https://a.example.kz/1", language="kk", published="2026-11-01"))
    catalog.add_article(article_row(url="https://a.example.kz/2", language="kk", published="2026-11-20"))
    catalog.add_article(article_row(url="https://a.example.kz/3", language="ru", published="2026-11-10"))
    catalog.flush()

    assert [a["url"] for a in catalog.articles(language="kk")] == ["https://a.example.kz/2", "https://a.example.kz/1"]
    assert list(catalog.articles(language="kk' OR '1'='1")) == []


def test_articles_filters_on_the_columns_the_catalog_derives(catalog):
    catalog.add_article(article_row(url="https://a.example.kz/1"))
    catalog.add_article(article_row(url="https://a.example.kz/2"))
    catalog.add_capture(capture_row(url="https://a.example.kz/2", status=404, fetched_at="2026-11-26T10:30:00Z"))
    catalog.flush()

    assert [a["url"] for a in catalog.articles(removed_at=None)] == ["https://a.example.kz/1"]
    assert [a["url"] for a in catalog.articles(versions=1)] == ["https://a.example.kz/1", "https://a.example.kz/2"]


def test_an_article_row_cannot_set_the_derived_columns(catalog):
    with pytest.raises(ValueError, match="versions"):
        catalog.add_article(article_row(versions=3))


def test_articles_refuses_an_unknown_column(catalog):
    with pytest.raises(ValueError, match="colour"):
        list(catalog.articles(colour="red"))


# -- opening problems ------------------------------------------------------------


def test_a_file_that_is_not_sqlite_raises_a_one_line_catalog_error(db_path):
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(b"WARC/1.1\r\n" + b"not a database " * 100)

    with pytest.raises(CatalogError) as raised:
        Catalog(db_path)

    assert "not a database" in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_sqlite_database_of_something_else_is_refused(db_path):
    db_path.parent.mkdir(parents=True)
    with sqlite3.connect(db_path) as conn:
        conn.execute("CREATE TABLE recipes (name TEXT)")

    with pytest.raises(CatalogError, match="not a newsarchive catalog"):
        Catalog(db_path)


def test_a_directory_in_place_of_the_catalog_is_refused(db_path):
    db_path.mkdir(parents=True)

    with pytest.raises(CatalogError, match="cannot open catalog"):
        Catalog(db_path)


def test_a_newer_schema_version_is_refused_with_the_fix(db_path, warc_dir):
    Catalog(db_path, warc_dir=warc_dir).close()
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION + 1)])

    with pytest.raises(CatalogError, match=f"schema version {SCHEMA_VERSION + 1}.*upgrade newsarchive"):
        Catalog(db_path)


# -- read-only -------------------------------------------------------------------


def test_read_only_reads_but_refuses_writes(db_path, warc_dir):
    with Catalog(db_path, warc_dir=warc_dir) as catalog:
        catalog.add_article(article_row())

    with Catalog(db_path, read_only=True) as reader:
        assert reader.article("https://akimat.example.kz/news/1")["language"] == "kk"
        with pytest.raises(CatalogError, match="read-only"):
            reader.add_capture(capture_row())
        with pytest.raises(sqlite3.OperationalError):
            reader.db.execute("DELETE FROM articles")

    assert rows_on_disk(db_path, "articles") == 1


def test_read_only_does_not_create_a_missing_catalog(db_path):
    with pytest.raises(CatalogError, match="no catalog at"):
        Catalog(db_path, read_only=True)

    assert not db_path.parent.exists()
