"""`newsarchive report`: the figures read from the catalog, the HTML page, and the page in a real browser.

Catalogs are written through archive.catalog with pinned clocks, so every figure
is known in advance; one real crawl of the demo portal (twice, same sites)
feeds the command-line and browser tests.
"""

import re
import shutil
import sqlite3
import struct
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from archive.catalog import Catalog
from archive.charts import render_html
from archive.profiles import parse_profiles
from archive.query import connect
from archive.report import gather, month_range, select_site, summary_lines
from crawler.demo.portal import DemoPortal

START = datetime(2026, 3, 1, 6, 0, tzinfo=timezone.utc)
HOSTILE = '<script>alert("x")</script>'
WARC = "test.warc.gz"


class ArchiveWriter:
    """Writes crawls, captures, articles and errors through the real Catalog (pointers into one WARC file)."""

    def __init__(self, tmp_path):
        (tmp_path / "warc").mkdir()
        (tmp_path / "warc" / WARC).write_bytes(b"\0" * 1_000_000)
        self.path = tmp_path / "catalog.db"
        self.catalog = Catalog(self.path, warc_dir=tmp_path / "warc")
        self.offset = 0

    def crawl(self, crawl_id, seeds, *, start, minutes, status="finished", pages=(), articles=(), errors=()):
        self.catalog.start_crawl(seeds, crawl_id=crawl_id, now=start)
        for url, status_code in pages:
            self._capture(crawl_id, url, status_code, start)
        for url, published, text in articles:
            pointer = self._capture(crawl_id, url, 200, start)
            self.catalog.add_article({"url": url, "site": url.split("/")[2], "title": f"title of {url}",
                                      "published": published, "text": text, "crawl_id": crawl_id, **pointer})
        for url, message in errors:
            self.catalog.add_error(crawl_id, url, message, now=start)
        self.catalog.finish_crawl(crawl_id, status, now=start + timedelta(minutes=minutes))

    def _capture(self, crawl_id, url, status, when):
        pointer = {"warc_filename": WARC, "warc_offset": self.offset, "warc_length": 100,
                   "payload_digest": f"sha1:{self.offset}", "fetched_at": when}
        self.offset += 100
        self.catalog.add_capture({"url": url, "status": status, "crawl_id": crawl_id, "content_type": "text/html",
                                  "record_id": f"<urn:uuid:{self.offset}>", **pointer})
        return pointer

    def connection(self):
        self.catalog.close()
        return connect(self.path)


def articles(host, months, per_month=2):
    return [(f"https://{host}/news/{month}-{n}", f"{month}-1{n}", f"text {month} {n}")
            for month in months for n in range(per_month)]


@pytest.fixture
def archive(tmp_path):
    """Two sites: kk.example.kz published Jan..Jun 2026 but nothing in March and April; ru.example.kz in May-June."""
    writer = ArchiveWriter(tmp_path)
    kk_months = ["2026-01", "2026-02", "2026-05", "2026-06"]
    writer.crawl("c1", ["https://kk.example.kz/", "https://ru.example.kz/"], start=START, minutes=30,
                 pages=[("https://kk.example.kz/", 200), ("https://ru.example.kz/", 200),
                        ("https://ru.example.kz/old", 404)],
                 articles=articles("kk.example.kz", kk_months) + articles("ru.example.kz", ["2026-05"], 3),
                 errors=[("https://ru.example.kz/slow", "TimeoutError: took longer than 30 s"),
                         ("https://kk.example.kz/x", "ConnectionRefusedError: refused")])
    writer.crawl("c2", ["https://ru.example.kz/"], start=START + timedelta(days=1), minutes=5,
                 status="interrupted", pages=[("https://ru.example.kz/", 200)],
                 articles=articles("ru.example.kz", ["2026-06"], 1),
                 errors=[("https://ru.example.kz/slow", "TimeoutError: again")])
    conn = writer.connection()
    yield conn
    conn.close()


# -- the figures -------------------------------------------------------------------


def test_articles_are_counted_per_site_and_month(archive):
    sites = {site.site: site for site in gather(archive).sites}
    assert sites["kk.example.kz"].months == {"2026-01": 2, "2026-02": 2, "2026-05": 2, "2026-06": 2}
    assert sites["ru.example.kz"].months == {"2026-05": 3, "2026-06": 1}


def test_months_without_articles_inside_a_sites_coverage_are_gaps(archive):
    sites = {site.site: site for site in gather(archive).sites}
    assert sites["kk.example.kz"].gaps == ["2026-03", "2026-04"]
    assert sites["ru.example.kz"].gaps == []  # before its first month is not a gap


