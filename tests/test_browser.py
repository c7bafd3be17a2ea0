"""Browser mode (--render) on the loopback single-page portal (crawler.demo.spa).

The portal's HTML is an empty shell; its script fetches the news from a JSON
API with a token it computes, so only a crawl that runs the script gets the
articles. Crawls run in a subprocess (Scrapy's reactor starts once per
process) with Debian's Chromium; tests that drive Chromium are marked
``browser``. The replay test stops the portal first: what pywb shows comes from
the archive.
"""

import asyncio
import json
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from contextlib import closing

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive import apifields
from archive.catalog import Catalog
from archive.datadir import DataDir
from archive.errors import ReplayError
from archive.replay import ReplayServer, find_wayback, free_port
from crawler.demo.spa import API_PATH, BUILD_ID, REGION, SpaPortal, request_token
from crawler.render import render_overrides
from crawler.render.api import ApiRule, html_text
from crawler.render.capture import CAPTURE_HEADER, DECODED_HEADER, browser_exchange
from crawler.runner import project_settings

API_ARTICLES = [{"api": API_PATH + r"/\d+", "title": "title", "published": "publishDate", "text": "content",
                 "language": "lang"}]
QUICK = {"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0, "LOG_LEVEL": "WARNING"}

_CRAWL = """
import json, sys
from crawler.render import render_overrides
from crawler.runner import run_crawl
job = json.loads(sys.argv[1])
overrides = dict(job["settings"])
if job["render"] is not None:
    overrides.update(render_overrides(**job["render"]))
result = run_crawl(job["urls"], overrides)
print(json.dumps({"finish_reason": result.finish_reason, "crawl_id": result.crawl_id}))
"""


def crawl(urls, data, render=None, **settings):
    """Crawl ``urls`` into ``data`` in a fresh process; ``render``: render_overrides() arguments, None: plain."""
    job = {"urls": urls, "render": render, "settings": {**QUICK, "NEWSARCHIVE_DATA_DIR": str(data), **settings}}
    done = subprocess.run([sys.executable, "-c", _CRAWL, json.dumps(job)], capture_output=True, text=True,
                          timeout=280, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def records(data):
    """Every WARC record of a data directory: (type, WARC headers, HTTP headers or None, content bytes)."""
    found = []
    for path in sorted(DataDir(data).warc_dir.glob("*.warc.gz")):
        with open(path, "rb") as stream:
            for record in ArchiveIterator(stream):
                found.append((record.rec_type, record.rec_headers, record.http_headers,
                              record.content_stream().read()))
    return found


def articles_by_url(data):
    with Catalog(DataDir(data).catalog_path, read_only=True) as catalog:
        return {row["url"]: row for row in catalog.db.query("select * from articles")}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """A browser-mode crawl of a 25-article portal, the API mapping on; the portal is stopped afterwards."""
    data = tmp_path_factory.mktemp("rendered") / "data"
    with SpaPortal(articles=25) as portal:
        result = crawl([portal.site.start_url], data, render={}, NEWSARCHIVE_RENDER_API_ARTICLES=API_ARTICLES)
    return portal.site, data, result


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    """A browser-mode crawl without "load more" clicks or API mapping; two pages hang, one eats memory."""
    data = tmp_path_factory.mktemp("limited") / "data"
    with SpaPortal(articles=25) as portal:
        result = crawl([*portal.site.hang_urls, portal.site.memory_hog_url, portal.site.start_url], data,
                       render={"load_more": 0, "page_timeout": 4}, NEWSARCHIVE_RENDER_JS_HEAP_MB=64)
    return portal.site, data, result


# -- the demo portal -----------------------------------------------------------

def test_the_api_refuses_a_request_without_the_scripts_token():
    with SpaPortal(articles=3) as portal:
        target = f"{API_PATH}?projects=eq:{REGION}&page=0&size=20"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(portal.site.base_url + target, timeout=10)
        signed = urllib.request.Request(portal.site.base_url + target,
                                        headers={"X-Request-Token": request_token(BUILD_ID, target)})
        with urllib.request.urlopen(signed, timeout=10) as answer:
            listing = json.load(answer)
    assert refused.value.code == 403
    assert [item["id"] for item in listing["content"]] == [article.id for article in portal.site.articles]


def test_a_plain_crawl_of_the_portal_archives_the_shell_and_finds_no_article(tmp_path):
    with SpaPortal(articles=5) as portal:
        result = crawl([portal.site.start_url], tmp_path / "data")
    assert result["finish_reason"] == "finished"
    assert articles_by_url(tmp_path / "data") == {}


# -- what browser mode archives ------------------------------------------------

@pytest.mark.browser
def test_every_article_is_catalogued_with_its_title_and_exact_date_from_the_api(rendered):
    site, data, result = rendered
    assert result["finish_reason"] == "finished"
    catalogued = articles_by_url(data)
    assert sorted(catalogued) == sorted(article.url for article in site.articles)
    assert any(not article.shows_time for article in site.articles)  # the page shows only their day
    for article in site.articles:
        row = catalogued[article.url]
        assert (row["title"], row["published"], row["language"]) == (
            article.title, article.published_iso, article.language), article.url


@pytest.mark.browser
def test_api_json_supplies_the_article_text_when_a_profile_maps_it(rendered):
    site, data, _ = rendered
    catalogued = articles_by_url(data)
    for article in site.articles:
        assert catalogued[article.url]["text"] == "\n\n".join(article.paragraphs), article.url


@pytest.mark.browser
def test_the_shell_script_and_api_json_are_archived_as_browser_records(rendered):
    site, data, _ = rendered
    responses = {headers.get_header("WARC-Target-URI"): headers for kind, headers, _, _ in records(data)
                 if kind == "response"}
    article = site.articles[0]
    expected = [site.start_url, site.base_url + "/static/app.js", site.base_url + "/static/app.css",
                f"{site.base_url}{API_PATH}?projects=eq:{REGION}&page=0&size=20",
                f"{site.base_url}{API_PATH}/{article.id}?projects=eq:{REGION}", article.url]
    for url in expected:
        assert url in responses, url
        assert responses[url].get_header(CAPTURE_HEADER).startswith("browser"), url


@pytest.mark.browser
def test_an_image_the_browser_archived_is_not_fetched_again(rendered):
    site, data, _ = rendered
    asked = [headers.get_header("WARC-Target-URI") for kind, headers, _, _ in records(data) if kind == "request"]
    images = [url for url in asked if "/media/" in url]
    assert len(images) == len(site.articles)
    assert len(set(images)) == len(images)


@pytest.mark.browser
def test_load_more_fetches_the_next_api_page_and_its_articles(rendered):
    site, data, _ = rendered
    urls = {headers.get_header("WARC-Target-URI") for kind, headers, _, _ in records(data) if kind == "response"}
    assert f"{site.base_url}{API_PATH}?projects=eq:{REGION}&page=1&size=20" in urls
    assert site.articles[-1].url in articles_by_url(data)  # on the second API page only


@pytest.mark.browser
def test_the_rendered_dom_is_a_conversion_record_never_a_response(rendered):
    site, data, _ = rendered
    article = site.articles[0]
    found = [(kind, headers, body) for kind, headers, _, body in records(data)
             if headers.get_header("WARC-Target-URI") == article.url]
    (response,) = [(headers, body) for kind, headers, body in found if kind == "response"]
    (conversion,) = [(headers, body) for kind, headers, body in found if kind == "conversion"]
    assert article.title.encode() not in response[1]  # the shell, as the server sent it
    assert article.title.encode() in conversion[1]
    assert conversion[0].get_header("WARC-Refers-To") == response[0].get_header("WARC-Record-ID")


@pytest.mark.browser
def test_a_gzip_json_answer_is_stored_decoded_and_the_record_says_so(rendered):
    site, data, _ = rendered
    url = f"{site.base_url}{API_PATH}?projects=eq:{REGION}&page=0&size=20"
    (headers, http, body), *_ = [(h, http, body) for kind, h, http, body in records(data)
                                 if kind == "response" and h.get_header("WARC-Target-URI") == url]
    assert "content-encoding=gzip" in headers.get_header(DECODED_HEADER)
    assert http.get_header("Content-Encoding") is None
    assert http.get_header("Content-Length") == str(len(body))
    assert json.loads(body)["page"] == 0


@pytest.mark.browser
def test_every_browser_exchange_is_a_catalog_capture(rendered):
    _, data, _ = rendered
    archived = {headers.get_header("WARC-Record-ID") for kind, headers, _, _ in records(data)
                if kind in ("response", "revisit")}
    with Catalog(DataDir(data).catalog_path, read_only=True) as catalog:
        catalogued = {row["record_id"] for row in catalog.db.query("select record_id from captures")}
    assert catalogued == archived


# -- rebuilding the catalog from the WARC files ---------------------------------

def reindexed(data, into):
    """``newsarchive reindex`` of ``data`` into a fresh catalog, through the real CLI."""
    done = subprocess.run([sys.executable, "-m", "crawler.cli", "reindex", "--data", str(data), "--into", str(into),
                           "--workers", "2"], capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return into


def table(path, name):
    with closing(sqlite3.connect(path)) as db:
        db.row_factory = sqlite3.Row
        return sorted((dict(row) for row in db.execute(f"select * from {name}")), key=lambda row: row["url"])


@pytest.mark.browser
def test_reindex_rebuilds_the_articles_the_api_mapping_gave_the_crawl(rendered, tmp_path):
    _, data, _ = rendered
    rebuilt = reindexed(data, tmp_path / "rebuilt.db")
    crawl_rows = table(DataDir(data).catalog_path, "articles")
    assert len(crawl_rows) == 25
    assert table(rebuilt, "articles") == crawl_rows  # title, date, language, text, WARC pointer: every column
    for name in ("article_versions", "article_sightings"):
        assert table(rebuilt, name) == table(DataDir(data).catalog_path, name), name


@pytest.mark.browser
def test_reindex_rebuilds_the_articles_extracted_from_the_rendered_dom(limited, tmp_path):
    _, data, _ = limited
    rebuilt = reindexed(data, tmp_path / "rebuilt.db")
    crawl_rows = table(DataDir(data).catalog_path, "articles")
    assert len(crawl_rows) == 20
    assert table(rebuilt, "articles") == crawl_rows


@pytest.mark.browser
def test_the_api_rules_are_in_the_warcinfo_and_the_dom_names_its_json(rendered):
    site, data, _ = rendered
    found = records(data)
    (info, *_) = [body.decode() for kind, _, _, body in found if kind == "warcinfo"]
    recorded = dict(line.split(": ", 1) for line in info.splitlines() if ": " in line)
    assert json.loads(recorded[apifields.WARCINFO_FIELD]) == API_ARTICLES
    api_ids = {headers.get_header("WARC-Record-ID"): headers.get_header("WARC-Target-URI")
               for kind, headers, _, _ in found if kind in ("response", "revisit")}
    article = site.articles[0]
    (dom,) = [headers for kind, headers, _, _ in found
              if kind == "conversion" and headers.get_header("WARC-Target-URI") == article.url]
    assert api_ids[dom.get_header(apifields.SOURCE_HEADER)] == f"{site.base_url}{API_PATH}/{article.id}?projects=eq:{REGION}"


# -- limits --------------------------------------------------------------------

@pytest.mark.browser
def test_without_load_more_clicks_only_the_first_api_page_is_discovered(limited):
    site, data, _ = limited
    assert sorted(articles_by_url(data)) == sorted(article.url for article in site.articles[:20])


@pytest.mark.browser
def test_extraction_on_the_rendered_dom_reads_the_dates_shown_with_kazakh_month_names(limited):
    site, data, _ = limited
    catalogued = articles_by_url(data)
    for article in site.articles[:20]:
        assert (catalogued[article.url]["title"], catalogued[article.url]["published"]) == (
            article.title, article.shown_published_iso), article.url


@pytest.mark.browser
def failures(data):
    with Catalog(DataDir(data).catalog_path, read_only=True) as catalog:
        return {row["url"]: row["message"] for row in catalog.db.query("select * from errors")}


@pytest.mark.browser
def test_a_hung_page_fails_alone_and_the_crawl_finishes(limited):
    site, data, result = limited
    assert result["finish_reason"] == "finished"
    failed = failures(data)
    assert set(failed) == {*site.hang_urls, site.memory_hog_url}
    assert all("TimeoutError" in failed[url] for url in site.hang_urls)


@pytest.mark.browser
def test_a_page_that_eats_memory_is_stopped_at_the_heap_limit_and_fails_alone(limited):
    site, data, _ = limited
    assert "crashed" in failures(data)[site.memory_hog_url]
    assert len(articles_by_url(data)) == 20  # the other pages rendered in the same browser


@pytest.mark.browser
def test_the_browser_may_not_fetch_an_internal_address_outside_the_seed_hosts():
    from playwright.async_api import Error as PlaywrightError
    from playwright.async_api import async_playwright

    from crawler.render.addon import CHROMIUM, CHROMIUM_ARGS
    from crawler.render.guard import AddressGuard

    async def visit(allowed_url, internal_url):
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
            try:
                page = await browser.new_page()
                await page.route("**", AddressGuard({"127.0.0.1"}).route)
                status = (await page.goto(allowed_url)).status
                try:
                    await page.goto(internal_url)
                except PlaywrightError as refused:
                    return status, refused.message
                return status, "fetched"
            finally:
                await browser.close()

    with SpaPortal(articles=3) as portal:
        internal = portal.site.start_url.replace("127.0.0.1", "127.0.0.2")
        status, outcome = asyncio.run(visit(portal.site.start_url, internal))
    assert status == 200
    assert "ERR_BLOCKED_BY_CLIENT" in outcome


# -- replay --------------------------------------------------------------------

@pytest.mark.browser
def test_a_rendered_article_replays_in_pywb_with_its_text_visible(rendered):
    try:
        find_wayback()
    except ReplayError as exc:
        pytest.skip(str(exc))
    from playwright.sync_api import sync_playwright

    from crawler.render.addon import CHROMIUM, CHROMIUM_ARGS

    site, data, _ = rendered
    article = site.articles[2]
    subprocess.run([sys.executable, "-m", "crawler.cli", "index", "--data", str(data)], check=True, timeout=120)
    with ReplayServer(data, port=free_port()) as pywb, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        try:
            page = browser.new_page()
            page.goto(pywb.replay_url(article.url), timeout=60_000)  # pywb's banner, the page in an iframe
            replayed = page.frame_locator("iframe").first.locator("article")
            replayed.locator("h1").wait_for(timeout=30_000)
            shown = replayed.inner_text()
        finally:
            browser.close()
    assert article.title in shown
    assert article.paragraphs[1] in shown


# -- pieces --------------------------------------------------------------------

def test_a_decoded_body_drops_content_encoding_and_restates_its_length():
    exchange, notes = browser_exchange(
        "http://127.0.0.1:9/api", 200, "OK",
        [{"name": "Content-Type", "value": "application/json"}, {"name": "Content-Encoding", "value": "gzip"},
         {"name": "Content-Length", "value": "31"}], b'{"ok": true}')
    assert exchange.response_headers == [("Content-Type", "application/json"), ("Content-Length", "12")]
    assert notes == [(DECODED_HEADER, "content-encoding=gzip; content-length=31")]


def test_an_unchanged_body_keeps_its_headers_and_gets_no_note():
    headers = [{"name": "Content-Type", "value": "text/css"}, {"name": "Content-Length", "value": "4"}]
    exchange, notes = browser_exchange("http://127.0.0.1:9/a.css", 200, "OK", headers, b"p{};")
    assert exchange.response_headers == [("Content-Type", "text/css"), ("Content-Length", "4")]
    assert notes == []
    assert exchange.request_headers == [("Host", "127.0.0.1:9")]


def test_an_api_rule_reads_dotted_paths_and_html_text():
    rule = ApiRule.from_dict({"api": r"/news/\d+", "title": "data.title", "text": "data.body"})
    fields = rule.fields({"data": {"title": " Жаңалық ", "body": "<p>Бірінші.</p><p>Екінші  абзац.</p>"}})
    assert fields["title"] == "Жаңалық"
    assert html_text(fields["text"]) == "Бірінші.\n\nЕкінші абзац."


def test_render_overrides_add_the_browser_addon_and_leave_project_settings_alone():
    settings = project_settings()
    overrides = render_overrides(settings, page_timeout=12, sites=["https://example.kz"])
    assert overrides["ADDONS"] == {**settings.getdict("ADDONS"), "crawler.render.addon.BrowserMode": 0}
    assert overrides["NEWSARCHIVE_RENDER_PAGE_TIMEOUT"] == 12
    assert "DOWNLOAD_HANDLERS" not in overrides
    assert not settings.getdict("DOWNLOAD_HANDLERS")


def test_api_rules_given_on_the_command_line_are_read_as_json():
    from scrapy.settings import Settings

    from crawler.render.api import ApiArticles

    settings = Settings({"NEWSARCHIVE_RENDER_API_ARTICLES": json.dumps(API_ARTICLES)})
    (rule,) = ApiArticles.from_settings(settings).rules
    assert rule.paths == {"title": "title", "published": "publishDate", "text": "content", "language": "lang"}


# -- the command line ----------------------------------------------------------

def run_cli(*args, timeout=280):
    return subprocess.run([sys.executable, "-m", "crawler.cli", *args], capture_output=True, text=True,
                          timeout=timeout, check=False)


@pytest.mark.browser
def test_a_site_profile_with_render_true_crawls_in_the_browser_from_the_command_line(tmp_path):
    with SpaPortal(articles=8) as portal:
        sites_file = tmp_path / "sites.toml"
        sites_file.write_text(f'[sites.spa]\nstart_urls = ["{portal.site.start_url}"]\nrender = true\n'
                              "politeness = { AUTOTHROTTLE_ENABLED = false, DOWNLOAD_DELAY = 0 }\n", encoding="utf-8")
        result = run_cli("crawl", "--site", "spa", "--file", str(sites_file), "--data", str(tmp_path / "data"))
    assert result.returncode == 0, result.stderr[-3000:]
    catalogued = articles_by_url(tmp_path / "data")
    assert sorted(catalogued) == sorted(article.url for article in portal.site.articles)
    assert {catalogued[a.url]["title"] for a in portal.site.articles} == {a.title for a in portal.site.articles}
    browser_records = [h for kind, h, _, _ in records(tmp_path / "data")
                       if kind == "response" and h.get_header(CAPTURE_HEADER)]
    assert browser_records


@pytest.mark.browser
def test_render_on_the_command_line_renders_the_start_urls(tmp_path):
    with SpaPortal(articles=3) as portal:
        result = run_cli("crawl", "--render", portal.site.start_url, "--data", str(tmp_path / "data"),
                         "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0")
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(articles_by_url(tmp_path / "data")) == sorted(article.url for article in portal.site.articles)
