"""``newsarchive extract``: the extraction pipeline on a saved page."""

from __future__ import annotations

import json

import click

from crawler.cli import cli


@cli.command()
@click.argument("file", type=click.File("rb"))
@click.option("--url", help="The page's address (resolves relative links, helps dating).")
@click.option("--json", "as_json", is_flag=True, help="Print all fields as JSON.")
def extract(file, url, as_json):
    """Extract the article from a saved HTML page, as the crawl would.

    \b
    Example:
        newsarchive extract page.html --url https://example.kz/kk/news/123 --json
    """
    from archive.extract import extract as extract_article

    article = extract_article(file.read(), url)
    if as_json:
        click.echo(json.dumps(article.as_dict(), ensure_ascii=False, indent=2))
        return
    for name in ("title", "published", "modified", "language", "author", "canonical_url"):
        click.echo(f"{name}: {getattr(article, name) or ''}")
    click.echo(f"article: {'yes' if article.is_article else 'no'} ({article.why})")
    click.echo("")
    click.echo(article.text)
