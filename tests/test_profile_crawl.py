"""A crawl driven by the whole site profile: scope, article URL pattern, boilerplate selectors, timezone.

The real crawls below fetch the Kazakh demo site on loopback with one profile
that uses every option, once through `newsarchive crawl --site` and once as
Scrapy users (and Scrapyd jobs) run it, `scrapy crawl news -a site_profile=...`;
then `newsarchive reindex --file` rebuilds the catalog from the WARC files.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from scrapy import Request
from scrapy.http import HtmlResponse

from archive.catalog import Catalog
from archive.extract import extract
from archive.profiles import extraction_options, load_profiles, parse_profiles, profile_for_url
from crawler.cli import cli
from crawler.demo.portal import DemoPortal
from crawler.demo.sites import SITE_CLASSES
from crawler.middlewares.scope import ProfileScopeMiddleware

ROOT = Path(__file__).resolve().parent.parent
EXCLUDED_ARTICLE = "/kk/news/59995"
# Even-numbered articles and the "about" page: the generic rule would take the odd ones and not "about".
ARTICLE_PATTERN = r"/kk/news/\d*[02468]$|/kk/about$"
# "Бұған дейін хабарлағанымыздай: <older title>" ("As reported earlier: ..."), a link generic extraction keeps.
PREVIOUSLY_REPORTED = "Бұған дейін хабарлағанымыздай"
SELECTOR = f'.news-text p:contains("{PREVIOUSLY_REPORTED}")'


def profile_text(start_url: str) -> str:
    return f"""
