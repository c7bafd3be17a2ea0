"""Rebuilding the catalog from the WARC files alone: ``newsarchive reindex``.

The WARC files are the source of truth and the catalog an index over them, so
a lost, corrupt or outdated catalog is rebuilt by reading every record again:
one ``captures`` row per response or revisit record, one ``articles`` row per
page the crawl's own rules (archive.identity, archive.extract) accept, and one
``crawls`` row per crawl id named in the warcinfo records. The rows are the
ones the crawl wrote, column for column (apart from captures ids, and the
crawls' start, end and settings, which only the crawl knew exactly); article
versions and removal marks follow fetch time (archive.versions), so files read
out of time order give the crawl's versions too.

A browser-mode page is extracted as the crawl extracted it: from its rendered
DOM (the ``conversion`` record referring to the document's response record),
with the document's URL and headers, and its row points at the document's
response record. A record the browser made is never extracted by itself (the
crawl only extracted pages it rendered). The conversion is written after its
response, often further on or in the next file: the response's capture row is
kept (no body) until its conversion is read, so each file is read once. Where
the crawl took article fields from the site's API JSON, the rules are in the
warcinfo and the conversion names the JSON record (archive.apifields), which is
read again at its offset and mapped as the crawl mapped it.

Site templates (archive.template): every template record is read first (in
the pass that finds each file's readable extent), so each page is extracted
with its crawl's base template for its site and finished with its crawl's
final one, as the crawl did, and the ``site_templates`` rows are rebuilt.

Records are streamed; extraction runs in a process pool with a bounded number
of pages in flight, so memory stays flat whatever the archive's size. Results
are taken in the order pages were read, so the rebuilt catalog is the same on
every run. The new catalog is built beside the target and moved into place
only when complete: an interrupted reindex leaves the old catalog untouched.
"""

from __future__ import annotations

import os
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone as dt_timezone
from pathlib import Path
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.timeutils import iso_date_to_datetime

from archive import apifields
from archive.catalog import ARTICLE_FIELDS, SCHEMA_DOC, Catalog, article_row, utc_iso
from archive.datadir import DataDir
from archive.dates import DEFAULT_TIMEZONE
from archive.errors import CatalogError, DataDirError
from archive.extract import worker_pool
from archive.identity import canonical_elsewhere, is_html_page
from archive.template import RecordedTemplate, TEMPLATE_URN, TemplateSnapshot, restrip, site_of
from archive.warc import CAPTURE_HEADER, OPEN_SUFFIX
from archive.warcscan import WarcFormatError, scan_warc

PAGES_IN_FLIGHT_PER_WORKER = 4
_CAPTURE_COLUMNS = tuple(c for c in SCHEMA_DOC["captures"] if c != "id")


@dataclass
class ReindexReport:
    """What the rebuilt catalog holds and how long it took."""

    catalog: Path
    backup: Path | None = None
    files: int = 0
    records: int = 0
    captures: int = 0
    pages_extracted: int = 0
    articles: int = 0
    crawls: int = 0
    workers: int = 0
    seconds: float = 0.0
    worker_pids: set[int] = field(default_factory=set)
    skipped: list[str] = field(default_factory=list)  # files (or their tails) not read, and why

    @property
    def pages_per_second(self) -> float:
        return self.pages_extracted / self.seconds if self.seconds else 0.0


@dataclass
class _CrawlSeen:
    """A crawl as the WARC files show it: seeds and settings from warcinfo, first and last WARC-Date."""

    seeds: list[str]
    settings: dict
    first: datetime | None = None
    last: datetime | None = None

    def saw(self, moment: datetime) -> None:
        self.first = moment if self.first is None else min(self.first, moment)
        self.last = moment if self.last is None else max(self.last, moment)


@dataclass
class _Shell:
    """A browser-made document response waiting for the rendered DOM that refers to it."""

    capture: dict
    headers: dict[str, str]
    moment: datetime | None


