"""How fast newsarchive crawls, and what archiving and extraction cost over Scrapy alone.

Run by hand:  /work/venv/bin/python benchmarks/crawl.py [--articles 300] [--rounds 1] [--modes full,archive,...]

The demo portal (``python -m crawler.demo.portal``) serves N articles per site
(kk, ru, en) on loopback in its own process, so its CPU is not counted. Each
mode crawls all three sites as a subprocess in a fresh directory, politeness
off (robots.txt still obeyed, no delays, 8 requests at a time per site, 32 in
all):

- ``full``:    ``python -m crawler.cli crawl`` (WARC + extraction + catalog)
- ``archive``: the same with ``--no-extract``
- ``scrapy``:  benchmarks/fetch_only_spider.py, Scrapy following every
               in-scope link with nothing else to do: Scrapy's own cost
- ``scrapy-gated``: the same with at most 8 requests in flight per origin, as
               newsarchive has (stock Scrapy 2.19 overshoots its per-slot
               limit; see fetch_only_spider.py). The ratios are against this
               one when it ran: it differs from newsarchive only in the work
               newsarchive adds
- ``wget``:    ``wget --recursive --warc-file`` (one connection, no parsing
               beyond links), skipped when wget is not on PATH
- ``extract``: ``archive.extract.extract`` alone in this process over the
               portal's article pages, fetched first: the one-core limit

Pages are responses of every status, robots.txt included: ``captures`` rows
for newsarchive, ``downloader/response_count`` for Scrapy, WARC response
records for wget. CPU is user+sys of the whole process tree from
``getrusage(RUSAGE_CHILDREN)``; this process becomes a child subreaper, so the
extraction pool's forkserver and workers are counted even when they outlive
their parent. Peak RSS is the largest sum of RSS over the tree, sampled every
0.1 s (shared copy-on-write pages are counted in every process, so it
overstates memory a little). The main process's own CPU (``wait4``) shows how
close the reactor thread came to a full core, the crawl's ceiling. Other load
is the CPU the rest of the machine used meanwhile: on a shared machine it says
how far to trust the wall times. Linux only.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import platform
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import urlopen

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SPIDER = REPO / "benchmarks" / "fetch_only_spider.py"
SAMPLE_INTERVAL = 0.1
PR_SET_CHILD_SUBREAPER = 36
MODES = ("full", "archive", "scrapy", "scrapy-gated", "wget", "extract")
# Loopback and ours: no politeness to keep, except robots.txt.
FAST = {"ROBOTSTXT_OBEY": "True", "AUTOTHROTTLE_ENABLED": "False", "DOWNLOAD_DELAY": "0",
        "CONCURRENT_REQUESTS_PER_DOMAIN": "8", "CONCURRENT_REQUESTS": "32"}
# What crawler/settings.py sets that Scrapy's defaults do not, so the baseline crawls alike. Not its
# DEPTH_LIMIT: without sitemaps, the spider reaches older articles only through long link chains.
FETCH_ONLY_PARITY = {"LOG_LEVEL": "WARNING", "COOKIES_ENABLED": "False",
                     "TELNETCONSOLE_ENABLED": "False", "DOWNLOAD_FAIL_ON_DATALOSS": "False"}
WGET_EXPECTED_CODES = (0, 8)  # 8: some responses were errors; the portal has deliberate 404s


@dataclass
class Run:
    mode: str
    wall: float  # seconds
    cpu: float  # user+sys seconds, whole process tree
    peak_rss: int  # bytes
    peak_processes: int
    returncode: int
    main_cpu: float  # of the command's own process (Scrapy's reactor thread and its helpers)
    portal_cpu: float  # seconds the portal spent serving this run
    other_cpu: float  # seconds every other process on the machine used meanwhile
    pages: int = 0
    articles: int | None = None

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.wall if self.wall else 0.0

    @property
    def cpu_ms_per_page(self) -> float:
        return 1000 * self.cpu / self.pages if self.pages else 0.0

    @property
    def utilisation(self) -> float:
        return self.cpu / self.wall if self.wall else 0.0

    @property
    def main_utilisation(self) -> float:
        """1.0: the main process (the reactor, for Scrapy) kept a whole core busy, the crawl's ceiling."""
        return self.main_cpu / self.wall if self.wall else 0.0

    @property
    def other_load(self) -> float:
        """Cores busy with work not ours (other users of the machine) during the run."""
        return self.other_cpu / self.wall if self.wall else 0.0


