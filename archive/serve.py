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
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from archive.catalog import SCHEMA_DOC
from archive.errors import NewsArchiveError
from archive.migrations import EXTRA_COLUMN_DOC, VIEW_DOC

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8001
SQL_TIME_LIMIT_MS = 5000
TABLE_TITLES = {
    "articles": "Articles: one row per article (its latest capture)",
    "captures": "Captures: every archived HTTP response",
    "crawls": "Crawls",
    "errors": "Fetch errors",
    "meta": "Catalog settings",
    "sites": "Sites and their regions",
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


class DatasetteServer:
    """Datasette serving one catalog on ``host:port`` until :meth:`stop`; a context manager too."""

    def __init__(self, catalog_path: str | os.PathLike, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                 startup_timeout: float = 60.0):
        self.catalog_path = Path(catalog_path).resolve()
        self.host = host
        self.port = port or _free_port(host)
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen | None = None
        self._run_dir: tempfile.TemporaryDirectory | None = None
        self._log = None

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

    def log_tail(self, chars: int = 3000) -> str:
        if self._run_dir is None:
            return ""
        path = Path(self._run_dir.name) / "datasette.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def start(self) -> "DatasetteServer":
        try:
            import datasette  # noqa: F401
        except ImportError:
            raise ServeError("Datasette is not installed: pip install 'newsarchive[serve]'") from None
        self._run_dir = tempfile.TemporaryDirectory(prefix="newsarchive-serve-")
        metadata = Path(self._run_dir.name) / "metadata.json"
        metadata.write_text(json.dumps(datasette_metadata(self.database), ensure_ascii=False, indent=2),
                            encoding="utf-8")
        self._log = open(Path(self._run_dir.name) / "datasette.log", "wb")
        self.process = subprocess.Popen(self.command(metadata), stdout=self._log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        probe = f"{self.base_url}-/versions.json"
        while True:
            if self.process.poll() is not None:
                raise ServeError(f"Datasette exited with status {self.process.returncode} on start:\n"
                                 f"{self.log_tail()}")
            try:
                with urllib.request.urlopen(probe, timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            if time.monotonic() > deadline:
                raise ServeError(f"Datasette did not answer on {self.host}:{self.port} within "
                                 f"{self.startup_timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(0.1)

    def wait(self) -> int:
        assert self.process is not None
        return self.process.wait()

    def stop(self) -> None:
        """End Datasette's process group (SIGTERM, SIGKILL after 10 s); safe to call twice."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            except ProcessLookupError:
                pass
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._run_dir is not None:
            self._run_dir.cleanup()
            self._run_dir = None

    def __enter__(self) -> "DatasetteServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def _free_port(host: str) -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]
