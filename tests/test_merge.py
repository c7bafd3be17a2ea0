"""`newsarchive merge`: two nodes' shards, written by real crawls of the demo portal, folded into one archive.

Node w1 crawls the Kazakh site; an article is then edited and one published;
node w2 crawls the Kazakh and English sites; an article is then taken down;
w1 crawls the Kazakh site again. The merged catalog must equal a reindex of
both nodes' WARC files together, however often and in whatever order the
shards are merged.
"""

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator

from archive.catalog import SCHEMA_DOC, Catalog
from crawler.cli import cli
from crawler.demo.portal import DemoPortal

CRAWL_SCRIPT = (
    "import json, sys\n"
    "from crawler.runner import run_crawl\n"
    "result = run_crawl(json.loads(sys.argv[1]), json.loads(sys.argv[2]))\n"
    "print(json.dumps([result.crawl_id, result.finish_reason]))\n"
)
NOON = datetime(2026, 11, 25, 12, tzinfo=UTC)
CAPTURE_COLUMNS = ", ".join(c for c in SCHEMA_DOC["captures"] if c != "id")
# Reindex cannot know a crawl's start, end, settings or errors: those are left out of the comparison.
COMPARED = {
    "articles": "SELECT * FROM articles",
    "article_versions": "SELECT * FROM article_versions",
    "article_sightings": "SELECT * FROM article_sightings",
    "captures": f"SELECT {CAPTURE_COLUMNS} FROM captures",
    "crawls": "SELECT id, pages, articles, bytes, new_articles, changed_articles, removed_articles FROM crawls",
}


def crawl(urls, data, worker):
    settings = {"NEWSARCHIVE_DATA_DIR": str(data), "NEWSARCHIVE_WARC_PREFIX": f"newsarchive-{worker}",
                "AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0}
    done = subprocess.run([sys.executable, "-c", CRAWL_SCRIPT, json.dumps(urls), json.dumps(settings)],
                          check=False, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    crawl_id, reason = json.loads(done.stdout.strip().splitlines()[-1])
    assert reason == "finished"
    return crawl_id


def query(path, sql, params=()):
    with closing(sqlite3.connect(path)) as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute(sql, params)]


def table(path, sql):
    return sorted(query(path, sql), key=repr)


def snapshot(path):
    """Every row of every table, ids and crawl times included."""
    with closing(sqlite3.connect(path)) as db:
        names = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                              " AND name NOT LIKE 'articles_fts%' AND name NOT LIKE 'sqlite_%'")]
    return {name: table(path, f"SELECT * FROM {name}") for name in names}


def merge(*args):
    return CliRunner().invoke(cli, ["merge", *map(str, args)])


