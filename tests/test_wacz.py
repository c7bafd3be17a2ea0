"""WACZ packages: `newsarchive wacz` on two real crawls of the demo portal.

Each package is validated with py-wacz's own `wacz validate` and with
archive.wacz.check_wacz, which looks at what the validator does not (it passes
a package without pages.jsonl, for one).
"""

import gzip
import json
import subprocess
import sys
import zipfile
from datetime import datetime, timezone

import pytest

from archive.catalog import Catalog
from archive.cdxj import indexes_dir, merged_lines
from archive.wacz import check_wacz, read_package_index, warc_crawl_id, write_wacz
from crawler.demo.portal import DemoPortal

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


def run_cli(*args, timeout=240):
    return subprocess.run([sys.executable, "-m", "crawler.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """Two full crawls of the same demo portal into one data directory; returns (data, [crawl ids])."""
    data = tmp_path_factory.mktemp("wacz") / "data"
    with DemoPortal(articles_per_site=4) as portal:
        for _ in range(2):
            crawl = run_cli("crawl", *[site.start_url for site in portal.sites.values()], "--data", str(data), "--full",
                            "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0")
            assert crawl.returncode == 0, crawl.stderr[-3000:]
    with Catalog(data / "catalog.db", read_only=True) as catalog:
        crawl_ids = [row["id"] for row in catalog.db.query("select id from crawls order by started_at, id")]
    assert len(crawl_ids) == 2
    return data, crawl_ids


@pytest.fixture(scope="module")
def package(archive, tmp_path_factory):
    """The whole archive packaged with the CLI."""
    data, _ = archive
    path = tmp_path_factory.mktemp("package") / "all.wacz"
    result = run_cli("wacz", "--data", str(data), "-o", str(path))
    assert result.returncode == 0, result.stderr
    assert f"wrote {path}" in result.stdout
    return path


@pytest.fixture(scope="module")
def first_crawl_package(archive, tmp_path_factory):
    data, crawl_ids = archive
    path = tmp_path_factory.mktemp("package") / "first.wacz"
    result = run_cli("wacz", "--data", str(data), "--crawl", crawl_ids[0], "-o", str(path))
    assert result.returncode == 0, result.stderr
    return path


def wacz_validate(path):
    return subprocess.run([sys.executable, "-m", "wacz", "validate", "-f", str(path)],
                          capture_output=True, text=True, timeout=120)


def pages_of(path):
    with zipfile.ZipFile(path) as package:
        rows = [json.loads(line) for line in package.read("pages/pages.jsonl").decode("utf-8").splitlines()]
    return rows[0], rows[1:]


def rewritten(source, target, *, replace=None, drop=(), deflate=()):
    """A copy of a package with some members replaced, dropped or compressed (to test the checks)."""
    replace = replace or {}
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            if info.filename in drop:
                continue
            data = replace.get(info.filename, old.read(info.filename))
            compress = zipfile.ZIP_DEFLATED if info.filename in deflate else info.compress_type
            new.writestr(info.filename, data, compress_type=compress)
    return target


def test_wacz_validate_accepts_the_package(package):
    result = wacz_validate(package)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation succeeded" in result.stdout


def test_our_checks_find_nothing_wrong(package, first_crawl_package):
    assert check_wacz(package) == []
    assert check_wacz(first_crawl_package) == []


def test_warcs_are_stored_uncompressed_and_byte_for_byte(archive, package):
    data, _ = archive
    with zipfile.ZipFile(package) as zipped:
        members = {i.filename: i for i in zipped.infolist() if i.filename.startswith("archive/")}
        assert sorted(members) == sorted("archive/" + p.name for p in (data / "warc").glob("*.warc.gz"))
        for name, info in members.items():
            assert info.compress_type == zipfile.ZIP_STORED
            assert zipped.read(name) == (data / "warc" / name.removeprefix("archive/")).read_bytes()
        assert zipped.getinfo("indexes/index.cdx.gz").compress_type == zipfile.ZIP_STORED


def test_the_manifest_describes_the_package(package):
    with zipfile.ZipFile(package) as zipped:
        manifest = json.loads(zipped.read("datapackage.json"))
        listed = {resource["path"] for resource in manifest["resources"]}
        assert listed == set(zipped.namelist()) - {"datapackage.json", "datapackage-digest.json"}
    assert manifest["profile"] == "data-package"
    assert manifest["wacz_version"] == "1.1.1"
    assert manifest["software"].startswith("newsarchive ")
    assert datetime.strptime(manifest["created"], "%Y-%m-%dT%H:%M:%SZ")


def test_pages_are_the_catalogued_articles_with_their_text(archive, package):
    data, _ = archive
    header, pages = pages_of(package)
    assert header["format"] == "json-pages-1.0"
    with Catalog(data / "catalog.db", read_only=True) as catalog:
        articles = {row["url"]: row for row in catalog.articles()}
    assert articles and {page["url"] for page in pages} == set(articles)
    for page in pages:
        article = articles[page["url"]]
        assert (page["ts"], page["title"], page["text"]) == (article["fetched_at"], article["title"], article["text"])


def test_every_page_has_a_capture_line_at_its_timestamp(package):
    _, pages = pages_of(package)
    with zipfile.ZipFile(package) as zipped:
        lines = {(line.url, line.timestamp) for line in read_package_index(zipped)}
    for page in pages:
        stamp = page["ts"].replace("-", "").replace("T", "").replace(":", "").removesuffix("Z")
        assert (page["url"], stamp) in lines


def test_the_package_index_is_every_line_of_the_per_warc_indexes(archive, package):
    data, _ = archive
    with zipfile.ZipFile(package) as zipped:
        text = gzip.decompress(zipped.read("indexes/index.cdx.gz")).decode("utf-8")
        idx = zipped.read("indexes/index.idx").decode("utf-8").splitlines()
    assert text.splitlines(keepends=True) == list(merged_lines(sorted(indexes_dir(data).glob("*.cdxj"))))
    assert idx[0].startswith("!meta 0 ") and len(idx) >= 2


def test_a_crawl_package_holds_that_crawls_warcs_and_articles(archive, first_crawl_package):
    data, crawl_ids = archive
    with zipfile.ZipFile(first_crawl_package) as zipped:
        warcs = {name.removeprefix("archive/") for name in zipped.namelist() if name.startswith("archive/")}
    with Catalog(data / "catalog.db", read_only=True) as catalog:
        by_catalog = {row["warc_filename"] for row in catalog.db.query(
            "select distinct warc_filename from captures where crawl_id = ?", [crawl_ids[0]])}
        first_fetches = {row["url"]: row["fetched_at"] for row in catalog.db.query(
            "select url, max(fetched_at) as fetched_at from captures where crawl_id = ? and status = 200"
            " and url in (select url from articles) group by url", [crawl_ids[0]])}
    assert warcs == by_catalog
    assert {warc_crawl_id(data / "warc" / name) for name in warcs} == {crawl_ids[0]}
    _, pages = pages_of(first_crawl_package)
    assert {page["url"]: page["ts"] for page in pages} == first_fetches


def test_the_same_archive_packaged_at_the_same_time_gives_the_same_bytes(archive, tmp_path):
    data, _ = archive
    write_wacz(data, tmp_path / "one.wacz", now=NOW)
    write_wacz(data, tmp_path / "two.wacz", now=NOW)
    assert (tmp_path / "one.wacz").read_bytes() == (tmp_path / "two.wacz").read_bytes()


def test_checks_catch_what_wacz_validate_lets_through(package, tmp_path):
    no_pages = rewritten(package, tmp_path / "no-pages.wacz", drop={"pages/pages.jsonl"})
    assert wacz_validate(no_pages).returncode == 0  # py-wacz's check of pages.jsonl cannot fail
    assert "pages/pages.jsonl is missing" in check_wacz(no_pages)


def test_checks_catch_a_page_with_no_capture(package, tmp_path):
    header, pages = pages_of(package)
    pages.append({"url": "http://127.0.0.1:1/never-archived", "ts": "2026-11-25T10:00:00Z"})
    body = "\n".join(json.dumps(row) for row in [header, *pages]).encode()
    problems = check_wacz(rewritten(package, tmp_path / "extra-page.wacz", replace={"pages/pages.jsonl": body}))
    assert any("never-archived" in p and "no response or revisit line" in p for p in problems)
    assert any("pages/pages.jsonl: SHA-256 differs" in p for p in problems)


def test_checks_catch_a_compressed_warc(package, tmp_path):
    with zipfile.ZipFile(package) as zipped:
        warc = next(n for n in zipped.namelist() if n.startswith("archive/"))
    problems = check_wacz(rewritten(package, tmp_path / "deflated.wacz", deflate={warc}))
    assert problems == [f"{warc} is compressed in the zip; it must be STORED for random access"]


def test_an_unknown_crawl_is_a_one_line_error_and_writes_nothing(archive, tmp_path):
    data, _ = archive
    result = run_cli("wacz", "--data", str(data), "--crawl", "no-such-crawl", "-o", str(tmp_path / "x.wacz"))
    assert result.returncode != 0
    assert "no closed WARC files of crawl no-such-crawl" in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_later_crawl_package_brings_the_records_its_revisits_refer_to(archive, tmp_path):
    data, crawl_ids = archive
    path = tmp_path / "second.wacz"
    assert run_cli("wacz", "--data", str(data), "--crawl", crawl_ids[1], "-o", str(path)).returncode == 0
    with Catalog(data / "catalog.db", read_only=True) as catalog:
        revisits = list(catalog.db.query(
            "select r.url, r.fetched_at, o.warc_filename as original_warc from captures r"
            " join captures o on o.record_id = r.refers_to where r.crawl_id = ? and r.record_type = 'revisit'",
            [crawl_ids[1]]))
    assert revisits, "the second crawl of an unchanged portal should write revisits"
    with zipfile.ZipFile(path) as zipped:
        warcs = {name.removeprefix("archive/") for name in zipped.namelist() if name.startswith("archive/")}
    assert {row["original_warc"] for row in revisits} <= warcs
    assert check_wacz(path) == []
    with Catalog(data / "catalog.db", read_only=True) as catalog:
        articles = {row["url"]: row["text"] for row in catalog.articles()}
    _, pages = pages_of(path)
    pages = {page["url"]: page for page in pages}
    revisited_articles = {row["url"]: row["fetched_at"] for row in revisits if row["url"] in articles}
    assert revisited_articles
    for url, fetched_at in revisited_articles.items():
        assert pages[url]["ts"] == fetched_at  # the second crawl's capture, not the original's
        assert pages[url]["text"] == articles[url]
