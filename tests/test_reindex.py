"""`newsarchive reindex`: the catalog rebuilt from the WARC files alone is the crawl's catalog.

The key test crawls the demo portal through the real CLI, rebuilds the catalog
into a fresh file with the real CLI, and compares the two row for row.
"""

import itertools
import json
import shutil
import sqlite3
from contextlib import closing
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from archive.errors import CatalogError
from archive.reindex import reindex
from crawler.demo.portal import DemoPortal
from archive import apifields
from archive.warc import CAPTURE_HEADER, HttpExchange, WarcWriter
from warcs.archives import CRAWL_ID, SEED, START, build_archive, page_exchange, pinned_writer

SAMPLES = Path(__file__).parent / "warcs"
CAPTURE_COLUMNS = ("url, status, content_type, fetched_at, warc_filename, warc_offset, warc_length, record_id,"
                   " payload_digest, truncated, crawl_id, record_type, refers_to")


def run_cli(*args, timeout=240):
    return subprocess.run([sys.executable, "-m", "crawler.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


def rows(path, sql):
    with closing(sqlite3.connect(path)) as db:
        db.row_factory = sqlite3.Row
        return sorted((dict(row) for row in db.execute(sql)), key=lambda row: repr(sorted(row.items())))


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """The demo portal crawled by the CLI, then reindexed by the CLI into a fresh catalog."""
    data = tmp_path_factory.mktemp("reindex") / "data"
    with DemoPortal(articles_per_site=12) as portal:
        crawl = run_cli("crawl", *[site.start_url for site in portal.sites.values()], "--data", str(data),
                        "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0")
        assert crawl.returncode == 0, crawl.stderr[-3000:]
    rebuilt = data.parent / "rebuilt.db"
    result = run_cli("reindex", "--data", str(data), "--into", str(rebuilt), "--workers", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    return data, rebuilt, result


def test_reindex_rebuilds_the_same_articles_all_columns(crawled):
    data, rebuilt, _ = crawled
    crawl_rows = rows(data / "catalog.db", "SELECT * FROM articles")
    assert len(crawl_rows) == 36
    assert rows(rebuilt, "SELECT * FROM articles") == crawl_rows


def test_reindex_rebuilds_the_same_captures_all_columns_but_id(crawled):
    data, rebuilt, _ = crawled
    crawl_rows = rows(data / "catalog.db", f"SELECT {CAPTURE_COLUMNS} FROM captures")
    assert len(crawl_rows) > 150
    assert rows(rebuilt, f"SELECT {CAPTURE_COLUMNS} FROM captures") == crawl_rows


def test_reindex_rebuilds_the_same_versions_and_sightings(crawled):
    data, rebuilt, _ = crawled
    for table in ("article_versions", "article_sightings"):
        crawl_rows = rows(data / "catalog.db", f"SELECT * FROM {table}")
        assert len(crawl_rows) == 36, table
        assert rows(rebuilt, f"SELECT * FROM {table}") == crawl_rows, table


def test_reindex_rebuilds_the_crawls_row_from_warcinfo_and_the_records(crawled):
    data, rebuilt, _ = crawled
    columns = "id, seeds, status, pages, articles, errors, bytes, new_articles, changed_articles, removed_articles"
    assert rows(rebuilt, f"SELECT {columns} FROM crawls") == rows(data / "catalog.db", f"SELECT {columns} FROM crawls")
    (row,) = rows(rebuilt, "SELECT started_at, finished_at FROM crawls")
    assert row["started_at"] <= row["finished_at"]


def test_reindex_cli_prints_counts_and_time(crawled):
    _, rebuilt, result = crawled
    lines = result.stdout.splitlines()
    assert lines[0].startswith("read 1 WARC files") and "36 articles, 1 crawls" in lines[0]
    assert lines[1].startswith("extracted ") and " with 2 workers in " in lines[1] and "pages/s" in lines[1]
    assert lines[2] == f"catalog: {rebuilt}"


def test_reindex_extracts_in_more_than_one_process(crawled, tmp_path):
    data, _, _ = crawled
    report = reindex(data, tmp_path / "catalog.db", workers=2)
    assert report.workers == 2
    assert len(report.worker_pids) == 2
    assert report.articles == 36 and report.pages_extracted > 36


def test_reindex_in_place_keeps_the_old_catalog_as_a_backup(tmp_path):
    data = tmp_path / "data"
    build_archive(data)
    old = (data / "catalog.db").read_bytes()
    report = reindex(data, workers=1, now=datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc))
    backup = data / "catalog.db.bak-20261125T120000Z"
    assert report.backup == backup and backup.read_bytes() == old
    assert rows(data / "catalog.db", f"SELECT {CAPTURE_COLUMNS} FROM captures") == \
        rows(backup, f"SELECT {CAPTURE_COLUMNS} FROM captures")
    assert sorted(p.name for p in data.iterdir()) == ["catalog.db", "catalog.db.bak-20261125T120000Z", "warc"]


def test_reindex_refuses_to_overwrite_an_existing_into_path(tmp_path):
    build_archive(tmp_path / "data")
    existing = tmp_path / "existing.db"
    existing.write_bytes(b"keep me")
    with pytest.raises(CatalogError, match="exists"):
        reindex(tmp_path / "data", existing, workers=1)
    assert existing.read_bytes() == b"keep me"


def test_revisits_become_captures_rows_as_the_crawl_wrote_them(tmp_path):
    data = tmp_path / "data"
    build_archive(data, pages=2, revisit_last=True)
    report = reindex(data, tmp_path / "rebuilt.db", workers=1)
    assert (report.captures, report.crawls) == (3, 1)
    assert rows(tmp_path / "rebuilt.db", f"SELECT {CAPTURE_COLUMNS} FROM captures") == \
        rows(data / "catalog.db", f"SELECT {CAPTURE_COLUMNS} FROM captures")
    (crawl,) = rows(tmp_path / "rebuilt.db", "SELECT id, seeds, pages FROM crawls")
    assert crawl == {"id": CRAWL_ID, "seeds": f'["{SEED}"]', "pages": 3}


def test_open_files_are_skipped_and_named(tmp_path):
    data = tmp_path / "data"
    writer = pinned_writer(data / "warc")
    writer.write_exchange(page_exchange(1))
    try:
        report = reindex(data, tmp_path / "rebuilt.db", workers=1)
    finally:
        writer.close()
    assert report.captures == 0
    assert report.skipped == [f"{writer.files_written[0]}.open: still .open (newsarchive verify --repair finishes it)"]


def test_only_whole_records_are_indexed_and_unreadable_files_are_named(tmp_path):
    warc_dir = tmp_path / "data" / "warc"
    warc_dir.mkdir(parents=True)
    for name in ("truncated.warc.gz", "not-a-warc.warc.gz", "chunked-from-another-tool.warc.gz"):
        shutil.copy(SAMPLES / name, warc_dir / name)
    report = reindex(tmp_path / "data", tmp_path / "rebuilt.db", workers=1)
    assert report.captures == 1  # the other tool's response; the truncated file's response is cut short
    assert [note.split(":")[0] for note in report.skipped] == ["not-a-warc.warc.gz", "truncated.warc.gz"]
    assert "gzip member cut short" in report.skipped[1] and "indexed up to byte 536" in report.skipped[1]
    (row,) = rows(tmp_path / "rebuilt.db", "SELECT url, warc_offset, crawl_id FROM captures")
    assert row == {"url": "http://news.example.kz/kk/news/1", "warc_offset": 559, "crawl_id": None}


def article_exchange(text: str, when: datetime, status: int = 200) -> HttpExchange:
    body = ('<html lang="kk"><head><meta property="og:type" content="article"><title>Мектеп ашылды</title></head>'
            f'<body><article><h1>Мектеп ашылды</h1><time datetime="2026-11-20">2026-11-20</time>'
            f"{''.join(f'<p>{text} Салтанатты жиынға аудан тұрғындары мен ата-аналар қатысты. {n}</p>' for n in range(4))}"
            "</article></body></html>").encode() if status == 200 else b"<html><body>Not found</body></html>"
    return HttpExchange(
        url=f"{SEED}/1", status=status, body=body,
        response_headers=[("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))],
        request_headers=[("Host", "news.example.kz")], ip_address="127.0.0.1", fetched_at=when)


def test_versions_follow_fetch_time_not_the_order_files_are_read_in(tmp_path):
    """The file read first holds the later capture and the 404; the rebuilt history is still in time order."""
    warc_dir = tmp_path / "data" / "warc"
    day = timedelta(days=1)
    with pinned_writer(warc_dir, prefix="a") as writer:  # read first: the later captures
        writer.write_exchange(article_exchange("Ауылда жаңа мектеп ашылды, онда 300 оқушы оқиды.", START + day))
        writer.write_exchange(article_exchange("", START + 2 * day, status=404))
    with pinned_writer(warc_dir, prefix="b") as writer:
        writer.write_exchange(article_exchange("Ауылда жаңа мектеп ашылды.", START))

    reindex(tmp_path / "data", tmp_path / "rebuilt.db", workers=1)

    versions = rows(tmp_path / "rebuilt.db", "SELECT version, fetched_at, text FROM article_versions")
    assert sorted((v["version"], v["fetched_at"], "300" in v["text"]) for v in versions) == [
        (1, "2026-11-25T10:30:00Z", False), (2, "2026-11-26T10:30:00Z", True)]
    (article,) = rows(tmp_path / "rebuilt.db", "SELECT versions, first_seen, removed_at FROM articles")
    assert article == {"versions": 2, "first_seen": "2026-11-25T10:30:00Z", "removed_at": "2026-11-27T10:30:00Z"}


# -- browser mode: the article is in the rendered DOM, not in the shell the server sent -----------

BROWSER = [(CAPTURE_HEADER, "browser; chromium; playwright/test")]
SHELL = b'<html lang="kk"><head><title>Portal</title></head><body><div id="app"></div><script src="/app.js"></script></body></html>'
API_RULES = [{"api": r"/api/news/\d+", "title": "title", "published": "publishDate", "text": "content"}]


def browser_writer(warc_dir, start=START, **options):
    """A pinned writer whose warcinfo says what a browser crawl with the API rules says."""
    ticks, ids = itertools.count(), itertools.count(1)
    warcinfo = {"isPartOf": CRAWL_ID, "description": f"seeds: {SEED}",
                apifields.WARCINFO_FIELD: apifields.rules_to_json(apifields.rules_from_json(API_RULES))}
    return WarcWriter(warc_dir, hostname="test", clock=lambda: start + timedelta(seconds=next(ticks)),
                      record_ids=lambda: f"<urn:uuid:00000000-0000-4000-8000-{start.day}{next(ids):010d}>",
                      warcinfo=warcinfo, **options)


def browser_exchange_of(url: str, body: bytes, content_type: str = "text/html; charset=utf-8") -> HttpExchange:
    return HttpExchange(url=url, status=200, body=body,
                        response_headers=[("content-type", content_type), ("Content-Length", str(len(body)))],
                        request_headers=[("Host", "news.example.kz")], fetched_at=START)


def rendered_dom(text: str) -> bytes:
    return article_exchange(text, START).body


def write_dom(writer: WarcWriter, shell, dom: bytes, *extra_headers) -> None:
    writer.write_record(shell.url, "conversion", dom, content_type="text/html; charset=utf-8",
                        warc_headers=[("WARC-Refers-To", shell.record_id), *BROWSER, *extra_headers])


def test_a_rendered_page_is_extracted_from_its_conversion_record_and_points_at_its_shell(tmp_path):
    with browser_writer(tmp_path / "data" / "warc") as writer:
        shell = writer.write_exchange(browser_exchange_of(f"{SEED}/1", SHELL), warc_headers=BROWSER)
        writer.write_exchange(browser_exchange_of(f"{SEED}/app.js", b"render()", "text/javascript"),
                              warc_headers=BROWSER)
        write_dom(writer, shell, rendered_dom("Ауылда жаңа мектеп ашылды."))

    report = reindex(tmp_path / "data", tmp_path / "rebuilt.db", workers=1)

    assert (report.captures, report.pages_extracted, report.articles) == (2, 1, 1)
    (article,) = rows(tmp_path / "rebuilt.db", "SELECT url, title, published, text, warc_filename, warc_offset,"
                      " warc_length FROM articles")
    assert article["title"] == "Мектеп ашылды" and article["published"].startswith("2026-11-20")
    assert "Ауылда жаңа мектеп ашылды." in article["text"]
    assert (article["url"], article["warc_filename"], article["warc_offset"], article["warc_length"]) == (
        shell.url, shell.warc_filename, shell.warc_offset, shell.warc_length)


def test_a_conversion_in_the_next_file_still_reaches_its_shell(tmp_path):
    with browser_writer(tmp_path / "data" / "warc", max_size=1) as writer:  # every record opens a new file
        shell = writer.write_exchange(browser_exchange_of(f"{SEED}/1", SHELL), warc_headers=BROWSER)
        write_dom(writer, shell, rendered_dom("Ауылда жаңа мектеп ашылды."))
    assert len(writer.files_written) == 2

    report = reindex(tmp_path / "data", tmp_path / "rebuilt.db", workers=1)

    assert report.articles == 1
    (article,) = rows(tmp_path / "rebuilt.db", "SELECT title, warc_filename, warc_offset FROM articles")
    assert article == {"title": "Мектеп ашылды", "warc_filename": shell.warc_filename,
                       "warc_offset": shell.warc_offset}


def test_a_conversion_read_before_its_shell_is_found_again_when_the_shell_comes(tmp_path):
    warc_dir = tmp_path / "data" / "warc"
    with browser_writer(warc_dir, start=START + timedelta(days=1)) as later:  # its file name sorts last
        shell = later.write_exchange(browser_exchange_of(f"{SEED}/1", SHELL), warc_headers=BROWSER)
    with browser_writer(warc_dir) as earlier:
        write_dom(earlier, shell, rendered_dom("Ауылда жаңа мектеп ашылды."))

    reindex(tmp_path / "data", tmp_path / "rebuilt.db", workers=1)

    (article,) = rows(tmp_path / "rebuilt.db", "SELECT title, warc_filename FROM articles")
    assert article == {"title": "Мектеп ашылды", "warc_filename": shell.warc_filename}


def test_a_page_the_browser_fetched_but_did_not_render_is_not_extracted(tmp_path):
    """An iframe's or script's HTML never reached the crawl's spider: no conversion, no article."""
    with browser_writer(tmp_path / "data" / "warc") as writer:
        writer.write_exchange(browser_exchange_of(f"{SEED}/1", rendered_dom("Ауылда жаңа мектеп ашылды.")),
                              warc_headers=BROWSER)

    report = reindex(tmp_path / "data", tmp_path / "rebuilt.db", workers=1)

    assert (report.captures, report.pages_extracted, report.articles) == (1, 0, 0)


def test_api_json_named_by_the_conversion_supplies_the_fields_under_the_warcinfo_rules(tmp_path):
    news = {"title": "Облыс әкімі мектепті аралады", "publishDate": "2026-11-19T09:15:00+05:00",
            "content": "<p>Бірінші абзац.</p><p>Екінші абзац.</p>"}
    with browser_writer(tmp_path / "data" / "warc") as writer:
        shell = writer.write_exchange(browser_exchange_of(f"{SEED}/1", SHELL), warc_headers=BROWSER)
        api = writer.write_exchange(browser_exchange_of("http://news.example.kz/api/news/1",
                                                        json.dumps(news).encode(), "application/json"),
                                    warc_headers=BROWSER)
        write_dom(writer, shell, rendered_dom("Ауылда жаңа мектеп ашылды."), (apifields.SOURCE_HEADER, api.record_id))

    reindex(tmp_path / "data", tmp_path / "rebuilt.db", workers=1)

    (article,) = rows(tmp_path / "rebuilt.db", "SELECT title, published, text, warc_offset FROM articles")
    assert article == {"title": news["title"], "published": "2026-11-19T09:15:00+05:00",
                       "text": "Бірінші абзац.\n\nЕкінші абзац.", "warc_offset": shell.warc_offset}