def test_the_grid_columns_are_every_month_from_the_first_to_the_last(archive):
    report = gather(archive)
    assert report.months == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
    assert report.months_covered == 4 and report.gap_count == 2


def test_a_very_long_history_is_drawn_for_its_latest_months_and_the_rest_counted(archive):
    report = gather(archive, max_months=3)
    assert report.months == ["2026-04", "2026-05", "2026-06"]
    assert report.older_articles == 4  # kk's January and February


def test_articles_without_a_date_are_counted_apart(tmp_path):
    writer = ArchiveWriter(tmp_path)
    writer.crawl("c1", ["https://kk.example.kz/"], start=START, minutes=1,
                 articles=[("https://kk.example.kz/a", None, "a"), ("https://kk.example.kz/b", "2026-02-03", "b")])
    (site,) = gather(writer.connection()).sites
    assert site.undated == 1 and site.months == {"2026-02": 1} and site.total == 2


def test_crawls_come_oldest_first_with_duration_status_and_counts(archive):
    first, second = gather(archive).crawls
    assert (first.id, first.status, first.duration_seconds) == ("c1", "finished", 1800)
    assert (first.pages, first.articles, first.errors) == (3 + 11, 11, 2)
    assert (second.id, second.status, second.duration_seconds, second.errors) == ("c2", "interrupted", 300, 1)


def test_new_changed_and_removed_come_from_the_catalog(tmp_path):
    writer = ArchiveWriter(tmp_path)
    writer.crawl("c1", ["https://kk.example.kz/"], start=START, minutes=1,
                 articles=articles("kk.example.kz", ["2026-01"], 2))
    url, published, _ = articles("kk.example.kz", ["2026-01"], 2)[0]
    writer.crawl("c2", ["https://kk.example.kz/"], start=START + timedelta(days=1), minutes=1,
                 articles=[(url, published, "a corrected text")])
    report = gather(writer.connection())
    assert report.changes_recorded
    assert [(c.new, c.changed, c.removed) for c in report.crawls] == [(2, 0, 0), (0, 1, 0)]


def test_the_changes_chart_leaves_out_the_first_crawl_where_everything_is_new(tmp_path):
    writer = ArchiveWriter(tmp_path)
    writer.crawl("c1", ["https://kk.example.kz/"], start=START, minutes=1,
                 articles=articles("kk.example.kz", ["2026-01"], 2))
    url, published, _ = articles("kk.example.kz", ["2026-01"], 2)[0]
    writer.crawl("c2", ["https://kk.example.kz/"], start=START + timedelta(days=1), minutes=1,
                 articles=[(url, published, "a corrected text")])
    page = render_html(gather(writer.connection()))
    changes = page[page.index('<section id="changes">'):page.index('<section id="sites">')]
    assert "<title>2026-03-02 06:00 · changed: 1</title>" in changes
    assert "· new: 2" not in changes
    assert "The first crawl (2026-03-01 06:00, 2 new articles) is left out" in changes


def test_a_catalog_without_change_counts_says_so_instead_of_failing(tmp_path):
    """The tables as a catalog had them before crawls counted new, changed and removed articles."""
    conn = sqlite3.connect(tmp_path / "old.db")
    conn.executescript("""
        CREATE TABLE articles (url TEXT PRIMARY KEY, site TEXT, published TEXT, fetched_at TEXT, crawl_id TEXT);
        CREATE TABLE captures (id INTEGER PRIMARY KEY, url TEXT, crawl_id TEXT);
        CREATE TABLE errors (id INTEGER PRIMARY KEY, crawl_id TEXT, url TEXT, message TEXT, at TEXT);
        CREATE TABLE crawls (id TEXT PRIMARY KEY, seeds TEXT, started_at TEXT, finished_at TEXT, status TEXT,
                             pages INTEGER, articles INTEGER, errors INTEGER, bytes INTEGER, settings TEXT);
        INSERT INTO crawls VALUES ('c1', '["https://kk.example.kz/"]', '2026-03-01T06:00:00Z',
                                   '2026-03-01T06:10:00Z', 'finished', 5, 1, 0, 1000, '{}');
        INSERT INTO articles VALUES ('https://kk.example.kz/a', 'kk.example.kz', '2026-02-01', '2026-03-01', 'c1');
    """)
    report = gather(conn)
    assert not report.changes_recorded and report.crawls[0].new is None
    assert "Not recorded" in render_html(report)


