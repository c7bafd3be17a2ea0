"""What an incremental re-crawl saves: requests and time against the first crawl of a site.

Run by hand:  /work/venv/bin/python benchmarks/recrawl.py [--articles 1000] [--site kk] [--history-urls 100000]

One demo site (``crawler.demo.portal``, in this process, on loopback) with N
articles is crawled three times into one fresh data directory by
``python -m crawler.cli crawl`` (politeness off: no delays, 4 requests at a
time), each crawl its own process:

1. the first crawl (nothing archived yet: a full crawl);
2. the same site unchanged: the incremental re-crawl;
3. after the site published 20 new articles: how many requests it takes and
   how many of the 20 the catalog then holds.

Requests are counted at the server (robots.txt included). Wall time is the
crawl process's life, startup included; CPU is user+sys of the crawl and its
extraction workers (``RUSAGE_CHILDREN``). With ``--history-urls``, it also
times loading the crawl history (``CrawlHistory.load``) from a synthetic
catalog of that many article URLs with two captures each.
"""

from __future__ import annotations

import argparse
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from archive.catalog import Catalog  # noqa: E402
from crawler.demo.portal import DemoPortal  # noqa: E402
from crawler.incremental import CrawlHistory  # noqa: E402

POLITENESS_OFF = ["-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0",
                  "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=4", "-s", "CONCURRENT_REQUESTS=8"]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_crawl(portal, site, data: Path) -> dict:
    portal.reset_log()
    cpu, wall = children_cpu(), time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "crawler.cli", "crawl", site.start_url, "--data", str(data),
                             *POLITENESS_OFF], capture_output=True, text=True, cwd=REPO)
    if result.returncode != 0:
        raise SystemExit(f"crawl failed:\n{result.stderr[-3000:]}")
    return {"requests": len(portal.requests(site.id)), "wall": time.perf_counter() - wall,
            "cpu": children_cpu() - cpu}


def history_load(urls: int, directory: Path) -> tuple[float, float]:
    """Wall and CPU seconds of CrawlHistory.load over ``urls`` article URLs (two captures each)."""
    path = directory / "catalog.db"
    Catalog(path).close()
    site = "https://big.example.kz"
    db = sqlite3.connect(path)
    db.executemany(
        "INSERT INTO captures (url, status, content_type, fetched_at, warc_filename, warc_offset, warc_length,"
        " record_id, payload_digest, crawl_id, record_type, etag, last_modified)"
        " VALUES (?, 200, 'text/html', ?, 'a.warc.gz', ?, 10, ?, 'sha1:X', ?, 'response', ?, ?)",
        ((f"{site}/ru/novosti/{n}.html", fetched_at, 2 * n + k, f"<urn:uuid:{k}-{n}>", f"crawl-{k}", f'"{n}-{k}"',
          "Sun, 01 Nov 2026 10:00:00 GMT")
         for n in range(urls) for k, fetched_at in enumerate(("2026-10-01T10:00:00Z", "2026-11-01T10:00:00Z"))))
    db.executemany("INSERT INTO articles (url, published, warc_filename, warc_offset, warc_length)"
                   " VALUES (?, '2026-09-01', 'a.warc.gz', 0, 10)",
                   ((f"{site}/ru/novosti/{n}.html",) for n in range(urls)))
    db.commit()
    db.close()
    cpu, wall = time.process_time(), time.perf_counter()
    history = CrawlHistory.load(path, [site], exclude_crawl="this-crawl")
    history.due_articles(datetime.now(timezone.utc))
    assert len(history) == urls
    return time.perf_counter() - wall, time.process_time() - cpu


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--site", choices=("kk", "ru", "en"), default="kk")
    parser.add_argument("--new", type=int, default=20, help="articles published before the third crawl")
    parser.add_argument("--history-urls", type=int, default=0, help="also time loading a history this big")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="newsarchive-incremental-") as tmp:
        data = Path(tmp) / "data"
        with DemoPortal(articles_per_site=args.articles) as portal:
            site = portal.sites[args.site]
            first = timed_crawl(portal, site, data)
            unchanged = timed_crawl(portal, site, data)
            new = site.publish_articles(args.new)
            after_new = timed_crawl(portal, site, data)
        with Catalog(data / "catalog.db", read_only=True) as catalog:
            caught = sum(1 for expected in new if catalog.article(expected.url) is not None)
        history = history_load(args.history_urls, Path(tmp)) if args.history_urls else None

    print(f"\n## Incremental re-crawl: demo site {args.site!r}, {args.articles} articles, loopback\n")
    print("| crawl | requests | vs first | wall s | CPU s |")
    print("|---|---:|---:|---:|---:|")
    for name, run in (("first (full)", first), ("unchanged re-crawl", unchanged),
                      (f"after {args.new} new articles", after_new)):
        print(f"| {name} | {run['requests']} | {run['requests'] / first['requests']:.1%} | "
              f"{run['wall']:.1f} | {run['cpu']:.1f} |")
    print(f"\nnew articles catalogued by the third crawl: {caught} of {args.new}")
    goal = "met" if unchanged["requests"] < 0.05 * first["requests"] else "MISSED"
    print(f"goal (unchanged re-crawl < 5% of the first crawl's requests): {goal}")
    if history is not None:
        print(f"history load of {args.history_urls:,} article URLs (2 captures each): "
              f"{history[0]:.2f} s wall, {history[1]:.2f} s CPU")


if __name__ == "__main__":
    main()
