"""Crawl progress on a terminal: per-site lines redrawn every second, and silence when not a terminal.

The board (counting and the lines) is checked with a pinned clock; the extension
is checked end to end, a real `newsarchive crawl` of the demo portal with its
stderr on a real pseudo-terminal, then on a pipe.
"""

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
import threading

import pytest

from crawler.demo.portal import DemoPortal
from crawler.extensions.progress import ProgressBoard

T0 = 1000.0  # a pinned clock: seconds on the board's time line


def board_with_two_sites():
    board = ProgressBoard(started_at=T0)
    for second in range(10):
        board.page("https://kk.example.kz/news/1", now=T0 + second)
        board.page("https://kk.example.kz/news/2", now=T0 + second + 0.5)
        board.sample(T0 + second + 0.9)
    board.page("http://ru.example.kz/", now=T0 + 1)
    board.article("https://kk.example.kz/news/1")
    board.error("http://ru.example.kz/missing")
    return board


def test_each_origin_gets_a_line_with_its_pages_articles_and_errors():
    lines = board_with_two_sites().lines(T0 + 10)
    kk = next(line for line in lines if "https://kk.example.kz" in line)
    ru = next(line for line in lines if "http://ru.example.kz" in line)
    assert "20 pages" in kk and "1 articles" in kk and "0 errors" in kk
    assert "1 pages" in ru and "0 articles" in ru and "1 errors" in ru


def test_the_header_sums_every_site_and_shows_the_elapsed_time():
    header = board_with_two_sites().lines(T0 + 75)[0]
    assert header.startswith("crawling 2 sites · 01:15 ·")
    assert "21 pages" in header and "1 articles" in header and "1 errors" in header


def test_the_rate_while_running_is_recent_so_a_stalled_site_shows_zero():
    board = board_with_two_sites()
    running = board.lines(T0 + 9.95)
    assert "2.0 pages/s" in next(line for line in running if "kk.example.kz" in line)
    assert "0.0 pages/s" in next(line for line in running if "ru.example.kz" in line)


def test_the_final_state_shows_the_average_rate_over_the_crawl():
    final = board_with_two_sites().lines(T0 + 30, final=True)
    assert final[0].startswith("crawled 2 sites")
    assert "2.1 pages/s" in next(line for line in final if "kk.example.kz" in line)  # 20 pages in 9.5 s


def test_lines_never_wrap_the_terminal():
    lines = board_with_two_sites().lines(T0 + 10, width=40)
    assert all(len(line) <= 40 for line in lines)
    assert lines[1].endswith("…")


def test_sites_keep_their_place_between_redraws():
    board = ProgressBoard(started_at=T0)
    board.page("http://a.kz/", now=T0)
    for _ in range(5):
        board.page("http://b.kz/", now=T0)
    assert [line.split()[0] for line in board.lines(T0 + 1)[1:]] == ["http://a.kz", "http://b.kz"]


def test_more_sites_than_the_terminal_has_rows_fold_into_one_line():
    board = ProgressBoard(started_at=T0)
    for number in range(30):
        for _ in range(number + 1):
            board.page(f"http://site{number}.kz/", now=T0)
    lines = board.lines(T0 + 1, height=10)
    assert len(lines) == 9
    assert "http://site29.kz" in lines[1]  # the busiest first
    assert lines[-1].startswith("  … 23 more sites:")


# -- end to end: a real crawl, stderr on a pseudo-terminal or on a pipe -------------


@pytest.fixture(scope="module")
def portal():
    with DemoPortal(articles_per_site=6, latency=0.03) as running:
        yield running


def crawl_command(portal, data, *settings):
    command = [sys.executable, "-m", "crawler.cli", "crawl", *[site.start_url for site in portal.sites.values()],
               "--data", str(data), "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0"]
    for setting in settings:
        command += ["-s", setting]
    return command


def run_on_terminal(command, rows=40, columns=120, timeout=300):
    """Run with stderr on a new pseudo-terminal of the given size; returns (stdout, what the terminal got)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    received = []

    def read_terminal():
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the last writer closed the terminal
                return
            if not chunk:
                return
            received.append(chunk)

    reader = threading.Thread(target=read_terminal, daemon=True)
    reader.start()
    try:
        process = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave,
                                 timeout=timeout)
    finally:
        os.close(slave)
        reader.join(timeout=10)
        os.close(master)
    assert process.returncode == 0, b"".join(received).decode(errors="replace")[-2000:]
    return process.stdout.decode(), b"".join(received).decode("utf-8", errors="replace")


@pytest.fixture(scope="module")
def on_terminal(portal, tmp_path_factory):
    """One crawl with stderr on a 40 x 120 terminal: its stdout and everything the terminal received."""
    return run_on_terminal(crawl_command(portal, tmp_path_factory.mktemp("terminal") / "data"))


@pytest.mark.slow
def test_a_crawl_on_a_terminal_shows_per_site_progress_and_leaves_its_final_state(portal, on_terminal):
    stdout, terminal = on_terminal
    final = terminal.split("\x1b[J")[-1].replace("\r\n", "\n").strip().splitlines()
    assert final[0].startswith("crawled 3 sites")
    for site in portal.sites.values():
        line = next(line for line in final if site.base_url in line)
        assert "6 articles" in line and "0 errors" in line and "pages/s" in line
    pages_archived = int(stdout.split(" responses archived")[0].rsplit(" ", 1)[-1])
    assert f" {pages_archived} pages" in final[0]  # the same count as the crawl's own summary


@pytest.mark.slow
def test_progress_is_redrawn_in_place(on_terminal):
    _, terminal = on_terminal
    frames = terminal.split("\x1b[J")[1:]
    assert len(frames) >= 2  # at least one redraw while crawling, and the final state
    assert "\x1b[4F" in terminal  # back up over the header and three site lines, not scrolled


@pytest.mark.slow
def test_nothing_is_printed_when_stderr_is_not_a_terminal(portal, tmp_path):
    process = subprocess.run(crawl_command(portal, tmp_path / "data"), stdin=subprocess.DEVNULL,
                             capture_output=True, text=True, timeout=300)
    assert process.returncode == 0, process.stderr[-2000:]
    assert "pages/s" not in process.stderr and "\x1b[" not in process.stderr
    assert "crawling" not in process.stderr


@pytest.mark.slow
def test_newsarchive_progress_false_keeps_a_terminal_quiet(portal, tmp_path):
    _, terminal = run_on_terminal(crawl_command(portal, tmp_path / "data", "NEWSARCHIVE_PROGRESS=False"))
    assert "pages/s" not in terminal and "\x1b[J" not in terminal
