"""``newsarchive crawl --processes N`` on the loopback demo portal: real child crawls, WARCs, catalog, SIGKILL.

The ``split`` fixture crawls the three demo sites once in one process and once
in two (then a second, incremental time), each into its own data directory;
the ``killed`` fixture SIGKILLs one child of a two-process crawl mid-way, then
resumes the crawl; a SIGINT to the parent stops both children.
"""

import os
import pty
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.demo.portal import DemoPortal
from crawler.parallel import extract_workers, host_key, split_budget, split_seeds

LOOPBACK = ["-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2"]


def newsarchive(*args, timeout=240):
    return subprocess.run([sys.executable, "-m", "crawler.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def crawl(data, urls, *more):
    return newsarchive("crawl", *urls, "--data", data, *LOOPBACK, *more)


def query(data, sql, params=()):
    with sqlite3.connect(Path(data) / "catalog.db") as conn:
        return conn.execute(sql, params).fetchall()


def warc_responses(data):
    """WARC file name -> the target URIs of its response records, every file read through with warcio."""
    found = {}
    for path in sorted((Path(data) / "warc").glob("*.warc.gz")):
        with open(path, "rb") as stream:
            found[path.name] = [record.rec_headers.get_header("WARC-Target-URI")
                                for record in ArchiveIterator(stream) if record.rec_type == "response"]
    return found


def worker_of(warc_name):
    return re.match(r"newsarchive-(p\d+)-", warc_name).group(1)


def started_parts(stdout):
    """p1 -> (pid, its start URLs), from the parent's "p1: started (pid N): URL..." lines."""
    parts = {}
    for line in stdout.splitlines():
        if match := re.match(r"(p\d+): started \(pid (\d+)\): (.*)", line):
            parts[match.group(1)] = (int(match.group(2)), match.group(3).split())
    return parts


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    root = tmp_path_factory.mktemp("parallel")
    with DemoPortal(articles_per_site=12) as portal:
        urls = [site.start_url for site in portal.sites.values()]
        single = crawl(root / "one", urls)
        first = crawl(root / "two", urls, "--processes", 2)
        again = crawl(root / "two", urls, "--processes", 2)
    return {"one": root / "one", "two": root / "two", "single": single, "first": first, "again": again,
            "hosts": {host_key(url) for url in urls}}


def test_a_two_process_crawl_ends_with_one_summary_over_both(split):
    assert split["first"].returncode == 0, split["first"].stderr
    summary = [line for line in split["first"].stdout.splitlines() if line.startswith("crawl ")]
    assert len(summary) == 1 and re.match(r"crawl \S+ \(2 processes\): finished; \d+ responses archived", summary[0])
    pages = int(re.search(r"(\d+) responses", summary[0]).group(1))
    group = summary[0].split()[1]
    rows = query(split["two"], "select id, status, pages from crawls where id like ? order by id", [f"{group}-p%"])
    assert [(row[0], row[1]) for row in rows] == [(f"{group}-p1", "finished"), (f"{group}-p2", "finished")]
    assert pages == sum(row[2] for row in rows)


def first_crawl(data):
    """``like`` pattern of the first crawl's ids: its parts' in a split crawl (``<group>-p1``...), else its own."""
    first = query(data, "select min(id) from crawls")[0][0]
    return first.rsplit("-p", 1)[0] + "%"


def test_two_processes_archive_the_same_urls_as_one(split):
    sql = "select url from captures where crawl_id like ?"
    two = {url for (url,) in query(split["two"], sql, [first_crawl(split["two"])])}
    one = {url for (url,) in query(split["one"], sql, [first_crawl(split["one"])])}
    assert two == one


def test_two_processes_catalog_the_same_articles_as_one(split):
    sql = "select url, title, published, language from articles where crawl_id like ? order by url"
    one = query(split["one"], sql, [first_crawl(split["one"])])
    assert query(split["two"], sql, [first_crawl(split["two"])]) == one
    assert len(one) == 36  # 3 sites x 12 articles


def test_no_host_appears_in_two_processes_warcs(split):
    hosts_of = {}
    for name, urls in warc_responses(split["two"]).items():
        hosts_of.setdefault(worker_of(name), set()).update(host_key(url) for url in urls)
    assert sorted(hosts_of) == ["p1", "p2"]
    assert not hosts_of["p1"] & hosts_of["p2"]
    assert hosts_of["p1"] | hosts_of["p2"] == split["hosts"]


def test_a_second_split_crawl_is_incremental(split):
    assert split["again"].returncode == 0, split["again"].stderr
    first, second = (int(re.search(r"\(2 processes\): finished; (\d+) responses archived", result.stdout).group(1))
                     for result in (split["first"], split["again"]))
    assert second < first / 2


# -- a child killed mid-crawl ----------------------------------------------------------------


def start_split_crawl(portal, data):
    """A two-process crawl of the portal, running; and its first two lines (the children started)."""
    urls = [site.start_url for site in portal.sites.values()]
    parent = subprocess.Popen([sys.executable, "-m", "crawler.cli", "crawl", *urls, "--data", str(data),
                               "--processes", "2", *LOOPBACK], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return parent, parent.stdout.readline() + parent.stdout.readline()


@pytest.fixture(scope="module")
def killed(tmp_path_factory):
    data = tmp_path_factory.mktemp("killed") / "data"
    with DemoPortal(articles_per_site=12, latency=0.05) as portal:
        parent, started = start_split_crawl(portal, data)
        try:
            parts = started_parts(started)
            victim = next(label for label, (_, part_urls) in parts.items() if portal.sites["kk"].start_url in part_urls)
            deadline = time.monotonic() + 120
            while len(portal.requests("kk")) < 5 and time.monotonic() < deadline:
                time.sleep(0.01)
            os.kill(parts[victim][0], signal.SIGKILL)
            out, err = parent.communicate(timeout=240)
        finally:
            parent.kill()
        after_kill = {"articles": {url for (url,) in query(data, "select url from articles")},
                      "statuses": dict(query(data, "select id, status from crawls")), "warcs": warc_responses(data)}
        verify = newsarchive("verify", "--data", data)
        resumed = newsarchive("crawl", "--resume", "--data", data, *LOOPBACK)
        expected = {site_id: {article.url for article in site.expected_articles}
                    for site_id, site in portal.sites.items()}
    return {"data": data, "parent": parent, "out": started + out, "err": err, "parts": parts,
            "victim": victim, "expected": expected, "verify": verify, "resumed": resumed, **after_kill}


def test_a_killed_child_is_reported_in_one_line_and_the_parent_exits_non_zero(killed):
    reports = [line for line in killed["out"].splitlines() if "killed by SIGKILL" in line]
    assert len(reports) == 1 and reports[0].startswith(f"{killed['victim']}: FAILED (killed by SIGKILL)")
    assert killed["parent"].returncode == 1
    assert re.search(r"\(2 processes\): failed;", killed["out"])


def test_the_other_childs_sites_are_complete(killed):
    other_urls = next(urls for label, (_, urls) in killed["parts"].items() if label != killed["victim"])
    other_sites = [site_id for site_id in killed["expected"] if any(f"/{site_id}/" in url for url in other_urls)]
    assert other_sites
    for site_id in other_sites:
        assert killed["expected"][site_id] <= killed["articles"]


def test_after_the_kill_the_warcs_are_readable_and_the_catalog_consistent(killed):
    assert {worker_of(name) for name in killed["warcs"]} == {"p1", "p2"}
    assert not list((killed["data"] / "warc").glob("*.open"))
    assert killed["verify"].returncode == 0, killed["verify"].stdout + killed["verify"].stderr
    assert sorted(killed["statuses"].values()) == ["finished", "interrupted"]


def test_resume_continues_only_the_killed_part_and_completes_the_crawl(killed):
    resumed = killed["resumed"]
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert list(started_parts(resumed.stdout)) == [killed["victim"]]
    articles = {url for (url,) in query(killed["data"], "select url from articles")}
    assert set().union(*killed["expected"].values()) <= articles
    assert set(dict(query(killed["data"], "select id, status from crawls")).values()) == {"finished"}


# -- one board on a terminal ------------------------------------------------------------------


def test_on_a_terminal_the_parent_draws_one_board_with_a_line_per_child(tmp_path):
    main, terminal = pty.openpty()
    screen = bytearray()
    reader = threading.Thread(target=drain, args=(main, screen), daemon=True)
    with DemoPortal(articles_per_site=3) as portal:
        urls = [site.start_url for site in portal.sites.values()]
        reader.start()
        result = subprocess.run([sys.executable, "-m", "crawler.cli", "crawl", *urls, "--data", str(tmp_path / "d"),
                                 "--processes", "2", *LOOPBACK], stdout=subprocess.PIPE, stderr=terminal,
                                text=True, timeout=240)
    os.close(terminal)
    reader.join(timeout=10)
    drawn = screen.decode(errors="replace")
    assert result.returncode == 0
    final = drawn[drawn.rindex("crawled 2 sites"):].splitlines()
    assert [line.split()[0] for line in final[1:3]] == ["p1", "p2"]
    summary = next(line for line in result.stdout.splitlines() if line.startswith("crawl "))
    pages = int(re.search(r"(\d+) responses archived", summary).group(1))
    assert re.search(rf" {pages:,} pages", final[0])


def drain(fd, into):
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the terminal side closed
            return
        if not chunk:
            return
        into.extend(chunk)


# -- a signal to the parent ------------------------------------------------------------------


def test_sigint_is_forwarded_once_and_every_child_ends_interrupted(tmp_path):
    data = tmp_path / "data"
    with DemoPortal(articles_per_site=12, latency=0.2) as slow:
        parent, started = start_split_crawl(slow, data)
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not all(len(slow.requests(site)) >= 3 for site in ("kk", "ru")):
                time.sleep(0.05)  # both children fetch: Scrapy's own signal handlers are set
            parent.send_signal(signal.SIGINT)
            out, _ = parent.communicate(timeout=120)
        finally:
            parent.kill()
    assert len(started_parts(started)) == 2
    assert len([line for line in out.splitlines() if line.startswith("SIGINT: stopping 2 crawl process")]) == 1
    assert parent.returncode == 1
    assert re.search(r"\(2 processes\): interrupted;", out)
    assert sorted(dict(query(data, "select id, status from crawls")).values()) == ["interrupted", "interrupted"]


# -- refusals, splitting ---------------------------------------------------------------------


def test_processes_with_redis_is_refused_in_one_line(tmp_path):
    result = newsarchive("crawl", "http://127.0.0.1:9/news", "--data", tmp_path, "--processes", "2",
                         "--redis", "redis://127.0.0.1:9/0")
    assert result.returncode == 2
    assert "--processes and --redis do not combine" in result.stderr
    assert "Traceback" not in result.stderr


def test_seeds_of_one_host_stay_together_whatever_the_scheme():
    shares = split_seeds(["http://a.kz/kk", "https://b.kz/", "https://a.kz/ru", "http://c.kz:8080/"], 2)
    assert [sorted(host_key(url) for url in share) for share in shares] == [["a.kz", "a.kz"], ["b.kz", "c.kz:8080"]]


def test_hosts_are_dealt_evenly_and_never_into_more_shares_than_hosts():
    assert [len(share) for share in split_seeds([f"http://s{i}.kz/" for i in range(5)], 2)] == [3, 2]
    assert split_seeds(["http://a.kz/kk", "http://a.kz/ru"], 4) == [["http://a.kz/kk", "http://a.kz/ru"]]
    assert split_seeds([f"http://127.0.0.1:{port}/" for port in (8001, 8002)], 2) == [
        ["http://127.0.0.1:8001/"], ["http://127.0.0.1:8002/"]]


def test_a_crawl_wide_page_limit_is_shared_by_hosts():
    shares = [["http://a.kz/", "http://b.kz/"], ["http://c.kz/"]]
    assert split_budget(300, shares) == [200, 100]
    assert split_budget(0, shares) == [0, 0]


def test_the_children_together_use_the_cores_not_n_times_them():
    assert extract_workers(2, cores=2) == 1
    assert extract_workers(2, cores=8) == 4
    assert extract_workers(4, cores=2) == 1
