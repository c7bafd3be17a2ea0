"""search, export, sql and show through the installed command line, as a data user runs them.

One real CLI crawl of the demo portal (kk, ru in windows-1251, en) feeds the
end-to-end tests; the catalog of tests/querydata.py, with known answers, feeds
the option and error tests.
"""

import csv
import io
import json
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from archive.records import open_record
from crawler.demo.portal import DemoPortal
from querydata import ATYRAU, build_catalog, url_of


def newsarchive(*args, timeout=240):
    return subprocess.run([sys.executable, "-m", "crawler.cli", *args], capture_output=True, timeout=timeout)


def text(result):
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    return result.stdout.decode("utf-8")


def one_line_error(result, fragment):
    assert result.returncode != 0
    stderr = result.stderr.decode()
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and fragment in errors[0], stderr


@pytest.fixture(scope="module")
def crawl(tmp_path_factory):
    """The demo portal crawled once; the portal stays up to compare what it served."""
    data = tmp_path_factory.mktemp("cliquery") / "data"
    with DemoPortal(articles_per_site=12) as portal:
        result = newsarchive("crawl", *[site.start_url for site in portal.sites.values()], "--data", str(data),
                             "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0")
        assert result.returncode == 0, result.stderr.decode()[-3000:]
        yield portal, data


@pytest.fixture(scope="module")
def known(tmp_path_factory):
    data = tmp_path_factory.mktemp("known") / "data"
    build_catalog(data)
    return data


def expected_articles(portal):
    return [article for site in portal.sites.values() for article in site.expected_articles]


# -- on the crawl ----------------------------------------------------------------------


def test_crawled_articles_are_found_by_their_titles(crawl):
    portal, data = crawl
    for article in [a for site in portal.sites.values() for a in (site.expected_articles[0], site.expected_articles[-1])]:
        hits = json.loads(text(newsarchive("search", f'"{article.title}"', "--lang", article.language,
                                           "--limit", "50", "--data", str(data), "--json")))
        assert article.url in [hit["url"] for hit in hits], article.title


def test_show_prints_the_article_and_where_it_came_from(crawl):
    portal, data = crawl
    article = expected_articles(portal)[0]
    shown = json.loads(text(newsarchive("show", article.url, "--json", "--data", str(data))))
    assert shown["article"]["title"] == article.title
    provenance = shown["provenance"]
    with open_record(data / "warc", provenance["warc_filename"], provenance["warc_offset"]) as record:
        assert record.rec_headers.get_header("WARC-Record-ID") == provenance["record_id"]
        assert record.rec_headers.get_header("WARC-Payload-Digest") == provenance["payload_digest"]
        assert record.rec_headers.get_header("WARC-Target-URI") == article.url
    assert provenance["record_id"] in [c["record_id"] for c in shown["captures"]]


def test_show_as_text_names_the_warc_record(crawl):
    portal, data = crawl
    article = expected_articles(portal)[0]
    out = text(newsarchive("show", article.url, "--data", str(data)))
    assert out.startswith(article.title)
    assert "record_id: <urn:uuid:" in out and "warc_filename: " in out
    assert "captures of this URL (1):" in out


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_show_html_prints_the_page_exactly_as_served(crawl, language):
    portal, data = crawl
    article = next(a for a in expected_articles(portal) if a.language == language)
    result = newsarchive("show", article.url, "--html", "--data", str(data))
    assert result.returncode == 0, result.stderr.decode()
    site = portal.site_for(article.url)
    parts = urlsplit(article.url)
    assert result.stdout == site.respond(parts.path + (f"?{parts.query}" if parts.query else "")).body


def test_export_jsonl_has_every_article_with_provenance(crawl):
    portal, data = crawl
    rows = [json.loads(line) for line in text(newsarchive("export", "--format", "jsonl", "--data", str(data)))
            .splitlines()]
    assert {row["url"] for row in rows} == {a.url for a in expected_articles(portal)}
    assert all(row["record_id"].startswith("<urn:uuid:") and row["warc_filename"] for row in rows)


# -- options and formats -------------------------------------------------------------------


def test_search_as_csv(known):
    rows = list(csv.DictReader(io.StringIO(text(newsarchive("search", "конференция", "--data", str(known),
                                                            "--csv")))))
    assert list(rows[0]) == ["published", "language", "site", "title", "url", "snippet"]
    assert {r["url"] for r in rows} == {url_of("conference-kk"), url_of("conference-ru")}


def test_search_as_json_lines_with_filters(known):
    lines = text(newsarchive("search", "конференция", "--site", ATYRAU, "--since", "2021", "--until", "march 2021",
                             "--data", str(known), "--nl")).splitlines()
    assert [json.loads(line)["url"] for line in lines] == [url_of("conference-kk")]


def test_search_as_a_table(known):
    out = text(newsarchive("search", "праймериз", "--data", str(known), "--table"))
    assert out.splitlines()[0].split() == ["published", "language", "site", "title", "url", "snippet"]
    assert "[праймериз]" in out


def test_piped_output_defaults_to_json(known):
    assert json.loads(text(newsarchive("search", "school", "--data", str(known))))[0]["url"] == url_of("school-en")


def test_search_with_no_hits_is_an_empty_result_not_an_error(known):
    assert json.loads(text(newsarchive("search", "нетакогослова", "--data", str(known), "--json"))) == []


def test_sql_with_a_parameter(known):
    rows = json.loads(text(newsarchive("sql", "select url from articles where language = :lang order by url",
                                       "-p", "lang", "kk", "--data", str(known), "--json")))
    assert [r["url"] for r in rows] == sorted([url_of("primaries-kk"), url_of("conference-kk")])


def test_sql_as_csv(known):
    out = text(newsarchive("sql", "select count(*) as n from articles", "--data", str(known), "--csv"))
    assert out.splitlines() == ["n", "7"]


def test_a_write_through_sql_is_one_line(known):
    one_line_error(newsarchive("sql", "delete from articles", "--data", str(known)), "read-only")
    assert json.loads(text(newsarchive("sql", "select count(*) as n from articles", "--data", str(known))))[0]["n"] == 7


def test_a_slow_sql_query_is_stopped_in_one_line(known):
    endless = "with recursive n(i) as (select 1 union all select i + 1 from n) select max(i) from n"
    one_line_error(newsarchive("sql", endless, "--time-limit", "0.3", "--data", str(known)), "time limit")


def test_export_csv_to_a_file(known, tmp_path):
    target = tmp_path / "kk.csv"
    result = newsarchive("export", "--lang", "kk", "-o", str(target), "--data", str(known))
    assert result.returncode == 0 and "exported 2 articles" in result.stderr.decode()
    with open(target, newline="", encoding="utf-8") as stream:
        assert len(list(csv.DictReader(stream))) == 2


def test_export_parquet_needs_a_file(known):
    result = newsarchive("export", "--format", "parquet", "--data", str(known))
    assert result.returncode != 0 and "give a file with -o" in result.stderr.decode()


def test_a_date_nobody_can_read_is_one_line(known):
    one_line_error(newsarchive("search", "school", "--since", "someday", "--data", str(known)), "is not a date")


def test_an_unknown_region_is_one_line(known):
    one_line_error(newsarchive("search", "school", "--region", "Mars", "--data", str(known)), "known regions")


def test_a_missing_catalog_is_one_line(tmp_path):
    one_line_error(newsarchive("search", "school", "--data", str(tmp_path / "nothing")), "no catalog at")


def test_show_html_of_a_catalog_without_its_warc_is_one_line(known):
    one_line_error(newsarchive("show", url_of("school-en"), "--html", "--data", str(known)), "no WARC record")
