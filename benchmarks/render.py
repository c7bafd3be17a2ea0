"""What browser mode costs per page, against the plain crawl of the same portal.

Run by hand:  /work/venv/bin/python benchmarks/render.py [--articles 20] [--spa-articles 25]

Four crawls, each a subprocess into a fresh data directory, politeness off
except robots.txt and one request at a time per site (AUTOTHROTTLE off,
DOWNLOAD_DELAY=0):

- ``plain demo``:  the Kazakh site of the demo portal (crawler.demo.portal), plain crawl
- ``render demo``: the same site in browser mode (every HTML page loaded in Chromium)
- ``plain spa``:   the single-page portal (crawler.demo.spa): archives the shells, finds no article
- ``render spa``:  the single-page portal in browser mode

HTML pages are the catalog's captures of ``text/html`` documents (the pages
themselves, not their scripts, styles, images or JSON). CPU is user+sys of the
crawl's process tree (Chromium included) from ``getrusage(RUSAGE_CHILDREN)``;
peak RSS is the largest sum of RSS over the tree, sampled every 0.1 s. The
portals run in threads of this process, so their CPU is not counted. On a
shared machine wall times move with the other load; the ratio of two crawls
run back to back is the figure to quote.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from archive.catalog import Catalog
from crawler.demo.portal import DemoPortal
from crawler.demo.spa import SpaPortal

SETTINGS = {"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0, "LOG_LEVEL": "WARNING"}
CRAWL = """
import json, sys
from crawler.render import render_overrides
from crawler.runner import run_crawl
job = json.loads(sys.argv[1])
overrides = dict(job["settings"])
if job["render"]:
    overrides.update(render_overrides())
run_crawl(job["urls"], overrides)
"""


def peak_rss(process: subprocess.Popen, peak: list[int]) -> None:
    while process.poll() is None:
        try:
            root = psutil.Process(process.pid)
            tree = [root, *root.children(recursive=True)]
            peak[0] = max(peak[0], sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.1)


def run(label: str, urls: list[str], render: bool) -> dict:
    data = Path(tempfile.mkdtemp(prefix="render-bench-")) / "data"
    job = {"urls": urls, "render": render, "settings": {**SETTINGS, "NEWSARCHIVE_DATA_DIR": str(data)}}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-c", CRAWL, json.dumps(job)])
    peak = [0]
    sampler = threading.Thread(target=peak_rss, args=(process, peak), daemon=True)
    sampler.start()
    process.wait()
    wall = time.monotonic() - started
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    with Catalog(data / "catalog.db", read_only=True) as catalog:
        (pages,) = catalog.db.execute(
            "select count(*) from captures where content_type like 'text/html%'"
            " and record_type in ('response', 'revisit')").fetchone()
        (articles,) = catalog.db.execute("select count(*) from articles").fetchone()
        (captures,) = catalog.db.execute("select count(*) from captures").fetchone()
    warc_bytes = sum(path.stat().st_size for path in (data / "warc").glob("*.warc.gz"))
    return {"label": label, "wall": wall, "cpu": cpu, "rss_mb": peak[0] / 1e6, "pages": pages,
            "articles": articles, "captures": captures, "warc_kb": warc_bytes / 1e3}


def show(rows: list[dict]) -> None:
    print(f"{'crawl':<12} {'wall s':>7} {'cpu s':>7} {'peak MB':>8} {'pages':>6} {'articles':>8} "
          f"{'captures':>8} {'WARC kB':>8} {'s/page':>7} {'cpu/page':>8}")
    for row in rows:
        per_page = row["wall"] / row["pages"] if row["pages"] else float("nan")
        cpu_page = row["cpu"] / row["pages"] if row["pages"] else float("nan")
        print(f"{row['label']:<12} {row['wall']:7.1f} {row['cpu']:7.1f} {row['rss_mb']:8.0f} {row['pages']:6d} "
              f"{row['articles']:8d} {row['captures']:8d} {row['warc_kb']:8.0f} {per_page:7.2f} {cpu_page:8.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=20, help="articles of the demo portal's kk site")
    parser.add_argument("--spa-articles", type=int, default=25)
    args = parser.parse_args(argv)
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    rows = []
    with DemoPortal(articles_per_site=args.articles) as portal:
        start = [portal.sites["kk"].start_url]
        rows.append(run("plain demo", start, render=False))
        rows.append(run("render demo", start, render=True))
    with SpaPortal(articles=args.spa_articles) as spa:
        rows.append(run("plain spa", [spa.site.start_url], render=False))
        rows.append(run("render spa", [spa.site.start_url], render=True))
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    show(rows)
    plain, rendered = rows[0], rows[1]
    if plain["pages"] and rendered["pages"]:
        wall_ratio = (rendered["wall"] / rendered["pages"]) / (plain["wall"] / plain["pages"])
        cpu_ratio = (rendered["cpu"] / rendered["pages"]) / (plain["cpu"] / plain["pages"])
        print(f"browser mode / plain crawl, same portal, per HTML page: wall x{wall_ratio:.1f}, CPU x{cpu_ratio:.1f}")


if __name__ == "__main__":
    main()
