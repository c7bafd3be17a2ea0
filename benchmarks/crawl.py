"""The reference benchmark (issue 6): newsarchive against wget, Scrapy and trafilatura, same run.

Run by hand:  /work/venv/bin/python benchmarks/crawl.py [--articles 1000] [--rounds 2] [--modes full,archive,...]

A portal of 4 demo sites x N articles (two DemoPortal instances: kk, ru, en and
a second kk) serves on loopback in its own process, so its CPU is not counted.
Each mode runs as a subprocess in a fresh directory, politeness off (robots.txt
still obeyed, no delays, 8 requests at a time per site, 32 in all):

- ``full``:    ``python -m crawler.cli crawl`` (WARC + extraction + catalog)
- ``archive``: the same with ``--no-extract``
- ``full-p2``, ``archive-p2``: the same with ``--processes 2`` (the sites split
               over two child crawls, each with half the extraction workers)
- ``scrapy``:  benchmarks/fetch_only_spider.py, Scrapy following every
               in-scope link with nothing else to do (not run by default: stock
               Scrapy 2.19 overshoots its per-slot limit, see fetch_only_spider.py)
- ``scrapy-gated``: baseline (b), the same with at most 8 requests in flight per
               origin, as newsarchive has: it differs from newsarchive only in
               the work newsarchive adds
- ``scrapy-lean``: the gated spider without Scrapy's defaults it has no use for
               (``FETCH_ONLY_LEAN``): how much of Scrapy's per-page cost is those
- ``wget``:    baseline (c), ``wget --recursive --warc-file``
- ``trafilatura``: baseline (a), trafilatura with defaults in one process over
               the article pages of wget's WARC: the extraction-bound limit
- ``wget+trafilatura``: what a user would otherwise script: wget, then the same
               extraction in a 2-process pool; its row sums both runs
- ``extract``: our ``archive.extract.extract`` in one process over the same pages

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
how far to trust the wall times. The report gives every round, the ratios
against (a), (b) and (c), and the issue's goals with PASS/FAIL. Linux only.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import multiprocessing
import os
import platform
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import psutil

REPO = Path(__file__).resolve().parent.parent
# Run as a script, benchmarks/ comes first on sys.path, where a script named like a package Scrapy or
# Twisted imports would shadow it (benchmarks/incremental.py once did): the repository goes there instead.
sys.path[0] = str(REPO)

SPIDER = REPO / "benchmarks" / "fetch_only_spider.py"
SAMPLE_INTERVAL = 0.1
PROBE_INTERVAL = 5.0
PROBE_PRINT_EVERY = 6  # samples: a line every 30 s
PR_SET_CHILD_SUBREAPER = 36
# Loopback and ours: no politeness to keep, except robots.txt.
# A site budget far above any size measured here (the default 20,000 per origin would cut a 100k crawl).
FAST = {"ROBOTSTXT_OBEY": "True", "AUTOTHROTTLE_ENABLED": "False", "DOWNLOAD_DELAY": "0",
        "CONCURRENT_REQUESTS_PER_DOMAIN": "8", "CONCURRENT_REQUESTS": "32", "NEWSARCHIVE_SITE_BUDGET": "1000000"}
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
    samples: list[tuple[float, int, int]] = field(default_factory=list)  # (seconds, pages so far, tree RSS then)

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.wall if self.wall else 0.0

    @property
    def articles_per_second(self) -> float:
        return self.articles / self.wall if self.wall and self.articles else 0.0

    @property
    def cpu_ms_per_article(self) -> float:
        return 1000 * self.cpu / self.articles if self.articles else 0.0

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
    """The demo sites in a process of their own; ``start_urls`` maps a site label to its start URL.

    DemoPortal serves three sites (kk, ru, en); more sites come from further
    instances on other ports (the 4th site is a second ``kk``, labelled ``kk2``).
    ``article_urls`` is the ground truth: every site's article URLs.
    """

    def __init__(self, articles: int, sites: int = 4, work: Path | None = None):
        self.article_list = Path(tempfile.mkstemp(prefix="newsarchive-articles-", suffix=".txt",
                                                  dir=work)[1])
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve-portal", "--articles", str(articles), "--sites", str(sites),
             "--article-list", str(self.article_list)],
            cwd=REPO, stdout=subprocess.PIPE, text=True)
        self.start_urls: dict[str, str] = {}
        for line in self.process.stdout:
            if line.startswith("Serving"):
                break
            label, url, *_ = line.split()
            self.start_urls[label] = url
        if len(self.start_urls) != sites:
            self.stop()
            raise SystemExit(f"demo portal did not start (got {self.start_urls})")
        self.article_urls = self.article_list.read_text().split()

    def stop(self) -> None:
        # SIGTERM, not Ctrl-C: a shell's background job would have SIGINT ignored.
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.article_list.unlink(missing_ok=True)


def serve_portal(articles: int, sites: int, article_list: Path) -> None:
    """The portal process: as many DemoPortal instances as ``sites`` needs, until terminated."""
    from crawler.demo.portal import DemoPortal

    portals = [DemoPortal(articles).start() for _ in range(-(-sites // 3))]
    chosen = []
    for number, portal in enumerate(portals, start=1):
        for site in portal.sites.values():
            chosen.append((site.id if number == 1 else f"{site.id}{number}", site))
    chosen = chosen[:sites]
    article_list.write_text("".join(f"{expected.url}\n" for _, site in chosen for expected in site.expected_articles))
    for label, site in chosen:
        print(label, site.start_url, flush=True)
    print("Serving", flush=True)
    parent = os.getppid()
    while os.getppid() == parent:  # not outliving a benchmark that died
        # The request log keeps every request's headers: a 100,000-page crawl would grow it by ~GB.
        time.sleep(5)
        for portal in portals:
            portal.reset_log()


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


def measure(mode: str, argv: list[str], cwd: Path, log_path: Path, portal: psutil.Process,
            probe: Callable[[], int] | None = None) -> Run:
    """Run ``argv`` to the end: wall time, CPU of its whole tree, peak tree RSS, and the machine's other load.

    With ``probe`` (pages done so far), the tree's RSS is also recorded against pages every
    PROBE_INTERVAL seconds: the memory curve of one long crawl.
    """
    me = psutil.Process()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy_before, portal_before, me_before = _busy_cpu(), _cpu(portal), _cpu(me)
    peak_rss = peak_processes = 0
    samples, next_probe = [], PROBE_INTERVAL
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
            elapsed = time.perf_counter() - start
            if probe and elapsed >= next_probe:
                samples.append((elapsed, probe(), rss))
                next_probe += PROBE_INTERVAL
                if len(samples) % PROBE_PRINT_EVERY == 0:  # a long crawl's curve survives its interruption
                    print(f"  {elapsed:.0f} s: {samples[-1][1]} captures, tree RSS {rss / 2**20:.0f} MB, "
                          f"peak so far {peak_rss / 2**20:.0f} MB", flush=True)
            time.sleep(SAMPLE_INTERVAL)
        wall = time.perf_counter() - start
    _reap_leftovers(me, portal)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    portal_cpu, own_cpu = _cpu(portal) - portal_before, _cpu(me) - me_before
    other_cpu = max(0.0, _busy_cpu() - busy_before - cpu - portal_cpu - own_cpu)
    main_cpu = main_usage.ru_utime + main_usage.ru_stime
    run = Run(mode, wall, cpu, peak_rss, peak_processes, process.returncode, main_cpu, portal_cpu, other_cpu)
    run.samples = samples
    return run


# -- the modes ------------------------------------------------------------------

def _settings_args(settings: dict) -> list[str]:
    return [arg for name, value in settings.items() for arg in ("-s", f"{name}={value}")]


def captures_probe(catalog: Path) -> Callable[[], int]:
    """Captures so far, read beside the running crawl (the catalog is in WAL mode: readers never block it)."""
    def captures() -> int:
        if not catalog.exists():
            return 0
        try:
            with closing(sqlite3.connect(f"file:{catalog}?mode=ro", uri=True, timeout=1)) as db:
                return db.execute("select count(*) from captures").fetchone()[0]
        except sqlite3.Error:
            return -1
    return captures


def run_newsarchive(mode: str, urls: list[str], work: Path, portal: psutil.Process, curve: bool = False,
                    extra_settings: dict[str, str] | None = None) -> Run:
    data = work / "data"
    argv = [sys.executable, "-m", "crawler.cli", "crawl", *urls, "--data", str(data),
            *_settings_args({**FAST, **(extra_settings or {})})]
    if mode.startswith("archive"):
        argv.append("--no-extract")
    if processes := PROCESSES_OF.get(mode):
        argv += ["--processes", str(processes)]
    probe = captures_probe(data / "catalog.db") if curve else None
    run = measure(mode, argv, REPO, work / "log.txt", portal, probe)
    with closing(sqlite3.connect(data / "catalog.db")) as catalog:
        run.pages = catalog.execute("select count(*) from captures").fetchone()[0]
        run.articles = catalog.execute("select count(*) from articles").fetchone()[0]
    return run


def run_fetch_only(mode: str, urls: list[str], work: Path, portal: psutil.Process,
                   extra_settings: dict[str, str] | None = None) -> Run:
    stats_file = work / "stats.json"
    settings = {**FAST, **FETCH_ONLY_PARITY, "FETCH_ONLY_ORIGIN_GATE": str(mode != "scrapy"),
                "FETCH_ONLY_LEAN": str(mode == "scrapy-lean"),
                **(extra_settings or {})}
    argv = [sys.executable, "-m", "scrapy", "runspider", str(SPIDER), "-a", "start_urls=" + " ".join(urls),
            "-a", f"stats_file={stats_file}", *_settings_args(settings)]
    run = measure(mode, argv, work, work / "log.txt", portal)  # cwd without scrapy.cfg: no project settings
    run.pages = json.loads(stats_file.read_text()).get("downloader/response_count", 0)
    return run


def run_wget(urls: list[str], work: Path, portal: psutil.Process, article_urls: list[str]) -> Run:
    from warcio.archiveiterator import ArchiveIterator

    argv = ["wget", "--recursive", "--level=inf", "--no-verbose", "-e", "robots=on",
            f"--warc-file={work / 'wget'}", f"--directory-prefix={work / 'mirror'}", *urls]
    run = measure("wget", argv, work, work / "log.txt", portal)
    wanted, articles = set(article_urls), set()
    with open(work / "wget.warc.gz", "rb") as warc:
        for record in ArchiveIterator(warc):
            if record.rec_type == "response":
                run.pages += 1
                if (url := record.rec_headers.get_header("WARC-Target-URI")) in wanted:
                    articles.add(url)
    run.articles = len(articles)
    return run


def run_extraction(mode: str, warc: Path, article_list: Path, work: Path, portal: psutil.Process) -> Run:
    """An extractor over the article pages of wget's WARC, as a script would run it after wget."""
    extractor, workers = EXTRACTION_MODES[mode]
    result = work / "result.json"
    argv = [sys.executable, __file__, "--extract-warc", str(warc), "--article-list", str(article_list),
            "--extractor", extractor, "--workers", str(workers), "--result", str(result)]
    run = measure(mode, argv, REPO, work / "log.txt", portal)
    if run.returncode == 0:
        counts = json.loads(result.read_text())
        run.pages = run.articles = counts["pages"]
        print(f"  {extractor} in {workers} process(es): text from {counts['extracted']} of {counts['pages']} "
              "article pages")
    return run