@dataclass
class _RenderedPages:
    """What joins rendered DOMs to their documents and API JSON across records and files.

    ``shells``: document responses by record id, until their conversion is read;
    ``early``: conversions read before their response (files read out of order), by
    the record id they refer to, as (file, offset, the file's API rules);
    ``api_json``: JSON records an API rule matches, by record id: (file, offset) of a
    response, or the record id a revisit repeats.
    """

    shells: dict[str, _Shell] = field(default_factory=dict)
    early: dict[str, tuple[Path, int, list]] = field(default_factory=dict)
    api_json: dict[str, tuple[Path, int] | str] = field(default_factory=dict)

    def api_fields(self, record_id: str | None, rules: list) -> dict[str, str] | None:
        """The article fields the crawl took from JSON record ``record_id``, mapped by ``rules``."""
        where = self.api_json.get(record_id) if record_id else None
        for _ in range(8):  # a revisit names the response it repeats; never loop forever
            if not isinstance(where, str):
                break
            where = self.api_json.get(where)
        if where is None or isinstance(where, str):
            return None
        record_headers, body = _read_record_at(*where)
        return apifields.api_fields(rules, record_headers.get_header("WARC-Target-URI") or "", body)


class TemplateBook:
    """The site templates crawls recorded, looked up per page: (base, final) pair keys.

    A crawl that recorded no template of a site (killed before its close) extracted its pages
    with the latest earlier crawl's template and never finished them: (that, that).
    ``fallback(crawl_id)`` gives the bases known from elsewhere (the catalog's rows).
    """

    def __init__(self, fallback=None):
        self._recorded: dict[tuple[str, str], RecordedTemplate] = {}
        self._fallback = fallback
        self._fallbacks: dict[str, dict] = {}
        self.pointers: list[tuple[RecordedTemplate, tuple[str, int, int]]] = []

    def add(self, template: RecordedTemplate, pointer: tuple[str, int, int]) -> None:
        self._recorded.setdefault((template.crawl_id, template.site), template)
        self.pointers.append((template, pointer))

    def for_page(self, crawl_id: str | None, url: str | None) -> tuple[frozenset, frozenset] | None:
        if crawl_id is None:
            return None
        site = site_of(url)
        template = self._recorded.get((crawl_id, site))
        if template is not None:
            return template.base, template.final
        earlier = [t for (cid, s), t in self._recorded.items() if s == site and cid < crawl_id]
        if earlier:
            base = max(earlier, key=lambda t: t.crawl_id).final
        elif self._fallback is not None:
            if crawl_id not in self._fallbacks:
                self._fallbacks[crawl_id] = self._fallback(crawl_id)
            base = self._fallbacks[crawl_id].get(site, frozenset())
        else:
            base = frozenset()
        return base, base


def reindex(
    data_dir: str | os.PathLike,
    into: str | os.PathLike | None = None,
    *,
    workers: int = 0,
    timezone: str = DEFAULT_TIMEZONE,
    now: datetime | None = None,
    options_for=None,
) -> ReindexReport:
    """Rebuild the catalog of ``data_dir`` from its WARC files.

    Without ``into`` the new catalog replaces ``<data>/catalog.db``, the old one
    moved to ``catalog.db.bak-<UTC time>``; with ``into`` it is written there (a
    path that must not exist yet) and the old catalog is left alone.
    ``workers`` extraction processes, 0 for one per core. ``options_for(url)`` gives
    more ``extract`` keyword arguments per page (a site profile's, as the crawl used).
    """
    started = time.monotonic()
    data = DataDir(data_dir)
    if not data.warc_dir.is_dir():
        raise DataDirError(f"no WARC directory at {data.warc_dir}: nothing to reindex")
    target = Path(into).expanduser() if into is not None else data.catalog_path
    if into is not None and (target.exists() or target.is_symlink()):
        raise CatalogError(f"{target} exists; reindex writes a fresh catalog, give it a new path")
    building = target.with_name(target.name + ".reindexing")
    for stale in _sqlite_files(building):
        stale.unlink(missing_ok=True)  # left by an interrupted reindex

    workers = workers or os.cpu_count() or 1
    report = ReindexReport(catalog=target, workers=workers)
    catalog = Catalog(building, warc_dir=data.warc_dir, batch_size=500)
    try:
        for path in sorted(data.warc_dir.glob("*" + OPEN_SUFFIX)):
            report.skipped.append(f"{path.name}: still .open (newsarchive verify --repair finishes it)")
        book = TemplateBook()
        with worker_pool(workers) as pool:
            crawls = _index_files(data.warc_files(), catalog, pool, workers, timezone, report, options_for, book)
        catalog.finish_templates(book.pointers, finish_texts=False)
        for crawl_id, seen in sorted(crawls.items()):
            catalog.start_crawl(seen.seeds, seen.settings, crawl_id=crawl_id, now=seen.first)
            catalog.finish_crawl(crawl_id, "finished", now=seen.last)
        report.crawls = len(crawls)
        report.articles = catalog.counts()["articles"]
        catalog.close()
    except BaseException:
        catalog.close()
        for partial in _sqlite_files(building):
            partial.unlink(missing_ok=True)
        raise
    if into is None and target.exists():
        report.backup = target.with_name(f"{target.name}.bak-{utc_iso(now).replace('-', '').replace(':', '')}")
        _move_sqlite(target, report.backup)
    os.replace(building, target)
    report.seconds = time.monotonic() - started
    return report


