"""Site templates in a real crawl: learned, recorded in the WARC, applied, and rebuilt by reindex.

A small akimat-like site on loopback ends every article with the same two
lines (a reception-hours notice and the press office's signature) inside the
article block, where trafilatura keeps them. Its articles also reuse stock
paragraphs, and two of them share one sentence: text the template must keep.
The site is crawled twice through the real CLI (the second time, in full, after
one new article appeared: every page changed, its "latest news" box names it),
then the catalog is rebuilt from the WARCs alone.
"""

import json
import random
import sqlite3
import subprocess
import sys
import threading
from contextlib import closing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive.template import TEMPLATE_URN, RecordedTemplate, paragraphs_of

CHROME = ("Отдел внутренней политики акимата района напоминает о приёме граждан по вторникам.",
          "Пресс-служба акимата Бурабайского района")
STOCK = ("Жители района приняли участие в обсуждении плана развития поселка на ближайшие пять лет.",
         "Аким района поручил ответственным службам завершить работы до начала отопительного сезона.",
         "В мероприятии приняли участие представители общественных организаций и ветераны.",
         "Особое внимание было уделено вопросам благоустройства дворов и освещения улиц.",
         "Специалисты ответили на вопросы жителей и приняли письменные обращения.",
         "Работы ведутся за счет средств местного бюджета и спонсоров.")
SHARED = "Мероприятие прошло при поддержке областного управления культуры и развития языков."
PAGE = """<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>{title} | Акимат района</title>
<meta property="og:type" content="article"></head><body>
<div class="header"><a href="/">Акимат района</a></div>
<aside class="latest">Последние новости: <a href="/news/{newest}">Новость района номер {newest}</a></aside>
<article><h1>{title}</h1><p class="date">{day} марта 2026</p>
{body}
<p>{chrome[0]}</p>
<p>{chrome[1]}</p>
<p>Наш канал в Телеграм: подписывайтесь и узнавайте новости района первыми</p>
</article></body></html>"""


def article_paragraphs(number: int) -> list[str]:
    """The article's own text: a lead of its own, three stock paragraphs, and for 1 and 2 a shared sentence."""
    paragraphs = [f"Статья номер {number}: в селе {number} открыли новый объект, "
                  "о чем сообщили в акимате района сегодня утром."]
    paragraphs += random.Random(number).sample(STOCK, 3)
    if number in (1, 2):
        paragraphs.insert(2, SHARED)
    return paragraphs


class TemplateHeavySite:
    def __init__(self, articles: int):
        self.articles = articles

    def page(self, path: str) -> str | None:
        if path == "/":
            links = "".join(f'<li><a href="/news/{n}">Новость района номер {n}</a></li>'
                            for n in range(self.articles, 0, -1))
            return f"<html><body><ul>{links}</ul></body></html>"
        if path.startswith("/news/") and path[6:].isdigit() and 1 <= int(path[6:]) <= self.articles:
            number = int(path[6:])
            body = "\n".join(f"<p>{p}</p>" for p in article_paragraphs(number))
            return PAGE.format(title=f"Новость района номер {number}", day=number % 28 + 1, body=body, chrome=CHROME,
                               newest=self.articles)
        return None


def serve(site: TemplateHeavySite) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = site.page(self.path)
            payload = (body or "not found").encode("utf-8")
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "crawler.cli", *args], capture_output=True, text=True, timeout=300)


