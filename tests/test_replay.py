"""Replay with the real pywb: two crawls of the demo portal, then the portal is stopped and pywb serves them.

pywb runs from its own virtualenv (.ci/run creates .venv-pywb). Pages are
fetched in pywb's ``id_`` mode, which returns the archived bytes without
rewriting, so they can be compared with the WARC records byte for byte. The
portal is down during replay: whatever comes back came from the archive.
"""

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import psutil
import pytest

from archive.catalog import Catalog
from archive.cdxj import index_warc, indexes_dir
from archive.errors import ReplayError
from archive.records import open_record
from archive.replay import ReplayServer, find_wayback, free_port
from archive.warc import HttpExchange, WarcWriter
from crawler.demo.portal import DemoPortal


def run_cli(*args, timeout=240, env=None):
    return subprocess.run([sys.executable, "-m", "crawler.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.fixture(scope="module", autouse=True)
def pywb_installed():
    """pywb must be there in CI (.ci/run installs it); on a developer's machine its absence skips."""
    try:
        find_wayback()
    except ReplayError as exc:
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def archive(tmp_path_factory, pywb_installed):
    """Two full crawls of an unchanged demo portal (the second writes identical-payload revisits); the portal is then stopped."""
    data = tmp_path_factory.mktemp("replay") / "data"
    with DemoPortal(articles_per_site=4) as portal:
        for _ in range(2):
            crawl = run_cli("crawl", *[site.start_url for site in portal.sites.values()], "--data", str(data), "--full",
                            "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0")
            assert crawl.returncode == 0, crawl.stderr[-3000:]
    catalog = Catalog(data / "catalog.db", read_only=True)
    yield portal, data, catalog
    catalog.close()


@pytest.fixture(scope="module")
def pywb(archive):
    _, data, _ = archive
    assert run_cli("index", "--data", str(data)).returncode == 0
    server = ReplayServer(data, port=free_port())
    server.start()
    yield server
    server.stop()


class _KeepRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(url):
    """(status, headers, body) of one GET, redirects not followed, error statuses returned too."""
    opener = urllib.request.build_opener(_KeepRedirects)
    try:
        with opener.open(url, timeout=30) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def stamp(iso):
    return iso.replace("-", "").replace("T", "").replace(":", "").removesuffix("Z")


def record_of(data, row):
    """(content, WARC-Date) of the record a captures row points at.

    The content is the entity with its Content-Encoding undone: pywb decodes a
    gzip-encoded page even in ``id_`` mode (and drops the header with it).
    """
    with open_record(data / "warc", row["warc_filename"], row["warc_offset"]) as record:
        return record.content_stream().read(), record.rec_headers.get_header("WARC-Date")


def memento_datetime(warc_date):
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.strptime(warc_date[:19], "%Y-%m-%dT%H:%M:%S"))


def captures(catalog, where, params=()):
    return list(catalog.db.query(f"select * from captures where {where} order by url", list(params)))


def port_is_open(host, port):
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((host, port)) == 0


def test_every_article_replays_with_its_stored_status_and_body(archive, pywb):
    _, data, catalog = archive
    articles = list(catalog.db.query(
        "select c.* from articles a join captures c on c.warc_filename = a.warc_filename"
        " and c.warc_offset = a.warc_offset"))
    assert len(articles) == 12
    for row in articles:
        body, warc_date = record_of(data, row)
        status, headers, replayed = fetch(pywb.replay_url(row["url"], stamp(row["fetched_at"]), identity=True))
        assert status == row["status"] == 200, row["url"]
        assert replayed == body, row["url"]
        assert headers["Memento-Datetime"] == memento_datetime(warc_date)


def test_a_404_capture_replays_as_404_with_its_archived_page(archive, pywb):
    _, data, catalog = archive
    rows = captures(catalog, "status = 404 and record_type = 'response'")
    assert rows
    for row in rows:
        body, _ = record_of(data, row)
        status, _, replayed = fetch(pywb.replay_url(row["url"], stamp(row["fetched_at"]), identity=True))
        assert (status, replayed) == (404, body), row["url"]


def test_a_redirect_capture_replays_as_the_same_redirect(archive, pywb):
    _, data, catalog = archive
    rows = captures(catalog, "status in (301, 302) and record_type = 'response'")
    assert rows
    for row in rows:
        with open_record(data / "warc", row["warc_filename"], row["warc_offset"]) as record:
            location = record.http_headers.get_header("Location")
        status, headers, _ = fetch(pywb.replay_url(row["url"], stamp(row["fetched_at"]), identity=True))
        assert status == row["status"] and headers["Location"].endswith(location), row["url"]


def test_gzip_encoded_and_chunked_pages_replay_as_they_were_served(archive, pywb):
    portal, data, catalog = archive
    for url in (portal.gzip_url, portal.chunked_url):
        (row, *_) = captures(catalog, "url = ? and status = 200 and record_type = 'response'", [url])
        body, _ = record_of(data, row)
        status, headers, replayed = fetch(pywb.replay_url(url, stamp(row["fetched_at"]), identity=True))
        assert status == 200 and replayed == body, url
        assert headers.get("Transfer-Encoding") != "chunked" or len(replayed) == len(body)


def test_a_revisit_replays_with_the_original_body(archive, pywb):
    _, data, catalog = archive
    revisits = list(catalog.db.query(
        "select r.url, r.fetched_at, r.warc_filename, r.warc_offset, o.warc_filename as original_file,"
        " o.warc_offset as original_offset from captures r join captures o on o.record_id = r.refers_to"
        " where r.record_type = 'revisit' and r.url in (select url from articles)"))
    assert revisits, "the second crawl of an unchanged portal should have written revisits of its articles"
    for row in revisits:
        original, _ = record_of(data, {"warc_filename": row["original_file"], "warc_offset": row["original_offset"]})
        _, revisit_date = record_of(data, row)
        status, headers, replayed = fetch(pywb.replay_url(row["url"], stamp(row["fetched_at"]), identity=True))
        assert status == 200 and replayed == original, row["url"]
        assert headers["Memento-Datetime"] == memento_datetime(revisit_date)  # the revisit's time, not the original's


def test_a_url_never_archived_is_not_found(archive, pywb):
    portal, _, _ = archive
    site = next(iter(portal.sites.values()))
    status, _, _ = fetch(pywb.replay_url(site.base_url + "/never/archived", identity=True))
    assert status == 404


def test_stop_ends_pywb_and_frees_its_port(archive):
    _, data, _ = archive
    server = ReplayServer(data, port=free_port()).start()
    pid = server.process.pid
    assert port_is_open(server.host, server.port)
    server.stop()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert not port_is_open(server.host, server.port)


def wait_for_output(stream, text, seconds):
    """Lines of ``stream`` up to the one holding ``text``; fails after ``seconds``.

    A thread reads, so a command that prints nothing cannot block the test.
    """
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in stream], daemon=True).start()
    deadline, seen = time.monotonic() + seconds, []
    while time.monotonic() < deadline:
        try:
            seen.append(lines.get(timeout=0.2))
        except queue.Empty:
            continue
        if text in seen[-1]:
            return seen
    pytest.fail(f"no {text!r} within {seconds} s; output: {''.join(seen)}")


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_the_replay_command_serves_until_interrupted_and_stops_pywb(archive, stop_signal):
    _, data, catalog = archive
    port = free_port()
    command = subprocess.Popen([sys.executable, "-m", "crawler.cli", "replay", "--data", str(data), "--port",
                                str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    spawned = []
    try:
        output = wait_for_output(command.stdout, "Ctrl-C to stop", 60)
        assert any(f"http://127.0.0.1:{port}/newsarchive/" in line for line in output)
        spawned = psutil.Process(command.pid).children(recursive=True)
        assert spawned, "pywb should run as a child process"
        url = next(iter(catalog.articles()))["url"]
        status, _, _ = fetch(f"http://127.0.0.1:{port}/newsarchive/id_/{url}")
        assert status == 200
        command.send_signal(stop_signal)
        assert command.wait(timeout=30) == 0, command.stderr.read()
        assert not port_is_open("127.0.0.1", port)
        assert not any(process.is_running() and process.status() != psutil.STATUS_ZOMBIE for process in spawned)
    finally:
        if command.poll() is None:
            spawned += psutil.Process(command.pid).children(recursive=True)
        for process in spawned:
            if process.is_running():
                process.kill()
        if command.poll() is None:
            command.kill()
        command.wait(timeout=30)


def test_a_missing_pywb_is_a_one_line_error(archive, tmp_path):
    _, data, _ = archive
    env = {**os.environ, "NEWSARCHIVE_PYWB": str(tmp_path / "no-pywb-here")}
    result = run_cli("replay", "--data", str(data), "--port", str(free_port()), env=env, timeout=60)
    assert result.returncode != 0
    assert "NEWSARCHIVE_PYWB" in result.stderr and "Traceback" not in result.stderr


def test_a_warc_indexed_while_pywb_runs_replays_without_a_restart(archive, pywb):
    _, data, _ = archive
    url = "http://127.0.0.1:9/added-while-replaying"
    assert fetch(pywb.replay_url(url, identity=True))[0] == 404
    with WarcWriter(data / "warc", prefix="late", on_close=lambda path: index_warc(path, indexes_dir(data))) as writer:
        writer.write_exchange(HttpExchange(url=url, status=200, body=b"late news",
                                           response_headers=[("Content-Type", "text/plain")]))
    status, _, body = fetch(pywb.replay_url(url, identity=True))
    assert (status, body) == (200, b"late news")
