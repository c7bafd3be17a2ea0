"""Compare trafilatura's modes with our pipeline, on real pages and tests/pages.

Run by hand:  /work/venv/bin/python benchmarks/extraction_modes.py [--limit N] [--only NAME]

Pages: ../shared/realpages (162 real pages with truth; read in place, never
copied into the repo; skipped with a note when the folder is missing) and
tests/pages/*.html with the expected fields in the .json beside each page.

Printed per mode and page set: body token precision / recall / F1 (mean of
per-page scores against ``truth.body``), title exact match (NFKC, casefold,
soft hyphens dropped), date match (calendar day of the published date vs
``truth.date`` or its alternatives), leakage (share of ``not_in_body``
strings found in the text; the real pages carry no such lists, so it is
nan there), pages classified correctly as article / not article, language
match (the manifest's language; TaipeiTimes is English under "zh"),
and mean ms/page (whole call, warm; the fastest of ``--repeat`` runs of each
page, the modes interleaved page by page so that a busy machine slows all alike).

Modes:
- ``traf-default``: ``trafilatura.bare_extraction(html, url, with_metadata=True)``
- ``traf-fast``:    the same with ``fast=True``
- ``ours``:         ``archive.extract`` as shipped
- ``ours-fast``:    ``archive.extract`` with trafilatura in fast mode
- ``ours-html``:    ``archive.extract`` handing trafilatura the decoded string
                    instead of our parsed tree (measures the saved parse)
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

import trafilatura

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

# The module, not the function that archive/__init__ re-exports under the same name.
extract_module = importlib.import_module("archive.extract")

REALPAGES = REPO.parent / "shared" / "realpages"
TEST_PAGES = REPO / "tests" / "pages"
_TOKEN = re.compile(r"\w+")


def load_realpages() -> list[dict]:
    manifest = REALPAGES / "manifest.json"
    if not manifest.exists():
        return []
    pages = []
    for entry in json.loads(manifest.read_text()):
        if entry.get("usable", True) is False:
            continue
        pages.append(
            {
                "name": entry["file"],
                "html": (REALPAGES / entry["file"]).read_bytes(),
                "url": entry.get("url"),
                "lang": entry.get("lang"),
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


def normalise_title(title: str | None) -> str:
    text = unicodedata.normalize("NFKC", title or "").replace("\u00ad", "")
    return " ".join(text.casefold().split())


def token_scores(predicted: str, truth: str) -> tuple[float, float, float]:
    got = Counter(t.casefold() for t in _TOKEN.findall(predicted or ""))
    want = Counter(t.casefold() for t in _TOKEN.findall(truth or ""))
    overlap = sum((got & want).values())
    precision = overlap / sum(got.values()) if got else 0.0
    recall = overlap / sum(want.values()) if want else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def run_trafilatura(page: dict, fast: bool) -> dict:
    doc = trafilatura.bare_extraction(page["html"], url=page["url"], with_metadata=True, fast=fast)
    return {
        "text": getattr(doc, "text", "") or "",
        "title": getattr(doc, "title", None),
        "date": getattr(doc, "date", None),
        "is_article": None,
        "language": None,
    }


def run_ours(page: dict) -> dict:
    article = extract_module.extract(page["html"], page["url"], page.get("headers"))
    return {
        "text": article.text,
        "title": article.title,
        "date": article.published,
        "is_article": article.is_article,
        "language": article.language,
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


def date_matches(found, truth: dict) -> bool | None:
    wanted = [truth.get("date"), *(truth.get("date_alternatives") or [])]
    wanted = [w for w in wanted if w]
    if not wanted:
        return None
    return bool(found) and str(found)[:10] in wanted


def measure(pages: list[dict], modes: list[str], repeat: int) -> dict[str, dict]:
    """Run every mode on every page, the modes interleaved page by page.

    Interleaving puts the load of a shared machine on all modes alike; each
    page's time is the fastest of ``repeat`` runs.
    """
    runners = {mode: MODES[mode] for mode in modes}
    for runner in runners.values():
        runner(pages[0])  # warm caches and imports
    results: dict[str, list] = {mode: [] for mode in modes}
    for page in pages:
        for mode, runner in runners.items():
            result, best = None, float("inf")
            for _ in range(repeat):
                start = time.perf_counter()
                result = runner(page)
                best = min(best, (time.perf_counter() - start) * 1000)
            results[mode].append((page, result, best))
    return {mode: summarise(rows) for mode, rows in results.items()}


def summarise(rows: list[tuple[dict, dict, float]]) -> dict:
    f1s, precisions, recalls, titles, dates, timings = [], [], [], [], [], []
    leaks = leak_total = 0
    articles = article_total = languages = language_total = 0
    for page, result, ms in rows:
        timings.append(ms)
        truth = page["truth"]
        if truth.get("body"):
            p, r, f = token_scores(result["text"], truth["body"])
            precisions.append(p), recalls.append(r), f1s.append(f)
        if truth.get("title"):
            alternatives = [truth["title"], *(truth.get("title_alternatives") or [])]
            titles.append(normalise_title(result["title"]) in {normalise_title(t) for t in alternatives})
        matched = date_matches(result["date"], truth)
        if matched is not None:
            dates.append(matched)
        for snippet in truth.get("not_in_body") or []:
            leak_total += 1
            leaks += snippet.casefold() in (result["text"] or "").casefold()
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
        "class": articles / article_total if article_total else float("nan"),
        "lang": languages / language_total if language_total else float("nan"),
        "ms": mean(timings), "n": len(rows),
    }


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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="only the first N real pages")
    parser.add_argument("--only", action="append", choices=list(MODES), help="run only these modes")
    parser.add_argument("--repeat", type=int, default=3,
                        help="time each page this many times and keep the fastest (default 3: "
                             "the machine is shared, the minimum is the stable figure)")
    args = parser.parse_args(argv)

    sets = []
    real = load_realpages()
    if real:
        sets.append(("realpages", real[: args.limit] if args.limit else real))
    else:
        print(f"{REALPAGES} is missing: skipping the real pages (they are never copied into the repo).")
    ours = load_test_pages()
    if ours:
        sets.append(("tests/pages", ours))
    if not sets:
        print("no pages to measure")
        return 0

    header = f"{'set':<12} {'mode':<13} {'n':>4} {'P':>6} {'R':>6} {'F1':>6} {'title':>6} {'date':>6} {'leak':>6} {'class':>6} {'lang':>6} {'ms/page':>8}"
    print(header)
    for set_name, pages in sets:
        for mode, result in measure(pages, args.only or list(MODES), args.repeat).items():
            print(
                f"{set_name:<12} {mode:<13} {result['n']:>4} {result['P']:>6.3f} {result['R']:>6.3f} "
                f"{result['F1']:>6.3f} {result['title']:>6.3f} {result['date']:>6.3f} {result['leak']:>6.3f} "
                f"{result['class']:>6.3f} {result['lang']:>6.3f} {result['ms']:>8.1f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
