"""A server run as a subprocess on a loopback port: pywb for replay, Datasette for browsing.

Both are other programs (pywb even in its own virtualenv), so each runs in a
session of its own: ``stop`` ends it and anything it spawned, and a Ctrl-C meant
for newsarchive reaches it only through ``stop``. ``start`` returns once the
server answers HTTP, or raises with the end of its log.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from archive.errors import NewsArchiveError

DEFAULT_HOST = "127.0.0.1"


def free_port(host: str = DEFAULT_HOST) -> int:
    """A port nobody listens on right now (for tests and ``--port 0``)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class LoopbackService:
    """Subclasses name the program, its readiness probe and how to prepare its command."""

    name = "server"
    error: type[NewsArchiveError] = NewsArchiveError
    ready_path = "/"  # answers 200 once the server is up

    def __init__(self, *, host: str = DEFAULT_HOST, port: int = 0, startup_timeout: float = 60.0):
        self.host = host
        self.port = port or free_port(host)
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen | None = None
        self._run_dir: tempfile.TemporaryDirectory | None = None
        self._log = None

    def prepare(self, run_dir: Path) -> list[str]:
        """Write what the server needs into ``run_dir``; return its command line."""
        raise NotImplementedError

    @property
    def log_path(self) -> Path | None:
        return Path(self._run_dir.name) / f"{self.name.lower()}.log" if self._run_dir else None

    def log_tail(self, chars: int = 3000) -> str:
        path = self.log_path
        return path.read_text(errors="replace")[-chars:] if path is not None and path.exists() else ""

    def start(self, *, foreground_output: bool = False):
        self._run_dir = tempfile.TemporaryDirectory(prefix=f"newsarchive-{self.name.lower()}-")
        try:
            command = self.prepare(Path(self._run_dir.name))
            if foreground_output:
                stdout = stderr = None
            else:
                self._log = open(self.log_path, "wb")
                stdout, stderr = self._log, subprocess.STDOUT
            self.process = subprocess.Popen(command, cwd=self._run_dir.name, stdout=stdout, stderr=stderr,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        except OSError as exc:
            self._cleanup()
            raise self.error(f"cannot start {self.name}: {exc.strerror}") from None
        except BaseException:
            self._cleanup()
            raise
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        probe = f"http://{self.host}:{self.port}{self.ready_path}"
        while True:
            if self.process.poll() is not None:
                raise self.error(f"{self.name} exited with status {self.process.returncode} on start:\n"
                                 f"{self.log_tail()}")
            try:
                with urllib.request.urlopen(probe, timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            if time.monotonic() > deadline:
                raise self.error(f"{self.name} did not answer on {self.host}:{self.port} within "
                                 f"{self.startup_timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(0.1)

    def wait(self) -> int:
        """Block until the server exits (the CLI's foreground mode)."""
        assert self.process is not None
        return self.process.wait()

    def stop(self) -> None:
        """End the server's process group: SIGTERM, then SIGKILL after 10 s. Safe to call twice."""
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

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
