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

import gzip
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
from warcio.archiveiterator import ArchiveIterator

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
    """Closed WARCs of the data directory, or those of one crawl (by their warcinfo).

    A crawl's revisit records replay only with the earlier records they refer
    to, so the WARCs holding those (from an earlier crawl) come along.
    """
    warcs = closed_warcs(data.warc_dir)
    if crawl_id is None:
        return warcs
    chosen = {w.name for w in warcs if warc_crawl_id(w) == crawl_id}
    if chosen:
        chosen |= _revisited_warcs(data, chosen)
    return [w for w in warcs if w.name in chosen]


def _revisited_warcs(data: DataDir, warc_names: set[str]) -> set[str]:
    """WARC files holding the records that revisits in ``warc_names`` refer to (from the catalog)."""
    if not data.catalog_path.is_file():
        return set()
    with Catalog(data.catalog_path, read_only=True) as catalog:
        if "refers_to" not in catalog.db["captures"].columns_dict:
            return set()
        rows = catalog.db.query(
            "SELECT revisit.warc_filename AS revisit_file, original.warc_filename AS original_file"
            " FROM captures revisit JOIN captures original ON original.record_id = revisit.refers_to"
            " WHERE revisit.refers_to IS NOT NULL")
        return {row["original_file"] for row in rows if row["revisit_file"] in warc_names}


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
    pages = list(_pages(data, {w.name for w in warcs}, crawl_id))

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


def _pages(data: DataDir, warc_names: set[str], crawl_id: str | None):
    """One page per article captured in the package: the capture its catalog row was extracted from, if
    packaged, else the latest packaged one (of the crawl, with ``crawl_id``).

    Title and text come from the catalog row; they are given only when the
    page's capture has the row's payload digest (same bytes, so the same
    extraction), as a revisit of an unchanged page has.
    """
    if not data.catalog_path.is_file():
        return
    with Catalog(data.catalog_path, read_only=True) as catalog:
        rows = catalog.db.query(
            "SELECT c.url, c.fetched_at, c.payload_digest, c.warc_filename, c.crawl_id,"
            " c.warc_filename = a.warc_filename AND c.warc_offset = a.warc_offset AS is_article_capture,"
            " a.title, a.text, a.published, a.language, a.payload_digest AS article_digest"
            " FROM captures c JOIN articles a ON a.url = c.url WHERE c.status = 200"
            " ORDER BY c.url, is_article_capture DESC, c.fetched_at DESC, c.warc_filename DESC, c.warc_offset DESC"
        )
        seen = set()
        for row in rows:
            if row["warc_filename"] not in warc_names or row["url"] in seen:
                continue
            if crawl_id is not None and row["crawl_id"] != crawl_id:
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
    """Every CDXJ line of a package's index: gzip blocks (``.cdx.gz``) or plain ``.cdx``/``.cdxj``."""
    lines = []
    for name in package.namelist():
        if name.startswith("indexes/") and name.endswith(".cdx.gz"):
            text = gzip.decompress(package.read(name)).decode("utf-8")
        elif name.startswith("indexes/") and name.endswith((".cdx", ".cdxj")):
            text = package.read(name).decode("utf-8")
        else:
            continue
        lines += [CdxjLine.parse(line) for line in text.splitlines() if line.strip() and not line.startswith("!")]
    return lines


def check_wacz(path: str | os.PathLike) -> list[str]:
    """Problems found in a WACZ package, beyond what ``wacz validate`` looks at; empty if none.

    Checks the layout, that WARCs and gzip indexes are STORED (readers seek into
    them), that every file is listed in datapackage.json with its size and
    SHA-256 and the digest file matches the manifest, that pages.jsonl is there
    with url and ts on every page, that every page has a response or revisit
    line in the index at its timestamp, and that every index line opens a
    record of that URL in a packaged WARC.
    """
    try:
        package = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        return [f"not a zip file: {exc}"]
    with package:
        problems = _check_members(package)
        if problems:
            return problems
        problems += _check_manifest(package)
        lines = read_package_index(package)
        problems += _check_index(package, lines)
        problems += _check_pages(package, lines)
    return problems


def _check_members(package: zipfile.ZipFile) -> list[str]:
    names = set(package.namelist())
    problems = [f"{name} is missing" for name in ("datapackage.json", "datapackage-digest.json", PAGES_PATH)
                if name not in names]
    if not any(n.startswith("archive/") and n.endswith((".warc", ".warc.gz")) for n in names):
        problems.append("no WARC file in archive/")
    if not any(n.startswith("indexes/") and n.endswith((".cdx", ".cdxj", ".cdx.gz")) for n in names):
        problems.append("no CDXJ index in indexes/")
    for info in package.infolist():
        stored_only = info.filename.startswith("archive/") or info.filename.endswith(".cdx.gz")
        if stored_only and info.compress_type != zipfile.ZIP_STORED:
            problems.append(f"{info.filename} is compressed in the zip; it must be STORED for random access")
    return problems


