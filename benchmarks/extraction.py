"""Extraction quality and cost: trafilatura alone against newsarchive's pipeline, in one run.

Run by hand:  /work/venv/bin/python benchmarks/extraction.py [--limit N] [--repeat 3] [--modes ...]

Page sets:
- ``realpages``: ../shared/realpages (162 real pages with truth; read in place,
  never copied into the repo; skipped with a note when the folder is missing).
  Besides the whole set, rows per subset (fundus: title/date from the
  publisher's parser test files; scrapinghub: title/date read from og:title /
  ``<title>``, weaker truth), per language group and per kind.
- ``tests/pages``: our own saved kk/ru/en pages with the expected fields in
  the .json beside each page (the quality gate's pages).
- ``demo``: the demo portal's three sites (crawler/demo), every article page,
  as served and with the markup's names stripped (no class/id/role, no
  nav/footer/aside/header tags: a CMS our name rules know nothing about), to
  measure site-level template learning (archive.template): boilerplate
  strings leaking, pages leaking any, article paragraphs kept, and article
  paragraphs the template removed (must be 0).

Scores: body token precision / recall / F1 (mean of per-page scores against
``truth.body``), title exact match (NFKC, casefold, soft hyphens dropped,
and, judged typography rather than wording, quote marks dropped, dashes
made one and spacing collapsed: the same for every pipeline),
date match (calendar day of the published date vs ``truth.date`` or its
alternatives), ``leak`` = share of ``not_in_body`` strings found in the text
and ``leakpg`` = share of pages leaking at least one (the real pages carry no
such lists: nan there), article/not-article classification, language, and
ms/page (whole call, warm; the fastest of ``--repeat`` runs of each page,
the modes interleaved page by page so that a busy machine slows all alike).

Modes: ``traf-default`` = ``trafilatura.bare_extraction(html, url,
with_metadata=True)``; ``traf-fast`` = the same with ``fast=True``; ``ours`` =
``archive.extract`` as shipped. Optional: ``ours-fast`` (our pipeline with
trafilatura's fast mode), ``ours-html`` (trafilatura handed a string, not our
tree).

After the tables: every page where ours misses the title or the date, with
the class of the miss (a fault in the truth, the page's own titles
disagreeing, or ours) and a one-line reason, then the pages scoring body F1
below 0.9. ``--misses`` prints only that list (ours alone, one run per page).
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import statistics
import sys
import time
import unicodedata
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import trafilatura

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

# The module, not the function that archive/__init__ re-exports under the same name.
extract_module = importlib.import_module("archive.extract")
from archive import pagemeta  # noqa: E402
from archive.template import SiteTemplate  # noqa: E402

REALPAGES = REPO.parent / "shared" / "realpages"
TEST_PAGES = REPO / "tests" / "pages"
_TOKEN = re.compile(r"\w+")
_OUR_LANGUAGES = ("kk", "ru", "en")
GOALS = {"F1": 0.97, "title": 0.90, "date": 0.97, "leakpg": 0.05}


# --- pages -----------------------------------------------------------------------


def load_realpages() -> list[dict]:
    manifest = REALPAGES / "manifest.json"
    if not manifest.exists():
        return []
    pages = []
    for entry in json.loads(manifest.read_text()):
        if entry.get("usable", True) is False:
            continue
        lang = entry.get("lang") or "?"
        pages.append(
            {
                "name": entry["file"],
                "html": (REALPAGES / entry["file"]).read_bytes(),
                "url": entry.get("url"),
                "lang": lang,
                "groups": (
                    f"subset={entry['file'].split('/')[0]}",
                    f"lang={lang if lang in _OUR_LANGUAGES else 'other'}",
                    f"kind={entry.get('kind') or '?'}",
                ),
                "truth": entry["truth"],
                # every real page is one article ("other" = a how-to article, not news)
                "is_article": True,
            }
        )
    return pages


def load_test_pages() -> list[dict]:
    pages = []
    for expected_path in sorted(TEST_PAGES.glob("*.json")):
        html_path = expected_path.with_suffix(".html")
        if not html_path.exists():
            html_path = expected_path.with_suffix(".bin")
        if not html_path.exists():
            continue
        expected = json.loads(expected_path.read_text())
        pages.append(
            {
                "name": html_path.name,
                "html": html_path.read_bytes(),
                "url": expected.get("url"),
                "headers": expected.get("headers"),
                "lang": expected.get("language"),
                "groups": (f"lang={expected.get('language')}",),
                "truth": {
                    "body": expected.get("body", ""),
                    "title": expected.get("title"),
                    "date": (expected.get("published") or "")[:10] or None,
                    "not_in_body": expected.get("absent", []),
                },
                "is_article": expected.get("is_article"),
            }
        )
    return pages


# --- scoring ---------------------------------------------------------------------


_QUOTE_MARKS = dict.fromkeys(map(ord, "\"'`‘’‚‛“”„‟«»‹›"))
_DASHES = re.compile(r"[\u2010-\u2015\u2212]")


def normalise_title(title: str | None) -> str:
    """The title as compared, for every pipeline alike.

    The shared pages' rule (NFKC, casefold, soft hyphens dropped) plus
    typography judged to leave the title the same: quote marks of any kind
    (or none: „X“, "X" and X), the kind of dash, and spacing.
    """
    text = unicodedata.normalize("NFKC", title or "").replace("\u00ad", "").translate(_QUOTE_MARKS)
    return " ".join(_DASHES.sub("-", text).casefold().split())


def token_scores(predicted: str, truth: str) -> tuple[float, float, float]:
    got = Counter(t.casefold() for t in _TOKEN.findall(predicted or ""))
    want = Counter(t.casefold() for t in _TOKEN.findall(truth or ""))
    overlap = sum((got & want).values())
    precision = overlap / sum(got.values()) if got else 0.0
    recall = overlap / sum(want.values()) if want else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def title_matches(found, truth: dict) -> bool | None:
    if not truth.get("title"):
        return None
    wanted = {normalise_title(t) for t in [truth["title"], *(truth.get("title_alternatives") or [])]}
    return normalise_title(found) in wanted


def date_matches(found, truth: dict) -> bool | None:
    wanted = [truth.get("date"), *(truth.get("date_alternatives") or [])]
    wanted = [w for w in wanted if w]
    if not wanted:
        return None
    return bool(found) and str(found)[:10] in wanted


# --- modes -----------------------------------------------------------------------


def run_trafilatura(page: dict, fast: bool) -> dict:
    doc = trafilatura.bare_extraction(page["html"], url=page["url"], with_metadata=True, fast=fast)
    return {
        "text": getattr(doc, "text", "") or "",
        "title": getattr(doc, "title", None),
        "date": getattr(doc, "date", None),
        "is_article": None,
        "language": None,
    }


def run_ours(page: dict, template=None) -> dict:
    article = extract_module.extract(page["html"], page["url"], page.get("headers"), template=template)
    return {
        "text": article.text,
        "title": article.title,
        "date": article.published,
        "is_article": article.is_article,
        "language": article.language,
        "article": article,
    }


@contextmanager
def trafilatura_options(**changes):
    saved = dict(extract_module.TRAFILATURA_OPTIONS)
    extract_module.TRAFILATURA_OPTIONS.update(changes)
    try:
        yield
    finally:
        extract_module.TRAFILATURA_OPTIONS.clear()
        extract_module.TRAFILATURA_OPTIONS.update(saved)


@contextmanager
def trafilatura_gets_html():
    """Make our pipeline hand trafilatura a string, to time the saved parse."""
    original = extract_module.bare_extraction

    def from_string(tree, **kwargs):
        import lxml.html

        return original(lxml.html.tostring(tree, encoding="unicode"), **kwargs)

    extract_module.bare_extraction = from_string
    try:
        yield
    finally:
        extract_module.bare_extraction = original


def _within(context_factory, runner):
    def run(page):
        with context_factory():
            return runner(page)

    return run


MODES = {
    "traf-default": lambda page: run_trafilatura(page, fast=False),
    "traf-fast": lambda page: run_trafilatura(page, fast=True),
    "ours": run_ours,
    "ours-fast": _within(lambda: trafilatura_options(fast=True), run_ours),
    "ours-html": _within(trafilatura_gets_html, run_ours),
}
DEFAULT_MODES = ["traf-default", "traf-fast", "ours"]


def measure(pages: list[dict], modes: list[str], repeat: int) -> dict[str, list]:
    """Run every mode on every page, the modes interleaved page by page.

    Interleaving puts the load of a shared machine on all modes alike; each
    page's time is the fastest of ``repeat`` runs.
    """
    runners = {mode: MODES[mode] for mode in modes}
    for runner in runners.values():
        for page in pages[:5]:
            runner(page)  # warm caches and imports (trafilatura's date search loads dateparser once)
    rows: dict[str, list] = {mode: [] for mode in modes}
    for page in pages:
        for mode, runner in runners.items():
            result, best = None, float("inf")
            for _ in range(repeat):
                start = time.perf_counter()
                result = runner(page)
                best = min(best, (time.perf_counter() - start) * 1000)
            rows[mode].append((page, result, best))
    return rows


def summarise(rows: list[tuple[dict, dict, float]]) -> dict:
    f1s, precisions, recalls, titles, dates, timings = [], [], [], [], [], []
    leaks = leak_total = leak_pages = leak_page_total = 0
    articles = article_total = languages = language_total = 0
    for page, result, ms in rows:
        timings.append(ms)
        truth = page["truth"]
        if truth.get("body"):
            p, r, f = token_scores(result["text"], truth["body"])
            precisions.append(p), recalls.append(r), f1s.append(f)
        for scores, matched in ((titles, title_matches(result["title"], truth)),
                                (dates, date_matches(result["date"], truth))):
            if matched is not None:
                scores.append(matched)
        snippets = truth.get("not_in_body") or []
        found = [s for s in snippets if s.casefold() in (result["text"] or "").casefold()]
        leak_total += len(snippets)
        leaks += len(found)
        if snippets:
            leak_page_total += 1
            leak_pages += bool(found)
        if result["is_article"] is not None and page.get("is_article") is not None:
            article_total += 1
            articles += result["is_article"] == page["is_article"]
        if page.get("lang") and result["language"] is not None:
            language_total += 1
            languages += result["language"] == page["lang"].split("-")[0]

    def mean(values):
        return statistics.fmean(values) if values else float("nan")

    return {
        "P": mean(precisions), "R": mean(recalls), "F1": mean(f1s),
        "title": mean(titles), "date": mean(dates),
        "leak": leaks / leak_total if leak_total else float("nan"),
        "leakpg": leak_pages / leak_page_total if leak_page_total else float("nan"),
        "class": articles / article_total if article_total else float("nan"),
        "lang": languages / language_total if language_total else float("nan"),
        "ms": mean(timings), "n": len(rows),
    }


HEADER = (f"{'set':<26} {'mode':<13} {'n':>4} {'P':>6} {'R':>6} {'F1':>6} {'title':>6} {'date':>6} "
          f"{'leak':>6} {'leakpg':>6} {'class':>6} {'lang':>6} {'ms/page':>8}")


def print_row(set_name: str, mode: str, s: dict) -> None:
    print(f"{set_name:<26} {mode:<13} {s['n']:>4} {s['P']:>6.3f} {s['R']:>6.3f} {s['F1']:>6.3f} {s['title']:>6.3f} "
          f"{s['date']:>6.3f} {s['leak']:>6.3f} {s['leakpg']:>6.3f} {s['class']:>6.3f} {s['lang']:>6.3f} "
          f"{s['ms']:>8.1f}")


def print_set(set_name: str, rows_by_mode: dict[str, list], breakdown: bool) -> None:
    for mode, rows in rows_by_mode.items():
        print_row(set_name, mode, summarise(rows))
    if not breakdown:
        return
    groups = sorted({g for page, _, _ in next(iter(rows_by_mode.values())) for g in page.get("groups", ())})
    for group in groups:
        for mode, rows in rows_by_mode.items():
            if mode in ("traf-default", "ours"):
                print_row(f"  {group}", mode, summarise([r for r in rows if group in r[0].get("groups", ())]))


# --- gaps: the pages where ours falls short, and why ---------------------------------

_SEPARATORS = "|-:/»«·"
_QUOTES = "'’‘\"“”"

SUFFIX_KEPT = "truth fault: keeps a site/section suffix"
CUT_AT_QUOTE = "truth fault: cut at a quote mark"
DISPUTED = "disputed: the page's own titles disagree"
OURS = "our fault"
DATE_SWAPPED = "truth fault: day and month swapped"
DATE_NONE = "truth fault: no date (year 1)"
DATE_ZONE = "time zone: page gives UTC only; truth is the publisher's local day"


def page_titles(page: dict, compared=normalise_title) -> dict[str, str]:
    """The page's own titles by source (h1, JSON-LD, og:title, twitter:title, <title>), put through ``compared``."""
    tree = extract_module.parse_html(extract_module.decode_html(page["html"], page.get("headers"))[0])
    if tree is None:
        return {}
    heading = pagemeta.main_heading(tree)
    head = tree.find(".//title")
    found = {
        "h1": pagemeta.heading_text(heading) if heading is not None else None,
        "JSON-LD": pagemeta.json_ld_headline(pagemeta.json_ld_objects(tree)),
        "og:title": pagemeta.meta_content(tree, "og:title"),
        "twitter:title": pagemeta.meta_content(tree, "twitter:title"),
        "<title>": head.text_content() if head is not None else None,
        "og:site_name": pagemeta.meta_content(tree, "og:site_name"),
    }
    return {source: compared(text) for source, text in found.items() if text}


