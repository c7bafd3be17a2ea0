"""`newsarchive verify`: every digest recomputed, every link and catalog pointer followed.

Archives here are real: written by newsarchive's WarcWriter and Catalog (see
tests/warcs/archives.py), or the sample WARCs of other tools in tests/warcs/
with one known flaw each. The CLI tests run the command as a user does.
"""

import shutil
import sqlite3
from contextlib import closing
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from archive.catalog import Catalog, article_row
from archive.errors import CatalogError, DataDirError
from archive.verify import verify
from archive.warc import RevisitOf
from warcs.archives import CRAWL_ID, SEED, START, build_archive, page_exchange, pinned_writer

SAMPLES = Path(__file__).parent / "warcs"


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "crawler.cli", *args], capture_output=True, text=True, timeout=60)


def with_samples(data_dir: Path, *names: str, rename: dict | None = None) -> Path:
    """A data directory whose warc/ holds copies of the named sample files."""
    warc_dir = data_dir / "warc"
    warc_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(SAMPLES / name, warc_dir / (rename or {}).get(name, name))
    return data_dir


def problems_about(report, text):
    return [p for p in report.problems if text in p]


def sql(data_dir, statement, params=()):
    with closing(sqlite3.connect(data_dir / "catalog.db")) as db, db:
        db.execute(statement, params)


# -- a good archive ------------------------------------------------------------------------


def test_an_archive_written_by_newsarchive_passes_with_counts(data_dir):
    build_archive(data_dir, pages=3, revisit_last=True)
    report = verify(data_dir)
    assert report.problems == []
    assert (report.files, report.records, report.responses, report.revisits) == (1, 9, 3, 1)
    assert report.rows_checked == 4  # four captures rows, no articles


def test_a_chunked_response_from_another_tool_is_hashed_after_de_chunking(data_dir):
    # warcio check fails this valid record: it hashes the chunked framing.
    warcio = subprocess.run([sys.executable, "-m", "warcio.cli", "check",
                             str(SAMPLES / "chunked-from-another-tool.warc.gz")], capture_output=True, text=True)
    assert warcio.returncode != 0
    report = verify(with_samples(data_dir, "chunked-from-another-tool.warc.gz"), check_catalog=False)
    assert report.problems == [] and report.responses == 1


# -- flaws in records ------------------------------------------------------------------------


def test_a_payload_digest_that_does_not_match_the_de_chunked_body_is_reported_at_its_offset(data_dir):
    report = verify(with_samples(data_dir, "chunked-bad-payload.warc.gz"), check_catalog=False)
    assert report.problems == [
        "chunked-bad-payload.warc.gz:552: WARC-Payload-Digest does not match the HTTP body (de-chunked)"
        " (response http://news.example.kz/kk/news/1)"]


def test_a_body_changed_after_hashing_fails_its_block_digest(data_dir):
    report = verify(with_samples(data_dir, "bad-block-digest.warc.gz"), check_catalog=False)
    assert problems_about(report, "bad-block-digest.warc.gz:541: WARC-Block-Digest does not match")


def test_a_truncated_file_is_one_problem_and_the_next_file_is_still_read(data_dir):
    report = verify(with_samples(data_dir, "truncated.warc.gz", "chunked-from-another-tool.warc.gz"),
                    check_catalog=False)
    assert report.problems == ["truncated.warc.gz:536: gzip member cut short: the file ends inside it"]
    assert report.files == 2 and report.responses == 1  # the other file's response was checked


def test_a_file_that_is_not_a_warc_is_one_problem(data_dir):
    report = verify(with_samples(data_dir, "not-a-warc.warc.gz", "chunked-from-another-tool.warc.gz"),
                    check_catalog=False)
    assert report.problems == ["not-a-warc.warc.gz:0: not a WARC record: it starts with b'These are my notes, not '"]