[sites.kk-demo]
name = "Kazakh demo party branch"
start_urls = ["{start_url}"]
scope = {{ path_prefixes = ["/kk/news", "/kk/about"], exclude = ['{EXCLUDED_ARTICLE}$'] }}
article_url_pattern = '{ARTICLE_PATTERN}'
timezone = "Europe/London"
boilerplate_selectors = ['{SELECTOR}']
politeness = {{ AUTOTHROTTLE_ENABLED = false, DOWNLOAD_DELAY = 0 }}
page_budget = 500
"""


def run(*args, cwd=None):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=240, cwd=cwd)


@pytest.fixture(scope="module")
def crawls(tmp_path_factory):
    """The demo portal crawled with the profile, by `crawl --site` and by `scrapy crawl`."""
    base = tmp_path_factory.mktemp("profile-crawl")
    with DemoPortal(articles_per_site=12) as portal:
        site = portal.sites["kk"]
        sites_file = base / "sites.toml"
        sites_file.write_text(profile_text(site.start_url), encoding="utf-8")
        (profile,), errors = load_profiles(sites_file)
        assert not errors

        by_site = run("-m", "crawler.cli", "crawl", "--site", "kk-demo", "--file", str(sites_file),
                      "--data", str(base / "site"), "--full")
        assert by_site.returncode == 0, by_site.stderr[-3000:]
        requested = [entry.path for entry in portal.requests("kk")]
        portal.reset_log()

        by_scrapy = run("-m", "scrapy", "crawl", "news", "-a", f"start_urls={site.start_url}",
                        "-a", f"site_profile={profile.to_json()}", "-s", f"NEWSARCHIVE_DATA_DIR={base / 'scrapy'}",
                        "-s", "NEWSARCHIVE_INCREMENTAL=False", cwd=ROOT)
        assert by_scrapy.returncode == 0, by_scrapy.stderr[-3000:]
    yield {"site": site, "profile": profile, "file": sites_file, "base": base, "stdout": by_site.stdout,
           "requested": requested}


def catalog_rows(data: Path, sql: str) -> list[dict]:
    with Catalog(data / "catalog.db", read_only=True) as catalog:
        return list(catalog.db.query(sql))


def article_rows(data: Path) -> list[tuple]:
    return [tuple(row.values()) for row in catalog_rows(
        data, "select url, title, published, language, text from articles order by url")]


def html_captures(data: Path) -> set[str]:
    """The pages archived (an attachment's 404 page is HTML too, but not a page the crawl chose)."""
    return {row["url"] for row in catalog_rows(
        data, "select url from captures where status = 200 and content_type like 'text/html%'")}


# -- scope ----------------------------------------------------------------------------------


def test_every_page_the_crawl_archived_is_in_the_profiles_scope(crawls):
    scope, pages = crawls["profile"].scope, html_captures(crawls["base"] / "site")
    assert pages and all(scope.contains(url) for url in pages), sorted(pages)


def test_pages_outside_the_path_prefixes_and_excluded_pages_are_never_requested(crawls):
    requested = crawls["requested"]
    assert EXCLUDED_ARTICLE not in requested
    assert not [path for path in requested if path.startswith(("/kk/tag/", "/kk/print/", "/kk/contacts", "/index.php"))]
    assert "skipped/profile_scope" in crawls["stdout"]


def test_the_sitemap_and_feed_outside_the_path_prefixes_are_still_read(crawls):
    assert {"/sitemap.xml", "/kk/rss"} <= set(crawls["requested"])


def test_attachments_of_in_scope_pages_are_archived(crawls):
    assert [path for path in crawls["requested"] if path.startswith("/uploads/images/")]


def test_a_sitemap_outside_the_path_prefixes_passes_but_its_out_of_prefix_pages_do_not():
    (profile,), _ = parse_profiles(profile_text("https://kk.example.kz/kk/news"))
    sitemap = HtmlResponse("https://kk.example.kz/sitemap.xml", body=b"")
    allows = ProfileScopeMiddleware.allows
    assert allows(profile, Request("https://kk.example.kz/sitemap.xml", meta={"newsarchive_kind": "sitemap"}), None)
    assert not allows(profile, Request("https://kk.example.kz/kk/contacts", meta={"newsarchive_kind": "page"}), sitemap)
    assert allows(profile, Request("https://kk.example.kz/kk/news/60000", meta={"newsarchive_kind": "page"}), sitemap)
    assert not allows(profile, Request("https://other.example.kz/sitemap.xml", meta={"newsarchive_kind": "sitemap"}),
                      None)


def test_an_attachment_passes_only_from_a_page_in_scope():
    (profile,), _ = parse_profiles(profile_text("https://kk.example.kz/kk/news"))
    image = Request("https://kk.example.kz/uploads/images/1_1.png", meta={"newsarchive_kind": "attachment"})
    assert ProfileScopeMiddleware.allows(profile, image, HtmlResponse("https://kk.example.kz/kk/news/60000", body=b""))
    assert not ProfileScopeMiddleware.allows(profile, image, HtmlResponse("https://kk.example.kz/kk/tag/x", body=b""))


# -- extraction -------------------------------------------------------------------------------


def test_the_article_pattern_decides_which_pages_are_articles(crawls):
    site = crawls["site"]
    expected = {article.url for article in site.expected_articles if article.url[-1] in "02468"}
    rows = {row["url"] for row in catalog_rows(crawls["base"] / "site", "select url from articles")}
    assert rows == expected | {site.absolute("/kk/about")}


def test_a_boilerplate_selector_removes_its_block_from_the_text(crawls):
    site = crawls["site"]
    texts = [row["text"] for row in catalog_rows(crawls["base"] / "site", "select text from articles")]
    assert texts and not [text for text in texts if PREVIOUSLY_REPORTED in text]
    page = site.respond("/kk/news/60000")  # the same page without the selector keeps the block
    assert PREVIOUSLY_REPORTED in extract(page.body, site.absolute("/kk/news/60000")).text


def test_the_profiles_timezone_dates_the_articles(crawls):
    site = crawls["site"]
    published = {row["url"]: row["published"] for row in catalog_rows(crawls["base"] / "site",
                                                                       "select url, published from articles")}
    timed = [a for a in site.expected_articles if a.url in published and "T" in a.published]
    assert timed
    for article in timed:  # the byline's wall-clock time, read in Europe/London (UTC in November)
        assert published[article.url] == article.published.replace("+05:00", "+00:00")


def test_the_pattern_makes_a_page_an_article_and_keeps_others_out_without_a_crawl():
    site = SITE_CLASSES["kk"]("http://127.0.0.1:1", 12)
    options = {"article_url_pattern": ARTICLE_PATTERN}
    about, odd = site.respond("/kk/about"), site.respond("/kk/news/59999")
    assert not extract(about.body, site.absolute("/kk/about")).is_article
    assert extract(about.body, site.absolute("/kk/about"), **options).is_article
    assert extract(odd.body, site.absolute("/kk/news/59999")).is_article
    verdict = extract(odd.body, site.absolute("/kk/news/59999"), **options)
    assert not verdict.is_article and verdict.why.startswith("URL outside the site's article pattern")


def test_a_selector_removes_blocks_on_every_page_it_is_used_on():
    """The selector is reused across documents (a cached compiled XPath once failed on the second page)."""
    site = SITE_CLASSES["kk"]("http://127.0.0.1:1", 12)
    for path in ("/kk/news/60000", "/kk/news/59999", "/kk/news/59998"):
        article = extract(site.respond(path).body, site.absolute(path), extra_boilerplate=(SELECTOR,))
        assert article.is_article and PREVIOUSLY_REPORTED not in article.text, path


def test_a_selector_never_removes_the_block_holding_the_headline():
    site = SITE_CLASSES["kk"]("http://127.0.0.1:1", 12)
    page = site.respond("/kk/news/60000")
    article = extract(page.body, site.absolute("/kk/news/60000"), extra_boilerplate=(".wrapper", ".news-text"))
    assert article.title == site.articles[0].title and site.articles[0].lead not in article.text


# -- the same crawl by other routes -------------------------------------------------------------


def test_scrapy_crawl_with_the_profile_as_json_equals_crawl_site(crawls):
    base = crawls["base"]
    assert article_rows(base / "scrapy") == article_rows(base / "site")
    assert html_captures(base / "scrapy") == html_captures(base / "site")


def test_the_crawl_records_its_site_timezone_and_full_mode(crawls):
    for data in ("site", "scrapy"):
        (row,) = catalog_rows(crawls["base"] / data, "select settings from crawls")
        settings = json.loads(row["settings"])
        assert (settings["site"], settings["NEWSARCHIVE_TIMEZONE"]) == ("kk-demo", "Europe/London")
        assert settings["NEWSARCHIVE_INCREMENTAL"] is False


def test_both_routes_crawl_with_the_profiles_politeness_and_page_budget(crawls):
    for data in ("site", "scrapy"):
        (row,) = catalog_rows(crawls["base"] / data, "select settings from crawls")
        settings = json.loads(row["settings"])
        assert (settings["AUTOTHROTTLE_ENABLED"], settings["DOWNLOAD_DELAY"]) == (False, 0), data
        assert settings["NEWSARCHIVE_SITE_BUDGET"] == 500, data


def test_reindex_with_the_profiles_file_rebuilds_the_crawls_article_rows(crawls):
    base = crawls["base"]
    rebuilt = run("-m", "crawler.cli", "reindex", "--data", str(base / "site"), "--into", str(base / "re.db"),
                  "--file", str(crawls["file"]), "--workers", "2")
    assert rebuilt.returncode == 0, rebuilt.stderr
    with Catalog(base / "re.db", read_only=True) as catalog:
        rows = [tuple(row.values()) for row in catalog.db.query(
            "select url, title, published, language, text from articles order by url")]
    assert rows == article_rows(base / "site")


def test_reindex_takes_each_urls_options_from_the_profile_with_its_host(crawls):
    profile, site = crawls["profile"], crawls["site"]
    other = crawls["site"].absolute("/kk/news/1").replace("127.0.0.1", "localhost")
    assert profile_for_url([profile], site.absolute("/kk/tag/x")) is profile  # out of prefix, same host
    assert extraction_options(profile_for_url([profile], other)) == {}


# -- mistakes are one line --------------------------------------------------------------------


def invoke(tmp_path, monkeypatch, text, *args):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sites.toml").write_text(text, encoding="utf-8")
    return CliRunner().invoke(cli, ["crawl", *args, "--data", str(tmp_path / "data")])


def test_an_unknown_site_id_is_one_line_naming_the_known_ones(tmp_path, monkeypatch):
    result = invoke(tmp_path, monkeypatch, profile_text("https://kk.example.kz/kk/news"), "--site", "atyrau")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == ['Error: no site "atyrau" in sites.toml (sites: kk-demo)']


def test_an_invalid_profile_is_one_line_with_its_file_and_line(tmp_path, monkeypatch):
    text = '[sites.atyrau]\nstart_urls = ["https://atyrau.example.kz/ru/"]\ncadence = "every 6 hourz"\n'
    result = invoke(tmp_path, monkeypatch, text, "--site", "atyrau")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        'Error: site atyrau cannot be crawled: sites.toml:3: site "atyrau": cadence "every 6 hourz" is not a '
        'cadence (examples: "6h", "daily", "0 */6 * * *")']


