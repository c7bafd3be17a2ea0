"""archive.query on a real catalog file: search, filters, dates as typed, export, read-only SQL, provenance."""

import csv
import io
import json
import sqlite3
from datetime import date

import pytest

from archive.datefilter import parse_period
from archive.errors import DateFilterError, QueryError
from archive.query import (EXPORT_COLUMNS, Filters, connect, export_lines, export_rows, fts_query, run_sql, search,
                           show, snippet, write_export)
from archive.stemming import stem
from querydata import ALMATY, ATYRAU, ENGLISH, build_catalog, url_of


@pytest.fixture(scope="module")
def catalog_path(tmp_path_factory):
    return build_catalog(tmp_path_factory.mktemp("query") / "data")


@pytest.fixture
def conn(catalog_path):
    connection = connect(catalog_path)
    yield connection
    connection.close()


def found(rows):
    return {row["url"] for row in rows}


# -- dates as people type them -----------------------------------------------------


@pytest.mark.parametrize("typed, start, end", [
    ("2021", date(2021, 1, 1), date(2022, 1, 1)),
    ("2021-03", date(2021, 3, 1), date(2021, 4, 1)),
    ("03.2021", date(2021, 3, 1), date(2021, 4, 1)),
    ("march 2021", date(2021, 3, 1), date(2021, 4, 1)),
    ("March, 2021", date(2021, 3, 1), date(2021, 4, 1)),
    ("март 2021 г.", date(2021, 3, 1), date(2021, 4, 1)),
    ("наурыз 2021", date(2021, 3, 1), date(2021, 4, 1)),
    ("2021 жылғы наурыз", date(2021, 3, 1), date(2021, 4, 1)),
    ("December 2021", date(2021, 12, 1), date(2022, 1, 1)),
    ("25.11.2026", date(2026, 11, 25), date(2026, 11, 26)),
    ("2026-11-25", date(2026, 11, 25), date(2026, 11, 26)),
    ("25 қараша 2026", date(2026, 11, 25), date(2026, 11, 26)),
    ("25 ноября 2026", date(2026, 11, 25), date(2026, 11, 26)),
    ("2040", date(2040, 1, 1), date(2041, 1, 1)),
])
def test_a_typed_date_names_a_whole_period(typed, start, end):
    period = parse_period(typed)
    assert (period.start, period.end) == (start, end)


@pytest.mark.parametrize("typed", ["", "soon", "32.01.2021", "ноябрь"])
def test_a_typed_date_that_names_nothing_is_one_clear_error_with_examples(typed):
    with pytest.raises(DateFilterError, match="2021-03"):
        parse_period(typed)


def test_a_month_that_does_not_exist_is_named():
    with pytest.raises(DateFilterError, match="no month 13"):
        parse_period("2021-13")


# -- stems -------------------------------------------------------------------------


@pytest.mark.parametrize("typed, form", [
    ("праймериз", "праймериздің"),
    ("праймериздің", "праймериз"),
    ("конференция", "конференциясы"),
    ("конференция", "конференции"),
    ("конференциясы", "конференцией"),
    ("мектептерде", "мектептің"),
    ("бағдарламасы", "бағдарламаға"),
    ("выборы", "выборах"),
    ("schools", "school"),
])
def test_one_form_of_a_word_is_a_prefix_of_the_other(typed, form):
    assert form.startswith(stem(typed))


def test_short_words_are_searched_whole():
    assert fts_query("жол") == '"жол"'


def test_fts5_syntax_is_kept_as_written():
    assert fts_query('"есеп беру" OR title:школа') == '"есеп беру" OR title:школа'


# -- search --------------------------------------------------------------------------


def test_a_kazakh_word_finds_its_inflected_forms(conn):
    assert url_of("primaries-kk") in found(search(conn, "праймериз"))


def test_a_russian_word_finds_kazakh_and_russian_inflections(conn):
    assert found(search(conn, "конференция")) == {url_of("conference-kk"), url_of("conference-ru")}


def test_an_exact_search_finds_only_the_form_typed(conn):
    assert found(search(conn, "конференция", stemming=False)) == {url_of("conference-ru")}  # in its title


def test_a_title_match_ranks_above_a_body_match(conn):
    assert [row["url"] for row in search(conn, "school")] == [url_of("school-en"), url_of("body-mention-en")]


def test_the_snippet_brackets_the_matched_words(conn):
    row = search(conn, "праймериз")[0]
    assert "[праймериз]" in row["snippet"] and "[Праймериздің]" in row["snippet"]


def test_snippet_starts_a_few_words_before_a_late_match():
    text = " ".join(f"w{i}" for i in range(100)) + " target " + " ".join(f"v{i}" for i in range(100))
    assert snippet(text, [("target", False)]).startswith("…w97 w98 w99 [target] v0")


def test_filters_by_language(conn):
    assert found(search(conn, "конференция", Filters(language="ru"))) == {url_of("conference-ru")}


def test_filters_by_site(conn):
    assert found(search(conn, "конференция", Filters(sites=(ATYRAU,)))) == {url_of("conference-kk")}


