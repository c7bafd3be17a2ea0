"""`newsarchive verify --repair`: a killed crawl's `.open` file cut back to its last complete exchange.

The files are real: written by WarcWriter, then cut at many byte positions
(inside a gzip member, between members, mid-request, after a request whose
response never came), and finally a real crawl killed with SIGKILL.
"""

import fcntl
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import timedelta

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive.catalog import Catalog, article_row
from archive.repair import repair_open_files
from archive.verify import verify
from archive.warc import WarcWriter
from archive.warcscan import scan_warc
from crawler.demo.portal import DemoPortal
from warcs.archives import CRAWL_ID, SEED, START, catalogue, page_exchange, pinned_writer


@pytest.fixture(scope="module")
def open_file(tmp_path_factory):
    """(name, bytes, records) of a WARC file as a crawl leaves it mid-way: three exchanges, still .open."""
    warc_dir = tmp_path_factory.mktemp("source") / "warc"
    with pinned_writer(warc_dir) as writer:
        captures = [writer.write_exchange(page_exchange(n)) for n in (1, 2, 3)]
        writer.sync()
        name, data = writer.filename, writer.open_path.read_bytes()
    records = [(r.rec_type, r.offset, r.end) for r in scan_warc(warc_dir / name, check_digests=False)]
    assert [kind for kind, _, _ in records] == ["warcinfo"] + ["request", "response"] * 3
    return name, data, records, captures


def left_open(data_dir, name, data):
    warc_dir = data_dir / "warc"
    warc_dir.mkdir(parents=True)
    (warc_dir / (name + ".open")).write_bytes(data)
    return warc_dir


def expected_end(records, cut):
    """Where repair should cut: the last whole response, else the whole warcinfo, else nothing."""
    ends = [end for kind, _, end in records if kind == "response" and end <= cut]
    if ends:
        return max(ends)
    warcinfo_end = records[0][2]
    return warcinfo_end if cut >= warcinfo_end else 0


def cut_positions(records, size):
    boundaries = {edge for _, offset, end in records for edge in (offset, end)}
    near = {p + d for p in boundaries for d in (-1, 0, 1, 5)}
    return sorted(p for p in near | set(range(0, size, 11)) if 0 <= p <= size)


def test_a_file_cut_anywhere_is_repaired_to_whole_exchanges_that_warcio_and_verify_accept(tmp_path, open_file):
    name, data, records, _ = open_file
    positions = cut_positions(records, len(data))
    assert len(positions) > 250
    for cut in positions:
        data_dir = tmp_path / str(cut)
        warc_dir = left_open(data_dir, name, data[:cut])
        (result,) = repair_open_files(data_dir)
        end = expected_end(records, cut)
        assert result.kept_bytes == end and result.cut_bytes == cut - end, cut
        assert not list(warc_dir.glob("*.open"))
        if end == 0:
            assert result.removed and not list(warc_dir.iterdir()), cut
            continue
        repaired = warc_dir / name
        assert repaired.read_bytes() == data[:end], cut
        with open(repaired, "rb") as stream:
            kinds = []
            for record in ArchiveIterator(stream, check_digests=True):
                record.content_stream().read()
                assert record.digest_checker.passed is not False, cut
                kinds.append(record.rec_type)
        assert kinds[-1] in ("warcinfo", "response") and len(kinds) == result.records_kept, cut
        report = verify(data_dir, check_catalog=False)
        assert report.ok, (cut, report.problems)


def test_a_request_whose_response_never_came_is_dropped(tmp_path, open_file):
    name, data, records, _ = open_file
    (_, _, first_response_end), (_, _, second_request_end) = records[2], records[3]
    warc_dir = left_open(tmp_path, name, data[:second_request_end])
    (result,) = repair_open_files(tmp_path)
    assert (warc_dir / name).stat().st_size == first_response_end
    assert result.records_kept == 3 and result.cut_bytes == second_request_end - first_response_end


def test_catalog_rows_past_the_cut_are_deleted_and_counted(tmp_path, open_file):
    name, data, records, captures = open_file
    warc_dir = left_open(tmp_path, name, data)
    catalogue(tmp_path, captures)  # rows for all three exchanges, then the file loses its tail
    os.truncate(warc_dir / (name + ".open"), records[-1][2] - 10)  # (the catalog's fsync rule prevents this)
    (result,) = repair_open_files(tmp_path)
    assert result.rows_deleted == 1
    assert result.describe() == (f"{name}.open -> {name}: kept 5 records ({records[4][2]} bytes),"
                                 f" cut {records[-1][2] - 10 - records[4][2]} bytes; 1 catalog rows past the cut deleted")
    assert verify(tmp_path).ok


# -- article versions and removals past the cut --------------------------------------------