def _check_manifest(package: zipfile.ZipFile) -> list[str]:
    problems = []
    manifest_bytes = package.read("datapackage.json")
    try:
        manifest = json.loads(manifest_bytes)
        digest = json.loads(package.read("datapackage-digest.json"))
    except ValueError as exc:
        return [f"manifest is not JSON: {exc}"]
    if manifest.get("profile") != "data-package":
        problems.append(f"datapackage.json profile is {manifest.get('profile')!r}, not 'data-package'")
    if manifest.get("wacz_version") != WACZ_VERSION:
        problems.append(f"datapackage.json wacz_version is {manifest.get('wacz_version')!r}, not {WACZ_VERSION!r}")
    expected = "sha256:" + hashlib.sha256(manifest_bytes).hexdigest()
    if digest.get("path") != "datapackage.json" or digest.get("hash") != expected:
        problems.append("datapackage-digest.json does not match datapackage.json")
    listed = {}
    for resource in manifest.get("resources", []):
        if resource.get("path") in listed:
            problems.append(f"{resource.get('path')} is listed twice")
        listed[resource.get("path")] = resource
    members = set(package.namelist()) - {"datapackage.json", "datapackage-digest.json"}
    problems += [f"{name} is in the zip but not in datapackage.json" for name in sorted(members - set(listed))]
    problems += [f"{name} is in datapackage.json but not in the zip" for name in sorted(set(listed) - members)]
    for name in sorted(members & set(listed)):
        sha256, size = hashlib.sha256(), 0
        with package.open(name) as member:
            while chunk := member.read(_COPY_CHUNK):
                sha256.update(chunk)
                size += len(chunk)
        if listed[name].get("hash") != "sha256:" + sha256.hexdigest():
            problems.append(f"{name}: SHA-256 differs from datapackage.json")
        if listed[name].get("bytes") != size:
            problems.append(f"{name}: {size} bytes, datapackage.json says {listed[name].get('bytes')}")
    return problems


def _check_index(package: zipfile.ZipFile, lines: list[CdxjLine]) -> list[str]:
    problems = []
    members = {info.filename: info for info in package.infolist()}
    with open(package.filename, "rb") as raw:
        for line in lines:
            info = members.get("archive/" + line.filename)
            if info is None:
                problems.append(f"index line for {line.url} names {line.filename}, not in the package")
                continue
            if info.compress_type != zipfile.ZIP_STORED:
                continue  # reported by _check_members; a reader could not seek into it either
            # Seek in the zip file itself, as a WACZ reader does with a range request:
            # a zip member stream would re-read from its start on every backward seek.
            try:
                raw.seek(_member_data_start(raw, info) + line.offset)
                record = next(iter(ArchiveIterator(raw)))
                url = record.rec_headers.get_header("WARC-Target-URI")
            except Exception as exc:  # warcio: ArchiveLoadFailed, zlib errors, StopIteration
                url = f"no record ({exc!r})"
            if url != line.url:
                problems.append(f"index line for {line.url} opens {url} at {line.filename}:{line.offset}")
    return problems


def _member_data_start(raw, info: zipfile.ZipInfo) -> int:
    """Offset in the zip file of a member's first data byte (after its local file header)."""
    raw.seek(info.header_offset)
    header = raw.read(30)
    if header[:4] != b"PK\x03\x04":
        raise PackageError(f"{info.filename}: no local file header at {info.header_offset}")
    name_length, extra_length = int.from_bytes(header[26:28], "little"), int.from_bytes(header[28:30], "little")
    return info.header_offset + 30 + name_length + extra_length


def _check_pages(package: zipfile.ZipFile, lines: list[CdxjLine]) -> list[str]:
    problems = []
    captures = {(line.url, line.timestamp) for line in lines
                if line.fields.get("mime") == "warc/revisit" or line.fields.get("status", "").isdigit()}
    rows = package.read(PAGES_PATH).decode("utf-8").splitlines()
    try:
        header, pages = json.loads(rows[0]) if rows else {}, [json.loads(row) for row in rows[1:] if row.strip()]
    except ValueError as exc:
        return [f"{PAGES_PATH} is not JSON lines: {exc}"]
    if "format" not in header:
        problems.append(f"{PAGES_PATH} does not open with a header line naming its format")
    for page in pages:
        if not page.get("url") or not page.get("ts"):
            problems.append(f"page without url or ts: {page}")
            continue
        try:
            moment = datetime.fromisoformat(page["ts"].replace("Z", "+00:00")).astimezone(timezone.utc)
        except ValueError:
            problems.append(f"page {page['url']}: ts {page['ts']!r} is not an RFC 3339 date")
            continue
        if (page["url"], moment.strftime("%Y%m%d%H%M%S")) not in captures:
            problems.append(f"page {page['url']} at {page['ts']} has no response or revisit line in the index")
    return problems
