"""Writes the small sample WARCs beside this script (run by hand; the files are committed).

They stand for WARCs that newsarchive did not write, each with one known flaw
(or none), built record by record here so every byte is deliberate:

- chunked-from-another-tool.warc.gz  a response stored with its chunked framing and
  ``Transfer-Encoding: chunked``, payload digest over the de-chunked entity: valid.
- chunked-bad-payload.warc.gz        the same, but the payload digest is of another body.
- bad-block-digest.warc.gz           a response whose body was changed after it was hashed.
- unlinked-response.warc.gz          a response whose WARC-Concurrent-To names no record.
- truncated.warc.gz                  a valid file cut inside its last gzip member.
- not-a-warc.warc.gz                 gzip of a text file.

Usage: python tests/warcs/make_samples.py
"""

from __future__ import annotations

import base64
import gzip
import hashlib
from pathlib import Path

HERE = Path(__file__).parent
DATE = "2026-11-25T10:30:00Z"
URL = "http://news.example.kz/kk/news/1"
BODY = "<html><body><h1>Жаңалық</h1><p>Ауылда жаңа мектеп ашылды.</p></body></html>".encode()


def digest(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def record(headers: list[tuple[str, str]], block: bytes, *, block_digest: bytes | None = None) -> bytes:
    """One gzip member: WARC headers (Content-Length and block digest added) and the block."""
    lines = ["WARC/1.1", *(f"{name}: {value}" for name, value in headers),
             f"WARC-Block-Digest: {digest(block if block_digest is None else block_digest)}",
             f"Content-Length: {len(block)}"]
    return gzip.compress(("\r\n".join(lines) + "\r\n\r\n").encode() + block + b"\r\n\r\n", mtime=0)


def warcinfo(name: str) -> bytes:
    fields = b"software: make_samples.py\r\nformat: WARC File Format 1.1\r\n"
    return record([("WARC-Type", "warcinfo"), ("WARC-Record-ID", f"<urn:uuid:{name}-info>"),
                   ("WARC-Filename", name), ("WARC-Date", DATE), ("Content-Type", "application/warc-fields")],
                  fields)


def exchange(name: str, response_head: bytes, entity: bytes, payload: bytes, *,
             block_digest_of: bytes | None = None, request_link: str | None = None) -> bytes:
    request_id, response_id = f"<urn:uuid:{name}-req>", f"<urn:uuid:{name}-resp>"
    request_block = b"GET /kk/news/1 HTTP/1.1\r\nHost: news.example.kz\r\n\r\n"
    response_block = response_head + b"\r\n" + entity
    return (
        record([("WARC-Type", "request"), ("WARC-Record-ID", request_id), ("WARC-Date", DATE),
                ("WARC-Target-URI", URL), ("WARC-Concurrent-To", response_id),
                ("Content-Type", "application/http; msgtype=request")], request_block)
        + record([("WARC-Type", "response"), ("WARC-Record-ID", response_id), ("WARC-Date", DATE),
                  ("WARC-Target-URI", URL), ("WARC-Concurrent-To", request_link or request_id),
                  ("WARC-Payload-Digest", digest(payload)),
                  ("Content-Type", "application/http; msgtype=response")],
                 response_block, block_digest=block_digest_of)
    )


def chunked(body: bytes, size: int = 40) -> bytes:
    pieces = [body[i:i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


def main() -> None:
    chunked_head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nTransfer-Encoding: chunked\r\n"
    plain_head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: %d\r\n" % len(BODY)
    samples = {
        "chunked-from-another-tool.warc.gz": lambda n: exchange(n, chunked_head, chunked(BODY), BODY),
        "chunked-bad-payload.warc.gz": lambda n: exchange(n, chunked_head, chunked(BODY), BODY + b"changed"),
        "bad-block-digest.warc.gz": lambda n: exchange(
            n, plain_head, BODY.replace("мектеп".encode(), "МЕКТЕП".encode()), BODY,
            block_digest_of=plain_head + b"\r\n" + BODY),
        "unlinked-response.warc.gz": lambda n: exchange(n, plain_head, BODY, BODY,
                                                        request_link="<urn:uuid:nowhere>"),
    }
    for name, make in samples.items():
        (HERE / name).write_bytes(warcinfo(name) + make(name.split(".")[0]))
    whole = warcinfo("truncated.warc.gz") + exchange("truncated", plain_head, BODY, BODY)
    (HERE / "truncated.warc.gz").write_bytes(whole[:-20])
    (HERE / "not-a-warc.warc.gz").write_bytes(gzip.compress(b"These are my notes, not a WARC file.\n", mtime=0))


if __name__ == "__main__":
    main()