def catalogue_pages(data_dir, pages):
    """What the crawl's pipeline writes: a captures row per capture, an articles row per (capture, text)."""
    with Catalog(data_dir / "catalog.db", warc_dir=data_dir / "warc") as catalog:
        catalog.start_crawl([SEED], crawl_id=CRAWL_ID, now=START)
        for capture, text in pages:
            row = {**capture.as_row(), "crawl_id": CRAWL_ID}
            catalog.add_capture(row)
            if text is not None:
                catalog.add_article(article_row(row, {"title": "Мектеп ашылды", "published": "2026-11-20",
                                                      "modified": None, "language": "kk", "author": None,
                                                      "description": None, "text": text}))
        catalog.finish_crawl(CRAWL_ID, "finished", now=START + timedelta(hours=1))


def left_open_with_its_last_record_cut(writer):
    """Close ``writer``'s file, then put it back as a killed crawl leaves it: .open, its last record cut."""
    writer.sync()
    name, data = writer.filename, writer.open_path.read_bytes()
    writer.close()
    (writer.directory / name).unlink()
    (writer.directory / (name + ".open")).write_bytes(data[:-10])
    return name


def catalog_rows(data_dir, sql, params=()):
    with Catalog(data_dir / "catalog.db", read_only=True) as catalog:
        return list(catalog.db.query(sql, params))


def later(minutes):
    return START + timedelta(minutes=minutes)


def test_a_version_whose_only_capture_is_cut_goes_and_the_article_returns_to_the_version_before(tmp_path):
    with pinned_writer(tmp_path / "warc") as writer:
        first = writer.write_exchange(page_exchange(1))
        other = writer.write_exchange(page_exchange(2))
        edited = writer.write_exchange(page_exchange(1, when=later(30)))
        catalogue_pages(tmp_path, [(first, "Бірінші мәтін."), (other, "Басқа мақала."), (edited, "Түзетілген мәтін.")])
        left_open_with_its_last_record_cut(writer)
    assert catalog_rows(tmp_path, "select versions from articles where url = ?", [first.url]) == [{"versions": 2}]

    (result,) = repair_open_files(tmp_path)

    assert (result.rows_deleted, result.rows_repointed) == (3, 1)  # capture, sighting, version 2; the article
    assert result.describe().endswith("; 3 catalog rows past the cut deleted, 1 re-pointed at earlier captures")
    (article,) = catalog_rows(tmp_path, "select * from articles where url = ?", [first.url])
    assert (article["text"], article["versions"], article["warc_offset"]) == ("Бірінші мәтін.", 1, first.warc_offset)
    assert article["fetched_at"] == first.fetched_at
    assert [row["version"] for row in catalog_rows(tmp_path, "select version from article_versions"
                                                   " where url = ?", [first.url])] == [1]
    assert verify(tmp_path).ok


def test_the_crawls_counts_are_recounted_from_the_rows_left(tmp_path):
    with pinned_writer(tmp_path / "warc") as writer:
        first = writer.write_exchange(page_exchange(1))
        edited = writer.write_exchange(page_exchange(1, when=later(30)))
        catalogue_pages(tmp_path, [(first, "Бірінші мәтін."), (edited, "Түзетілген мәтін.")])
        left_open_with_its_last_record_cut(writer)
    counts = "select pages, articles, new_articles, changed_articles, bytes from crawls"
    assert catalog_rows(tmp_path, counts) == [{"pages": 2, "articles": 1, "new_articles": 1, "changed_articles": 1,
                                               "bytes": edited.warc_offset + edited.warc_length}]

    repair_open_files(tmp_path)

    assert catalog_rows(tmp_path, counts) == [{"pages": 1, "articles": 1, "new_articles": 1, "changed_articles": 0,
                                               "bytes": first.warc_offset + first.warc_length}]


def test_a_version_whose_first_capture_is_cut_moves_to_its_next_capture_in_another_file(tmp_path):
    # Two workers of one crawl, each writing its own file; the one killed saw the new text first.
    killed = pinned_writer(tmp_path / "warc")
    first = killed.write_exchange(page_exchange(1))
    with WarcWriter(tmp_path / "warc", hostname="survivor") as survivor:
        seen_again = survivor.write_exchange(page_exchange(1, when=later(40)))
    edited = killed.write_exchange(page_exchange(1, when=later(30)))
    catalogue_pages(tmp_path, [(first, "Бірінші мәтін."), (edited, "Түзетілген мәтін."),
                               (seen_again, "Түзетілген мәтін.")])
    left_open_with_its_last_record_cut(killed)

    (result,) = repair_open_files(tmp_path)

    assert (result.rows_deleted, result.rows_repointed) == (2, 1)  # capture and sighting; version 2 moved
    versions = catalog_rows(tmp_path, "select version, text, warc_filename, warc_offset, fetched_at"
                                      " from article_versions where url = ? order by version", [first.url])
    assert [(v["version"], v["text"]) for v in versions] == [(1, "Бірінші мәтін."), (2, "Түзетілген мәтін.")]
    assert (versions[1]["warc_filename"], versions[1]["warc_offset"], versions[1]["fetched_at"]) == \
        (seen_again.warc_filename, seen_again.warc_offset, seen_again.fetched_at)
    (article,) = catalog_rows(tmp_path, "select versions, warc_offset from articles where url = ?", [first.url])
    assert article == {"versions": 2, "warc_offset": seen_again.warc_offset}
    assert verify(tmp_path).ok


