"""The README documents what the code has: every command, setting and catalog column."""

import re
from pathlib import Path

from archive.catalog import SCHEMA_DOC
from crawler import settings
from crawler.cli import cli

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_catalog_column_is_documented_with_its_description():
    schema = README.split("<!-- schema:", 1)[1].split("<!-- /schema -->", 1)[0]
    for table, columns in SCHEMA_DOC.items():
        assert f"### `{table}`" in schema, table
        for column, description in columns.items():
            assert f"| `{column}` | {description} |" in schema, (table, column)


def test_every_command_is_in_the_readme():
    for name in cli.commands:
        assert f"`newsarchive {name}" in README, name


def test_every_newsarchive_setting_is_in_the_readme():
    names = [name for name in dir(settings) if name.startswith("NEWSARCHIVE_") and name != "NEWSARCHIVE_WARC_ENABLED"]
    assert names
    for name in names:
        assert f"`{name}`" in README, name


def test_quick_start_is_one_block_of_two_commands_and_ci_runs_the_test_one():
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```\w*\n(.*?)```", quick, re.S)
    assert len(blocks) == 1
    commands = [line for line in blocks[0].splitlines() if line.strip()]
    assert len(commands) == 2
    ci = (Path(__file__).parent.parent / ".ci" / "run").read_text()
    assert commands[1] in ci