def combined(wget: Run, extraction: Run) -> Run:
    """wget, then the extraction script: what a user would otherwise run, end to end."""
    return Run("wget+trafilatura", wget.wall + extraction.wall, wget.cpu + extraction.cpu,
               max(wget.peak_rss, extraction.peak_rss), max(wget.peak_processes, extraction.peak_processes),
               extraction.returncode, wget.main_cpu + extraction.main_cpu, wget.portal_cpu + extraction.portal_cpu,
               wget.other_cpu + extraction.other_cpu, pages=wget.pages, articles=extraction.articles)


# -- extraction over a WARC (runs as a subprocess of the benchmark) -------------

_extract_one: Callable | None = None


def _load_extractor(name: str) -> None:
    """Set the per-page function before the pool forks, so workers inherit it warm."""
    global _extract_one
    if name == "trafilatura":
        import trafilatura

        def extract_one(page) -> bool:
            body, url, _headers = page
            return trafilatura.extract(body, url=url) is not None  # defaults: what a user would call
    else:
        from archive.extract import extract
        from crawler.settings import NEWSARCHIVE_TIMEZONE

        def extract_one(page) -> bool:
            return extract(*page, timezone=NEWSARCHIVE_TIMEZONE).is_article
    _extract_one = extract_one


def _extract_page(page) -> bool:
    return _extract_one(page)