def test_a_missing_profiles_file_is_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["crawl", "--site", "atyrau", "--file", "nowhere.toml"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: no profiles file nowhere.toml (start one with: newsarchive sites add URL)"]


def test_start_urls_and_a_site_together_are_refused(tmp_path, monkeypatch):
    result = invoke(tmp_path, monkeypatch, profile_text("https://kk.example.kz/kk/news"),
                    "https://kk.example.kz/kk/news", "--site", "kk-demo")
    assert result.exit_code == 2 and "not both" in result.output


def test_a_crawl_given_an_invalid_profile_json_stops_with_its_reason(tmp_path):
    result = run("-m", "scrapy", "crawl", "news", "-a", "start_url=http://127.0.0.1:9/kk/news",
                 "-a", 'site_profile={"id": "x", "start_urls": ["http://127.0.0.1:9/kk/news"], "timezone": "Mars/Base"}',
                 "-s", f"NEWSARCHIVE_DATA_DIR={tmp_path}", cwd=ROOT)
    assert result.returncode != 0
    assert 'site profile "x": timezone "Mars/Base" is not a time zone' in result.stderr
    assert not list(tmp_path.glob("**/*.warc*"))  # stopped before fetching anything


def test_the_profiles_page_budget_bounds_a_scrapy_crawl(tmp_path):
    with DemoPortal(articles_per_site=12) as portal:
        site = portal.sites["kk"]
        (profile,), _ = parse_profiles(profile_text(site.start_url).replace("page_budget = 500", "page_budget = 5"))
        result = run("-m", "scrapy", "crawl", "news", "-a", f"start_urls={site.start_url}",
                     "-a", f"site_profile={profile.to_json()}", "-s", f"NEWSARCHIVE_DATA_DIR={tmp_path}", cwd=ROOT)
        fetched = [entry.path for entry in portal.requests("kk") if entry.path != "/robots.txt"]
    assert result.returncode == 0, result.stderr[-3000:]
    assert 0 < len(fetched) <= 5, fetched


def test_links_outside_the_scope_cost_no_page_budget(tmp_path):
    """The budget is spent on in-scope requests only: an out-of-scope link is refused before it counts."""
    with DemoPortal(articles_per_site=12) as portal:
        site = portal.sites["kk"]
        (profile,), _ = parse_profiles(profile_text(site.start_url).replace("page_budget = 500", "page_budget = 30"))
        result = run("-m", "scrapy", "crawl", "news", "-a", f"start_urls={site.start_url}",
                     "-a", f"site_profile={profile.to_json()}", "-s", f"NEWSARCHIVE_DATA_DIR={tmp_path}", cwd=ROOT)
        fetched = [entry.path for entry in portal.requests("kk") if entry.path != "/robots.txt"]
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(fetched) == 30, fetched
