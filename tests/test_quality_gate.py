"""Quality gate: extraction scores on our own pages must not fall below pinned minimums.

In the spirit of trafilatura's evaluation gate. Two sets, both written for
this project (never the shared real pages):

* tests/pages: saved kk/ru/en pages with the expected title, date and body
  in the .json beside each page, and the chrome strings that must stay out
  ("absent");
* the demo portal's three sites (crawler/demo), every article page, against
  the portal's ground truth (title, publication date, lead sentence) and its
  boilerplate list.

The minimums are what the pipeline scores today. A change that lowers one
fails here; a change that raises one should raise the pin with it. Scores
are printed by ``benchmarks/extraction.py`` with trafilatura's beside them.
"""

from __future__ import annotations

import json
import re
import statistics
import unicodedata
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from archive import extract

PAGES = Path(__file__).parent / "pages"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
DEMO_ARTICLES_PER_SITE = 24

# Pinned minimums (measured: all pages right, no leak).
MIN_BODY_F1 = 0.99
MIN_TITLE = 1.0
MIN_DATE = 1.0
MAX_LEAKING_PAGES = 0.0
MIN_DEMO_TITLE = 1.0
MIN_DEMO_DATE = 1.0
MIN_DEMO_LEAD = 1.0
MAX_DEMO_LEAKING_PAGES = 0.0

_TOKEN = re.compile(r"\w+")


def token_f1(predicted: str, truth: str) -> float:
    got = Counter(t.casefold() for t in _TOKEN.findall(predicted))
    want = Counter(t.casefold() for t in _TOKEN.findall(truth))
    overlap = sum((got & want).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(got.values()), overlap / sum(want.values())
    return 2 * precision * recall / (precision + recall)


def same_title(found: str | None, wanted: str) -> bool:
    def normal(text):
        return " ".join(unicodedata.normalize("NFKC", text or "").replace("\u00ad", "").casefold().split())

    return normal(found) == normal(wanted)


def _saved_articles() -> list[tuple[dict, object]]:
    results = []
    for path in sorted(PAGES.glob("*.json")):
        page = json.loads(path.read_text(encoding="utf-8"))
        html = path.with_suffix(".html")
        if not page.get("is_article") or not html.exists():
            continue
        results.append((page, extract(html.read_bytes(), page["url"], page.get("headers"), now=NOW)))
    return results


@pytest.fixture(scope="module")
def saved():
    return _saved_articles()


def test_the_gate_has_kk_ru_and_en_articles(saved):
    assert {page["language"] for page, _ in saved} >= {"kk", "ru", "en"}
    assert len(saved) >= 6


def test_body_f1_on_saved_pages(saved):
    assert statistics.fmean(token_f1(a.text, p["body"]) for p, a in saved) >= MIN_BODY_F1


def test_title_accuracy_on_saved_pages(saved):
    assert statistics.fmean(same_title(a.title, p["title"]) for p, a in saved) >= MIN_TITLE


def test_date_accuracy_on_saved_pages(saved):
    assert statistics.fmean((a.published or "")[:10] == p["published"][:10] for p, a in saved) >= MIN_DATE


def test_pages_leaking_chrome_on_saved_pages(saved):
    leaking = [p["url"] for p, a in saved if any(s.casefold() in a.text.casefold() for s in p.get("absent", []))]
    assert len(leaking) / len(saved) <= MAX_LEAKING_PAGES, leaking


@pytest.fixture(scope="module")
def demo():
    from crawler.demo.sites import SITE_CLASSES

    results = []
    for port, site_class in enumerate(SITE_CLASSES.values(), start=8001):
        site = site_class(f"http://127.0.0.1:{port}", DEMO_ARTICLES_PER_SITE)  # one site per origin, as served
        for truth in site.expected_articles:
            served = site.respond(urlsplit(truth.url).path)
            article = extract(served.body, truth.url, {"Content-Type": served.content_type}, now=NOW)
            results.append((site, truth, article))
    return results


def test_title_accuracy_on_the_demo_sites(demo):
    assert statistics.fmean(same_title(a.title, t.title) for _, t, a in demo) >= MIN_DEMO_TITLE


def test_date_accuracy_on_the_demo_sites(demo):
    assert statistics.fmean(a.published == t.published for _, t, a in demo) >= MIN_DEMO_DATE


def test_lead_sentence_kept_on_the_demo_sites(demo):
    assert statistics.fmean(t.key_sentence in a.text for _, t, a in demo) >= MIN_DEMO_LEAD


def test_pages_leaking_boilerplate_on_the_demo_sites(demo):
    leaking = [t.url for s, t, a in demo if any(b.casefold() in a.text.casefold() for b in s.boilerplate)]
    assert len(leaking) / len(demo) <= MAX_DEMO_LEAKING_PAGES, leaking


def test_site_templates_learned_on_the_demo_sites_never_take_article_text(demo):
    """The demo articles reuse stock paragraphs (each draws 4-6 of 12): still none may go."""
    from archive.template import SiteTemplates

    book = SiteTemplates()
    for _, _, article in demo:
        book.learn_article(article)
    for site, truth, article in demo:
        generated = site.articles[site.expected_articles.index(truth)]
        stripped, _ = book.snapshot_for(article.url).strip(article.text)
        assert all(paragraph in stripped for paragraph in (generated.lead, *generated.paragraphs)), truth.url
