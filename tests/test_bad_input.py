"""Bad input from people, given to `newsarchive crawl`: one clear line, non-zero exit, nothing destroyed."""

import os
import sqlite3
import subprocess
import sys

import pytest


def crawl(data, *args):
    return subprocess.run([sys.executable, "-m", "crawler.cli", "crawl", "http://127.0.0.1:9/", "--data", str(data),
                           *args], capture_output=True, text=True, timeout=120)


def assert_one_line_error(result, fragment):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and fragment in errors[0], result.stderr


def test_a_corrupt_catalog_is_one_line_and_left_as_it_was(tmp_path):
    junk = bytes(range(256)) * 20
    (tmp_path / "catalog.db").write_bytes(junk)
    assert_one_line_error(crawl(tmp_path), "not a database")
    assert (tmp_path / "catalog.db").read_bytes() == junk


def test_a_catalog_from_a_newer_schema_is_one_line_and_left_as_it_was(tmp_path):
    with sqlite3.connect(tmp_path / "catalog.db") as db:
        db.execute("create table meta (key text primary key, value text)")
        db.execute("insert into meta values ('schema_version', '999')")
    before = (tmp_path / "catalog.db").read_bytes()
    assert_one_line_error(crawl(tmp_path), "newer than this newsarchive understands")
    assert (tmp_path / "catalog.db").read_bytes() == before


def test_a_read_only_data_dir_is_one_line(tmp_path):
    """Read-only even for root: mode 555, and the immutable attribute (root writes past modes)."""
    data = tmp_path / "data"
    data.mkdir(mode=0o555)
    if os.geteuid() == 0 and subprocess.run(["chattr", "+i", str(data)], capture_output=True).returncode:
        pytest.skip("running as root on a file system without chattr +i: nothing is read-only")
    try:
        result = crawl(data)
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(data)], check=True)
        data.chmod(0o755)
    assert_one_line_error(result, "data")
    assert list(data.iterdir()) == []


@pytest.mark.parametrize("args, fragment", [(("--max-pages", "-3"), "max-pages"), (("--depth", "many"), "depth"),
                                            (("--no-such-option",), "no-such-option")])
def test_bad_options_are_one_line(tmp_path, args, fragment):
    result = crawl(tmp_path / "data", *args)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert fragment in result.stderr
    assert not (tmp_path / "data").exists()