# -- reading the WARC files -------------------------------------------------------------


def index_into(catalog: Catalog, files: list[Path], *, workers: int = 0,
               timezone: str = DEFAULT_TIMEZONE) -> ReindexReport:
    """Add the captures and articles of ``files`` to an existing catalog.

    Idempotent: a capture already indexed is kept (unique on file and offset)
    and an article row is replaced only by a later capture. Used to bring the
    catalog level with WARC records a killed crawl wrote but never indexed.
    """
    workers = workers or os.cpu_count() or 1
    report = ReindexReport(catalog=catalog.path, workers=workers)
    book = TemplateBook(fallback=catalog.site_template_bases)
    with worker_pool(workers) as pool:
        _index_files(files, catalog, pool, workers, timezone, report, book=book)
    catalog.finish_templates(book.pointers, finish_texts=False)
    catalog.flush()
    return report


def _index_files(files: list[Path], catalog: Catalog, pool, workers: int, timezone: str,
                 report: ReindexReport, options_for=None, book: TemplateBook | None = None) -> dict[str, _CrawlSeen]:
    crawls: dict[str, _CrawlSeen] = {}
    book = book if book is not None else TemplateBook()
    extents = {}
    for path in files:  # first every file's readable extent, and the template records the pages need
        readable, problem, template_records = _readable_extent(path)
        extents[path] = (readable, problem)
        name = path.name[: -len(OPEN_SUFFIX)] if path.name.endswith(OPEN_SUFFIX) else path.name
        for offset, length in template_records:
            try:
                book.add(RecordedTemplate.from_json(_read_record_at(path, offset)[1]), (name, offset, length))
            except (ValueError, KeyError, TypeError):
                report.skipped.append(f"{path.name}: template record at byte {offset} unreadable; not used")
    rendered = _RenderedPages()
    in_flight: deque = deque()
    limit = workers * PAGES_IN_FLIGHT_PER_WORKER

    def extract_later(capture: dict, body: bytes, url: str, headers: dict, moment, api_fields=None) -> None:
        report.pages_extracted += 1
        in_flight.append((capture, pool.submit(
            extract_row, body, url, headers, timezone, moment,
            options_for(url) if options_for else None, api_fields, book.for_page(capture["crawl_id"], url))))
        while len(in_flight) >= limit:
            _take_result(in_flight.popleft(), catalog, report)

    def extract_rendered(shell: _Shell, conversion_headers, dom: bytes, rules: list) -> None:
        api_fields = rendered.api_fields(conversion_headers.get_header(apifields.SOURCE_HEADER), rules)
        extract_later(shell.capture, dom, conversion_headers.get_header("WARC-Target-URI") or shell.capture["url"],
                      shell.headers, shell.moment, api_fields)

    for path in files:
        readable, problem = extents[path]
        if problem:
            report.skipped.append(f"{path.name}: {problem}; indexed up to byte {readable}"
                                  " (newsarchive verify names the problem)")
        if not readable:
            continue
        report.files += 1
        crawl_id, rules = None, []
        name = path.name[: -len(OPEN_SUFFIX)] if path.name.endswith(OPEN_SUFFIX) else path.name
        with open(path, "rb") as stream:
            records = ArchiveIterator(stream)
            for record in records:
                offset = records.offset
                if offset >= readable:
                    break  # warcio would hand over a record cut short as if it were whole
                report.records += 1
                kind = record.rec_type
                if kind == "warcinfo":
                    fields = _warcinfo_fields(record)
                    crawl_id = _note_warcinfo(fields, crawls) or crawl_id
                    rules = _api_rules(fields)
                    continue
                if kind == "conversion":
                    refers_to = record.rec_headers.get_header("WARC-Refers-To")
                    shell = rendered.shells.pop(refers_to, None)
                    if shell is not None:
                        extract_rendered(shell, record.rec_headers, record.content_stream().read(), rules)
                    elif refers_to:
                        rendered.early[refers_to] = (path, offset, rules)
                    continue
                if kind not in ("response", "revisit"):
                    continue
                moment = _warc_date(record)
                if crawl_id in crawls and moment is not None:
                    crawls[crawl_id].saw(moment)
                by_browser = (record.rec_headers.get_header(CAPTURE_HEADER) or "").startswith("browser")
                page = None if by_browser else _page_of(record, kind)
                length = records.get_record_length()  # reads the record to its end
                capture = _capture_row(record, kind, name, offset, length, moment, crawl_id)
                catalog.add_capture(capture)
                report.captures += 1
                if rules and apifields.rule_for(rules, capture["url"] or ""):
                    rendered.api_json[capture["record_id"]] = (
                        (path, offset) if kind == "response" else capture["refers_to"])
                if page is not None:
                    body, headers = page
                    extract_later(capture, body, capture["url"], headers, moment)
                elif by_browser and kind == "response" and capture["status"] == 200:
                    shell = _Shell(capture, _header_dict(record.http_headers), moment)
                    early = rendered.early.pop(capture["record_id"], None)
                    if early is None:
                        rendered.shells[capture["record_id"]] = shell
                    else:
                        conversion_path, conversion_offset, conversion_rules = early
                        extract_rendered(shell, *_read_record_at(conversion_path, conversion_offset),
                                         conversion_rules)
    while in_flight:
        _take_result(in_flight.popleft(), catalog, report)
    return crawls