def test_the_last_crawl_of_each_site_is_the_latest_that_fetched_from_it(archive):
    last = gather(archive).last_crawls
    assert (last["kk.example.kz"].crawl_id, last["kk.example.kz"].status) == ("c1", "finished")
    assert (last["ru.example.kz"].crawl_id, last["ru.example.kz"].status) == ("c2", "interrupted")
    assert last["ru.example.kz"].errors == 1


def test_errors_are_grouped_by_what_happened(archive):
    kinds = {error.kind: error.count for error in gather(archive).errors}
    assert kinds == {"TimeoutError": 2, "ConnectionRefusedError": 1}


# -- choosing a site ---------------------------------------------------------------


def test_a_site_is_chosen_by_its_host(archive):
    selection = select_site(archive, "ru.example.kz")
    assert selection.sites == ("ru.example.kz",) and selection.hosts == ("ru.example.kz",)


def test_a_host_matches_whatever_the_port(tmp_path):
    writer = ArchiveWriter(tmp_path)
    writer.crawl("c1", ["http://127.0.0.1:8101/"], start=START, minutes=1,
                 articles=[("http://127.0.0.1:8101/a", "2026-01-02", "a")])
    assert select_site(writer.connection(), "127.0.0.1").sites == ("127.0.0.1:8101",)


def test_a_profile_id_brings_in_every_host_of_its_scope(archive):
    profiles, errors = parse_profiles(
        '[sites.russian]\nname = "Russian akimat"\nstart_urls = ["https://ru.example.kz/"]\n'
        '[sites.russian.scope]\nhosts = ["ru.example.kz", "kk.example.kz"]\n')
    assert not errors
    assert select_site(archive, "russian", profiles).sites == ("kk.example.kz", "ru.example.kz")


def test_a_site_filter_counts_that_sites_pages_and_errors_only(archive):
    report = gather(archive, select_site(archive, "kk.example.kz"))
    assert [site.site for site in report.sites] == ["kk.example.kz"]
    (crawl,) = report.crawls  # c2 fetched nothing from kk
    assert (crawl.id, crawl.pages, crawl.errors, crawl.articles) == ("c1", 1 + 8, 1, 8)
    assert [error.kind for error in report.errors] == ["ConnectionRefusedError"]


# -- the page and the summary ------------------------------------------------------


def test_the_page_is_one_file_that_fetches_nothing_and_runs_no_script(archive):
    page = render_html(gather(archive))
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    assert "<link" not in page
    assert page.count("<svg") == 5  # the grid, articles per month, durations, errors, changes


def test_text_from_the_catalog_is_escaped(tmp_path):
    writer = ArchiveWriter(tmp_path)
    writer.crawl(f"c1{HOSTILE}", ["https://kk.example.kz/"], start=START, minutes=1,
                 articles=articles("kk.example.kz", ["2026-01"]),
                 errors=[(f"https://kk.example.kz/{HOSTILE}", f"{HOSTILE}: boom")])
    conn = writer.connection()
    conn.close()
    raw = sqlite3.connect(writer.path)
    raw.execute("INSERT INTO sites (id, name) VALUES ('kk.example.kz', ?)", [HOSTILE])
    raw.commit()
    raw.close()
    page = render_html(gather(connect(writer.path)))
    assert HOSTILE not in page and "<script" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


def test_gap_months_are_red_cells_that_name_themselves(archive):
    page = render_html(gather(archive))
    gaps = re.findall(r'<rect[^>]*class="gap"[^>]*><title>([^<]*)</title>', page)
    assert gaps == ["kk.example.kz · 2026-03: gap: no articles", "kk.example.kz · 2026-04: gap: no articles"]


def test_bars_name_their_value_on_hover_without_script(archive):
    page = render_html(gather(archive))
    assert "<title>2026-05 · ru.example.kz: 3</title>" in page


def test_an_empty_catalog_gives_a_page_that_says_so(tmp_path):
    conn = ArchiveWriter(tmp_path).connection()
    report = gather(conn)
    page = render_html(report)
    assert "No dated articles yet" in page and "No crawls yet" in page
    assert summary_lines(report) == ["0 sites, 0 articles, 0 months covered, 0 gap months, no crawls yet"]


def test_the_summary_names_each_sites_span_gaps_and_last_crawl(archive):
    lines = summary_lines(gather(archive), "out/report.html")
    assert lines[0] == "2 sites, 12 articles, 4 months covered, 2 gap months, 2 crawls"
    kk = next(line for line in lines if "kk.example.kz" in line)
    assert "2026-01..2026-06" in kk and "gaps: 2026-03, 2026-04" in kk and "finished" in kk
    assert "interrupted, 2 pages, 1 errors" in next(line for line in lines if "ru.example.kz" in line)
    assert lines[-1] == "report: out/report.html"


