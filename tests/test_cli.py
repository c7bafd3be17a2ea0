"""The command line: a user's mistake is one readable line, never a traceback."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

PAGES = Path(__file__).parent / "pages"


def newsarchive(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "crawler.cli", *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd)


def assert_one_line_error(result, *fragments):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error")]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize("url", ["not-a-url", "ftp://example.kz/news", "example.kz/news", "http://"])
def test_a_start_url_that_is_not_a_url(url, tmp_path):
    result = newsarchive("crawl", url, "--data", str(tmp_path / "data"))
    assert_one_line_error(result, "is not an http(s) URL")
    assert not (tmp_path / "data").exists()


def test_a_data_dir_that_is_a_file(tmp_path):
    blocker = tmp_path / "data"
    blocker.write_text("I am a file")
    result = newsarchive("crawl", "http://127.0.0.1:9/news", "--data", str(blocker))
    assert_one_line_error(result, "is a file, not a directory")
    assert blocker.read_text() == "I am a file"


def test_a_data_dir_that_cannot_be_created(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = newsarchive("crawl", "http://127.0.0.1:9/news", "--data", str(blocker / "data"))
    assert_one_line_error(result, "cannot create data directory")


def test_a_bad_setting_override(tmp_path):
    result = newsarchive("crawl", "http://127.0.0.1:9/news", "--data", str(tmp_path), "-s", "NO_EQUALS_SIGN")
    assert_one_line_error(result, "is not NAME=VALUE")


def test_every_command_documents_an_example():
    from crawler.cli import cli

    for name, command in cli.commands.items():
        assert "Example:" in (command.help or ""), name


def test_extract_prints_the_article_of_a_saved_page():
    page = next(PAGES.glob("*.html"), None)
    if page is None:
        pytest.skip("no saved pages")
    result = newsarchive("extract", str(page), "--json")
    assert result.returncode == 0, result.stderr
    fields = json.loads(result.stdout)
    assert {"title", "published", "language", "text", "is_article"} <= fields.keys()


def test_extract_of_a_missing_file_is_one_line(tmp_path):
    result = newsarchive("extract", str(tmp_path / "nope.html"))
    assert_one_line_error(result, "nope.html")
