"""A site's template, learned from its own pages: the paragraphs that repeat.

Footers, contact blocks, "latest news" lists, gallery labels and phone lines
come back on page after page of one site, while an article's own paragraphs
do not. So a crawl that keeps, per site, how many of the recent pages showed
each paragraph knows that site's chrome without a hand-written rule, and
``extract(..., template=...)`` takes those paragraphs out of the text.

Rules (tests/test_template.py):

* A paragraph is template when at least ``min_pages`` distinct pages of the
  recent ``window`` showed it *and* at least ``min_share`` of them did. Two
  (or three) articles that quote the same sentence keep it: the default
  needs four pages and a quarter of the window.
* The same page learned twice (a revisit, an identical print version) counts
  once: pages are told apart by ``page_key`` (the URL) and by their text.
* Memory is bounded: ``window`` pages of at most ``MAX_BLOCKS_PER_PAGE``
  8-byte keys each; :class:`SiteTemplates` keeps at most ``max_sites`` sites.
* Paragraph keys are stable across processes (blake2b, not ``hash()``), so a
  :meth:`SiteTemplate.snapshot` (a small frozen set of keys) can be pickled
  to extraction workers while the crawl process goes on learning.

Learning uses the text as trafilatura and the trim gave it *plus* what the
template removed (``Article.template_removed``): learning only from the
stripped text would make the chrome look rare and bring it back.
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


def _strip_keys(text: str, keys: frozenset[int] | set[int]) -> tuple[str, tuple[str, ...]]:
    kept, removed = [], []
    for paragraph in paragraphs_of(text):
        (removed if block_key(paragraph) in keys else kept).append(paragraph)
    if not removed:
        return text, ()
    return join_paragraphs(kept), tuple(removed)


@dataclass(frozen=True)
class TemplateSnapshot:
    """The template paragraphs of one site at one moment: small, picklable, read-only."""

    keys: frozenset[int] = frozenset()

    def strip(self, text: str) -> tuple[str, tuple[str, ...]]:
        """``text`` without the template paragraphs, and those paragraphs."""
        return _strip_keys(text, self.keys)

    def __len__(self) -> int:
        return len(self.keys)


class SiteTemplate:
    """What repeats across the recent pages of one site (see the module docstring)."""

    def __init__(self, *, min_pages: int = 4, min_share: float = 0.25, window: int = 200):
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

    def learn(self, text: str, removed: Iterable[str] = (), page_key: str | None = None) -> bool:
        """Count one page's paragraphs; False when this page (or its text) is already counted."""
        paragraphs = paragraphs_of(text) + [p for p in removed if p.strip()]
        keys = frozenset(block_key(p) for p in paragraphs[:MAX_BLOCKS_PER_PAGE])
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

    def is_template(self, paragraph: str) -> bool:
        return self._counts.get(block_key(paragraph), 0) >= self._threshold()

    def snapshot(self) -> TemplateSnapshot:
        """The current template paragraphs, frozen (cached until the next page is learned)."""
        if self._snapshot is None:
            threshold = self._threshold()
            self._snapshot = TemplateSnapshot(frozenset(k for k, n in self._counts.items() if n >= threshold))
        return self._snapshot

    def strip(self, text: str) -> tuple[str, tuple[str, ...]]:
        """``text`` without the template paragraphs, and those paragraphs."""
        return self.snapshot().strip(text)


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
