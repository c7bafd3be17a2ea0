"""CDXJ indexes: `newsarchive index` on a real crawl of the demo portal, read back with warcio.

The crawl rotates its WARC files at 60 kB so there are several to index; the
index lines are checked against the records themselves, not against the
indexer's own idea of them.
"""

import os
import shutil
import subprocess
import sys

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive.cdxj import index_path, index_warc, read_index, update_indexes
from archive.errors import IndexBuildError
from archive.warc import SERVER_NOT_MODIFIED
from crawler.demo.portal import DemoPortal

INDEXED_TYPES = {"response", "revisit"}


def run_cli(*args, timeout=240):
    return subprocess.run([sys.executable, "-m", "crawler.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """Three demo-portal crawls in several WARC files, indexed with `newsarchive index`: the second
    in full (identical-payload revisits), the third incremental (304s: server-not-modified revisits)."""
    data = tmp_path_factory.mktemp("cdxj") / "data"
    with DemoPortal(articles_per_site=4) as portal:
        for mode in ("--full", "--full", "--no-extract"):
            crawl = run_cli("crawl", *[site.start_url for site in portal.sites.values()], "--data", str(data),
                            "--no-extract", mode, "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0",
                            "-s", "NEWSARCHIVE_WARC_MAX_SIZE=60000")
            assert crawl.returncode == 0, crawl.stderr[-3000:]
    result = run_cli("index", "--data", str(data))
    assert result.returncode == 0, result.stderr
    return data, result


def warcs(data):
    return sorted((data / "warc").glob("*.warc.gz"))


def records_of(path):
    """(offset, length, type, url, payload digest) of every record of one WARC, read with warcio;
    a server-not-modified revisit (a 304) has type "revisit/304"."""
    found = []
    with open(path, "rb") as stream:
        records = ArchiveIterator(stream)
        for record in records:
            kind = record.rec_type
            if record.rec_headers.get_header("WARC-Profile") == SERVER_NOT_MODIFIED:
                kind = "revisit/304"
            found.append([records.get_record_offset(), kind,
                          record.rec_headers.get_header("WARC-Target-URI"),
                          record.rec_headers.get_header("WARC-Payload-Digest")])
            record.content_stream().read()
            records.read_to_end()
            found[-1].insert(1, records.get_record_length())
    return found


def test_the_crawl_indexes_each_warc_as_it_closes(archive):
    data, result = archive
    files = warcs(data)
    assert len(files) > 1, "the crawl should have rotated its WARC files"
    assert sorted(p.name for p in (data / "indexes").iterdir()) == sorted(f.name + ".cdxj" for f in files)
    assert f"indexed 0 WARC files, {len(files)} already up to date" in result.stdout


def test_every_response_and_revisit_record_has_exactly_one_line(archive):
    data, _ = archive
    for warc in warcs(data):
        expected = sorted((offset, url) for offset, _length, kind, url, _digest in records_of(warc)
                          if kind in INDEXED_TYPES)
        lines = sorted((line.offset, line.url) for line in read_index(index_path(warc, data / "indexes")))
        assert expected and lines == expected, warc.name


def test_304_revisits_stay_out_of_the_index_so_replay_shows_the_page_they_confirm(archive):
    data, _ = archive
    not_modified = {(warc.name, offset) for warc in warcs(data)
                    for offset, _length, kind, _url, _digest in records_of(warc) if kind == "revisit/304"}
    indexed = {(line.filename, line.offset) for warc in warcs(data)
               for line in read_index(index_path(warc, data / "indexes"))}
    assert not_modified, "the incremental crawl should have had 304 answers"
    assert not (not_modified & indexed)


def test_revisits_are_indexed_as_warc_revisit(archive):
    data, _ = archive
    lines = [line for warc in warcs(data) for line in read_index(index_path(warc, data / "indexes"))]
    revisits = [line for line in lines if line.fields["mime"] == "warc/revisit"]
    assert revisits and len(revisits) < len(lines)
    responses = {(line.url, line.fields["digest"]) for line in lines if line.fields["mime"] != "warc/revisit"}
    assert all((line.url, line.fields["digest"]) in responses for line in revisits)  # what pywb resolves by


def test_every_line_opens_its_record(archive):
    data, _ = archive
    for warc in warcs(data):
        for line in read_index(index_path(warc, data / "indexes")):
            assert line.filename == warc.name
            with open(data / "warc" / line.filename, "rb") as stream:
                stream.seek(line.offset)
                record = next(iter(ArchiveIterator(stream)))
                assert record.rec_headers.get_header("WARC-Target-URI") == line.url
                assert record.rec_type in INDEXED_TYPES
                assert (line.fields["mime"] == "warc/revisit") == (record.rec_type == "revisit")
                assert record.rec_headers.get_header("WARC-Payload-Digest") == line.fields["digest"]
                assert str(record.http_headers.get_statuscode()) == line.fields["status"]


def test_line_lengths_are_the_gzipped_record_lengths(archive):
    data, _ = archive
    for warc in warcs(data):
        lengths = {offset: length for offset, length, *_ in records_of(warc)}
        for line in read_index(index_path(warc, data / "indexes")):
            assert line.length == lengths[line.offset]


def test_requests_and_warcinfo_are_not_indexed(archive):
    data, _ = archive
    for warc in warcs(data):
        offsets = {line.offset for line in read_index(index_path(warc, data / "indexes"))}
        others = {offset for offset, _length, kind, *_ in records_of(warc) if kind in ("request", "warcinfo")}
        assert others and not offsets & others


def test_lines_are_sorted_for_binary_search(archive):
    data, _ = archive
    for index in (data / "indexes").iterdir():
        lines = index.read_text(encoding="utf-8").splitlines()
        assert lines == sorted(lines)


def test_timestamps_are_the_warc_dates(archive):
    data, _ = archive
    warc = warcs(data)[0]
    for line in read_index(index_path(warc, data / "indexes")):
        with open(warc, "rb") as stream:
            stream.seek(line.offset)
            date = next(iter(ArchiveIterator(stream))).rec_headers.get_header("WARC-Date")
        assert line.timestamp == date[:19].replace("-", "").replace("T", "").replace(":", "")


def test_up_to_date_indexes_are_left_alone(archive):
    data, _ = archive
    before = {p.name: p.stat().st_mtime_ns for p in (data / "indexes").iterdir()}
    result = run_cli("index", "--data", str(data))
    assert result.returncode == 0
    assert f"indexed 0 WARC files, {len(before)} already up to date" in result.stdout
    assert {p.name: p.stat().st_mtime_ns for p in (data / "indexes").iterdir()} == before


def test_a_warc_newer_than_its_index_or_without_one_is_indexed_again(tmp_path, archive):
    data, _ = archive
    warc_dir, index_dir = tmp_path / "warc", tmp_path / "indexes"
    warc_dir.mkdir()
    first, second = warcs(data)[:2]
    shutil.copy2(first, warc_dir)
    shutil.copy2(second, warc_dir)
    update_indexes(warc_dir, index_dir)
    changed = warc_dir / first.name
    later = index_path(changed, index_dir).stat().st_mtime_ns + 10**9
    os.utime(changed, ns=(later, later))
    (index_path(second, index_dir)).unlink()
    report = update_indexes(warc_dir, index_dir)
    assert sorted(p.name for p in report.indexed) == sorted([first.name + ".cdxj", second.name + ".cdxj"])
    assert report.up_to_date == []


def test_files_still_being_written_are_skipped(tmp_path, archive):
    data, _ = archive
    warc_dir = tmp_path / "warc"
    warc_dir.mkdir()
    shutil.copy(warcs(data)[0], warc_dir / (warcs(data)[0].name + ".open"))
    report = update_indexes(warc_dir, tmp_path / "indexes")
    assert report.indexed == [] and not list((tmp_path / "indexes").glob("*"))
    with pytest.raises(IndexBuildError, match="still being written"):
        index_warc(warc_dir / (warcs(data)[0].name + ".open"), tmp_path / "indexes")


def test_an_index_whose_warc_is_gone_is_removed(tmp_path, archive):
    data, _ = archive
    warc_dir = tmp_path / "warc"
    warc_dir.mkdir()
    kept, dropped = warcs(data)[:2]
    shutil.copy(kept, warc_dir)
    orphan = tmp_path / "indexes" / (dropped.name + ".cdxj")
    orphan.parent.mkdir()
    orphan.write_text("")
    report = update_indexes(warc_dir, tmp_path / "indexes")
    assert report.removed == [orphan] and not orphan.exists()
    assert index_path(kept, tmp_path / "indexes").exists()


def test_an_unreadable_warc_fails_in_one_line_and_leaves_no_index(tmp_path):
    broken = tmp_path / "broken.warc.gz"
    broken.write_bytes(b"\x1f\x8b\x08\x00 this is not gzip")
    with pytest.raises(IndexBuildError, match="cannot index broken.warc.gz"):
        index_warc(broken, tmp_path / "indexes")
    assert list((tmp_path / "indexes").iterdir()) == []


def test_index_without_an_archive_is_a_one_line_error(tmp_path):
    result = run_cli("index", "--data", str(tmp_path / "nothing"))
    assert result.returncode != 0
    assert "no WARC files" in result.stderr and "Traceback" not in result.stderr