def extract_warc(warc: Path, article_list: Path, extractor: str, workers: int, result: Path) -> None:
    """Each article URL's first 200 response in ``warc`` through ``extractor``, in ``workers`` processes."""
    from warcio.archiveiterator import ArchiveIterator

    wanted, seen, pages = set(article_list.read_text().split()), set(), []
    with open(warc, "rb") as stream:
        for record in ArchiveIterator(stream):
            if record.rec_type != "response":
                continue
            url = record.rec_headers.get_header("WARC-Target-URI")
            if url in wanted and url not in seen and record.http_headers.get_statuscode() == "200":
                seen.add(url)
                pages.append((record.content_stream().read(), url, dict(record.http_headers.headers)))
    _load_extractor(extractor)
    if workers == 1:
        results = [_extract_page(page) for page in pages]
    else:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            results = pool.map(_extract_page, pages, chunksize=8)
    result.write_text(json.dumps({"pages": len(pages), "extracted": sum(results)}))


# -- the report -----------------------------------------------------------------

LABELS = {"full": "newsarchive (WARC + extract + catalog)", "archive": "newsarchive --no-extract",
          "full-p2": "newsarchive --processes 2", "archive-p2": "newsarchive --processes 2 --no-extract",
          "scrapy": "Scrapy fetch-only spider", "scrapy-gated": "(b) Scrapy fetch-only, 8 per origin",
          "scrapy-lean": "Scrapy fetch-only, 8 per origin, lean",
          "wget": "(c) wget --recursive --warc-file", "trafilatura": "(a) trafilatura defaults, 1 process",
          "wget+trafilatura": "wget, then trafilatura defaults in 2 processes",
          "trafilatura-2": "trafilatura defaults, 2 processes (alone)",
          "extract": "our extract, 1 process"}
