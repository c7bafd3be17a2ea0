"""Data users' commands: search, export, sql, show, serve.

Each parses options and calls archive.query (or archive.serve); the output
formats are one shared option set, as in sqlite-utils: a table on a terminal,
``--json``, ``--nl`` (JSON lines) or ``--csv``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from archive.datadir import DataDir
from crawler.cli import cli, data_option, stop_like_ctrl_c

FORMATS = ("table", "json", "nl", "csv")


def output_options(command):
    """--table/--json/--nl/--csv: one flag picks the format; default table on a terminal, JSON otherwise."""
    for flag, fmt, text in reversed((
        ("--table", "table", "Aligned columns (the default on a terminal)."),
        ("--json", "json", "One JSON array (the default when piped)."),
        ("--nl", "nl", "Newline-delimited JSON, one object per line."),
        ("--csv", "csv", "CSV with a header row."),
    )):
        command = click.option(flag, "fmt", flag_value=fmt, help=text)(command)
    return command


def _resolved(fmt: str | None) -> str:
    return fmt or ("table" if sys.stdout.isatty() else "json")


def emit(columns: list[str], rows, fmt: str | None) -> int:
    """Print rows (tuples, streamed where the format allows) in the chosen format; returns the count."""
    fmt = _resolved(fmt)
    count = 0
    if fmt == "nl":
        for row in rows:
            click.echo(json.dumps(dict(zip(columns, row)), ensure_ascii=False))
            count += 1
    elif fmt == "csv":
        import csv

        writer = csv.writer(click.get_text_stream("stdout"), lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(row)
            count += 1
    elif fmt == "json":
        out = click.get_text_stream("stdout")
        out.write("[")
        for row in rows:
            out.write(("," if count else "") + "\n  " + json.dumps(dict(zip(columns, row)), ensure_ascii=False))
            count += 1
        out.write("\n]\n" if count else "]\n")
    else:
        from tabulate import tabulate

        rows = [tuple(_cell(v) for v in row) for row in rows]
        count = len(rows)
        click.echo(tabulate(rows, headers=columns, tablefmt="simple") if rows else "(no rows)")
    return count


def _cell(value, width: int = 70):
    if isinstance(value, str):
        value = " ".join(value.split())
        return value if len(value) <= width else value[: width - 1] + "…"
    return value


def filter_options(command):
    """The filters search and export share."""
    for option in reversed((
        click.option("--site", "sites", multiple=True, metavar="ID", help="Only this site (repeatable)."),
        click.option("--region", "regions", multiple=True, metavar="R",
                     help="Only sites of this region (from the sites table; repeatable)."),
        click.option("--lang", "language", type=click.Choice(["kk", "ru", "en"]), help="Only this language."),
        click.option("--since", metavar="DATE",
                     help='Published on or after: "2021", "2021-03", "march 2021", "25.11.2026".'),
        click.option("--until", metavar="DATE", help="Published up to the end of this year, month or day."),
    )):
        command = option(command)
    return command


def _filters(sites, regions, language, since, until):
    from archive.query import Filters

    return Filters(sites=tuple(sites), regions=tuple(regions), language=language, since=since, until=until)


def _connect(data_dir: Path):
    from archive.query import connect

    return connect(DataDir(data_dir).catalog_path)


@cli.command("search")
@click.argument("query")
@data_option
@filter_options
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="Results to show.")
@click.option("--offset", type=click.IntRange(min=0), default=0, help="Skip this many results (paging).")
@click.option("--exact", is_flag=True, help="Match words exactly as typed (no stems, no prefixes).")
@output_options
def search_command(query, data_dir, sites, regions, language, since, until, limit, offset, exact, fmt):
    """Full-text search of titles and texts, best match first, with [highlighted] snippets.

    Each word also finds its other forms: "конференция" finds "конференции" and
    "конференциясы", "праймериз" finds "праймериздің". FTS5 syntax ("exact phrase",
    word*, OR, NOT, title:word) is used as written.

    \b
    Example:
        newsarchive search "праймериз" --lang kk --since 2021 --until "march 2024"
        newsarchive search конференция --site akimat.example.kz --csv > hits.csv
    """
    from archive.query import search

    conn = _connect(data_dir)
    try:
        rows = search(conn, query, _filters(sites, regions, language, since, until), limit=limit, offset=offset,
                      stemming=not exact)
    finally:
        conn.close()
    columns = ["published", "language", "site", "title", "url", "snippet"]
    emit(columns, [tuple(row[c] for c in columns) for row in rows], fmt)


@cli.command("export")
@data_option
@filter_options
@click.option("--query", "-q", metavar="TEXT", help="Only articles matching this search (best first).")
@click.option("--format", "export_format", type=click.Choice(["csv", "jsonl", "parquet"]), default="csv",
              show_default=True, help="csv and jsonl stream; parquet needs the [parquet] extra (pyarrow).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path), default="-",
              help="File to write (default: standard output).")
@click.option("--columns", metavar="A,B,...", help="Columns to export (default: all, provenance included).")
def export_command(data_dir, sites, regions, language, since, until, query, export_format, output, columns):
    """Export articles with their provenance, streaming (constant memory whatever the size).

    Each row carries the article (url, site, language, published, title, text…)
    and where it came from: WARC file, offset, length, record id, payload digest,
    capture date and crawl.

    \b
    Example:
        newsarchive export --lang ru --since 2023 --format csv -o ru-2023.csv
        newsarchive export -q праймериз --format jsonl | jq .title
    """
    from archive.query import EXPORT_COLUMNS, write_export

    chosen = tuple(c.strip() for c in columns.split(",") if c.strip()) if columns else EXPORT_COLUMNS
    to_stdout = str(output) == "-"
    if export_format == "parquet" and to_stdout:
        raise click.UsageError("parquet is binary: give a file with -o (example: -o articles.parquet)")
    filters = _filters(sites, regions, language, since, until)
    conn = _connect(data_dir)
    try:
        if export_format == "parquet":
            count = write_export(conn, "parquet", output, filters, query=query, columns=chosen)
        elif to_stdout:
            count = write_export(conn, export_format, click.get_binary_stream("stdout"), filters, query=query,
                                 columns=chosen)
        else:
            with open(output, "wb") as stream:
                count = write_export(conn, export_format, stream, filters, query=query, columns=chosen)
    finally:
        conn.close()
    if not to_stdout:
        click.echo(f"exported {count} articles to {output}", err=True)


@cli.command("sql")
@click.argument("statement")
@data_option
@click.option("-p", "--param", "params", type=(str, str), multiple=True, metavar="NAME VALUE",
              help="Bind :NAME to VALUE (repeatable); never paste values into the SQL.")
@click.option("--time-limit", type=click.FloatRange(min=0.01), default=10.0, show_default=True,
              help="Stop the query after this many seconds.")
@output_options
def sql_command(statement, data_dir, params, time_limit, fmt):
    """Run one read-only SQL query on the catalog (tables, views and articles_fts).

    The catalog is opened read-only (mode=ro and PRAGMA query_only): writes are
    refused in one line. Views: articles_by_site_month, latest_captures,
    article_captures. Column meanings: see the README's schema section.

    \b
    Example:
        newsarchive sql "select site, month, articles from articles_by_site_month where month >= :m" -p m 2024-01
        newsarchive sql "select count(*) from articles where language = 'kk'" --csv
    """
    from archive.query import run_sql

    conn = _connect(data_dir)
    try:
        result = run_sql(conn, statement, dict(params), time_limit=time_limit)
        emit(result.columns, result.rows, fmt)
    finally:
        conn.close()


@cli.command("show")
@click.argument("url")
@data_option
@click.option("--html", is_flag=True, help="Print the archived HTML from the WARC record instead (decoded, as served).")
@click.option("--json", "as_json", is_flag=True, help="Everything as one JSON object.")
def show_command(url, data_dir, html, as_json):
    """Show an article, every capture of its URL, and where its text came from.

    Provenance: the WARC file, offset and length of the response record, its
    WARC-Record-ID, payload digest and capture date. With --html, the archived
    page itself, straight from that WARC record.

    \b
    Example:
        newsarchive show https://example.kz/kk/news/123
        newsarchive show https://example.kz/kk/news/123 --html > page.html
    """
    from archive.query import archived_html, show

    data = DataDir(data_dir)
    conn = _connect(data_dir)
    try:
        found = show(conn, url)
    finally:
        conn.close()
    if html:
        pointer = found.provenance or next((c for c in found.captures if c["record_type"] != "revisit"), None)
        if pointer is None:
            raise click.ClickException(f"{url} has only revisit captures: no body stored at this URL")
        sys.stdout.buffer.write(archived_html(data.warc_dir, pointer))
        sys.stdout.buffer.flush()
        return
    if as_json:
        click.echo(json.dumps(found.as_dict(), ensure_ascii=False, indent=2))
        return
    _print_article(found)


def _print_article(found) -> None:
    article = found.article
    if article is not None:
        click.echo(article["title"] or "(no title)")
        click.echo(f"{article['url']}\n{article['site']} · {article['language'] or '--'} · published "
                   f"{article['published'] or 'unknown'}" + (f" · by {article['author']}" if article["author"] else ""))
        click.echo("")
        click.echo(article["text"] or "")
        click.echo("")
        click.echo("provenance:")
        for key, value in found.provenance.items():
            click.echo(f"  {key}: {value}")
    else:
        click.echo("not an article (no text extracted); captures only")
    click.echo(f"captures of this URL ({len(found.captures)}):")
    for capture in found.captures:
        click.echo(f"  {capture['fetched_at']}  {capture['status']}  {capture['record_type'] or 'response'}  "
                   f"{capture['warc_filename']}:{capture['warc_offset']}  {capture['payload_digest']}")


@cli.command("serve")
@data_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; the default keeps the catalog on this machine.")
@click.option("--port", type=click.IntRange(min=0, max=65535), default=8001, show_default=True,
              help="Port (0: any free port).")
def serve_command(data_dir, host, port):
    """Browse the catalog in Datasette, read-only: facets, full-text search, SQL.

    Tables and columns carry their descriptions; articles facet on site,
    language and month and search through articles_fts. Stop with Ctrl-C.

    \b
    Example:
        newsarchive serve --data ./data --port 8001
        then open http://127.0.0.1:8001/catalog/articles
    """
    from archive.serve import DatasetteServer

    data = DataDir(data_dir)
    _connect(data_dir).close()  # a clear error (and an upgrade) before Datasette starts
    server = DatasetteServer(data.catalog_path, host=host, port=port)
    stop_like_ctrl_c()  # Datasette runs in a session of its own: a SIGTERM to us must stop it too
    server.start()
    click.echo(f"Datasette on {server.base_url} (read-only catalog {data.catalog_path}); Ctrl-C to stop")
    sys.stdout.flush()  # the address is what a script waits for
    try:
        status = server.wait()
    except KeyboardInterrupt:
        status = 0
    finally:
        tail = server.log_tail()
        server.stop()
    if status not in (0, -2, -15):
        raise click.ClickException(f"Datasette stopped with status {status}\n{tail}")