def _with_quotes(title: str | None) -> str:
    """Folded like :func:`normalise_title` but keeping quote marks (to see a title cut at one)."""
    return " ".join(unicodedata.normalize("NFKC", title or "").replace("\u00ad", "").casefold().split())


def _label_beside(short: str, long: str) -> str | None:
    """The label after or before ``short`` in ``long`` across a separator ("x | site" → "site")."""
    if long.startswith(short) and long[len(short):].lstrip()[:1] in _SEPARATORS:
        return long[len(short):].strip(_SEPARATORS + " ")
    if long.endswith(short) and long[: -len(short)].rstrip()[-1:] in _SEPARATORS:
        return long[: -len(short)].strip(_SEPARATORS + " ")
    return None


def title_miss_class(page: dict, got: str | None) -> tuple[str, str]:
    """Why a title misses: (class, one-line reason)."""
    truth = page["truth"]["title"]
    mine, want = normalise_title(got), normalise_title(truth)
    titles = page_titles(page)
    site = titles.pop("og:site_name", "")
    label = _label_beside(mine, want) if mine else None
    if label and len(label) < len(mine):
        return SUFFIX_KEPT, f"truth = ours + {label!r}"
    if site and _label_beside(want.removesuffix(site).rstrip(_SEPARATORS + " "), want) == site:
        return SUFFIX_KEPT, f"truth keeps the site name {site!r} (and is worded unlike ours)"
    cut = _with_quotes(truth)
    for source, full in page_titles(page, _with_quotes).items():
        if full.startswith(cut) and full[len(cut):].lstrip()[:1] in tuple(_QUOTES):
            return CUT_AT_QUOTE, f"truth is the {source} cut at its quote mark"
    for_truth = [source for source, text in titles.items() if text == want or _label_beside(want, text)]
    for_ours = [source for source, text in titles.items() if text == mine or _label_beside(mine, text)]
    if for_truth and for_ours:
        return DISPUTED, f"truth = {', '.join(for_truth)}; ours = {', '.join(for_ours)}"
    return OURS, f"ours matches none of the page's titles ({', '.join(titles) or 'none'})"


