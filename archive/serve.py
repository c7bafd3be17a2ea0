"""Browse the catalog in Datasette: read-only, described, faceted, searchable.

Datasette runs as a subprocess (``python -m datasette``) of the same Python, so
``newsarchive serve`` can be stopped cleanly and tests can start the real
server on a free loopback port. The catalog is opened the way Datasette opens
a mutable database, ``mode=ro``: it sees rows a running crawl commits, and it
cannot write. (``immutable`` would ignore the WAL a crawl is still writing.)
Datasette's own write paths are closed too: no plugins are loaded and the
metadata lets nobody but SQL ``SELECT`` through.

The metadata is generated from archive.catalog.SCHEMA_DOC and
archive.migrations.VIEW_DOC, so the column descriptions Datasette shows are the
ones the README documents.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from archive.catalog import SCHEMA_DOC
from archive.errors import NewsArchiveError
from archive.migrations import EXTRA_COLUMN_DOC, VIEW_DOC
from archive.service import DEFAULT_HOST, LoopbackService

DEFAULT_PORT = 8001
SQL_TIME_LIMIT_MS = 5000
TABLE_TITLES = {
    "articles": "Articles: one row per article (its latest capture)",
    "article_versions": "Article versions: every text an article has had, oldest first",
    "article_sightings": "Article sightings: every capture of an article",
    "captures": "Captures: every archived HTTP response",
    "crawls": "Crawls",
    "errors": "Fetch errors",
    "meta": "Catalog settings",
    "sites": "Sites and their regions",
}

TABLE_DESCRIPTIONS = {
    "article_versions": "A new version is kept when the title, published date or text of an article changes; "
                        "each points at the first capture that showed it. `newsarchive history URL` shows the "
                        "differences between them.",
    "article_sightings": "Every capture judged an article, with a digest of what it showed: equal digests in a row "
                         "are one version. A page whose layout changed but whose article did not is a sighting, "
                         "not a version.",
}


class ServeError(NewsArchiveError):
    """Datasette cannot be found or started."""


def datasette_metadata(database: str = "catalog") -> dict:
    """Datasette metadata for a catalog served under the name ``database``."""
    tables: dict[str, dict] = {}
    for table, columns in SCHEMA_DOC.items():
        tables[table] = {"title": TABLE_TITLES.get(table, table),
                         "columns": {**columns, **EXTRA_COLUMN_DOC.get(table, {})}}
    tables["sites"] = {"title": TABLE_TITLES["sites"], "columns": EXTRA_COLUMN_DOC["sites"]}
    tables["articles"].update({
        "description": "Search titles and texts with the search box (FTS5: word, prefix*, \"a phrase\").",
        "facets": ["site", "language", "month"],
        "fts_table": "articles_fts",
        "fts_pk": "rowid",
        "searchmode": "raw",
        "sort_desc": "published",
        "label_column": "title",
    })
    tables["captures"].update({"facets": ["status", "record_type"], "sort_desc": "fetched_at"})
    for table, description in TABLE_DESCRIPTIONS.items():
        tables[table].update({"description": description, "sort_desc": "fetched_at"})
    tables["articles_fts"] = {"hidden": True}
    for suffix in ("config", "data", "docsize", "idx"):
        tables[f"articles_fts_{suffix}"] = {"hidden": True}
    for view, description in VIEW_DOC.items():
        tables[view] = {"title": view.replace("_", " ").capitalize(), "description": description}
    tables["articles_by_site_month"]["facets"] = ["site", "language"]
    return {
        "title": "newsarchive catalog",
        "description": "Articles archived from regional news sites, each pointing at the WARC record it "
                       "came from. Read-only.",
        "databases": {database: {"tables": tables}},
    }


class DatasetteServer(LoopbackService):
    """Datasette serving one catalog on ``host:port`` until :meth:`stop`; a context manager too."""

    name = "Datasette"
    error = ServeError
    ready_path = "/-/versions.json"

    def __init__(self, catalog_path: str | os.PathLike, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                 startup_timeout: float = 60.0):
        super().__init__(host=host, port=port, startup_timeout=startup_timeout)
        self.catalog_path = Path(catalog_path).resolve()

    @property
    def database(self) -> str:
        return self.catalog_path.stem

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def command(self, metadata_path: Path) -> list[str]:
        return [
            sys.executable, "-m", "datasette", "serve", str(self.catalog_path),
            "--host", self.host, "--port", str(self.port), "--metadata", str(metadata_path),
            "--setting", "sql_time_limit_ms", str(SQL_TIME_LIMIT_MS),
            "--setting", "allow_download", "off",  # the catalog file is not offered as a download
            "--setting", "default_page_size", "50",
        ]

    def prepare(self, run_dir: Path) -> list[str]:
        try:
            import datasette  # noqa: F401
        except ImportError:
            raise ServeError("Datasette is not installed: pip install 'newsarchive[serve]'") from None
        metadata = run_dir / "metadata.json"
        metadata.write_text(json.dumps(datasette_metadata(self.database), ensure_ascii=False, indent=2),
                            encoding="utf-8")
        return self.command(metadata)