def test_filters_by_region_through_the_sites_table(conn):
    assert found(search(conn, "конференция", Filters(regions=("almaty",)))) == {url_of("conference-ru")}


def test_a_region_matches_whatever_its_case(conn, catalog_path):
    with sqlite3.connect(catalog_path) as writer:
        writer.execute("UPDATE sites SET region = 'Алматы' WHERE id = ?", [ALMATY])
    writer.close()
    try:
        assert found(search(conn, "конференция", Filters(regions=("АЛМАТЫ",)))) == {url_of("conference-ru")}
    finally:
        with sqlite3.connect(catalog_path) as writer:
            writer.execute("UPDATE sites SET region = 'Almaty' WHERE id = ?", [ALMATY])
        writer.close()


def test_an_unknown_region_names_the_known_ones(conn):
    with pytest.raises(QueryError, match="known regions: Almaty, Atyrau"):
        search(conn, "конференция", Filters(regions=("Astana",)))


def test_until_a_month_includes_its_last_day(conn):
    hits = found(search(conn, "конференция", Filters(since="2021", until="march 2021")))
    assert hits == {url_of("conference-kk")}  # 31 March in, 1 April out


def test_since_a_month_starts_on_its_first_day(conn):
    assert found(search(conn, "конференция", Filters(since="2021-04"))) == {url_of("conference-ru")}


def test_a_day_at_the_end_of_the_year_belongs_to_that_year(conn):
    assert found(search(conn, "школа", Filters(since="2020", until="2020"))) == {url_of("school-ru")}


def test_an_article_without_a_date_is_left_out_by_date_filters(conn):
    assert found(search(conn, "statement")) == {url_of("undated-en")}
    assert found(search(conn, "statement", Filters(since="1991"))) == set()


def test_filter_values_are_parameters_not_sql(conn):
    assert search(conn, "конференция", Filters(sites=("x' OR '1'='1",))) == []


def test_a_query_without_words_is_one_clear_error(conn):
    with pytest.raises(QueryError, match="no words"):
        search(conn, "!!!")


def test_paging_gives_the_next_results(conn):
    first, second = search(conn, "school", limit=1), search(conn, "school", limit=1, offset=1)
    assert [r["url"] for r in first + second] == [url_of("school-en"), url_of("body-mention-en")]


# -- export --------------------------------------------------------------------------


def test_export_rows_carry_provenance(conn):
    row = next(r for r in export_rows(conn) if r["url"] == url_of("primaries-kk"))
    assert row["warc_filename"].endswith(".warc.gz")
    assert (row["warc_offset"], row["warc_length"]) == (0, 900)
    assert row["record_id"] == "<urn:uuid:record-primaries-kk>"
    assert row["payload_digest"] == "sha1:PRIMARIES-KK"
    assert row["fetched_at"] == "2026-11-25T10:00:00Z"


def test_export_takes_the_same_filters_as_search(conn):
    assert {r["url"] for r in export_rows(conn, Filters(language="ru", since="2021"))} == {url_of("conference-ru")}


def test_export_with_a_query_keeps_search_order(conn):
    assert [r["url"] for r in export_rows(conn, query="school")] == [url_of("school-en"), url_of("body-mention-en")]


def test_csv_export_reads_back_as_the_rows_with_quotes_commas_and_newlines(conn):
    out = io.BytesIO()
    count = write_export(conn, "csv", out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue().decode("utf-8"), newline="")))
    expected = list(export_rows(conn))
    assert count == len(rows) == len(expected) == 7
    assert list(rows[0]) == list(EXPORT_COLUMNS)
    for got, want in zip(rows, expected):
        assert got == {k: "" if v is None else str(v) for k, v in want.items()}


def test_jsonl_export_is_one_object_per_row_with_numbers_as_numbers(conn):
    out = io.BytesIO()
    write_export(conn, "jsonl", out, Filters(language="ru"))
    objects = [json.loads(line) for line in out.getvalue().decode("utf-8").splitlines()]
    assert objects == list(export_rows(conn, Filters(language="ru")))
    assert isinstance(objects[0]["warc_offset"], int)


def test_export_streams_in_chunks(conn):
    chunks = export_lines(conn, "jsonl", batch=2)
    assert len(next(chunks).splitlines()) == 2  # the first rows arrive before the rest are read
    assert sum(len(c.splitlines()) for c in chunks) == 5


def test_export_of_chosen_columns(conn):
    out = io.BytesIO()
    write_export(conn, "csv", out, columns=("url", "warc_offset"))
    assert out.getvalue().decode().splitlines()[0] == "url,warc_offset"


@pytest.mark.parametrize("columns", [("text",), ("text", "url"), ("url", "text"), ("url", "title"),
                                     ("warc_offset", "text", "warc_length")])
def test_csv_export_of_chosen_columns_reads_back_wherever_the_text_column_is(conn, columns):
    out = io.BytesIO()
    write_export(conn, "csv", out, columns=columns)
    rows = list(csv.reader(io.StringIO(out.getvalue().decode("utf-8"), newline="")))
    assert rows[0] == list(columns)
    assert rows[1:] == [["" if v is None else str(v) for v in row.values()] for row in export_rows(conn, columns=columns)]


