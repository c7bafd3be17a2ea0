"""The WARC writer: what archivists rely on, read back with warcio."""

import gzip
import itertools
from datetime import datetime, timezone

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive.errors import DataDirError
from archive.records import iter_records, open_record, read_payload
from archive.warc import HttpExchange, WarcWriter

PINNED = datetime(2026, 11, 25, 5, 30, tzinfo=timezone.utc)


def pinned_writer(directory, **kwargs):
    """A writer whose record ids and dates are fixed, so its bytes are the same every run."""
    counter = itertools.count(1)
    return WarcWriter(directory, hostname="testhost", clock=lambda: PINNED,
                      record_ids=lambda: f"<urn:uuid:00000000-0000-0000-0000-{next(counter):012d}>", **kwargs)


def exchange(url="http://127.0.0.1:8080/kk/news/1?page=2", body=b"<html>\xd2\x9b</html>", **kwargs):
    defaults = dict(
        status=200,
        response_headers=[("Content-Type", "text/html; charset=utf-8"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")],
        request_headers=[("Host", "127.0.0.1:8080"), ("User-Agent", "newsarchive/test")],
        ip_address="127.0.0.1",
        fetched_at=PINNED,
    )
    return HttpExchange(url=url, body=body, **{**defaults, **kwargs})


def records(path):
    with open(path, "rb") as stream:
        return [(r.rec_type, r.rec_headers, r.http_headers, r.content_stream().read()) for r in ArchiveIterator(stream)]


def test_a_file_opens_with_warcinfo_naming_itself(tmp_path):
    with pinned_writer(tmp_path, warcinfo={"operator": "Atyrau archive", "isPartOf": "crawl-1"}) as writer:
        writer.write_exchange(exchange())
        name = writer.filename
    kinds = records(tmp_path / name)
    assert [k for k, *_ in kinds] == ["warcinfo", "request", "response"]
    info_headers, info_body = kinds[0][1], kinds[0][3].decode()
    assert info_headers.get_header("WARC-Filename") == name
    assert "operator: Atyrau archive" in info_body and "isPartOf: crawl-1" in info_body


def test_file_name_follows_the_iipc_convention(tmp_path):
    with pinned_writer(tmp_path, prefix="akimat") as writer:
        writer.write_exchange(exchange())
        assert writer.filename == "akimat-20261125053000000-00001-testhost.warc.gz"


def test_request_and_response_are_linked_and_digested(tmp_path):
    with pinned_writer(tmp_path) as writer:
        capture = writer.write_exchange(exchange())
    _, (_, request, request_http, _), (_, response, response_http, body) = records(tmp_path / capture.warc_filename)
    assert request.get_header("WARC-Concurrent-To") == response.get_header("WARC-Record-ID")
    assert response.get_header("WARC-Concurrent-To") == request.get_header("WARC-Record-ID")
    assert response.get_header("WARC-IP-Address") == "127.0.0.1"
    assert response.get_header("WARC-Block-Digest").startswith("sha1:")
    assert response.get_header("WARC-Payload-Digest") == capture.payload_digest
    # warcio splits a request line into method ("protocol") and the rest; the query string is kept
    assert f"{request_http.protocol} {request_http.statusline}" == "GET /kk/news/1?page=2 HTTP/1.1"
    assert body == b"<html>\xd2\x9b</html>"


def test_repeated_headers_stay_repeated(tmp_path):
    with pinned_writer(tmp_path) as writer:
        capture = writer.write_exchange(exchange())
    response_http = records(tmp_path / capture.warc_filename)[2][2]
    assert [v for n, v in response_http.headers if n == "Set-Cookie"] == ["a=1", "b=2"]


def test_non_ascii_header_bytes_are_written_back_unchanged(tmp_path):
    raw = "attachment; filename=\"жаңалық.pdf\"".encode("utf-8").decode("latin-1")
    with pinned_writer(tmp_path) as writer:
        capture = writer.write_exchange(exchange(response_headers=[("Content-Disposition", raw)]))
    with gzip.open(tmp_path / capture.warc_filename) as stream:
        assert "attachment; filename=\"жаңалық.pdf\"".encode("utf-8") in stream.read()


def test_content_encoded_body_is_stored_as_served(tmp_path):
    served = gzip.compress("Жаңалық".encode())
    with pinned_writer(tmp_path) as writer:
        capture = writer.write_exchange(exchange(body=served, response_headers=[("Content-Encoding", "gzip")]))
    url, payload = read_payload(tmp_path, capture.warc_filename, capture.warc_offset)
    assert payload == served
    with open_record(tmp_path, capture.warc_filename, capture.warc_offset) as record:
        assert record.content_stream().read() == "Жаңалық".encode()


def test_a_dechunked_body_does_not_claim_chunked_framing(tmp_path):
    with pinned_writer(tmp_path) as writer:
        capture = writer.write_exchange(exchange(response_headers=[("Transfer-Encoding", "chunked")]))
    with open_record(tmp_path, capture.warc_filename, capture.warc_offset) as record:
        assert record.http_headers.get_header("Transfer-Encoding") is None
        assert record.content_stream().read() == b"<html>\xd2\x9b</html>"


def test_truncated_response_is_marked(tmp_path):
    with pinned_writer(tmp_path) as writer:
        capture = writer.write_exchange(exchange(truncated="disconnect"))
    with open_record(tmp_path, capture.warc_filename, capture.warc_offset) as record:
        assert record.rec_headers.get_header("WARC-Truncated") == "disconnect"
    assert capture.truncated == "disconnect"


def test_pointer_opens_the_response_record(tmp_path):
    with pinned_writer(tmp_path) as writer:
        captures = [writer.write_exchange(exchange(url=f"http://127.0.0.1:8080/n/{i}")) for i in range(5)]
    for capture in captures:
        with open_record(tmp_path, capture.warc_filename, capture.warc_offset) as record:
            assert record.rec_type == "response"
            assert record.rec_headers.get_header("WARC-Target-URI") == capture.url
            assert record.rec_headers.get_header("WARC-Record-ID") == capture.record_id
    offsets = [offset for offset, record in iter_records(tmp_path / captures[0].warc_filename)
               if record.rec_type == "response"]
    assert offsets == [c.warc_offset for c in captures]


def test_file_is_open_until_closed(tmp_path):
    writer = pinned_writer(tmp_path)
    writer.write_exchange(exchange())
    assert [p.name for p in tmp_path.iterdir()] == [writer.filename + ".open"]
    writer.close()
    assert [p.name for p in tmp_path.iterdir()] == ["newsarchive-20261125053000000-00001-testhost.warc.gz"]


def test_files_rotate_at_the_size_limit_between_exchanges(tmp_path):
    with pinned_writer(tmp_path, max_size=3000) as writer:
        for i in range(10):
            writer.write_exchange(exchange(url=f"http://127.0.0.1:8080/n/{i}", body=bytes(range(256)) * 8))
    files = sorted(tmp_path.iterdir())
    assert len(files) > 1
    for path in files:
        kinds = [kind for kind, *_ in records(path)]
        assert kinds[0] == "warcinfo" and kinds.count("request") == kinds.count("response") >= 1


def test_same_input_same_bytes(tmp_path):
    for run in ("a", "b"):
        with pinned_writer(tmp_path / run) as writer:
            writer.write_exchange(exchange())
    first, second = (next((tmp_path / run).iterdir()).read_bytes() for run in ("a", "b"))
    assert first == second


def test_unwritable_directory_is_one_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(DataDirError, match="cannot create WARC directory"):
        WarcWriter(blocker / "warc")


def test_extra_warc_headers_go_on_both_records_of_an_exchange(tmp_path):
    with pinned_writer(tmp_path) as writer:
        capture = writer.write_exchange(exchange(), warc_headers=[("X-Newsarchive-Capture", "browser; test")])
    _, (_, request, *_), (_, response, *_) = records(tmp_path / capture.warc_filename)
    assert request.get_header("X-Newsarchive-Capture") == response.get_header("X-Newsarchive-Capture") == "browser; test"
    assert response.get_header("WARC-Concurrent-To") == request.get_header("WARC-Record-ID")


def test_write_record_appends_a_record_without_http_headers_and_says_where(tmp_path):
    dom = "<html><body><h1>Мектеп ашылды</h1></body></html>".encode()
    with pinned_writer(tmp_path) as writer:
        shell = writer.write_exchange(exchange())
        name, offset, length = writer.write_record(
            shell.url, "conversion", dom, content_type="text/html; charset=utf-8",
            warc_headers=[("WARC-Refers-To", shell.record_id)])
    assert name == shell.warc_filename and offset == shell.warc_offset + shell.warc_length
    with open(tmp_path / name, "rb") as stream:
        stream.seek(offset)
        record = next(iter(ArchiveIterator(stream)))
        assert (record.rec_type, record.http_headers, record.content_stream().read()) == ("conversion", None, dom)
    assert record.rec_headers.get_header("Content-Type") == "text/html; charset=utf-8"
    assert record.rec_headers.get_header("WARC-Refers-To") == shell.record_id
    assert record.rec_headers.get_header("WARC-Date") == "2026-11-25T05:30:00Z"
    assert offset + length == (tmp_path / name).stat().st_size  # the last record, whole


def test_write_record_rotates_like_an_exchange(tmp_path):
    with pinned_writer(tmp_path, max_size=1) as writer:
        first = writer.write_exchange(exchange())
        name, _, _ = writer.write_record(first.url, "metadata", b"x", content_type="text/plain")
    assert name != first.warc_filename and writer.files_written == [first.warc_filename, name]


def test_records_are_gzipped_at_the_writers_level_and_read_back_the_same(tmp_path):
    read = {}
    for level, extra_flags in ((1, 4), (6, 0), (9, 2)):  # the gzip header's XFL byte names the level class
        with pinned_writer(tmp_path / str(level), gzip_level=level) as writer:
            writer.write_exchange(exchange(body=b"<p>news</p>" * 500))
        path = tmp_path / str(level) / writer.files_written[0]
        assert path.read_bytes()[8] == extra_flags
        read[level] = records(path)
    assert read[1] == read[6] == read[9]
