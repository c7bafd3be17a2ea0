"""A site's template, learned from its own pages: the paragraphs that repeat.

Footers, contact blocks, "latest news" lists, gallery labels and phone lines
come back on page after page of one site, while an article's own paragraphs
do not. So a crawl that keeps, per site, how many of the recent pages showed
each paragraph knows that site's chrome without a hand-written rule, and
``extract(..., template=...)`` takes those paragraphs out of the text.

Rules (tests/test_template.py):

* What is counted is a paragraph *with its neighbour*: the pairs (previous,
  paragraph) and (paragraph, next), the page's start and end counting as
  neighbours. Chrome comes as the same run of lines in the same order ("Адрес"
  then "Телефон" then "©", then the end of the page) on page after page; a
  sentence that several articles share sits between different paragraphs on
  each. A site whose articles reuse stock paragraphs (the demo portal draws
  every article from twelve) is the case this protects: counting paragraphs
  alone would strip them.
* A pair is template when at least ``min_pages`` distinct pages of the
  recent ``window`` showed it *and* at least ``min_share`` of them did; a
  paragraph goes when either of its pairs on the page at hand is template.
  Articles that end with the same sentence keep it until ``min_pages`` (5)
  pages and a quarter of the window end so: by then it is the site's
  standard closing line.
* The same page learned twice (a revisit, an identical print version) counts
  once: pages are told apart by ``page_key`` (the URL) and by their text.
* Memory is bounded: ``window`` pages of at most ``MAX_BLOCKS_PER_PAGE``
  8-byte keys each; :class:`SiteTemplates` keeps at most ``max_sites`` sites.
* Paragraph keys are stable across processes (blake2b, not ``hash()``), so a
  :meth:`SiteTemplate.snapshot` (a small frozen set of keys) can be pickled
  to extraction workers while the crawl process goes on learning.

Learning uses the text as trafilatura and the trim gave it, with what the
template removed put back where it was (``Article.template_removed`` holds
each removed paragraph with its position): learning only from the stripped
text would make the chrome look rare and bring it back.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter, OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from archive.boilerplate import join_paragraphs

MAX_BLOCKS_PER_PAGE = 300
_PARAGRAPH_SPLIT = re.compile(r"\n\s*\n|\n")


def paragraphs_of(text: str) -> list[str]:
    """The paragraphs (and table rows / list items) of an extracted text."""
    return [p.strip() for p in _PARAGRAPH_SPLIT.split(text or "") if p.strip()]


def block_key(paragraph: str) -> int:
    """A process-independent 64-bit key of a paragraph (case and spacing ignored)."""
    normal = " ".join(unicodedata.normalize("NFKC", paragraph).replace("\u00ad", "").casefold().split())
    return int.from_bytes(hashlib.blake2b(normal.encode("utf-8"), digest_size=8).digest(), "big")


_START, _END = 1, 2  # the page's edges, as neighbours
_MASK = (1 << 64) - 1


def pair_key(first: int, second: int) -> int:
    return (first * 0x9E3779B97F4A7C15 + second) & _MASK


def _page_pairs(keys: list[int]) -> list[tuple[int, int]]:
    """Per paragraph: its (previous, it) and (it, next) pair keys."""
    edged = [_START, *keys, _END]
    return [(pair_key(edged[i - 1], edged[i]), pair_key(edged[i], edged[i + 1])) for i in range(1, len(edged) - 1)]


Removed = tuple[tuple[int, str], ...]  # (position among the page's paragraphs, paragraph)


def _strip_pairs(text: str, pairs: frozenset[int]) -> tuple[str, Removed]:
    paragraphs = paragraphs_of(text)
    if not pairs or not paragraphs:
        return text, ()
    kept, removed = [], []
    for index, (paragraph, (before, after)) in enumerate(
        zip(paragraphs, _page_pairs([block_key(p) for p in paragraphs]))
    ):
        if before in pairs or after in pairs:
            removed.append((index, paragraph))
        else:
            kept.append(paragraph)
    if not removed:
        return text, ()
    return join_paragraphs(kept), tuple(removed)


@dataclass(frozen=True)
class TemplateSnapshot:
    """The template paragraphs of one site at one moment: small, picklable, read-only."""

    pairs: frozenset[int] = frozenset()

    def strip(self, text: str) -> tuple[str, Removed]:
        """``text`` without the template paragraphs, and those paragraphs with their positions."""
        return _strip_pairs(text, self.pairs)

    def __len__(self) -> int:
        return len(self.pairs)


class SiteTemplate:
    """What repeats across the recent pages of one site (see the module docstring)."""

    def __init__(self, *, min_pages: int = 5, min_share: float = 0.25, window: int = 200):
        if min_pages < 3:
            raise ValueError("min_pages below 3 would strip a sentence two articles share")
        self.min_pages = min_pages
        self.min_share = min_share
        self.window = window
        self._pages: deque[tuple[str, frozenset[int]]] = deque()
        self._counts: Counter[int] = Counter()
        self._snapshot: TemplateSnapshot | None = None

    @property
    def pages(self) -> int:
        """How many distinct pages the window holds."""
        return len(self._pages)

    def learn(self, text: str, removed: Iterable[tuple[int, str]] = (), page_key: str | None = None) -> bool:
        """Count one page's paragraphs; False when this page (or its text) is already counted."""
        keys = frozenset(
            key for pair in _page_pairs([block_key(p) for p in _restored(text, removed)]) for key in pair
        )
        identity = page_key or f"text:{hash(keys)}"
        if not keys or any(key == identity or seen == keys for key, seen in self._pages):
            return False
        self._pages.append((identity, keys))
        self._counts.update(keys)
        if len(self._pages) > self.window:
            _, old = self._pages.popleft()
            self._counts.subtract(old)
            for key in old:
                if self._counts[key] <= 0:
                    del self._counts[key]
        self._snapshot = None
        return True

    def learn_article(self, article) -> bool:
        """Learn from an :class:`archive.extract.Article` (its text and what the template removed)."""
        return self.learn(article.text, article.template_removed, page_key=article.url)

    def _threshold(self) -> float:
        return max(self.min_pages, self.min_share * len(self._pages))

    def snapshot(self) -> TemplateSnapshot:
        """The current template pairs, frozen (cached until the next page is learned)."""
        if self._snapshot is None:
            threshold = self._threshold()
            self._snapshot = TemplateSnapshot(frozenset(k for k, n in self._counts.items() if n >= threshold))
        return self._snapshot

    def strip(self, text: str) -> tuple[str, Removed]:
        """``text`` without the template paragraphs, and those paragraphs with their positions."""
        return self.snapshot().strip(text)