def test_a_file_must_open_with_a_warcinfo_naming_it(data_dir):
    renamed = "newsarchive-20261125103000000-00009-x.warc.gz"
    report = verify(with_samples(data_dir, "chunked-from-another-tool.warc.gz",
                                 rename={"chunked-from-another-tool.warc.gz": renamed}), check_catalog=False)
    assert report.problems == [
        f"{renamed}:0: warcinfo names the file 'chunked-from-another-tool.warc.gz', not '{renamed}'"]


def test_record_ids_must_be_unique_across_files(data_dir):
    with_samples(data_dir, "chunked-from-another-tool.warc.gz")
    with_samples(data_dir, "chunked-from-another-tool.warc.gz", rename={"chunked-from-another-tool.warc.gz": "z.warc.gz"})
    report = verify(data_dir, check_catalog=False)
    duplicates = problems_about(report, "is not unique")
    assert len(duplicates) == 3  # warcinfo, request, response
    assert "chunked-from-another-tool.warc.gz:559: WARC-Record-ID <urn:uuid:chunked-from-another-tool-resp>" \
           " is not unique (also at z.warc.gz:559)" in duplicates


def test_a_response_linked_to_no_request_is_reported(data_dir):
    report = verify(with_samples(data_dir, "unlinked-response.warc.gz"), check_catalog=False)
    assert report.problems == [
        "unlinked-response.warc.gz:550: response's WARC-Concurrent-To <urn:uuid:nowhere> names no record in the archive"]


def test_a_revisit_must_name_an_existing_record(data_dir):
    with pinned_writer(data_dir / "warc") as writer:
        writer.write_exchange(page_exchange(1))
        writer.write_exchange(page_exchange(1), RevisitOf("<urn:uuid:gone>", page_exchange(1).url, "2026-11-25T10:30:01Z"))
    report = verify(data_dir, check_catalog=False)
    assert len(report.problems) == 1
    assert report.problems[0].endswith("revisit of http://news.example.kz/kk/news/1: WARC-Refers-To <urn:uuid:gone>"
                                       " names no record in the archive")


def test_a_revisit_must_repeat_its_originals_payload_digest(data_dir):
    with pinned_writer(data_dir / "warc") as writer:
        first = writer.write_exchange(page_exchange(1))
        writer.write_exchange(page_exchange(2), RevisitOf(first.record_id, first.url, first.fetched_at))
    report = verify(data_dir, check_catalog=False)
    assert len(report.problems) == 1 and "differs from the original's" in report.problems[0]


def test_an_open_file_is_reported_with_the_repair_advice(data_dir):
    writer = pinned_writer(data_dir / "warc")
    writer.write_exchange(page_exchange(1))
    try:
        report = verify(data_dir, check_catalog=False)
    finally:
        writer.close()
    assert report.open_files == [writer.files_written[0] + ".open"]
    assert report.problems == [f"{writer.files_written[0]}.open: crawl still running or killed:"
                               " run newsarchive verify --repair"]
    assert report.responses == 1  # its complete records were still checked


# -- the catalog -----------------------------------------------------------------------------


def test_a_row_pointing_where_no_record_starts_is_dangling(data_dir):
    captures = build_archive(data_dir)
    sql(data_dir, "UPDATE captures SET warc_offset = warc_offset + 1 WHERE record_id = ?", [captures[1].record_id])
    report = verify(data_dir)
    assert f"captures {captures[1].url}: points at {captures[1].warc_filename}:{captures[1].warc_offset + 1}," \
           " where no WARC record starts" in report.problems
    assert problems_about(report, "is not in captures")  # and its record is now uncatalogued


def test_a_row_pointing_into_a_missing_file_is_dangling(data_dir):
    captures = build_archive(data_dir)
    sql(data_dir, "UPDATE captures SET warc_filename = 'gone.warc.gz' WHERE record_id = ?", [captures[0].record_id])
    report = verify(data_dir)
    assert f"captures {captures[0].url}: points into gone.warc.gz, which is not in the WARC directory" in report.problems


