"""One page of HTML in, one clean :class:`Article` out.

The pipeline: decode (archive.charset) → parse once with lxml → read what the
page says about itself and its dates from the untouched tree (archive.pagemeta,
archive.dates) → remove the site profile's boilerplate selectors, then site
chrome, layout tables first (archive.boilerplate) → take image captions out
(``Article.captions``) → on a page with no ``<article>``/``<main>``, mark the
headline's block as the article (else trafilatura's fallback drops lists) →
trafilatura on the cleaned tree → trim chrome lines off the text → the site's
learned template, when the caller has one (archive.template;
``Article.template_removed``) → links counted, language (archive.language)
→ article or not (archive.classify; a site profile's article URL pattern has
the last word, see :func:`site_article_rule`).

Structure kept in ``text``: paragraphs apart (a blank line between them),
list items and table rows one per line ("- item", "| a | b |").

Measured by ``benchmarks/extraction.py`` (trafilatura 2.3.1, the 158 usable
pages of shared/realpages; mean per-page token scores against the truth
body; titles compared after NFKC, casefold, soft hyphens, quote marks and
dash kinds dropped, alike for every pipeline; ms/page = mean of each page's
fastest of 3 runs, the modes interleaved page by page on a shared 2-core
machine, so compare the ratios)::

    mode                      P      R      F1    title  date   ms/page
    trafilatura defaults    0.950  0.983  0.963  0.696  0.956   291.6
    trafilatura fast=True   0.950  0.961  0.946  0.696  0.956   226.2
    ours                    0.971  0.982  0.975  0.804  0.981   233.7

(A machine at load 12: the previous quiet run gave 48.0 / 36.1 / 37.3 ms,
the same ratios.)

Title: ``python benchmarks/extraction.py --misses`` lists the 31 misses
with their class: 18 are faults in the truth (12 keep a site or section
suffix, 6 are cut at a quote mark), 13 are pages whose own titles disagree
(the ``<h1>`` and some of og:title / JSON-LD / ``<title>`` say one wording,
the others another) where the truth took a wording that has no more of the
page's titles behind it than ours (archive.pagemeta's agreement rule).
Without the truth's faults: 127/140 = 0.907. On our own tests/pages (17
kk/ru/en pages): F1 1.000, title 1.000, date 1.000, no chrome string
leaking, where trafilatura alone leaks on 75 % of the pages (F1 0.908,
title 0.667, date 0.917).

Earlier measurements chose trafilatura's options (same benchmark, quiet machine)::

    mode                      P      R      F1    title  date   ms/page
    trafilatura defaults    0.950  0.983  0.963  0.690  0.956   40.8
    trafilatura fast=True   0.950  0.961  0.946  0.690  0.956   33.1
    ours (balanced mode)    0.963  0.983  0.970  0.709  0.981   31.7
    ours with fast=True     0.963  0.961  0.952  0.709  0.981   29.0
    ours, HTML string in    0.963  0.983  0.970  0.709  0.981   31.2

So we keep trafilatura's default (balanced) mode, not ``fast=True``: its
fallback extractors recover bodies the fast path truncates (recall 0.983 vs
0.961) for under 3 ms/page more (5.2 vs 4.0 ms on our small tests/pages).
We hand trafilatura our parsed, cleaned tree: it copies it instead of
parsing again. That saves little (31.7 vs 31.2 ms on a quiet machine; 74.4 vs
78.3 ms with the modes interleaved on a loaded one, where trafilatura alone
took 95.1 and fast 74.6) but is simpler than serialising the tree again.
Metadata (title, author, description fallbacks) comes from the same call, with trafilatura's extensive date search off: its date is not
used at all, because archive.dates is right more often (date column: 0.981
vs 0.956) and found a date on every page, so the fallback never had a page
to help on, while the extensive search costs ~4 s per process (dateparser
loads every locale) and ms on every page.
On our own tests/pages the same pipeline leaks none of the listed chrome
strings where trafilatura alone leaks 17 %.

``extract`` never raises: garbage in gives an Article with ``is_article`` False
and the reason in ``why``. It is a module-level pure function, safe to run in a
ProcessPoolExecutor worker.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import lxml.html
from lxml.html import HtmlElement
from trafilatura import bare_extraction

from archive import boilerplate, pagemeta
from archive.charset import decode_html
from archive.classify import NON_ARTICLE_TYPES, Evidence, classify
from archive.dates import DEFAULT_TIMEZONE, find_dates
from archive.language import detect_language
from archive.template import SiteTemplate, TemplateSnapshot

TRAFILATURA_OPTIONS = {
    "fast": False,
    "include_comments": False,
    "include_tables": True,
    "with_metadata": True,
    "deduplicate": False,
    # trafilatura's date is never used (archive.dates finds it), so its
    # costly extensive date search (dateparser loads every locale on first
    # use: ~4 s once per process, then ms per page) is switched off.
    "date_extraction_params": {"extensive_search": False, "original_date": True},
}
_MAX_GARBAGE_SHARE = 0.05
_PARSER = lxml.html.HTMLParser(
    encoding="utf-8", remove_comments=True, remove_pis=True, collect_ids=False, default_doctype=False
)
# trafilatura logs every page it finds too short or unparsable as an ERROR;
# for an archiver those pages are normal and the Article says why.
logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
logging.getLogger("htmldate").setLevel(logging.CRITICAL)


@dataclass(frozen=True)
class Article:
    """What the archive keeps of one fetched page."""

    url: str | None
    canonical_url: str | None
    title: str | None
    published: str | None
    modified: str | None
    language: str | None
    author: str | None
    description: str | None
    text: str
    is_article: bool
    why: str
    encoding: str
    # Image captions, apart from the text (they are not the article's prose).
    captions: tuple[str, ...] = ()
    # Hyperlinks inside the article text (anchors whose text the article shows).
    links: int = 0
    # Paragraphs the site template (archive.template) took out of the text,
    # as (position among the page's paragraphs, paragraph): the crawl goes on
    # learning the template from the page as it was.
    template_removed: tuple[tuple[int, str], ...] = ()

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def extract(
    html: bytes | str,
    url: str | None = None,
    headers: Mapping[str, str] | None = None,
    *,
    timezone: str = DEFAULT_TIMEZONE,
    now: datetime | None = None,
    template: SiteTemplate | TemplateSnapshot | None = None,
    article_url_pattern: str | None = None,
    extra_boilerplate: tuple[str, ...] = (),
) -> Article:
    """Extract the article of one page; never raises (see module docstring).

    ``template`` is what the crawl learned of this page's site: its
    paragraphs leave the text (see archive.template). It is only read.
    ``article_url_pattern`` and ``extra_boilerplate`` come from the site's
    profile (archive.profiles.extraction_options): a regular expression
    searched in the URL that decides which pages are articles (see
    :func:`site_article_rule`), and CSS selectors of blocks to drop with the
    site chrome.
    """
    encoding = "unknown"
    try:
        text, encoding = decode_html(html or b"", headers)
        if _looks_binary(text):
            return _not_a_page(url, encoding, "not HTML (binary or garbage)")
        tree = parse_html(text)
        if tree is None:
            return _not_a_page(url, encoding, "empty page")
        return _extract_from_tree(tree, url, headers, encoding, timezone, now, template,
                                  article_url_pattern, tuple(extra_boilerplate))
    except Exception as error:  # noqa: BLE001 - the contract is "never raise on a page"
        return _not_a_page(url, encoding, f"extraction failed: {type(error).__name__}")


def parse_html(text: str) -> HtmlElement | None:
    """Parse decoded HTML with lxml; None when there is no document at all."""
    text = text.replace("\x00", "")
    if not text.strip():
        return None
    try:
        tree = lxml.html.document_fromstring(text.encode("utf-8", errors="replace"), parser=_PARSER)
    except (lxml.etree.ParserError, ValueError):
        return None
    return tree


def _extract_from_tree(tree, url, headers, encoding, timezone, now, template=None,
                       article_url_pattern=None, extra_boilerplate=()) -> Article:
    heading = pagemeta.main_heading(tree)
    heading_line = pagemeta.heading_text(heading) if heading is not None else None
    json_ld = pagemeta.json_ld_objects(tree)
    types = pagemeta.schema_types(json_ld)
    og_type = (pagemeta.meta_content(tree, "og:type") or "").lower()
    declared_lang = pagemeta.declared_language(tree, headers)
    canonical = pagemeta.canonical_url(tree, url)
    published, modified = find_dates(tree, url, timezone, now=now)

    boilerplate.remove_selected(tree, extra_boilerplate, keep=heading)
    boilerplate.remove_chrome(tree, keep=heading)
    boilerplate.mark_article(tree, heading)
    captions = take_captions(tree)
    linked_headings, link_density = _listing_signals(tree)
    document = bare_extraction(tree, url=url, **TRAFILATURA_OPTIONS)

    title = pagemeta.page_title(
        tree, heading, fallback=getattr(document, "title", None), headline=pagemeta.json_ld_headline(json_ld),
        url=url, declared_sites=pagemeta.json_ld_site_names(json_ld),
    )
    raw_text = getattr(document, "text", None) or ""
    main_text = boilerplate.trim_text(raw_text, title, headings=(heading_line,))
    removed: tuple[tuple[int, str], ...] = ()
    if template is not None:
        main_text, removed = template.strip(main_text)
    description = pagemeta.clean_inline(getattr(document, "description", None))
    language = detect_language(main_text or f"{title or ''} {description or ''}", declared_lang)

    declared_article = og_type == "article" or bool(types & pagemeta.ARTICLE_TYPES)
    non_article = [] if declared_article else sorted(types & NON_ARTICLE_TYPES)
    is_article, why = classify(
        Evidence(
            url=url,
            text_chars=len(main_text),
            has_title=bool(title),
            date_source=published.source if published else None,
            declared_article=declared_article,
            declared_non_article=non_article[0] if non_article else None,
            linked_headings=linked_headings,
            link_density=link_density,
        )
    )
    is_article, why = site_article_rule(is_article, why, url, article_url_pattern, main_text)
    return Article(
        url=url,
        canonical_url=canonical,
        title=title,
        published=published.isoformat() if published else None,
        modified=modified.isoformat() if modified else None,
        language=language,
        author=pagemeta.plausible_author(getattr(document, "author", None)),
        description=description,
        text=main_text,
        is_article=is_article,
        why=why,
        encoding=encoding,
        captions=captions,
        links=_links_in_text(tree, main_text),
        template_removed=removed,
    )


def site_article_rule(is_article: bool, why: str, url: str | None, pattern: str | None,
                      text: str) -> tuple[bool, str]:
    """The site profile's article URL pattern over the generic verdict (archive.classify).

    The archivist knows the site: a URL the pattern matches (``re.search``
    in the whole URL) is an article whenever a body was found, even where
    the generic rule hesitated (undated, short, listing-like); a URL it
    does not match is never one. Without a pattern the generic verdict stands.
    """
    if not pattern:
        return is_article, why
    if not re.search(pattern, url or ""):
        return False, f"URL outside the site's article pattern ({why})"
    if not text:
        return False, why
    return True, f"{why}; site's article URL pattern"


_CAPTION_CLASS = re.compile(r"(?:^|[\s_-])(?:wp-caption-text|caption|figcaption|photo-?caption|image-?caption)(?:$|[\s_-])", re.I)
_MAX_CAPTIONS = 50
# A "caption" class on a long block is a theme flag ("f_caption_muted_videos_on"), not a caption.
_MAX_CAPTION_CHARS = 600


def take_captions(tree: HtmlElement) -> tuple[str, ...]:
    """Remove image captions from the tree and return their texts, in page order, once each."""
    body = tree.find("body")
    if body is None:
        return ()
    found = [
        element
        for element in body.iterdescendants()
        if element.tag == "figcaption"
        or (
            isinstance(element.tag, str)
            and _CAPTION_CLASS.search(element.get("class") or "")
            and len(element.text_content()) <= _MAX_CAPTION_CHARS
        )
    ]
    captions: list[str] = []
    for element in found:
        if element.getparent() is None or any(a in found for a in element.iterancestors()):
            continue
        text = pagemeta.clean_inline(element.text_content())
        if text and text not in captions and len(captions) < _MAX_CAPTIONS:
            captions.append(text)
        boilerplate.drop_element(element)
    return tuple(captions)


def _links_in_text(tree: HtmlElement, text: str) -> int:
    """Anchors with a real target whose text is part of the article text."""
    if not text:
        return 0
    body = tree.find("body")
    if body is None:
        return 0
    folded = " ".join(text.casefold().split())
    count = 0
    for anchor in body.iter("a"):
        href = (anchor.get("href") or "").strip().lower()
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
            continue
        label = " ".join(anchor.text_content().casefold().split())
        if len(label) >= 2 and label in folded:
            count += 1
    return count


def _listing_signals(tree: HtmlElement) -> tuple[int, float]:
    """Headings that are links, and the share of text inside links, after cleaning."""
    body = tree.find("body")
    if body is None:
        return 0, 0.0
    linked = sum(
        1
        for heading in body.iter("h2", "h3", "h4")
        if heading.find(".//a") is not None or heading.getparent().tag == "a"
    )
    total = len("".join(body.itertext()).split())
    if not total:
        return linked, 0.0
    in_links = sum(len("".join(a.itertext()).split()) for a in body.iter("a"))
    return linked, min(in_links / total, 1.0)


def _looks_binary(text: str) -> bool:
    sample = text[:4096]
    if not sample:
        return False
    bad = sum(1 for c in sample if c == "\ufffd" or (c < " " and c not in "\t\n\r\f"))
    return bad / len(sample) > _MAX_GARBAGE_SHARE


def _not_a_page(url: str | None, encoding: str, why: str) -> Article:
    return Article(
        url=url, canonical_url=None, title=None, published=None, modified=None, language=None,
        author=None, description=None, text="", is_article=False, why=why, encoding=encoding,
    )


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """Extraction processes for the crawl and ``reindex``.

    Forked from a server that has already imported this module (trafilatura,
    lxml), so a worker starts in milliseconds; forkserver rather than fork,
    because the crawl process runs threads (Twisted's pool) that fork would copy
    mid-flight.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["archive.extract"])
    return ProcessPoolExecutor(max_workers=workers, mp_context=context)
