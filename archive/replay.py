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
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from archive.cdxj import indexes_dir
from archive.datadir import DataDir
from archive.errors import ReplayError

COLLECTION = "newsarchive"
PYWB_ENV = "NEWSARCHIVE_PYWB"
PYWB_VENV = ".venv-pywb"
PYWB_VERSION = "2.10.0"
DEFAULT_HOST = "127.0.0.1"
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


def free_port(host: str = DEFAULT_HOST) -> int:
    """A port nobody listens on right now (for tests and ``--port 0``)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class ReplayServer:
    """pywb serving a data directory on ``host:port`` until :meth:`stop` (or the ``with`` block ends).

    ``start`` returns once pywb answers HTTP, or raises ReplayError with the end
    of its log; ``stop`` always ends the process group it started.
    """

    def __init__(self, data_dir: str | os.PathLike, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                 wayback: str | os.PathLike | None = None, startup_timeout: float = 60.0):
        self.data = DataDir(data_dir)
        self.host = host
        self.port = port or free_port(host)
        self.wayback = Path(wayback) if wayback else find_wayback()
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen | None = None
        self._run_dir: tempfile.TemporaryDirectory | None = None
        self._log = None

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

    @property
    def log_path(self) -> Path | None:
        return Path(self._run_dir.name) / "pywb.log" if self._run_dir else None

    def log_tail(self, chars: int = 3000) -> str:
        path = self.log_path
        if path is None or not path.exists():
            return ""
        return path.read_text(errors="replace")[-chars:]

    def start(self, *, foreground_output: bool = False) -> "ReplayServer":
        if not self.data.warc_dir.is_dir():
            raise ReplayError(f"no WARC directory in {self.data.path}; crawl something first")
        indexes_dir(self.data.path).mkdir(parents=True, exist_ok=True)
        self._run_dir = tempfile.TemporaryDirectory(prefix="newsarchive-replay-")
        write_config(self.data.path, self._run_dir.name)
        command = [str(self.wayback), "--bind", self.host, "--port", str(self.port)]
        if foreground_output:
            stdout = stderr = None
        else:
            self._log = open(self.log_path, "wb")
            stdout, stderr = self._log, subprocess.STDOUT
        try:
            # A session of its own, so stop() can end pywb and anything it spawned, and a
            # Ctrl-C meant for the caller reaches pywb only through stop().
            self.process = subprocess.Popen(command, cwd=self._run_dir.name, stdout=stdout, stderr=stderr,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        except OSError as exc:
            self._cleanup()
            raise ReplayError(f"cannot start {self.wayback}: {exc.strerror}") from None
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        probe = f"http://{self.host}:{self.port}/collinfo.json"
        while True:
            if self.process.poll() is not None:
                raise ReplayError(f"pywb exited with status {self.process.returncode} on start:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(probe, timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            if time.monotonic() > deadline:
                raise ReplayError(f"pywb did not answer on {self.host}:{self.port} within "
                                  f"{self.startup_timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(0.1)

    def wait(self) -> int:
        """Block until pywb exits (the CLI's foreground mode)."""
        assert self.process is not None
        return self.process.wait()

    def stop(self) -> None:
        """End pywb's process group: SIGTERM, then SIGKILL after 10 s. Safe to call twice."""
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
        self._cleanup()

    def _cleanup(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._run_dir is not None:
            self._run_dir.cleanup()
            self._run_dir = None

    def __enter__(self) -> "ReplayServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