def crawl(start: str, data: Path, *settings: str):
    result = run_cli("crawl", start, "--data", str(data), "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0",
                     *settings)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """Two crawls of the site (8 articles, then 9), a crawl with templates off, and the reindexed catalog."""
    root = tmp_path_factory.mktemp("template")
    site = TemplateHeavySite(articles=8)
    server = serve(site)
    start = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        crawl(start, root / "plain", "-s", "NEWSARCHIVE_SITE_TEMPLATES=False")
        crawl(start, root / "data")
        first = query(root / "data" / "catalog.db", "SELECT url, text FROM articles ORDER BY url")
        site.articles = 9
        crawl(start, root / "data", "-s", "NEWSARCHIVE_INCREMENTAL=False")
    finally:
        server.shutdown()
    rebuilt = root / "rebuilt.db"
    result = run_cli("reindex", "--data", str(root / "data"), "--into", str(rebuilt), "--workers", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    return root, first, rebuilt


def query(path, sql, params=()):
    with closing(sqlite3.connect(path)) as db:
        return db.execute(sql, params).fetchall()


def texts(path) -> dict[str, str]:
    return dict(query(path, "SELECT url, text FROM articles"))


def number_of(url: str) -> int:
    return int(url.rsplit("/", 1)[1])


def template_records(data: Path) -> list[tuple[str, RecordedTemplate]]:
    found = []
    for path in sorted((data / "warc").glob("*.warc.gz")):
        with open(path, "rb") as stream:
            for record in ArchiveIterator(stream):
                uri = record.rec_headers.get_header("WARC-Target-URI") or ""
                if record.rec_type == "metadata" and uri.startswith(TEMPLATE_URN):
                    found.append((uri, RecordedTemplate.from_json(record.content_stream().read())))
    return found


def test_without_templates_the_chrome_lines_stay_in_every_article(crawled):
    root, _, _ = crawled
    plain = texts(root / "plain" / "catalog.db")
    assert len(plain) == 8
    assert all(CHROME[0] in text and CHROME[1] in text for text in plain.values())


def test_a_first_crawl_strips_the_lines_every_page_of_the_site_repeats(crawled):
    _, first, _ = crawled
    assert len(first) == 8
    for _url, text in first:
        assert CHROME[0] not in text and CHROME[1] not in text


def test_no_article_paragraph_is_lost_not_even_the_ones_articles_share(crawled):
    root, _, _ = crawled
    for url, text in texts(root / "data" / "catalog.db").items():
        assert paragraphs_of(text) == article_paragraphs(number_of(url))


def test_each_crawl_writes_the_site_template_as_a_warc_metadata_record(crawled):
    root, _, _ = crawled
    records = template_records(root / "data")
    assert len(records) == 2  # one site, two crawls
    (uri, first), (_, second) = records
    assert uri.startswith(TEMPLATE_URN + "127.0.0.1:")
    assert first.base == frozenset() and first.final
    assert second.base == first.final  # the re-crawl started from the first crawl's template


def test_a_recrawl_that_extracts_the_pages_again_makes_no_new_version(crawled):
    root, _, _ = crawled
    catalog = root / "data" / "catalog.db"
    assert query(catalog, "SELECT count(*) FROM article_sightings GROUP BY crawl_id ORDER BY crawl_id") == [(8,), (9,)]
    assert query(catalog, "SELECT max(versions), count(*) FROM articles") == [(1, 9)]
    assert query(catalog, "SELECT changed_articles FROM crawls ORDER BY id") == [(0,), (0,)]


def test_the_new_article_of_the_recrawl_is_stripped_with_the_site_template(crawled):
    root, _, _ = crawled
    new = texts(root / "data" / "catalog.db")[next(u for u in texts(root / "data" / "catalog.db") if u.endswith("/9"))]
    assert paragraphs_of(new) == article_paragraphs(9)


@pytest.mark.parametrize("table, order", [
    ("articles", "url"), ("article_versions", "url, version"),
    ("article_sightings", "url, fetched_at"), ("site_templates", "site, crawl_id")])
def test_reindex_rebuilds_the_same_rows_from_the_warcs(crawled, table, order):
    root, _, rebuilt = crawled
    sql = f"SELECT * FROM {table} ORDER BY {order}"
    crawl_rows = query(root / "data" / "catalog.db", sql)
    assert crawl_rows
    assert query(rebuilt, sql) == crawl_rows


def test_the_catalog_indexes_the_template_record_it_came_from(crawled):
    root, _, _ = crawled
    (pairs, name, offset), *_ = query(root / "data" / "catalog.db",
                                      "SELECT pairs, warc_filename, warc_offset FROM site_templates ORDER BY crawl_id")
    with open(root / "data" / "warc" / name, "rb") as stream:
        stream.seek(offset)
        record = next(iter(ArchiveIterator(stream)))
        recorded = RecordedTemplate.from_json(record.content_stream().read())
    assert sorted(json.loads(pairs)) == [f"{key:016x}" for key in sorted(recorded.final)]