def date_miss_class(found: str | None, truth: dict) -> tuple[str, str]:
    """Why a date misses: (class, one-line reason)."""
    wanted = truth.get("date") or ""
    day = str(found or "")[:10]
    if wanted[:4].isdigit() and int(wanted[:4]) < 1900:
        return DATE_NONE, f"truth {wanted}"
    if len(wanted) == 10 and day == f"{wanted[:4]}-{wanted[8:]}-{wanted[5:7]}":
        return DATE_SWAPPED, f"ours {day}, truth {wanted}"
    if str(found or "").endswith(("+00:00", "Z")) and abs(_ordinal(day) - _ordinal(wanted)) == 1:
        return DATE_ZONE, f"ours {found}, truth {wanted}"
    return OURS, f"ours {found}, truth {wanted}"


def _ordinal(day: str) -> int:
    from datetime import date

    try:
        return date.fromisoformat(day).toordinal()
    except ValueError:
        return 0


def misses(rows: list[tuple[dict, dict, float]]) -> list[tuple[str, str, str, str, str]]:
    """(page, field, ours vs truth, class, why) for every title and date that misses."""
    found = []
    for page, result, _ in rows:
        truth = page["truth"]
        if title_matches(result["title"], truth) is False:
            kind, why = title_miss_class(page, result["title"])
            found.append((page["name"], "title", f"{result['title']!r} vs truth {truth['title']!r}", kind, why))
        if date_matches(result["date"], truth) is False:
            kind, why = date_miss_class(result["date"], truth)
            found.append((page["name"], "date", f"{result['date']} vs truth {truth.get('date')}", kind, why))
    return found