def test_month_range_crosses_years():
    assert month_range("2025-11", "2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]


# -- the command, on a real crawl, and the page in a real browser -------------------


def run_cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "crawler.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """The demo portal crawled twice into one data directory."""
    data = tmp_path_factory.mktemp("report") / "data"
    with DemoPortal(articles_per_site=40, latency=0.01) as portal:
        for _ in range(2):
            result = run_cli("crawl", *[site.start_url for site in portal.sites.values()], "--data", str(data),
                             "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0")
            assert result.returncode == 0, result.stderr[-3000:]
        yield portal, data


@pytest.mark.slow
def test_the_command_writes_the_page_and_prints_a_summary(crawled, tmp_path):
    portal, data = crawled
    output = tmp_path / "out" / "report.html"
    result = run_cli("report", "--data", str(data), "-o", str(output))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("3 sites, 120 articles,") and lines[0].endswith("2 crawls")
    for site in portal.sites.values():
        assert any(line.startswith(f"  {site.base_url.split('//')[1]}: 40 articles") for line in lines)
    assert lines[-1] == f"report: {output}"
    assert output.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


@pytest.mark.slow
def test_the_command_writes_into_the_data_directory_by_default(crawled):
    _, data = crawled
    assert run_cli("report", "--data", str(data)).returncode == 0
    assert (data / "report.html").is_file()


@pytest.mark.slow
def test_an_unknown_site_is_one_line_naming_the_known_ones(crawled):
    portal, data = crawled
    result = run_cli("report", "--data", str(data), "--site", "nowhere.kz")
    assert result.returncode == 1
    assert "no articles or captures of site 'nowhere.kz'" in result.stderr
    assert portal.sites["kk"].base_url.split("//")[1] in result.stderr


def chromium(*args, profile):
    binary = shutil.which("chromium")
    return subprocess.run([binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                           "--disable-component-update", "--disable-sync", "--no-first-run",
                           f"--user-data-dir={profile}", *args], capture_output=True, timeout=120)


needs_chromium = pytest.mark.skipif(shutil.which("chromium") is None,
                                    reason="Debian's chromium is not installed (apt-get install chromium)")


@pytest.mark.slow
@pytest.mark.browser
@needs_chromium
def test_the_page_renders_its_charts_in_a_real_browser(crawled, tmp_path):
    portal, data = crawled
    page = tmp_path / "report.html"
    assert run_cli("report", "--data", str(data), "-o", str(page)).returncode == 0
    result = chromium("--dump-dom", page.as_uri(), profile=tmp_path / "profile")
    dom = result.stdout.decode("utf-8")
    assert result.returncode == 0 and "</html>" in dom, result.stderr[-2000:]
    sections = dict(re.findall(r'<section id="([a-z-]+)">(.*?)</section>', dom, re.DOTALL))
    for chart in ("coverage", "monthly", "durations"):
        assert "<svg" in sections[chart], chart
    assert "No fetch errors in these 2 crawls." in sections["errors"]  # the demo answers every request
    assert "No article was new, changed or removed in these crawls." in sections["changes"]
    assert re.search(r"The first crawl \([0-9-]+ [0-9:]+, 120 new articles\) is left out", sections["changes"])
    for site in portal.sites.values():
        host = site.base_url.split("//")[1]
        assert f'class="site"><title>{host}</title>' in dom  # a row of the coverage grid
        assert re.search(rf"<title>2026-\d\d · {re.escape(host)}: \d+</title>", dom)  # its bars per month
    assert dom.count('class="status finished"') >= 2  # both crawls in the crawls table


@pytest.mark.slow
@pytest.mark.browser
@needs_chromium
def test_the_page_screenshot_is_a_real_picture(crawled, tmp_path):
    _, data = crawled
    page, shot = tmp_path / "report.html", tmp_path / "report.png"
    assert run_cli("report", "--data", str(data), "-o", str(page)).returncode == 0
    result = chromium("--hide-scrollbars", "--window-size=1200,1600", f"--screenshot={shot}", page.as_uri(),
                      profile=tmp_path / "profile")
    assert result.returncode == 0, result.stderr[-2000:]
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (1200, 1600)
    assert len(png) > 40_000  # charts and text, not a blank page (a blank one is about 5 KB)