def _warc_date(record) -> datetime | None:
    """WARC-Date in UTC (aware), or None when the record has none readable."""
    try:
        moment = iso_date_to_datetime(record.rec_headers.get_header("WARC-Date"))
    except (TypeError, ValueError):
        return None
    return moment.replace(tzinfo=dt_timezone.utc) if moment.tzinfo is None else moment.astimezone(dt_timezone.utc)


def _readable_extent(path: Path) -> tuple[int, str | None, list[tuple[int, int]]]:
    """(end of the last whole record, what is wrong after it or None, (offset, length) of each
    whole template record): only whole records are indexed."""
    end, templates = 0, []
    try:
        for record in scan_warc(path, check_digests=False):
            end = record.end if record.end is not None else end
            if (record.rec_type == "metadata" and record.length is not None
                    and (record.header("WARC-Target-URI") or "").startswith(TEMPLATE_URN)):
                templates.append((record.offset, record.length))
    except WarcFormatError as exc:
        return end, f"unreadable at byte {exc.offset}: {exc.message}", templates
    return end, None, templates


def _warcinfo_fields(record) -> dict[str, str]:
    """A warcinfo record's ``name: value`` lines; the first value of a name wins."""
    fields = {}
    for line in record.content_stream().read().decode("utf-8", "replace").splitlines():
        name, sep, value = line.partition(":")
        if sep:
            fields.setdefault(name.strip(), value.strip())
    return fields


def _api_rules(fields: dict[str, str]) -> list:
    """The API article rules a browser crawl wrote into its warcinfo (none when unreadable)."""
    recorded = fields.get(apifields.WARCINFO_FIELD)
    if not recorded:
        return []
    try:
        return apifields.rules_from_json(recorded)
    except (ValueError, TypeError, AttributeError):
        return []


def _read_record_at(path: Path, offset: int):
    """(WARC headers, content-decoded payload) of the record at ``offset``: one gzip member read."""
    with open(path, "rb") as stream:
        stream.seek(offset)
        record = next(iter(ArchiveIterator(stream)))
        return record.rec_headers, record.content_stream().read()


def _header_dict(http) -> dict[str, str]:
    """As the crawl's item saw them: one value per name, the last one winning."""
    return {name: value for name, value in http.headers} if http is not None else {}


def _note_warcinfo(fields: dict[str, str], crawls: dict[str, _CrawlSeen]) -> str | None:
    """The crawl id a warcinfo record names (``isPartOf``), noting its seeds and settings."""
    crawl_id = fields.get("isPartOf")
    if crawl_id and crawl_id not in crawls:
        description = fields.get("description", "")
        seeds = description.split(":", 1)[1].split() if description.startswith("seeds:") else []
        settings = {}
        if "http-header-user-agent" in fields:
            settings["USER_AGENT"] = fields["http-header-user-agent"]
        if "robots" in fields:
            settings["ROBOTSTXT_OBEY"] = fields["robots"] == "obey"
        crawls[crawl_id] = _CrawlSeen(seeds=seeds, settings=settings)
    return crawl_id