def print_misses(rows: list[tuple[dict, dict, float]]) -> None:
    """Every title and date 'ours' misses on the real pages, with its class, and the tally."""
    found = misses(rows)
    print(f"\nTitle and date misses of 'ours' on the real pages ({len(found)}):")
    for name, field, what, kind, why in found:
        print(f"  {name}  [{field}] {kind}: {why}\n      {what}")
    print("\nMisses by class:")
    for (field, kind), count in Counter((f, k) for _, f, _, k, _ in found).most_common():
        print(f"  {count:>3}  {field:<5} {kind}")
    titled = [(page, result) for page, result, _ in rows if title_matches(result["title"], page["truth"]) is not None]
    right = sum(bool(title_matches(result["title"], page["truth"])) for page, result in titled)
    faults = sum(1 for _, f, _, k, _ in found if f == "title" and k.startswith("truth fault"))
    print(f"\nTitle exact {right}/{len(titled)} = {right / len(titled):.3f}; without the {faults} pages whose truth is "
          f"at fault: {right}/{len(titled) - faults} = {right / max(len(titled) - faults, 1):.3f}")


def print_gaps(rows: list[tuple[dict, dict, float]]) -> None:
    """The misses, then the pages whose body scores F1 below 0.9."""
    print_misses(rows)
    weak = []
    for page, result, _ in rows:
        if page["truth"].get("body"):
            p, r, f = token_scores(result["text"], page["truth"]["body"])
            if f < 0.9:
                why = "extra text kept (precision)" if p < r else "body cut short (recall)"
                weak.append(f"  {page['name']:<46} F1 {f:.3f} (P {p:.3f} R {r:.3f}) {why}")
    print(f"\nBodies of 'ours' under F1 0.9 on the real pages ({len(weak)}):")
    print("\n".join(weak))