def _restored(text: str, removed: Iterable[tuple[int, str]]) -> list[str]:
    """The page's paragraphs as they were before the template took some out."""
    paragraphs = paragraphs_of(text)
    for index, paragraph in sorted(removed):
        paragraphs.insert(index, paragraph)
    return paragraphs[:MAX_BLOCKS_PER_PAGE]


def site_of(url: str | None) -> str:
    """The site a URL belongs to: its host without "www.", with the port."""
    netloc = urlsplit(url or "").netloc.lower()
    host = netloc.rsplit("@", 1)[-1]
    return host[4:] if host.startswith("www.") else host


class SiteTemplates:
    """One :class:`SiteTemplate` per site, the least recently used dropped past ``max_sites``."""

    def __init__(self, max_sites: int = 500, **template_options):
        self.max_sites = max_sites
        self.template_options = template_options
        self._sites: OrderedDict[str, SiteTemplate] = OrderedDict()

    def for_url(self, url: str | None) -> SiteTemplate:
        site = site_of(url)
        template = self._sites.pop(site, None) or SiteTemplate(**self.template_options)
        self._sites[site] = template
        while len(self._sites) > self.max_sites:
            self._sites.popitem(last=False)
        return template

    def snapshot_for(self, url: str | None) -> TemplateSnapshot:
        """The frozen template of the URL's site (empty for a site not seen yet)."""
        template = self._sites.get(site_of(url))
        return template.snapshot() if template is not None else TemplateSnapshot()

    def learn_article(self, article) -> bool:
        return self.for_url(article.url).learn_article(article)

    def __len__(self) -> int:
        return len(self._sites)