def test_csv_export_writes_a_missing_value_unquoted_and_an_empty_one_quoted(catalog_path, tmp_path):
    copy = tmp_path / "catalog.db"
    copy.write_bytes(catalog_path.read_bytes())
    with sqlite3.connect(copy) as writer:
        writer.execute("INSERT INTO articles (url, title, author, text, warc_filename, warc_offset, warc_length)"
                       " VALUES ('https://x.example.kz/1', NULL, '', NULL, 'w.warc.gz', 7, 8)")
    writer.close()
    connection = connect(copy)
    out = io.BytesIO()
    write_export(connection, "csv", out, columns=("url", "title", "author", "text", "warc_offset"))
    connection.close()
    assert out.getvalue().splitlines()[-1] == b'"https://x.example.kz/1",,"",,7'


def test_an_unknown_export_column_is_refused(conn):
    with pytest.raises(QueryError, match="no export column secret"):
        list(export_rows(conn, columns=("url", "secret")))


def test_parquet_export_round_trips(conn, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    count = write_export(conn, "parquet", tmp_path / "a.parquet", Filters(language="kk"))
    table = pq.read_table(tmp_path / "a.parquet")
    assert count == table.num_rows == 2
    assert table.column_names == list(EXPORT_COLUMNS)


# -- read-only SQL -------------------------------------------------------------------


def test_sql_returns_columns_and_rows(conn):
    result = run_sql(conn, "SELECT language, count(*) AS n FROM articles GROUP BY language ORDER BY language")
    assert result.columns == ["language", "n"]
    assert list(result.rows) == [("en", 3), ("kk", 2), ("ru", 2)]


def test_sql_binds_named_parameters(conn):
    result = run_sql(conn, "SELECT url FROM articles WHERE site = :site ORDER BY url", {"site": ALMATY})
    assert [r[0] for r in result.rows] == [url_of("conference-ru"), url_of("school-ru")]


def test_sql_reads_the_views(conn):
    rows = list(run_sql(conn, "SELECT site, month, articles FROM articles_by_site_month WHERE site = ?",
                        [ATYRAU]).rows)
    assert rows == [(ATYRAU, "2021-03", 2)]


@pytest.mark.parametrize("statement", [
    "DELETE FROM articles",
    "UPDATE articles SET title = 'x'",
    "INSERT INTO meta (key, value) VALUES ('a', 'b')",
    "DROP TABLE captures",
    "CREATE TABLE mine (x)",
    "PRAGMA user_version = 7",
])
def test_a_write_is_refused_in_one_line_and_changes_nothing(conn, catalog_path, statement):
    with pytest.raises(QueryError, match="read-only"):
        list(run_sql(conn, statement).rows)
    with sqlite3.connect(catalog_path) as check:
        assert check.execute("SELECT count(*) FROM articles").fetchone()[0] == 7
        assert check.execute("PRAGMA user_version").fetchone()[0] == 0
    check.close()


def test_a_slow_query_is_stopped_at_the_time_limit(conn):
    endless = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT max(i) FROM n"
    with pytest.raises(QueryError, match="0.2 s time limit"):
        list(run_sql(conn, endless, time_limit=0.2).rows)


def test_the_connection_is_usable_after_a_stopped_query(conn):
    with pytest.raises(QueryError):
        list(run_sql(conn, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT max(i) FROM n",
                     time_limit=0.1).rows)
    assert list(run_sql(conn, "SELECT count(*) FROM articles").rows) == [(7,)]


def test_bad_sql_is_one_clear_error(conn):
    with pytest.raises(QueryError, match="SQL error: no such table: nope"):
        run_sql(conn, "SELECT * FROM nope")


# -- provenance ----------------------------------------------------------------------


def test_show_gives_the_article_its_captures_and_provenance(conn):
    record = show(conn, url_of("conference-ru"))
    assert record.article["title"] == "Отчётная конференция филиала"
    assert [c["fetched_at"] for c in record.captures] == ["2026-11-25T10:02:00Z", "2026-11-01T08:00:00Z"]
    assert record.provenance["record_id"] == "<urn:uuid:record-conference-ru>"
    assert record.provenance["payload_digest"] == "sha1:CONFERENCE-RU"
    assert record.provenance["warc_offset"] == 2000


def test_show_of_an_unknown_url_is_one_clear_error(conn):
    with pytest.raises(QueryError, match="not in the catalog"):
        show(conn, "https://nowhere.example.kz/")


def test_the_catalog_is_opened_read_only(conn):
    with pytest.raises(sqlite3.OperationalError, match="readonly|read-only|query_only"):
        conn.execute("DELETE FROM articles")


def test_a_missing_catalog_is_one_clear_error(tmp_path):
    from archive.errors import CatalogError

    with pytest.raises(CatalogError, match="no catalog at"):
        connect(tmp_path / "catalog.db")


def test_english_site_has_no_region_yet(conn):
    assert found(search(conn, "school", Filters(regions=("Almaty",)))) == set()
    assert ENGLISH not in {r[0] for r in run_sql(conn, "SELECT id FROM sites WHERE region IS NOT NULL").rows}