# --- demo portal: site-level template learning --------------------------------------

_NAME_ATTRIBUTES = re.compile(rb"""\s(?:class|id|role)\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+)""", re.I)
_SEMANTIC_TAGS = re.compile(rb"<(/?)(?:nav|footer|aside|header)\b", re.I)


def strip_names(html: bytes) -> bytes:
    """The page as a CMS with meaningless markup would serve it."""
    return _SEMANTIC_TAGS.sub(rb"<\1div", _NAME_ATTRIBUTES.sub(b"", html))


def demo_pages(articles_per_site: int) -> dict[str, list[dict]]:
    from crawler.demo.portal import SITE_CLASSES

    sites = {}
    for site_id, site_class in SITE_CLASSES.items():
        site = site_class("http://127.0.0.1:8000", articles_per_site)
        pages = []
        for generated, expected in zip(site.articles, site.expected_articles):
            served = site.respond(urlsplit(expected.url).path)
            pages.append({
                "url": expected.url,
                "html": served.body,
                "headers": {"Content-Type": served.content_type},
                "paragraphs": [generated.lead, *generated.paragraphs],
                "boilerplate": site.boilerplate,
            })
        sites[site_id] = pages
    return sites


def demo_scores(pages: list[dict], texts: list[str], removed: list[tuple]) -> dict:
    strings = pages[0]["boilerplate"]
    leaks = sum(s.casefold() in t.casefold() for t in texts for s in strings)
    leak_pages = sum(any(s.casefold() in t.casefold() for s in strings) for t in texts)
    kept = sum(p in t for page, t in zip(pages, texts) for p in page["paragraphs"])
    total = sum(len(page["paragraphs"]) for page in pages)
    lost_to_template = sum(
        any(p == paragraph or p in paragraph for p in page["paragraphs"])
        for page, gone in zip(pages, removed) for _, paragraph in gone
    )
    template_removed = sum(len(gone) for gone in removed)
    return {"leak": leaks / (len(strings) * len(texts)), "leakpg": leak_pages / len(texts),
            "kept": kept / total, "removed": template_removed, "article_removed": lost_to_template}