def _page_of(record, kind: str) -> tuple[bytes, dict[str, str]] | None:
    """(content-decoded body, headers) of a response the crawl would have extracted, else None.

    The crawl extracts every HTML 200 response its spider parses; a revisit repeats a
    payload already catalogued, and robots.txt never reaches the spider.
    """
    http = record.http_headers
    if kind != "response" or http is None or http.get_statuscode() != "200":
        return None
    if urlsplit(record.rec_headers.get_header("WARC-Target-URI") or "").path == "/robots.txt":
        return None
    content_type = http.get_header("Content-Type")
    if content_type and not is_html_page(200, content_type):
        return None
    body = record.content_stream().read()
    if not is_html_page(200, content_type, body[:512]):
        return None
    return body, _header_dict(http)


def _capture_row(record, kind: str, file_name: str, offset: int, length: int, moment: datetime | None,
                 crawl_id: str | None) -> dict:
    """The ``captures`` row the crawl wrote for this record (archive.warc.Capture + crawl id)."""
    rec, http = record.rec_headers, record.http_headers
    status = http.get_statuscode() if http is not None else None
    row = {
        "url": rec.get_header("WARC-Target-URI"),
        "status": int(status) if status and status.isdigit() else None,
        "content_type": http.get_header("Content-Type") if http is not None else None,
        "fetched_at": utc_iso(moment) if moment else None,
        "warc_filename": file_name,
        "warc_offset": offset,
        "warc_length": length,
        "record_id": rec.get_header("WARC-Record-ID"),
        "payload_digest": rec.get_header("WARC-Payload-Digest"),
        "truncated": rec.get_header("WARC-Truncated"),
        "crawl_id": crawl_id,
        "record_type": kind,
        "refers_to": rec.get_header("WARC-Refers-To"),
        "etag": http.get_header("ETag") if http is not None else None,
        "last_modified": http.get_header("Last-Modified") if http is not None else None,
    }
    return {column: row.get(column) for column in _CAPTURE_COLUMNS}


# -- extraction -------------------------------------------------------------------------


def extract_row(body: bytes, url: str, headers: dict, timezone: str, fetched: datetime | None,
                options: dict | None = None, api_fields: dict | None = None,
                templates: tuple[frozenset, frozenset] | None = None) -> tuple[int, dict | None]:
    """(worker pid, article fields) of one page, or None when the crawl would not catalogue it.

    Runs in a worker process. ``now`` is the fetch time, so "a date in the future"
    means what it meant when the crawl extracted the page. ``api_fields``: what a
    browser crawl read from the site's API JSON, which wins over the page (archive.apifields).
    ``templates``: the (base, final) site template of the page's crawl (archive.template):
    extracted with the base, the text finished with the final one, as the crawl did.
    """
    from archive.extract import extract

    options = {"timezone": timezone, **(options or {})}
    if templates is not None:
        options["template"] = TemplateSnapshot(templates[0])
    article = extract(body, url, headers, now=fetched, **options)
    if canonical_elsewhere(url, article.canonical_url):
        return os.getpid(), None
    if api_fields:
        article = apifields.apply_api_fields(article, api_fields, timezone)
    if not article.is_article:
        return os.getpid(), None
    fields = {name: getattr(article, name) for name in ARTICLE_FIELDS}
    if templates is not None:
        fields["text"] = restrip(article.text, article.template_removed, templates[1])
    return os.getpid(), fields


def _take_result(pending, catalog: Catalog, report: ReindexReport) -> None:
    capture, future = pending
    pid, fields = future.result()
    report.worker_pids.add(pid)
    if fields is not None:
        catalog.add_article(article_row(capture, fields))


# -- files ------------------------------------------------------------------------------


def _sqlite_files(path: Path) -> list[Path]:
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def _move_sqlite(source: Path, destination: Path) -> None:
    """Move a catalog with its WAL and shared-memory files, so no committed row is left behind."""
    for old, new in zip(_sqlite_files(source), _sqlite_files(destination)):
        if old.exists():
            os.replace(old, new)