@pytest.fixture(scope="module")
def nodes(tmp_path_factory):
    """Two node shards (three crawls) and the catalog `newsarchive reindex` builds from all their WARC files."""
    root = tmp_path_factory.mktemp("merge")
    w1, w2 = root / "nodes" / "w1", root / "nodes" / "w2"
    with DemoPortal(articles_per_site=4) as portal:
        kk, en = portal.sites["kk"], portal.sites["en"]
        edited, removed = kk.expected_articles[1].url, kk.expected_articles[3].url
        first = crawl([kk.start_url], w1, "w1")
        kk.edit_article(edited)
        published = kk.publish_articles(1)[0].url
        second = crawl([kk.start_url, en.start_url], w2, "w2")
        kk.remove_article(removed)
        third = crawl([kk.start_url], w1, "w1")
    union = root / "union"
    (union / "warc").mkdir(parents=True)
    for path in [*(w1 / "warc").iterdir(), *(w2 / "warc").iterdir()]:
        shutil.copy2(path, union / "warc" / path.name)
    done = subprocess.run([sys.executable, "-m", "crawler.cli", "reindex", "--data", str(union), "--workers", "1"],
                          check=False, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    return {"w1": w1, "w2": w2, "reindexed": union / "catalog.db", "crawls": (first, second, third),
            "edited": edited, "removed": removed, "published": published}


@pytest.fixture
def merged(nodes, tmp_path):
    central = tmp_path / "central"
    result = merge(nodes["w1"], nodes["w2"], "--data", central)
    assert result.exit_code == 0, result.output
    return central


def assert_equals_reindex(catalog, nodes):
    for name, sql in COMPARED.items():
        rows = table(catalog, sql)
        assert rows, name
        assert rows == table(nodes["reindexed"], sql), name


@pytest.mark.parametrize("order", [("w1", "w2"), ("w2", "w1")])
def test_merging_both_shards_equals_a_reindex_of_all_their_warc_files(nodes, tmp_path, order):
    central = tmp_path / "central"
    result = merge(*(nodes[worker] for worker in order), "--data", central)
    assert result.exit_code == 0, result.output
    assert_equals_reindex(central / "catalog.db", nodes)


def test_merging_a_shard_into_an_archive_that_crawled_itself_equals_the_reindex_too(nodes, tmp_path):
    central = tmp_path / "central"
    shutil.copytree(nodes["w1"], central)
    result = merge(nodes["w2"], "--data", central)
    assert result.exit_code == 0, result.output
    assert_equals_reindex(central / "catalog.db", nodes)


def test_merging_again_in_any_order_changes_nothing(nodes, merged):
    before = snapshot(merged / "catalog.db")
    for shard in ("w1", "w2", "w1"):
        result = merge(nodes[shard], "--data", merged)
        assert result.exit_code == 0, result.output
        assert "no new rows; 0 articles and 0 crawls updated" in result.output
    assert snapshot(merged / "catalog.db") == before


def test_an_article_edited_between_two_nodes_crawls_has_its_versions_in_fetch_order(nodes, merged):
    first, second, third = nodes["crawls"]
    sql = "SELECT version, crawl_id, text FROM article_versions WHERE url = ? ORDER BY version"
    own = query(nodes["w2"] / "catalog.db", sql, [nodes["edited"]])
    assert [row["version"] for row in own] == [1]  # node w2 alone never saw the text before the edit
    versions = query(merged / "catalog.db", sql, [nodes["edited"]])
    assert [(row["version"], row["crawl_id"]) for row in versions] == [(1, first), (2, second)]
    assert versions[1]["text"] == own[0]["text"] != versions[0]["text"]
    (article,) = query(merged / "catalog.db", "SELECT versions, crawl_id FROM articles WHERE url = ?",
                       [nodes["edited"]])
    assert article == {"versions": 2, "crawl_id": third}  # the latest capture, from w1's second crawl


def test_the_article_taken_down_is_marked_removed_by_the_crawl_that_found_it_gone(nodes, merged):
    third = nodes["crawls"][2]
    (article,) = query(merged / "catalog.db", "SELECT removed_crawl_id FROM articles WHERE url = ?",
                       [nodes["removed"]])
    assert article["removed_crawl_id"] == third


def test_each_crawl_is_counted_again_over_every_nodes_rows(nodes, merged):
    _, second, third = nodes["crawls"]
    sql = "SELECT id, new_articles, changed_articles, removed_articles FROM crawls WHERE id = ?"
    (alone,) = query(nodes["w2"] / "catalog.db", sql, [second])
    (together,) = query(merged / "catalog.db", sql, [second])
    # Alone, w2 took every Kazakh article for new; merged, only the one published after w1's crawl is.
    assert together["new_articles"] == alone["new_articles"] - 4
    assert together["changed_articles"] == 1
    assert query(merged / "catalog.db", sql, [third])[0]["removed_articles"] == 1


def test_every_merged_pointer_opens_its_record_with_warcio(merged):
    rows = query(merged / "catalog.db", "SELECT url, warc_filename, warc_offset, record_id FROM captures")
    for extra in ("articles", "article_versions", "article_sightings"):
        rows += query(merged / "catalog.db", f"SELECT url, warc_filename, warc_offset, NULL AS record_id FROM {extra}")
    for row in rows:
        with open(merged / "warc" / row["warc_filename"], "rb") as stream:
            stream.seek(row["warc_offset"])
            record = next(iter(ArchiveIterator(stream)))
            assert record.rec_headers.get_header("WARC-Target-URI") == row["url"]
            if row["record_id"]:
                assert record.rec_headers.get_header("WARC-Record-ID") == row["record_id"]


def test_warc_files_are_hard_linked_by_default(nodes, merged):
    for shard in (nodes["w1"], nodes["w2"]):
        for path in (shard / "warc").iterdir():
            assert os.path.samefile(path, merged / "warc" / path.name)


def test_with_copy_the_files_are_copies_of_the_same_bytes(nodes, tmp_path):
    central = tmp_path / "central"
    result = merge(nodes["w2"], "--data", central, "--copy")
    assert result.exit_code == 0, result.output
    for path in (nodes["w2"] / "warc").iterdir():
        copy = central / "warc" / path.name
        assert not os.path.samefile(path, copy) and copy.read_bytes() == path.read_bytes()
    assert not [p for p in (central / "warc").iterdir() if p.name.startswith(".")]  # no temporary left


def test_with_move_the_shard_gives_up_its_files_once_the_rows_are_in(nodes, tmp_path):
    shard, central = tmp_path / "w2", tmp_path / "central"
    shutil.copytree(nodes["w2"], shard)
    names = sorted(p.name for p in (shard / "warc").iterdir())
    result = merge(shard, "--data", central, "--move")
    assert result.exit_code == 0, result.output
    assert list((shard / "warc").iterdir()) == []
    assert sorted(p.name for p in (central / "warc").iterdir()) == names
    assert query(central / "catalog.db", "SELECT count(*) AS n FROM captures")[0]["n"] == \
        query(shard / "catalog.db", "SELECT count(*) AS n FROM captures")[0]["n"]


def test_a_warc_name_taken_by_a_different_file_is_refused_before_anything_is_written(nodes, tmp_path):
    central = tmp_path / "central"
    taken = min((nodes["w2"] / "warc").iterdir()).name
    (central / "warc").mkdir(parents=True)
    (central / "warc" / taken).write_bytes(b"another file")
    result = merge(nodes["w1"], nodes["w2"], "--data", central)
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and len(result.output.strip().splitlines()) == 1
    assert "already exists and differs" in result.output
    assert (central / "warc" / taken).read_bytes() == b"another file"
    assert sorted(p.name for p in (central / "warc").iterdir()) == [taken]  # w1's files were not placed either
    assert not (central / "catalog.db").exists()


@pytest.mark.parametrize("damage", ["missing", "garbage"])
def test_a_shard_without_a_usable_catalog_is_one_line_and_exit_1(nodes, tmp_path, damage):
    shard, central = tmp_path / "w2", tmp_path / "central"
    shutil.copytree(nodes["w2"], shard)
    if damage == "missing":
        (shard / "catalog.db").unlink()
    else:
        (shard / "catalog.db").write_bytes(b"not a database at all " * 100)
    result = merge(nodes["w1"], shard, "--data", central)
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and len(result.output.strip().splitlines()) == 1
    assert f"newsarchive reindex --data {shard}" in result.output
    assert not central.exists()  # nor was w1 merged: every shard is checked first


def test_an_open_warc_file_and_its_rows_wait_for_the_next_merge(nodes, tmp_path):
    shard, central = tmp_path / "w1", tmp_path / "central"
    shutil.copytree(nodes["w1"], shard)
    later = max((shard / "warc").iterdir())
    later.rename(later.with_name(later.name + ".open"))
    result = merge(shard, "--data", central)
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"skipped {later}.open: still being written")
    assert query(central / "catalog.db", "SELECT count(*) AS n FROM captures WHERE warc_filename = ?",
                 [later.name]) == [{"n": 0}]
    assert not (central / "warc" / (later.name + ".open")).exists()
    later.with_name(later.name + ".open").rename(later)
    assert merge(shard, "--data", central).exit_code == 0
    complete = tmp_path / "complete"
    assert merge(nodes["w1"], "--data", complete).exit_code == 0
    assert snapshot(central / "catalog.db")["article_versions"] == snapshot(complete / "catalog.db")["article_versions"]
    for name, sql in COMPARED.items():
        assert table(central / "catalog.db", sql) == table(complete / "catalog.db", sql), name