# -- the portal ---------------------------------------------------------------

class Portal:
    """The demo portal in its own process; ``start_urls`` maps site id to start URL."""

    def __init__(self, articles: int):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "crawler.demo.portal", "--articles", str(articles)],
            cwd=REPO, stdout=subprocess.PIPE, text=True)
        self.start_urls: dict[str, str] = {}
        for line in self.process.stdout:
            if line.startswith("Serving"):
                break
            site_id, url, *_ = line.split()
            self.start_urls[site_id] = url
        if len(self.start_urls) != 3:
            self.stop()
            raise SystemExit(f"demo portal did not start (got {self.start_urls})")

    def stop(self) -> None:
        # SIGTERM, not Ctrl-C: a shell's background job would have SIGINT ignored.
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# -- measuring a process tree -------------------------------------------------

def become_subreaper() -> None:
    """Orphaned grandchildren (the pool's forkserver) are re-parented here, so we reap and count them."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


def _tree(me: psutil.Process, portal: psutil.Process) -> list[psutil.Process]:
    try:
        return [p for p in me.children(recursive=True) if p.pid != portal.pid]
    except psutil.Error:
        return []


def _reap_leftovers(me: psutil.Process, portal: psutil.Process) -> None:
    for child in me.children():
        if child.pid == portal.pid:
            continue
        try:
            child.wait(timeout=30)
        except psutil.TimeoutExpired:
            print(f"  warning: {child.pid} {child.name()} outlived its crawl by 30 s; killed", file=sys.stderr)
            child.kill()
            child.wait()
        except psutil.NoSuchProcess:
            pass


def _busy_cpu() -> float:
    """CPU seconds the whole machine has spent busy since boot."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def measure(mode: str, argv: list[str], cwd: Path, log_path: Path, portal: psutil.Process) -> Run:
    """Run ``argv`` to the end: wall time, CPU of its whole tree, peak tree RSS, and the machine's other load."""
    me = psutil.Process()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy_before, portal_before, me_before = _busy_cpu(), _cpu(portal), _cpu(me)
    peak_rss = peak_processes = 0
    with open(log_path, "wb") as log:
        start = time.perf_counter()
        process = subprocess.Popen(argv, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        while True:
            # wait4, not poll(): the main process's own rusage, apart from the orphans reaped below.
            pid, status, main_usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                process.returncode = os.waitstatus_to_exitcode(status)
                break
            tree = _tree(me, portal)
            rss = 0
            for member in tree:
                try:
                    rss += member.memory_info().rss
                except psutil.Error:
                    pass
            peak_rss, peak_processes = max(peak_rss, rss), max(peak_processes, len(tree))
            time.sleep(SAMPLE_INTERVAL)
        wall = time.perf_counter() - start
    _reap_leftovers(me, portal)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    portal_cpu, own_cpu = _cpu(portal) - portal_before, _cpu(me) - me_before
    other_cpu = max(0.0, _busy_cpu() - busy_before - cpu - portal_cpu - own_cpu)
    main_cpu = main_usage.ru_utime + main_usage.ru_stime
    return Run(mode, wall, cpu, peak_rss, peak_processes, process.returncode, main_cpu, portal_cpu, other_cpu)


# -- the modes ------------------------------------------------------------------

def _settings_args(settings: dict) -> list[str]:
    return [arg for name, value in settings.items() for arg in ("-s", f"{name}={value}")]


def run_newsarchive(mode: str, urls: list[str], work: Path, portal: psutil.Process) -> Run:
    data = work / "data"
    argv = [sys.executable, "-m", "crawler.cli", "crawl", *urls, "--data", str(data), *_settings_args(FAST)]
    if mode == "archive":
        argv.append("--no-extract")
    run = measure(mode, argv, REPO, work / "log.txt", portal)
    with sqlite3.connect(data / "catalog.db") as catalog:
        run.pages = catalog.execute("select count(*) from captures").fetchone()[0]
        run.articles = catalog.execute("select count(*) from articles").fetchone()[0]
    return run


def run_fetch_only(mode: str, urls: list[str], work: Path, portal: psutil.Process) -> Run:
    stats_file = work / "stats.json"
    settings = {**FAST, **FETCH_ONLY_PARITY, "FETCH_ONLY_ORIGIN_GATE": str(mode == "scrapy-gated")}
    argv = [sys.executable, "-m", "scrapy", "runspider", str(SPIDER), "-a", "start_urls=" + " ".join(urls),
            "-a", f"stats_file={stats_file}", *_settings_args(settings)]
    run = measure(mode, argv, work, work / "log.txt", portal)  # cwd without scrapy.cfg: no project settings
    run.pages = json.loads(stats_file.read_text()).get("downloader/response_count", 0)
    return run


def run_wget(urls: list[str], work: Path, portal: psutil.Process) -> Run:
    from warcio.archiveiterator import ArchiveIterator

    argv = ["wget", "--recursive", "--level=inf", "--no-verbose", "-e", "robots=on",
            f"--warc-file={work / 'wget'}", f"--directory-prefix={work / 'mirror'}", *urls]
    run = measure("wget", argv, work, work / "log.txt", portal)
    with open(work / "wget.warc.gz", "rb") as warc:
        run.pages = sum(1 for record in ArchiveIterator(warc) if record.rec_type == "response")
    return run


def extraction_ms_per_page(start_urls: dict[str, str], articles: int) -> tuple[float, int]:
    """Mean CPU ms of ``extract`` (as the pipeline calls it) over the portal's article pages, warm, one core.

    CPU time, not wall time, so that other load on the machine does not inflate it.
    """
    from archive.extract import extract
    from crawler.demo.sites import SITE_CLASSES
    from crawler.settings import NEWSARCHIVE_TIMEZONE

    pages = []
    for site_id, start_url in start_urls.items():
        base = "{0.scheme}://{0.netloc}".format(urlsplit(start_url))
        for expected in SITE_CLASSES[site_id](base, articles).expected_articles:
            with urlopen(expected.url) as response:
                pages.append((response.read(), response.url, dict(response.headers)))
    extract(*pages[0], timezone=NEWSARCHIVE_TIMEZONE)  # imports and caches warm
    start = time.process_time()
    for body, url, headers in pages:
        extract(body, url, headers, timezone=NEWSARCHIVE_TIMEZONE)
    return 1000 * (time.process_time() - start) / len(pages), len(pages)


def run_mode(mode: str, urls: list[str], work: Path, portal: psutil.Process) -> Run:
    if mode in ("full", "archive"):
        return run_newsarchive(mode, urls, work, portal)
    if mode in ("scrapy", "scrapy-gated"):
        return run_fetch_only(mode, urls, work, portal)
    return run_wget(urls, work, portal)


# -- the report -----------------------------------------------------------------

LABELS = {"full": "newsarchive (WARC + extract + catalog)", "archive": "newsarchive --no-extract",
          "scrapy": "Scrapy fetch-only spider", "scrapy-gated": "Scrapy fetch-only, 8 per origin",
          "wget": "wget --recursive --warc-file"}


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if a and b else "–"


def markdown_table(runs: dict[str, Run]) -> str:
    baseline = "scrapy-gated" if "scrapy-gated" in runs else "scrapy"
    scrapy, wget = runs.get(baseline), runs.get("wget")
    lines = ["| mode | pages | wall s | pages/s | CPU s | CPU ms/page | CPU/wall | peak RSS MB "
             f"| pages/s ÷ {baseline} | pages/s ÷ wget | CPU/page ÷ {baseline} | CPU/page ÷ wget "
             "| main process CPU/wall | other load (cores) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for mode, run in runs.items():
        lines.append(
            f"| {LABELS[mode]} | {run.pages} | {run.wall:.1f} | {run.pages_per_second:.0f} | {run.cpu:.1f} "
            f"| {run.cpu_ms_per_page:.2f} | {run.utilisation:.2f} | {run.peak_rss / 2**20:.0f} "
            f"| {_ratio(run.pages_per_second, scrapy and scrapy.pages_per_second)} "
            f"| {_ratio(run.pages_per_second, wget and wget.pages_per_second)} "
            f"| {_ratio(run.cpu_ms_per_page, scrapy and scrapy.cpu_ms_per_page)} "
            f"| {_ratio(run.cpu_ms_per_page, wget and wget.cpu_ms_per_page)} "
            f"| {run.main_utilisation:.2f} | {run.other_load:.2f} |")
    return "\n".join(lines)


def machine() -> str:
    import scrapy
    import trafilatura

    wget_version = "no wget"
    if shutil.which("wget"):
        wget_version = subprocess.run(["wget", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    return (f"{os.cpu_count()} logical cores ({psutil.cpu_count(logical=False)} physical), "
            f"{platform.processor() or platform.machine()}, Linux {platform.release()}; "
            f"Python {platform.python_version()}, Scrapy {scrapy.__version__}, "
            f"trafilatura {trafilatura.__version__}, {wget_version.rstrip('.')}; "
            "load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))


def print_run(run: Run) -> None:
    articles = f", {run.articles} articles catalogued" if run.articles is not None else ""
    print(f"  {run.pages} pages in {run.wall:.1f} s = {run.pages_per_second:.0f} pages/s; "
          f"CPU {run.cpu:.1f} s (main process {run.main_cpu:.1f} s) = {run.cpu_ms_per_page:.2f} ms/page, "
          f"CPU/wall {run.utilisation:.2f}; "
          f"peak RSS {run.peak_rss / 2**20:.0f} MB over up to {run.peak_processes} processes{articles}; "
          f"portal {run.portal_cpu:.1f} CPU s, other users {run.other_load:.2f} cores", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=300, help="articles per demo site (default 300)")
    parser.add_argument("--modes", default=",".join(MODES), help=f"comma-separated, of {','.join(MODES)}")
    parser.add_argument("--rounds", type=int, default=1,
                        help="run every mode this many times, interleaved, and keep each mode's fastest run "
                             "(for a machine with other load)")
    parser.add_argument("--keep", action="store_true", help="keep each mode's data directory and log")
    args = parser.parse_args(argv)
    modes = [mode.strip() for mode in args.modes.split(",") if mode.strip()]
    if unknown := set(modes) - set(MODES):
        parser.error(f"unknown modes {sorted(unknown)}")
    if "wget" in modes and not shutil.which("wget"):
        print("wget skipped: wget is not on PATH")
        modes.remove("wget")

    become_subreaper()
    root = Path(tempfile.mkdtemp(prefix="newsarchive-bench-"))
    portal = Portal(args.articles)
    portal_process = psutil.Process(portal.process.pid)
    urls = list(portal.start_urls.values())
    print(f"N = {args.articles} articles per site; portal: {' '.join(urls)}")
    print(machine(), flush=True)
    runs: dict[str, Run] = {}
    extraction = None
    try:
        for round_number in range(1, args.rounds + 1):
            for mode in modes:
                print(f"\n[{mode}, round {round_number}]", flush=True)
                if mode == "extract":
                    ms, count = extraction_ms_per_page(portal.start_urls, args.articles)
                    print(f"  {ms:.1f} CPU ms/page over {count} article pages, one core")
                    extraction = min(extraction or (ms, count), (ms, count))
                    continue
                work = root / f"{mode}-{round_number}"
                work.mkdir()
                run = run_mode(mode, urls, work, portal_process)
                if run.returncode not in (WGET_EXPECTED_CODES if mode == "wget" else (0,)):
                    print(f"  exit code {run.returncode}; log: {work / 'log.txt'}")
                    args.keep = True
                print_run(run)
                if mode not in runs or run.wall < runs[mode].wall:
                    runs[mode] = run
    finally:
        portal.stop()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)

    best = f", fastest of {args.rounds} rounds" if args.rounds > 1 else ""
    print(f"\n## Crawl benchmark: {args.articles} articles per site x 3 sites, loopback{best}\n")
    print(machine() + "\n")
    if runs:
        print(markdown_table(runs))
    if extraction:
        ms, count = extraction
        cores = os.cpu_count() or 1
        print(f"\nExtraction alone (`archive.extract.extract`, one process, warm): {ms:.1f} CPU ms/page over "
              f"{count} article pages = {1000 / ms:.0f} pages/s per core; ideal on {cores} cores: "
              f"{cores * 1000 / ms:.0f} pages/s if every page were an article.")
    if args.keep:
        print(f"\nData directories and logs kept in {root}")


if __name__ == "__main__":
    main()
