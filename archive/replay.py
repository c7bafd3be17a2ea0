"""Replay the archive in a browser with pywb, run from its own virtual environment.

pywb 2.10.0 pins packages the crawler cannot share: ``pyOpenSSL<26.2`` (it would
downgrade the pyOpenSSL and cryptography Scrapy runs on), ``redis==2.10.6``
(scrapy-redis needs a modern client), ``werkzeug==3.1.7`` and gevent. So pywb
lives in a separate virtualenv and newsarchive starts its ``wayback`` command
as a subprocess, found in this order:

1. ``NEWSARCHIVE_PYWB``: the ``wayback`` executable, or a virtualenv holding it;
2. ``.venv-pywb`` in the current directory or in the newsarchive checkout
   (``.ci/run`` creates it: ``python3 -m venv .venv-pywb && .venv-pywb/bin/pip
   install pywb==2.10.0``);
3. ``wayback`` on ``PATH``.

Nothing is downloaded at run time. pywb reads the WARC files where they are and
the per-WARC CDXJ indexes of ``<data>/indexes`` (a directory of sorted
``.cdxj`` files, so an index added while it runs is picked up on the next
lookup); its configuration is written to a temporary directory.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from archive.cdxj import indexes_dir
from archive.datadir import DataDir
from archive.errors import ReplayError
from archive.service import DEFAULT_HOST, LoopbackService, free_port  # noqa: F401 (free_port: API)

COLLECTION = "newsarchive"
PYWB_ENV = "NEWSARCHIVE_PYWB"
PYWB_VENV = ".venv-pywb"
PYWB_VERSION = "2.10.0"
DEFAULT_PORT = 8080
INSTALL_HINT = (f"python3 -m venv {PYWB_VENV} && {PYWB_VENV}/bin/pip install pywb=={PYWB_VERSION}"
                f" (or set {PYWB_ENV} to its wayback command)")
_CHECKOUT = Path(__file__).resolve().parent.parent


def find_wayback(env: dict | None = None) -> Path:
    """pywb's ``wayback`` command, from NEWSARCHIVE_PYWB, a ``.venv-pywb`` or PATH."""
    env = os.environ if env is None else env
    configured = env.get(PYWB_ENV)
    if configured:
        path = Path(configured).expanduser()
        if path.is_dir():
            path = path / "bin" / "wayback"
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise ReplayError(f"{PYWB_ENV}={configured} is not pywb's wayback command nor a virtualenv holding it")
    for base in (Path.cwd(), _CHECKOUT):
        candidate = base / PYWB_VENV / "bin" / "wayback"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("wayback", path=env.get("PATH"))
    if found:
        return Path(found)
    raise ReplayError(f"pywb is not installed; install it in its own virtualenv: {INSTALL_HINT}")


def pywb_config(data_dir: str | os.PathLike) -> dict:
    """The pywb configuration serving one data directory as the collection ``newsarchive``."""
    data = DataDir(data_dir)
    return {
        "collections": {
            COLLECTION: {
                "index_paths": str(indexes_dir(data.path).resolve()),
                # A prefix: pywb appends each index line's filename to it.
                "archive_paths": str(data.warc_dir.resolve()) + os.sep,
            }
        },
        "enable_memento": True,
        # Replay only what is archived: no live web, no recording, no proxy.
        "framed_replay": True,
    }


def write_config(data_dir: str | os.PathLike, run_dir: str | os.PathLike) -> Path:
    """Write ``config.yaml`` for pywb into ``run_dir`` (JSON is valid YAML; no YAML writer needed)."""
    path = Path(run_dir) / "config.yaml"
    path.write_text("# written by newsarchive replay\n" + json.dumps(pywb_config(data_dir), indent=2) + "\n",
                    encoding="utf-8")
    return path


class ReplayServer(LoopbackService):
    """pywb serving a data directory on ``host:port`` until :meth:`stop` (or the ``with`` block ends)."""

    name = "pywb"
    error = ReplayError
    ready_path = "/collinfo.json"

    def __init__(self, data_dir: str | os.PathLike, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                 wayback: str | os.PathLike | None = None, startup_timeout: float = 60.0):
        super().__init__(host=host, port=port, startup_timeout=startup_timeout)
        self.data = DataDir(data_dir)
        self.wayback = Path(wayback) if wayback else find_wayback()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/{COLLECTION}/"

    def replay_url(self, url: str, timestamp: str = "", *, identity: bool = False) -> str:
        """Where pywb replays ``url`` as of ``timestamp`` (14 digits; empty: the latest).

        ``identity`` asks for the archived bytes as they were (pywb's ``id_`` mode),
        without pywb's rewriting and banner.
        """
        modifier = timestamp + ("id_" if identity else "")
        return f"{self.base_url}{modifier}/{url}" if modifier else f"{self.base_url}{url}"

    def prepare(self, run_dir: Path) -> list[str]:
        if not self.data.warc_dir.is_dir():
            raise ReplayError(f"no WARC directory in {self.data.path}; crawl something first")
        indexes_dir(self.data.path).mkdir(parents=True, exist_ok=True)
        write_config(self.data.path, run_dir)
        return [str(self.wayback), "--bind", self.host, "--port", str(self.port)]
