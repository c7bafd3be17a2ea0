"""``newsarchive crawl --processes N``: one crawl's sites split over N child crawl processes.

Why processes: a crawl's reactor thread is CPU-bound at about one core, so on
a machine with more cores one crawl process cannot use them (in archive-only
mode the extraction pool is idle too). Each child is an ordinary
``newsarchive crawl`` of its share of the seeds, started and reaped by the
scheduler's child-process code (:func:`crawler.scheduler.spawn_crawl`,
:class:`crawler.scheduler.LocalCrawl`), with

- its own crawl id, ``<id>-p<k>``, so each part is a ``crawls`` row that
  ``--resume`` can continue and the catalog counts on its own;
- its own WARC files, ``newsarchive-p<k>-...warc.gz`` (the worker id in the
  name, as Scrapyd nodes and Redis workers have), in the same data directory;
- the same catalog (SQLite in WAL mode, as the scheduler's parallel crawls);
- an extraction pool of ``cores // N`` workers, so N children together use
  the cores rather than N x cores.

Sites are split by host (name and port, whatever the scheme): every seed of
a host goes to one child, so each host's politeness (its request gate,
robots.txt and Crawl-delay) lives in one process. Hosts are dealt to the child
with the fewest hosts so far (then the fewest seeds), largest first.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import sqlite3
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

from crawler.scheduler import LocalCrawl, Outcome, spawn_crawl

PART_ID = re.compile(r"(?P<group>.+)-p(?P<number>\d+)")
_LIVE_COUNTS = {  # what the progress line shows while children run (their rows are written in batches)
    "pages": "SELECT count(*) FROM captures WHERE crawl_id = ?",
    "articles": "SELECT count(*) FROM articles WHERE crawl_id = ?",
    "errors": "SELECT count(*) FROM errors WHERE crawl_id = ?",
}


def host_key(url: str) -> str:
    """The host a seed belongs to: name and explicit port; http and https of one host are one host."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return f"{host}:{parts.port}" if parts.port else host


def split_seeds(urls: list[str], processes: int) -> list[list[str]]:
    """The seeds in at most ``processes`` shares, never one host in two, balanced by hosts then seeds."""
    by_host: dict[str, list[str]] = {}
    for url in urls:
        by_host.setdefault(host_key(url), []).append(url)
    shares: list[list[str]] = [[] for _ in range(max(1, min(processes, len(by_host))))]
    hosts = [0] * len(shares)
    for seeds in sorted(by_host.values(), key=len, reverse=True):  # stable: first seen first among equals
        target = min(range(len(shares)), key=lambda i: (hosts[i], len(shares[i]), i))
        shares[target].extend(seeds)
        hosts[target] += 1
    return shares


