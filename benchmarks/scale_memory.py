"""Peak memory of a whole crawl from 1,000 to 100,000 pages: does it stay flat?

Run by hand:  /work/venv/bin/python benchmarks/scale_memory.py [--pages 1000,10000,100000] [--modes archive,full]

Each size is a fresh portal of 4 demo sites (as in benchmarks/crawl.py, whose
portal, settings and measurement it uses: politeness off, peak RSS of the crawl's
whole process tree sampled every 0.1 s) with as many articles per site as give
about that many pages (every article brings ~4.75 pages: the article, its print
version, a legacy redirect, images, a PDF, broken links; every site ~11 more).
The largest size also records RSS against captures so far every 5 s, read from
the catalog beside the running crawl: the curve within one crawl. Memory does not
depend on the machine's other load the way wall time does, so this can run on a
busy machine; its pages/s cannot be compared with crawl.py's.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path[0] = str(REPO)  # not benchmarks/: a script there named like a package Twisted imports would shadow it

from benchmarks.crawl import (FAST, GOAL_RSS_MB, LABELS, Portal, Run, become_subreaper,  # noqa: E402
                              print_run, run_newsarchive)

SITES = 4
PAGES_PER_ARTICLE = 4.75
PAGES_PER_SITE = 11  # listings, tags, about, contacts, robots.txt, sitemap, feed
CURVE_POINTS = (1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000)
FLAT = 1.25  # "flat": the largest crawl's peak at most this many times the smallest's


def articles_for(pages: int, sites: int = SITES) -> int:
    return max(3, round((pages / sites - PAGES_PER_SITE) / PAGES_PER_ARTICLE))


def crawl(mode: str, target_pages: int, root: Path, curve: bool) -> Run:
    work = root / f"{mode}-{target_pages}"
    work.mkdir()
    portal = Portal(articles_for(target_pages), SITES, work)
    try:
        print(f"\n[{mode}, ~{target_pages} pages: {articles_for(target_pages)} articles x {SITES} sites]", flush=True)
        run = run_newsarchive(mode, list(portal.start_urls.values()), work, psutil.Process(portal.process.pid),
                              curve=curve)
    finally:
        portal.stop()
    print_run(run)
    if run.returncode:
        print(f"  exit code {run.returncode}; log: {work / 'log.txt'}")
    return run


def size_table(results: dict[str, list[tuple[int, Run]]]) -> str:
    lines = ["| mode | pages | articles | wall s | pages/s | peak RSS MB | peak ÷ smallest crawl's |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for mode, runs in results.items():
        smallest = runs[0][1].peak_rss
        for _, run in runs:
            lines.append(f"| {LABELS[mode]} | {run.pages} | {run.articles} | {run.wall:.0f} "
                         f"| {run.pages_per_second:.0f} | {run.peak_rss / 2**20:.0f} | {run.peak_rss / smallest:.2f} |")
    return "\n".join(lines)


def curve_table(mode: str, run: Run) -> str:
    """RSS when the catalog first held each milestone of captures, and the peak up to then."""
    lines = [f"| {LABELS[mode]}: captures so far | seconds | tree RSS then MB | peak so far MB |",
             "|---:|---:|---:|---:|"]
    peak, points = 0, [point for point in CURVE_POINTS if point <= run.pages]
    for seconds, pages, rss in run.samples:
        peak = max(peak, rss)
        while points and pages >= points[0]:
            lines.append(f"| {pages} | {seconds:.0f} | {rss / 2**20:.0f} | {peak / 2**20:.0f} |")
            points.pop(0)
    lines.append(f"| {run.pages} (end) | {run.wall:.0f} | – | {run.peak_rss / 2**20:.0f} |")
    return "\n".join(lines)


def verdicts(results: dict[str, list[tuple[int, Run]]]) -> list[str]:
    lines = []
    for mode, runs in results.items():
        smallest, largest = runs[0][1], runs[-1][1]
        ratio = largest.peak_rss / smallest.peak_rss
        worst = max(run.peak_rss for _, run in runs) / 2**20
        ok = ratio <= FLAT and worst < GOAL_RSS_MB
        lines.append(f"- {'PASS' if ok else 'FAIL'} {LABELS[mode]}: peak RSS {smallest.peak_rss / 2**20:.0f} MB at "
                     f"{smallest.pages} pages, {largest.peak_rss / 2**20:.0f} MB at {largest.pages} pages: "
                     f"ratio {ratio:.2f} (goal ≤ {FLAT}), largest peak {worst:.0f} MB (goal < {GOAL_RSS_MB})")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", default="1000,10000,100000", help="approximate crawl sizes, comma-separated")
    parser.add_argument("--modes", default="archive,full", help="archive and/or full")
    parser.add_argument("--keep", action="store_true", help="keep the data directories and logs")
    args = parser.parse_args(argv)
    sizes = sorted(int(size) for size in args.pages.split(","))
    modes = [mode.strip() for mode in args.modes.split(",") if mode.strip()]
    if set(modes) - {"archive", "full"}:
        parser.error("modes are archive and full")

    become_subreaper()
    root = Path(tempfile.mkdtemp(prefix="newsarchive-scale-"))
    print(f"settings: {FAST}", flush=True)
    results: dict[str, list[tuple[int, Run]]] = {mode: [] for mode in modes}
    try:
        for size in sizes:  # every mode at one size before the next size: the short runs come first
            for mode in modes:
                results[mode].append((size, crawl(mode, size, root, curve=size == sizes[-1])))
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)

    print(f"\n## Peak RSS against crawl size, {SITES} demo sites, loopback\n")
    print(size_table(results))
    for mode, runs in results.items():
        print(f"\nWithin the largest crawl ({LABELS[mode]}):\n")
        print(curve_table(mode, runs[-1][1]))
    print("\nGoal: peak RSS under 400 MB and flat from 1,000 to 100,000 pages\n")
    print("\n".join(verdicts(results)))
    if args.keep:
        print(f"\nData directories and logs kept in {root}")


if __name__ == "__main__":
    main()