GOAL_RSS_MB = 400
GOAL_ARCHIVE_VS_WGET = 0.5


def _ratio(a: float, b: float | None) -> str:
    return f"{a / b:.2f}" if a and b else "–"


def markdown_table(runs: dict[str, Run]) -> str:
    lines = ["| mode | pages | articles | wall s | pages/s | CPU s | CPU ms/page | CPU/wall | peak RSS MB "
             "| main process CPU/wall | other load (cores) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for mode, run in runs.items():
        lines.append(
            f"| {LABELS[mode]} | {run.pages} | {'' if run.articles is None else run.articles} | {run.wall:.1f} "
            f"| {run.pages_per_second:.0f} | {run.cpu:.1f} | {run.cpu_ms_per_page:.2f} | {run.utilisation:.2f} "
            f"| {run.peak_rss / 2**20:.0f} | {run.main_utilisation:.2f} | {run.other_load:.2f} |")
    return "\n".join(lines)


def ratio_table(runs: dict[str, Run]) -> str:
    """Each mode against the baselines: (a) per article (the extraction-bound limit), (b) and (c) per page."""
    a, b, c = runs.get("trafilatura"), runs.get("scrapy-gated") or runs.get("scrapy"), runs.get("wget")
    lines = ["| mode | pages/s ÷ (b) | pages/s ÷ (c) | CPU/page ÷ (b) | CPU/page ÷ (c) | RSS ÷ (b) | RSS ÷ (c) "
             "| articles/s ÷ (a) | CPU/article ÷ (a) | RSS ÷ (a) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for mode, run in runs.items():
        lines.append(
            f"| {LABELS[mode]} | {_ratio(run.pages_per_second, b and b.pages_per_second)} "
            f"| {_ratio(run.pages_per_second, c and c.pages_per_second)} "
            f"| {_ratio(run.cpu_ms_per_page, b and b.cpu_ms_per_page)} "
            f"| {_ratio(run.cpu_ms_per_page, c and c.cpu_ms_per_page)} "
            f"| {_ratio(run.peak_rss, b and b.peak_rss)} | {_ratio(run.peak_rss, c and c.peak_rss)} "
            f"| {_ratio(run.articles_per_second, a and a.articles_per_second)} "
            f"| {_ratio(run.cpu_ms_per_article, a and a.cpu_ms_per_article)} "
            f"| {_ratio(run.peak_rss, a and a.peak_rss)} |")
    return "\n".join(lines)


def goals(runs: dict[str, Run]) -> list[str]:
    """The issue's goals, each a ratio of two runs of this invocation, with PASS or FAIL."""
    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    wget, script = runs.get("wget"), runs.get("wget+trafilatura")
    fulls = [run for mode, run in runs.items() if mode.startswith("full")]
    archives = [run for mode, run in runs.items() if mode.startswith("archive")]
    lines = []
    for full in fulls if script else []:
        ratio = full.wall / script.wall
        lines.append(f"- {verdict(ratio <= 1)} end-to-end: {LABELS[full.mode]} wall ÷ (wget, then trafilatura on "
                     f"2 cores) = {full.wall:.1f} s ÷ {script.wall:.1f} s = {ratio:.2f} (goal ≤ 1)")
    for archive in archives if wget else []:
        ratio = archive.pages_per_second / wget.pages_per_second
        lines.append(f"- {verdict(ratio >= GOAL_ARCHIVE_VS_WGET)} archive-only pages/s ({LABELS[archive.mode]}) "
                     f"÷ wget pages/s = {archive.pages_per_second:.0f} ÷ {wget.pages_per_second:.0f} = {ratio:.2f} "
                     f"(goal ≥ {GOAL_ARCHIVE_VS_WGET})")
    for run in (*fulls, *archives):
        if run:
            megabytes = run.peak_rss / 2**20
            lines.append(f"- {verdict(megabytes < GOAL_RSS_MB)} peak RSS of {LABELS[run.mode]}: "
                         f"{megabytes:.0f} MB ÷ {GOAL_RSS_MB} MB = {megabytes / GOAL_RSS_MB:.2f} (goal < 1); "
                         "flat from 1,000 to 100,000 pages: see benchmarks/scale_memory.py")
    return lines


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
    articles = f", {run.articles} articles" if run.articles is not None else ""
    print(f"  {run.pages} pages in {run.wall:.1f} s = {run.pages_per_second:.0f} pages/s; "
          f"CPU {run.cpu:.1f} s (main process {run.main_cpu:.1f} s) = {run.cpu_ms_per_page:.2f} ms/page, "
          f"CPU/wall {run.utilisation:.2f}; "
          f"peak RSS {run.peak_rss / 2**20:.0f} MB over up to {run.peak_processes} processes{articles}; "
          f"portal {run.portal_cpu:.1f} CPU s, other users {run.other_load:.2f} cores", flush=True)


def report(title: str, runs: dict[str, Run]) -> None:
    print(f"\n### {title}\n")
    print(markdown_table(runs))
    print("\nRatios against the baselines of the same invocation: (a) trafilatura defaults in one process over "
          "the article pages (per article), (b) the fetch-only Scrapy crawl, (c) wget (per page).\n")
    print(ratio_table(runs))
    print("\nGoals:\n")
    print("\n".join(goals(runs)) or "(none measured: needs full, archive, wget, wget+trafilatura)")


# -- running it all ---------------------------------------------------------------

EXTRACTION_MODES = {"trafilatura": ("trafilatura", 1), "wget+trafilatura": ("trafilatura", 2),
                    "extract": ("ours", 1)}
PROCESSES_OF = {"full-p2": 2, "archive-p2": 2}  # newsarchive modes run with --processes
MODES = ("full", "archive", "full-p2", "archive-p2", "scrapy", "scrapy-gated", "scrapy-lean", "wget", "trafilatura",
         "wget+trafilatura", "extract")
DEFAULT_MODES = tuple(mode for mode in MODES if mode != "scrapy")


def run_round(modes: list[str], portal: Portal, portal_process: psutil.Process, root: Path,
              round_number: int, wget_warc: Path | None,
              extra_settings: dict[str, str]) -> tuple[dict[str, Run], Path | None, bool]:
    """Every mode once; returns the runs, the WARC of this round's wget and whether any run failed."""
    runs: dict[str, Run] = {}
    urls = list(portal.start_urls.values())
    failed = False
    for mode in modes:
        print(f"\n[{mode}, round {round_number}]", flush=True)
        work = root / f"{mode.replace('+', '-')}-{round_number}"
        work.mkdir()
        if mode in ("full", "archive", *PROCESSES_OF):
            run = run_newsarchive(mode, urls, work, portal_process, extra_settings=extra_settings)
        elif mode in ("scrapy", "scrapy-gated", "scrapy-lean"):
            run = run_fetch_only(mode, urls, work, portal_process, extra_settings)
        elif mode == "wget":
            run = run_wget(urls, work, portal_process, portal.article_urls)
            wget_warc = work / "wget.warc.gz"
        else:
            run = run_extraction(mode, wget_warc, portal.article_list, work, portal_process)
        if run.returncode not in (WGET_EXPECTED_CODES if mode == "wget" else (0,)):
            print(f"  exit code {run.returncode}; log: {work / 'log.txt'}")
            failed = True
        print_run(run)
        if mode == "wget+trafilatura":
            runs["trafilatura-2"] = run
            if "wget" in runs:
                run = combined(runs["wget"], run)
                print(f"  with wget: {run.wall:.1f} s end to end")
        runs[mode] = run
    return runs, wget_warc, failed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=300, help="articles per demo site (default 300)")
    parser.add_argument("--sites", type=int, default=4, help="demo sites (default 4: kk, ru, en, kk2)")
    parser.add_argument("--modes", default=",".join(DEFAULT_MODES),
                        help=f"comma-separated, of {','.join(MODES)} (default: all but scrapy)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="run every mode this many times, interleaved; every round is reported, "
                             "then each mode's fastest run")
    parser.add_argument("--keep", action="store_true", help="keep each mode's data directory and log")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="an extra Scrapy setting for the crawl modes (newsarchive and the fetch-only spider), "
                             "e.g. to measure a change: --set CONCURRENT_ITEMS=4")
    # The benchmark's own subprocesses:
    parser.add_argument("--serve-portal", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--article-list", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--extract-warc", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--extractor", choices=("trafilatura", "ours"), help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_portal:
        return serve_portal(args.articles, args.sites, args.article_list)
    if args.extract_warc:
        return extract_warc(args.extract_warc, args.article_list, args.extractor, args.workers, args.result)

    modes = [mode.strip() for mode in args.modes.split(",") if mode.strip()]
    if unknown := set(modes) - set(MODES):
        parser.error(f"unknown modes {sorted(unknown)}")
    if not shutil.which("wget"):
        print("wget skipped, and the extraction modes that read its WARC: wget is not on PATH")
        modes = [mode for mode in modes if mode not in ("wget", *EXTRACTION_MODES)]
    elif set(modes) & set(EXTRACTION_MODES) and "wget" not in modes:
        modes.append("wget")  # the extraction modes read the pages from wget's WARC
    modes.sort(key=MODES.index)  # wget before the modes that read its WARC
    extra_settings = dict(setting.split("=", 1) for setting in args.set)

    become_subreaper()
    root = Path(tempfile.mkdtemp(prefix="newsarchive-bench-"))
    portal = Portal(args.articles, args.sites, root)
    portal_process = psutil.Process(portal.process.pid)
    print(f"N = {args.articles} articles per site x {args.sites} sites "
          f"({len(portal.article_urls)} articles); portal: {' '.join(portal.start_urls.values())}")
    rounds: list[dict[str, Run]] = []
    wget_warc = None
    try:
        print(machine(), flush=True)
        for round_number in range(1, args.rounds + 1):
            runs, wget_warc, failed = run_round(modes, portal, portal_process, root, round_number, wget_warc,
                                                extra_settings)
            rounds.append(runs)
            args.keep = args.keep or failed
    finally:
        portal.stop()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)

    print(f"\n## Crawl benchmark: {args.articles} articles per site x {args.sites} sites, loopback\n")
    print(machine())
    if extra_settings:
        print(f"Extra settings for the crawl modes: {extra_settings}")
    for number, runs in enumerate(rounds, start=1):
        report(f"Round {number} of {len(rounds)}", runs)
    if len(rounds) > 1:
        fastest: dict[str, Run] = {}
        for runs in rounds:
            for mode, run in runs.items():
                if mode not in fastest or run.wall < fastest[mode].wall:
                    fastest[mode] = run
        report(f"Each mode's fastest of {len(rounds)} rounds", fastest)
    if args.keep:
        print(f"\nData directories and logs kept in {root}")


if __name__ == "__main__":
    main()