def run_demo(articles_per_site: int) -> None:
    print(f"\nDemo portal, {articles_per_site} article pages per site: site-level template learning")
    print(f"{'site':<5} {'markup':<14} {'mode':<22} {'leak':>6} {'leakpg':>7} {'art.kept':>8} "
          f"{'tmpl.removed':>12} {'article text removed':>21}")
    for site_id, served in demo_pages(articles_per_site).items():
        for markup, pages in (("as served", served),
                              ("names stripped", [{**p, "html": strip_names(p["html"])} for p in served])):
            results = {}
            traf = [run_trafilatura(p, fast=False)["text"] for p in pages]
            results["traf-default"] = (traf, [()] * len(pages))
            plain = [extract_module.extract(p["html"], p["url"], p["headers"]) for p in pages]
            results["ours"] = ([a.text for a in plain], [()] * len(pages))
            # The crawl: each page extracted with what the site's earlier pages taught.
            template = SiteTemplate()
            crawled = []
            for page in pages:
                article = extract_module.extract(page["html"], page["url"], page["headers"], template=template.snapshot())
                template.learn_article(article)
                crawled.append(article)
            results["ours+template crawl"] = ([a.text for a in crawled], [a.template_removed for a in crawled])
            # reindex: learn from the whole site, then strip every page.
            learned = SiteTemplate()
            for article in plain:
                learned.learn_article(article)
            snapshot = learned.snapshot()
            stripped = [snapshot.strip(a.text) for a in plain]
            results["ours+template reindex"] = ([t for t, _ in stripped], [r for _, r in stripped])
            for mode, (texts, removed) in results.items():
                s = demo_scores(pages, texts, removed)
                print(f"{site_id:<5} {markup:<14} {mode:<22} {s['leak']:>6.3f} {s['leakpg']:>7.3f} {s['kept']:>8.3f} "
                      f"{s['removed']:>12} {s['article_removed']:>21}")
            gone = Counter(paragraph[:60] for page in results["ours+template reindex"][1] for _, paragraph in page)
            if gone:
                print(f"{'':<20} template removed: " + ", ".join(f"{text!r} x{n}" for text, n in gone.most_common(4)))


# --- main ----------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="only the first N real pages")
    parser.add_argument("--modes", nargs="+", choices=list(MODES), default=DEFAULT_MODES)
    parser.add_argument("--repeat", type=int, default=3,
                        help="time each page this many times and keep the fastest (default 3: "
                             "the machine is shared, the minimum is the stable figure)")
    parser.add_argument("--demo-articles", type=int, default=40, help="article pages per demo site (0: skip)")
    parser.add_argument("--misses", action="store_true",
                        help="only ours on the real pages, once each: every title and date miss with its class")
    args = parser.parse_args(argv)
    modes = list(dict.fromkeys(args.modes))
    if args.misses:
        real = load_realpages()
        if not real:
            print(f"{REALPAGES} is missing: no real pages to list misses on.")
            return 1
        print_misses(measure(real[: args.limit] if args.limit else real, ["ours"], repeat=1)["ours"])
        return 0

    print(f"goals: body F1 >= {GOALS['F1']}, title >= {GOALS['title']}, date >= {GOALS['date']}, "
          f"pages leaking <= {GOALS['leakpg']:.0%}, ms/page <= traf-default's")
    print(HEADER)
    real = load_realpages()
    ours_on_real = None
    if real:
        rows = measure(real[: args.limit] if args.limit else real, modes, args.repeat)
        print_set("realpages", rows, breakdown=True)
        ours_on_real = rows.get("ours")
    else:
        print(f"{REALPAGES} is missing: skipping the real pages (they are never copied into the repo).")
    own = load_test_pages()
    if own:
        print_set("tests/pages", measure(own, modes, args.repeat), breakdown=False)
    if ours_on_real:
        print_gaps(ours_on_real)
    if args.demo_articles:
        run_demo(args.demo_articles)
    return 0


if __name__ == "__main__":
    sys.exit(main())