def test_a_crawl_seen_running_takes_its_finished_state_from_a_later_merge(nodes, tmp_path):
    second = nodes["crawls"][1]
    running, central = tmp_path / "running", tmp_path / "central"
    shutil.copytree(nodes["w2"], running)
    with closing(sqlite3.connect(running / "catalog.db")) as db, db:
        db.execute("UPDATE crawls SET status = 'running', finished_at = NULL WHERE id = ?", [second])
    sql = "SELECT status, finished_at FROM crawls WHERE id = ?"
    assert merge(running, "--data", central).exit_code == 0
    assert query(central / "catalog.db", sql, [second]) == [{"status": "running", "finished_at": None}]
    assert merge(nodes["w2"], "--data", central).exit_code == 0
    finished = query(nodes["w2"] / "catalog.db", sql, [second])
    assert query(central / "catalog.db", sql, [second]) == finished
    assert merge(running, "--data", central).exit_code == 0  # the stale running state does not come back
    assert query(central / "catalog.db", sql, [second]) == finished


def test_errors_are_added_once_however_often_the_shard_is_merged(nodes, tmp_path):
    second = nodes["crawls"][1]
    shard, central = tmp_path / "w2", tmp_path / "central"
    shutil.copytree(nodes["w2"], shard)
    with Catalog(shard / "catalog.db", warc_dir=shard / "warc") as catalog:
        for url in ("http://a.example/1", "http://a.example/1", "http://a.example/2"):
            catalog.add_error(second, url, "connection refused", now=datetime(2026, 11, 25, 12, tzinfo=UTC))
    for _ in range(2):
        assert merge(shard, "--data", central).exit_code == 0
    errors = query(central / "catalog.db", "SELECT url FROM errors WHERE crawl_id = ? ORDER BY url", [second])
    assert [e["url"] for e in errors] == ["http://a.example/1", "http://a.example/1", "http://a.example/2"]
    assert query(central / "catalog.db", "SELECT errors FROM crawls WHERE id = ?", [second]) == [{"errors": 3}]


def test_without_shards_it_merges_every_node_under_the_data_dir_and_reports(nodes, tmp_path):
    central = tmp_path / "central"
    for worker in ("w1", "w2"):
        shutil.copytree(nodes[worker], central / "nodes" / worker)
    result = merge("--data", central)
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith(f"merged 2 shards into {central} in ") and " files linked, 0 copied; " in last
    assert_equals_reindex(central / "catalog.db", nodes)


def test_the_central_data_dir_is_no_shard_of_itself(merged):
    result = merge(merged, "--data", merged)
    assert result.exit_code == 1 and "is the central data dir itself" in result.output


def test_the_merged_archive_passes_verify(merged):
    result = CliRunner().invoke(cli, ["verify", "--data", str(merged)])
    assert result.exit_code == 0, result.output
    assert "OK: every digest matches and every catalog row opens its record" in result.output