def test_two_runs_of_one_text_merge_into_one_version_when_the_text_between_them_is_cut(tmp_path):
    killed = pinned_writer(tmp_path / "warc")
    first = killed.write_exchange(page_exchange(1))
    with WarcWriter(tmp_path / "warc", hostname="survivor") as survivor:
        back = survivor.write_exchange(page_exchange(1, when=later(40)))
    edited = killed.write_exchange(page_exchange(1, when=later(30)))
    catalogue_pages(tmp_path, [(first, "Бірінші мәтін."), (edited, "Түзетілген мәтін."), (back, "Бірінші мәтін.")])
    assert len(catalog_rows(tmp_path, "select 1 from article_versions")) == 3
    left_open_with_its_last_record_cut(killed)

    (result,) = repair_open_files(tmp_path)

    assert (result.rows_deleted, result.rows_repointed) == (4, 0)  # capture, sighting, versions 2 and 3
    versions = catalog_rows(tmp_path, "select version, text, warc_offset from article_versions where url = ?",
                            [first.url])
    assert versions == [{"version": 1, "text": "Бірінші мәтін.", "warc_offset": first.warc_offset}]
    assert catalog_rows(tmp_path, "select versions from articles") == [{"versions": 1}]
    assert verify(tmp_path).ok


def test_a_removal_found_past_the_cut_is_undone(tmp_path):
    with pinned_writer(tmp_path / "warc") as writer:
        first = writer.write_exchange(page_exchange(1))
        gone = writer.write_exchange(replace(page_exchange(1, when=later(30)), status=404))
        catalogue_pages(tmp_path, [(first, "Бірінші мәтін."), (gone, None)])
        left_open_with_its_last_record_cut(writer)
    assert catalog_rows(tmp_path, "select removed_at from articles") == [{"removed_at": gone.fetched_at}]

    (result,) = repair_open_files(tmp_path)

    assert result.rows_deleted == 1
    assert catalog_rows(tmp_path, "select removed_at, removed_crawl_id, versions from articles") == [
        {"removed_at": None, "removed_crawl_id": None, "versions": 1}]
    assert verify(tmp_path).ok


def test_a_file_a_live_crawl_is_writing_is_left_alone(data_dir):
    writer = pinned_writer(data_dir / "warc")
    writer.write_exchange(page_exchange(1))
    try:
        before = writer.open_path.read_bytes()
        (result,) = repair_open_files(data_dir)
        assert result.skipped == "a running crawl is writing it"
        assert writer.open_path.read_bytes() == before
    finally:
        writer.close()


def test_a_lock_taken_by_another_holder_is_respected_too(tmp_path, open_file):
    name, data, _, _ = open_file
    warc_dir = left_open(tmp_path, name, data[:-7])
    with open(warc_dir / (name + ".open"), "rb") as holder:
        fcntl.flock(holder.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        (result,) = repair_open_files(tmp_path)
    assert result.skipped and (warc_dir / (name + ".open")).stat().st_size == len(data) - 7


def test_verify_repair_cli_repairs_then_verifies(tmp_path, open_file):
    name, data, records, captures = open_file
    left_open(tmp_path, name, data[: records[-1][2] - 3])
    catalogue(tmp_path, captures[:2])  # rows were flushed for the first two exchanges only
    result = subprocess.run([sys.executable, "-m", "crawler.cli", "verify", "--repair", "--data", str(tmp_path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"repair: {name}.open -> {name}: kept 5 records")
    assert "OK" in result.stdout


@pytest.mark.slow
def test_a_killed_crawl_is_repaired_then_reindexed_into_a_clean_archive(tmp_path):
    data_dir = tmp_path / "data"
    with DemoPortal(articles_per_site=12, latency=0.05) as portal:
        crawl = subprocess.Popen(
            [sys.executable, "-m", "crawler.cli", "crawl", *[s.start_url for s in portal.sites.values()],
             "--data", str(data_dir), "--no-extract", "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                open_files = list((data_dir / "warc").glob("*.open")) if (data_dir / "warc").exists() else []
                if open_files and open_files[0].stat().st_size > 60_000:
                    break
                time.sleep(0.05)
            os.killpg(crawl.pid, signal.SIGKILL)
        finally:
            crawl.wait(timeout=30)
    assert list((data_dir / "warc").glob("*.open")), "the crawl finished before it could be killed"

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "crawler.cli", *args, "--data", str(data_dir)],
                              capture_output=True, text=True, timeout=120)

    killed = cli("verify")
    assert killed.returncode == 1 and "crawl still running or killed" in killed.stdout
    repaired = cli("verify", "--repair")
    assert "repair: " in repaired.stdout and not list((data_dir / "warc").glob("*.open"))
    assert "WARC-" not in repaired.stdout and "gzip" not in repaired.stdout  # the WARC files themselves are whole
    rebuilt = cli("reindex", "--workers", "1")
    assert rebuilt.returncode == 0, rebuilt.stderr
    final = cli("verify")
    assert final.returncode == 0, final.stdout