def split_budget(total: int, shares: list[list[str]]) -> list[int]:
    """A crawl-wide request limit (0: none) cut into per-share limits, in proportion to hosts."""
    if not total:
        return [0] * len(shares)
    weights = [len({host_key(url) for url in share}) for share in shares]
    limits = [max(1, total * weight // sum(weights)) for weight in weights]
    limits[0] += max(0, total - sum(limits))
    return limits


@dataclass(frozen=True)
class Part:
    """One child's share of a crawl."""

    number: int  # 1..N; also in its crawl id and its WARC file names
    crawl_id: str  # <group>-p<number>
    urls: list[str]
    resume: bool = False
    max_pages: int = 0

    @property
    def label(self) -> str:
        return f"p{self.number}"

    @property
    def hosts(self) -> str:
        """Its hosts for the log: the first, and how many more."""
        names = list(dict.fromkeys(host_key(url) for url in self.urls))
        return names[0] + (f" +{len(names) - 1}" if len(names) > 1 else "")


def new_group_id(now: datetime | None = None) -> str:
    """A split crawl's id, which its parts' ids extend: sortable by start time like every crawl id.

    Not :func:`crawler.spiders.news.new_crawl_id`, which would bring Scrapy into the parent
    (about 20 MB more, for a process that only waits on its children).
    """
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return f"{moment:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def plan_parts(group_id: str, urls: list[str], processes: int, max_pages: int = 0) -> list[Part]:
    """A new crawl's parts: ``group_id`` is the crawl id the parts' ids extend."""
    shares = split_seeds(urls, processes)
    return [Part(number, f"{group_id}-p{number}", share, max_pages=limit)
            for number, (share, limit) in enumerate(zip(shares, split_budget(max_pages, shares)), start=1)]


def parts_to_resume(catalog_path: Path, crawl_id: str, seeds: list[str]) -> list[Part] | None:
    """The unfinished parts of the split crawl ``crawl_id`` belongs to; None if it is not a part."""
    match = PART_ID.fullmatch(crawl_id)
    if match is None:
        return None
    import json

    from archive.catalog import Catalog

    group = match.group("group")
    with Catalog(catalog_path, read_only=True) as catalog:
        rows = list(catalog.db.query("select id, seeds from crawls where status != 'finished' and id like ? "
                                     "order by id", [f"{group}-p%"]))
    parts = [Part(int(m.group("number")), row["id"], json.loads(row["seeds"]), resume=True)
             for row in rows if (m := PART_ID.fullmatch(row["id"])) and m.group("group") == group]
    return parts or [Part(int(match.group("number")), crawl_id, seeds, resume=True)]


def extract_workers(processes: int, cores: int | None = None) -> int:
    """Extraction workers per child, so that the children together use the cores, at least one each."""
    return max(1, (cores or os.cpu_count() or 1) // max(1, processes))


def child_command(part: Part, data_dir: Path, settings: dict, site_budget: int = 0) -> list[str]:
    """The ``newsarchive crawl`` command line of one part (``settings``: Scrapy overrides, as JSON)."""
    import json

    command = [sys.executable, "-m", "crawler.cli", "crawl", *part.urls, "--data", str(data_dir),
               "--crawl-id", part.crawl_id, "--settings-json", json.dumps(settings, default=str)]
    if part.resume:
        command.append("--resume")
    if part.max_pages:
        command += ["--max-pages", str(part.max_pages)]
    if site_budget:
        command += ["--site-budget", str(site_budget)]
    return command


def part_settings(part: Part, overrides: dict, processes: int) -> dict:
    """The user's overrides for one child: its WARC prefix, its share of the cores, no live redraw of its own."""
    settings = dict(overrides)
    settings["NEWSARCHIVE_WARC_PREFIX"] = f"{overrides.get('NEWSARCHIVE_WARC_PREFIX') or 'newsarchive'}-{part.label}"
    settings.setdefault("NEWSARCHIVE_EXTRACT_WORKERS", extract_workers(processes))
    settings["NEWSARCHIVE_PROGRESS"] = False  # the parent draws one board for all
    return settings


@dataclass(frozen=True)
class PartOutcome:
    part: Part
    outcome: Outcome


class ParallelCrawl:
    """Run the parts as child processes until all end; see the module docstring.

    ``echo`` gets one line per event (a child started, ended, died); ``board``,
    when given, is called about once a second with the live counts of each part,
    and once more with ``final=True`` at the end (the CLI draws them on a terminal). SIGINT/SIGTERM are forwarded to the
    children once (each ends "interrupted"); a second one kills them.
    """

    def __init__(self, parts: list[Part], data_dir: Path, command_of: Callable[[Part], list[str]], *,
                 echo: Callable[[str], None] = print, board: Callable[[dict[str, dict], bool], None] | None = None,
                 poll_seconds: float = 0.2, board_seconds: float = 1.0):
        self.parts = parts
        self.data_dir = Path(data_dir)
        self.command_of = command_of
        self.echo = echo
        self.board = board
        self.poll_seconds, self.board_seconds = poll_seconds, board_seconds
        self.signals: list[int] = []

    def log_path(self, part: Part) -> Path:
        return self.data_dir / "logs" / "crawl" / f"{part.crawl_id}.log"

    def run(self) -> list[PartOutcome]:
        previous = {signum: signal.signal(signum, self._on_signal) for signum in (signal.SIGINT, signal.SIGTERM)}
        try:
            return self._run()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _on_signal(self, signum, frame) -> None:
        self.signals.append(signum)

    def _run(self) -> list[PartOutcome]:
        running: dict[str, tuple[Part, LocalCrawl]] = {}
        for part in self.parts:
            log_path = self.log_path(part)
            crawl = LocalCrawl(part.label, spawn_crawl(self.command_of(part), log_path), log_path)
            running[part.label] = (part, crawl)
            self.echo(f"{part.label}: started ({crawl.where}): {' '.join(part.urls)}")
        ended: list[PartOutcome] = []
        forwarded = 0
        next_board = time.monotonic()
        while running:
            if len(self.signals) > forwarded:
                forwarded = self._forward(running, forwarded)
            for label, (part, crawl) in list(running.items()):
                outcome = crawl.poll()
                if outcome is not None:
                    del running[label]
                    ended.append(PartOutcome(part, outcome))
                    self.echo(f"{label}: {outcome.line}")
            if self.board is not None and time.monotonic() >= next_board:
                self.board(self.live_counts(), False)
                next_board = time.monotonic() + self.board_seconds
            if running:
                time.sleep(self.poll_seconds)
        if self.board is not None:
            self.board(self.live_counts(), True)
        return sorted(ended, key=lambda ended_part: ended_part.part.number)

    def _forward(self, running: dict[str, tuple[Part, LocalCrawl]], forwarded: int) -> int:
        """The first signal stops the children cleanly; a second kills what is left."""
        name = signal.Signals(self.signals[-1]).name
        if forwarded == 0:
            self.echo(f"{name}: stopping {len(running)} crawl process(es) ({', '.join(running)}); "
                      "each ends \"interrupted\" (again to kill them)")
            for _, crawl in running.values():
                crawl.stop()
        else:
            self.echo(f"{name} again: killing {', '.join(running)}")
            for _, crawl in running.values():
                crawl.kill()
        return len(self.signals)

    def live_counts(self) -> dict[str, dict]:
        """Pages, articles and errors each part has in the catalog so far (empty before it exists)."""
        catalog = self.data_dir / "catalog.db"
        counts = {part.label: {name: 0 for name in _LIVE_COUNTS} for part in self.parts}
        if not catalog.exists():
            return counts
        try:
            with sqlite3.connect(f"file:{catalog}?mode=ro", uri=True, timeout=1) as conn:
                for part in self.parts:
                    counts[part.label] = {name: conn.execute(sql, [part.crawl_id]).fetchone()[0]
                                          for name, sql in _LIVE_COUNTS.items()}
        except sqlite3.Error:  # busy or mid-migration: the next redraw tries again
            pass
        return counts


def overall_status(outcomes: list[PartOutcome]) -> str:
    """finished when every part finished; failed when one failed (died); interrupted otherwise."""
    statuses = {ended.outcome.status for ended in outcomes}
    if statuses <= {"finished"}:
        return "finished"
    return "failed" if "failed" in statuses else "interrupted"
