"""WACZ 1.1.1 packages: WARCs, their index, the article list and a manifest in one zip.

A WACZ opens in ReplayWeb.page or any WACZ reader without a server, and its
``datapackage.json`` lists the SHA-256 of every file inside, so the package can
be checked after it has been copied around. Layout::

    archive/<warc name>.warc.gz      the WARC files, STORED (already gzipped per record)
    indexes/index.cdx.gz             CDXJ of every record, in gzip blocks of 1024 lines, STORED
    indexes/index.idx                one line per block: the block's first key, offset, length
    pages/pages.jsonl                one line per article: url, ts, title, text (from the catalog)
    datapackage.json                 profile, wacz_version, created, software, resources (+ sha256)
    datapackage-digest.json          the SHA-256 of datapackage.json

Written here on the spec rather than with py-wacz, whose package pulls in about
thirty others (frictionless, pydantic, rich, typer, jsonschema...) to do what
zipfile, hashlib and cdxj-indexer already do; py-wacz still validates our
packages in the tests. The compressed index (rather than one plain CDXJ) lets a
reader fetch only the blocks a lookup needs, which matters for 1 GB WARCs.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from cdxj_indexer.main import CompressedWriter

from archive import __version__
from archive.catalog import Catalog
from archive.cdxj import CdxjLine, closed_warcs, index_path, index_warc, indexes_dir, is_stale, merged_lines
from archive.datadir import DataDir
from archive.errors import PackageError
from archive.records import iter_records

WACZ_VERSION = "1.1.1"
PAGES_PATH = "pages/pages.jsonl"
INDEX_PATH = "indexes/index.cdx.gz"
INDEX_IDX_PATH = "indexes/index.idx"
INDEX_BLOCK_LINES = 1024  # lines per gzip block of the index, as py-wacz and ArchiveWeb.page write
PAGES_HEADER = {"format": "json-pages-1.0", "id": "pages", "title": "Articles", "hasText": True}
_COPY_CHUNK = 1024 * 1024
# Frictionless resource names allow lower-case letters, digits and -._/ only.
_NOT_IN_NAME = re.compile(r"[^-a-z0-9._/]")


@dataclass
class PackageReport:
    """What went into a package."""

    path: Path
    warcs: list[str] = field(default_factory=list)
    pages: int = 0
    index_lines: int = 0
    bytes: int = 0


def warc_crawl_id(warc_path: str | os.PathLike) -> str | None:
    """The crawl a WARC belongs to: ``isPartOf`` in the warcinfo record that opens it."""
    for _offset, record in iter_records(warc_path):
        if record.rec_type != "warcinfo":
            return None
        for line in record.content_stream().read().decode("utf-8", "replace").splitlines():
            name, sep, value = line.partition(":")
            if sep and name.strip() == "isPartOf":
                return value.strip() or None
        return None
    return None


def select_warcs(data: DataDir, crawl_id: str | None = None) -> list[Path]:
    """Closed WARCs of the data directory, or only those of one crawl (by their warcinfo)."""
    warcs = closed_warcs(data.warc_dir)
    if crawl_id is not None:
        warcs = [w for w in warcs if warc_crawl_id(w) == crawl_id]
    return warcs


def write_wacz(
    data_dir: str | os.PathLike,
    output: str | os.PathLike,
    *,
    crawl_id: str | None = None,
    now: datetime | None = None,
) -> PackageReport:
    """Package the closed WARCs of ``data_dir`` (or of one crawl) into a WACZ file at ``output``.

    Missing or stale CDXJ indexes are built first. The package is written under a
    temporary name and renamed, so ``output`` is never a half-written zip.
    ``now`` pins the ``created`` time and the zip entries' dates: the same
    archive packaged with the same ``now`` gives the same bytes.
    """
    data = DataDir(data_dir)
    output = Path(output)
    warcs = select_warcs(data, crawl_id)
    if not warcs:
        which = f"of crawl {crawl_id} " if crawl_id else ""
        raise PackageError(f"no closed WARC files {which}in {data.warc_dir}")
    index_dir = indexes_dir(data.path)
    for warc in warcs:
        if is_stale(warc, index_dir):
            index_warc(warc, index_dir)
    indexes = [index_path(warc, index_dir) for warc in warcs]
    pages = list(_pages(data, {w.name for w in warcs}))

    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    partial = output.with_name(output.name + ".partial")
    report = PackageReport(path=output, warcs=[w.name for w in warcs], pages=len(pages))
    try:
        with zipfile.ZipFile(partial, "w", allowZip64=True) as package:
            writer = _PackageWriter(package, moment)
            for warc in warcs:
                writer.add_file("archive/" + warc.name, warc, compress=False)
            report.index_lines = writer.add_index(indexes)
            writer.add_bytes(PAGES_PATH, _pages_jsonl(pages))
            manifest = _datapackage(writer.resources, moment, crawl_id)
            writer.add_bytes("datapackage.json", manifest, listed=False)
            digest = {"path": "datapackage.json", "hash": "sha256:" + hashlib.sha256(manifest).hexdigest()}
            writer.add_bytes("datapackage-digest.json", _json_bytes(digest), listed=False)
        os.replace(partial, output)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise PackageError(f"cannot write {output}: {exc.strerror or exc}") from None
    report.bytes = output.stat().st_size
    return report


# -- pages -----------------------------------------------------------------------


def _pages(data: DataDir, warc_names: set[str]):
    """One page per article captured in the packaged WARCs, at its latest capture there.

    Title and text come from the catalog, which holds them for the article's
    latest capture; they are given only when the packaged capture has the same
    payload digest (same bytes, so the same extraction). An older crawl's
    package thus lists its articles even after a later crawl re-fetched them.
    """
    if not data.catalog_path.is_file():
        return
    with Catalog(data.catalog_path, read_only=True) as catalog:
        rows = catalog.db.query(
            "SELECT c.url, c.fetched_at, c.payload_digest, c.warc_filename, a.title, a.text, a.published,"
            " a.language, a.payload_digest AS article_digest"
            " FROM captures c JOIN articles a ON a.url = c.url"
            " WHERE c.status = 200 ORDER BY c.url, c.fetched_at DESC, c.warc_filename DESC, c.warc_offset DESC"
        )
        seen = set()
        for row in rows:
            if row["warc_filename"] not in warc_names or row["url"] in seen:
                continue
            seen.add(row["url"])
            page = {"url": row["url"], "ts": row["fetched_at"]}
            if row["payload_digest"] == row["article_digest"]:
                page.update(title=row["title"], text=row["text"], published=row["published"],
                            language=row["language"])
            yield {k: v for k, v in page.items() if v is not None}


def _pages_jsonl(pages: list[dict]) -> bytes:
    lines = [json.dumps(PAGES_HEADER, ensure_ascii=False)]
    lines += [json.dumps(page, ensure_ascii=False) for page in pages]
    return ("\n".join(lines) + "\n").encode("utf-8")


# -- manifest --------------------------------------------------------------------


def _datapackage(resources: list[dict], moment: datetime, crawl_id: str | None) -> bytes:
    package = {
        "profile": "data-package",
        "wacz_version": WACZ_VERSION,
        "title": f"newsarchive crawl {crawl_id}" if crawl_id else "newsarchive archive",
        "created": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "software": f"newsarchive {__version__}",
        "resources": resources,
    }
    return _json_bytes(package)


def _json_bytes(value: dict) -> bytes:
    return json.dumps(value, indent=2, ensure_ascii=False).encode("utf-8")


def _resource_name(path: str, taken: set[str]) -> str:
    name = _NOT_IN_NAME.sub("-", path.lower())
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}-{n}"
    taken.add(candidate)
    return candidate


class _HashingStream:
    """Counts and SHA-256-hashes what is written through it, so no file is read twice."""

    def __init__(self, stream):
        self.stream = stream
        self.sha256 = hashlib.sha256()
        self.bytes = 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.bytes += len(data)
        return self.stream.write(data)


class _PackageWriter:
    """Adds members to the zip and keeps the datapackage resource list in step."""

    def __init__(self, package: zipfile.ZipFile, moment: datetime):
        self.package = package
        self.date_time = moment.timetuple()[:6]
        self.resources: list[dict] = []
        self._names: set[str] = set()

    def _info(self, path: str, compress: bool, size: int | None = None) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(path, date_time=self.date_time)
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        if size is not None:
            info.file_size = size  # lets zipfile choose ZIP64 up front for files over 2 GiB
        return info

    def _listed(self, path: str, stream: _HashingStream) -> None:
        self.resources.append({
            "name": _resource_name(path, self._names),
            "path": path,
            "hash": "sha256:" + stream.sha256.hexdigest(),
            "bytes": stream.bytes,
        })

    def add_file(self, path: str, source: Path, *, compress: bool) -> None:
        size = source.stat().st_size
        with open(source, "rb") as src, self.package.open(self._info(path, compress, size), "w") as member:
            stream = _HashingStream(member)
            while chunk := src.read(_COPY_CHUNK):
                stream.write(chunk)
        if stream.bytes != size:
            raise PackageError(f"{source} changed while it was being packaged")
        self._listed(path, stream)

    def add_bytes(self, path: str, data: bytes, *, listed: bool = True, compress: bool = True) -> None:
        with self.package.open(self._info(path, compress, len(data)), "w") as member:
            stream = _HashingStream(member)
            stream.write(data)
        if listed:
            self._listed(path, stream)

    def add_index(self, indexes: list[Path]) -> int:
        """The packaged WARCs' CDXJ lines, merged in order, as a gzip-block index and its .idx."""
        idx = io.StringIO()
        count = 0
        with self.package.open(self._info(INDEX_PATH, compress=False), "w") as member:
            stream = _HashingStream(member)
            blocks = CompressedWriter(idx, data_out=stream, num_lines=INDEX_BLOCK_LINES,
                                      data_out_name=Path(INDEX_PATH).name)
            for line in merged_lines(indexes):
                blocks.write(line)
                count += 1
            if blocks.block:
                blocks.flush()
        self._listed(INDEX_PATH, stream)
        self.add_bytes(INDEX_IDX_PATH, idx.getvalue().encode("utf-8"))
        return count


def read_package_index(package: zipfile.ZipFile) -> list[CdxjLine]:
    """Every CDXJ line of a package's gzip-block index (for checks and tests)."""
    import gzip

    data = package.read(INDEX_PATH)
    return [CdxjLine.parse(line) for line in gzip.decompress(data).decode("utf-8").splitlines() if line]
