"""The layout of a data directory: ``warc/`` (the archive) and ``catalog.db`` (its index)."""

from __future__ import annotations

import os
from pathlib import Path

from archive.errors import DataDirError


class DataDir:
    """A data directory, checked to be usable before a crawl writes anything into it."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path).expanduser()

    @property
    def warc_dir(self) -> Path:
        return self.path / "warc"

    @property
    def catalog_path(self) -> Path:
        return self.path / "catalog.db"

    def prepare(self) -> "DataDir":
        """Create the directories, or say in one line why they cannot be used."""
        if self.path.exists() and not self.path.is_dir():
            raise DataDirError(f"data directory {self.path} is a file, not a directory")
        try:
            self.warc_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DataDirError(f"cannot create data directory {self.path}: {exc.strerror}") from exc
        for directory in (self.path, self.warc_dir):
            if not os.access(directory, os.W_OK | os.X_OK):
                raise DataDirError(f"data directory {directory} is not writable")
        return self

    def warc_files(self) -> list[Path]:
        """Closed WARC files, oldest first (names start with a timestamp)."""
        return sorted(self.warc_dir.glob("*.warc.gz"), key=lambda p: p.name.split("-", 1)[-1])


def fsync_directory(directory: str | os.PathLike) -> None:
    """Make a directory's entries (new or renamed files) durable; raises OSError."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