def test_a_row_must_match_the_url_type_record_id_and_digest_of_its_record(data_dir):
    captures = build_archive(data_dir, pages=4)
    sql(data_dir, "UPDATE captures SET url = url || '?x' WHERE record_id = ?", [captures[0].record_id])
    sql(data_dir, "UPDATE captures SET record_id = '<urn:uuid:other>' WHERE record_id = ?", [captures[1].record_id])
    sql(data_dir, "UPDATE captures SET payload_digest = 'sha1:AAAA' WHERE record_id = ?", [captures[2].record_id])
    sql(data_dir, "UPDATE captures SET record_type = 'revisit' WHERE record_id = ?", [captures[3].record_id])
    report = verify(data_dir)
    assert len(report.problems) == 4
    assert problems_about(report, f"captures {captures[3].url}: record_type revisit but")
    assert problems_about(report, f"captures {captures[0].url}?x: points at")
    assert problems_about(report, f"captures {captures[1].url}: record_id <urn:uuid:other> but")
    assert problems_about(report, f"captures {captures[2].url}: payload_digest sha1:AAAA but")


def test_an_articles_row_must_point_at_a_response(data_dir):
    captures = build_archive(data_dir)
    sql(data_dir, "INSERT INTO articles (url, warc_filename, warc_offset, warc_length, payload_digest)"
                  " VALUES (?, ?, 0, 1, ?)",  # offset 0: the warcinfo record
        [captures[0].url, captures[0].warc_filename, captures[0].payload_digest])
    report = verify(data_dir)
    assert report.problems == [f"articles {captures[0].url}: points at {captures[0].warc_filename}:0, a warcinfo record"]
    assert report.rows_checked == 4


def archive_with_article_versions(data_dir):
    """Two articles, the first edited later: captures 1, 2, 3 and article versions (1, 1), (2, 1), (1, 2)."""
    with pinned_writer(data_dir / "warc") as writer:
        captures = [writer.write_exchange(page_exchange(1)), writer.write_exchange(page_exchange(2)),
                    writer.write_exchange(page_exchange(1, when=START + timedelta(minutes=30)))]
    texts = ["Бірінші мәтін.", "Басқа мақала.", "Түзетілген мәтін."]
    with Catalog(data_dir / "catalog.db", warc_dir=data_dir / "warc") as catalog:
        catalog.start_crawl([SEED], crawl_id=CRAWL_ID, now=START)
        for capture, text in zip(captures, texts):
            row = {**capture.as_row(), "crawl_id": CRAWL_ID}
            catalog.add_capture(row)
            catalog.add_article(article_row(row, {"title": "Мектеп ашылды", "published": "2026-11-20", "modified": None,
                                                  "language": "kk", "author": None, "description": None, "text": text}))
        catalog.finish_crawl(CRAWL_ID, "finished", now=START + timedelta(hours=1))
    return captures


def test_article_versions_and_sightings_are_followed_too(data_dir):
    archive_with_article_versions(data_dir)
    report = verify(data_dir)
    assert report.problems == []
    assert report.rows_checked == 3 + 2 + 3 + 3  # captures, articles, versions, sightings


def test_a_version_pointing_where_no_record_starts_is_named_with_its_number(data_dir):
    first, _, edited = archive_with_article_versions(data_dir)
    sql(data_dir, "UPDATE article_versions SET warc_offset = warc_offset + 1 WHERE url = ? AND version = 2", [first.url])
    expected = (f"article_versions {first.url} (version 2): points at {edited.warc_filename}:{edited.warc_offset + 1},"
                " where no WARC record starts")
    assert verify(data_dir).problems == [expected]


def test_a_sighting_must_open_a_record_of_its_own_url(data_dir):
    first, other, _ = archive_with_article_versions(data_dir)
    sql(data_dir, "UPDATE article_sightings SET warc_offset = ? WHERE warc_offset = ?", [other.warc_offset, first.warc_offset])
    assert verify(data_dir).problems == [
        f"article_sightings {first.url}: points at {other.warc_filename}:{other.warc_offset}, a record of {other.url}"]


def test_a_version_must_carry_its_records_payload_digest(data_dir):
    first, _, _ = archive_with_article_versions(data_dir)
    sql(data_dir, "UPDATE article_versions SET payload_digest = 'sha1:AAAA' WHERE url = ? AND version = 1", [first.url])
    assert problems_about(verify(data_dir), f"article_versions {first.url} (version 1): payload_digest sha1:AAAA but")


def test_a_response_missing_from_captures_is_reported(data_dir):
    captures = build_archive(data_dir)
    sql(data_dir, "DELETE FROM captures WHERE record_id = ?", [captures[2].record_id])
    report = verify(data_dir)
    assert report.problems == [f"{captures[2].warc_filename}:{captures[2].warc_offset}: the response record of"
                               f" {captures[2].url} is not in captures (newsarchive reindex rebuilds the catalog)"]


def test_records_a_killed_crawl_never_catalogued_are_one_line_per_file(data_dir):
    captures = build_archive(data_dir, pages=5)
    sql(data_dir, "DELETE FROM captures WHERE warc_offset >= ?", [captures[2].warc_offset])
    report = verify(data_dir)
    assert report.problems == [f"{captures[2].warc_filename}:{captures[2].warc_offset}: 3 response/revisit records"
                               f" from here on ({captures[2].url} first) are not in captures"
                               " (newsarchive reindex rebuilds the catalog)"]


def test_an_empty_file_is_one_problem(data_dir):
    (data_dir / "warc").mkdir(parents=True)
    (data_dir / "warc" / "empty.warc.gz").write_bytes(b"")
    assert verify(data_dir, check_catalog=False).problems == ["empty.warc.gz:0: empty file, not a WARC file"]


def test_no_catalog_skips_the_catalog(data_dir):
    build_archive(data_dir)
    (data_dir / "catalog.db").write_bytes(b"not a database")
    assert verify(data_dir, check_catalog=False).ok


def test_a_corrupt_catalog_is_one_clear_error(data_dir):
    build_archive(data_dir, with_catalog=False)
    (data_dir / "catalog.db").write_bytes(b"not a database" * 100)
    with pytest.raises(CatalogError, match="newsarchive reindex rebuilds it"):
        verify(data_dir)


def test_a_missing_data_or_warc_directory_is_one_clear_error(tmp_path):
    with pytest.raises(DataDirError, match="no data directory"):
        verify(tmp_path / "nowhere")
    with pytest.raises(DataDirError, match="no WARC directory"):
        verify(tmp_path)


# -- the command -----------------------------------------------------------------------------


def test_cli_prints_a_summary_and_exits_0_on_a_clean_archive(data_dir):
    build_archive(data_dir, revisit_last=True)
    result = run_cli("verify", "--data", str(data_dir))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 WARC files, 9 records (3 responses, 1 revisits); 4 catalog rows checked" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("OK")


def test_cli_lists_problems_capped_and_exits_1(data_dir):
    build_archive(data_dir, pages=25)
    sql(data_dir, "UPDATE captures SET payload_digest = 'sha1:AAAA'")
    result = run_cli("verify", "--data", str(data_dir))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert "25 problems:" in lines
    assert lines[-1] == "  ... and 5 more"
    assert sum("payload_digest sha1:AAAA but" in line for line in lines) == 20


def test_cli_one_line_for_a_missing_data_directory(tmp_path):
    result = run_cli("verify", "--data", str(tmp_path / "nowhere"))
    assert result.returncode != 0
    assert result.stderr.strip() == f"Error: no data directory at {tmp_path / 'nowhere'}"


def test_records_larger_than_one_read_keep_their_extents(tmp_path):
    """A body that decompresses past one read must not shift the next record's offset."""
    from archive.warc import HttpExchange, WarcWriter
    from archive.warcscan import scan_warc

    with WarcWriter(tmp_path) as writer:
        captures = [writer.write_exchange(HttpExchange(f"http://127.0.0.1/big/{i}", 200, [], b"x" * 300_000))
                    for i in range(3)]
        name = writer.filename
    responses = [r for r in scan_warc(tmp_path / name) if r.rec_type == "response"]
    assert [(r.offset, r.length) for r in responses] == [(c.warc_offset, c.warc_length) for c in captures]
