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

How a crawl uses it, and why (:class:`CrawlTemplates`, :class:`RecordedTemplate`)
    The WARCs are the source of truth and ``reindex`` must rebuild the crawl's
    rows exactly, so a text may depend only on what the WARCs hold, never on
    the order pages happened to arrive in. So, per site:

    1. every page of a crawl is extracted with the site's *base* template, the
       one the site's previous crawl recorded (empty for a new site), fixed for
       the whole crawl; language, the article verdict and the link count come
       from that extraction;
    2. meanwhile the crawl learns from every page (as the page was, with what
       the base removed put back);
    3. at close the crawl's template is base + learned. It is written as one
       small WARC ``metadata`` record per site (``WARC-Target-URI``
       ``urn:newsarchive:template:<site>``; JSON: base and added pair keys),
       made durable, and only then are the crawl's texts finished with it
       (:func:`restrip`) and the versions re-derived (archive.versions.restate),
       in one catalog transaction with the ``site_templates`` row;
    4. ``reindex`` reads every template record first, then extracts each page
       with its crawl's base and finishes it with its crawl's final template:
       the same two steps, so the same text. A crawl killed before close has
       no record: its rows kept the base-only texts, and reindex uses the
       latest earlier record of the site as base, as the crawl did.

    So a first crawl of a new site gets its repeated blocks stripped (step 3),
    and a re-crawl that fetches a few pages extracts with the previous template
    and learns nothing new from so few pages (``min_pages``): its texts equal
    the earlier versions' and make no spurious new version. Templates only grow
    (base + learned): a footer the site dropped stays a harmless key. The cost
    of the design: a first crawl's texts carry the chrome until its close, and
    a template that grew in a later crawl makes a new version of the articles
    that crawl refetched (their chrome is now known).

Learning uses the text as trafilatura and the trim gave it, with what the
template removed put back where it was (``Article.template_removed`` holds
each removed paragraph with its position): learning only from the stripped
text would make the chrome look rare and bring it back.
"""

from __future__ import annotations

import hashlib
import json
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

    def templates(self) -> dict[str, SiteTemplate]:
        """The sites kept and their templates."""
        return dict(self._sites)

    def __len__(self) -> int:
        return len(self._sites)


# -- one crawl's templates: extracted with the site's previous one, finished with the learned one ----------

TEMPLATE_URN = "urn:newsarchive:template:"
RECORD_TYPE = "metadata"
RECORD_CONTENT_TYPE = "application/json"
RECORD_FORMAT = 1


def template_uri(site: str) -> str:
    """``WARC-Target-URI`` of a site's template record."""
    return TEMPLATE_URN + site


def restrip(text: str, removed: Iterable[tuple[int, str]], pairs: frozenset[int]) -> str:
    """The text as ``pairs`` would have stripped the page, from a text a smaller template stripped.

    ``removed`` is what that smaller template took out (``Article.template_removed``); the page's
    paragraphs are put back, then ``pairs`` (which must include the smaller template's) strip them.
    Equal to stripping trafilatura's text with ``pairs`` directly, so the crawl, which finishes its
    texts this way at close, and ``reindex``, which does it page by page, give the same text.
    """
    removed = tuple(removed)
    if not pairs:
        return text
    paragraphs = paragraphs_of(text)
    for index, paragraph in sorted(removed):
        paragraphs.insert(index, paragraph)
    kept = [p for p, (before, after) in zip(paragraphs, _page_pairs([block_key(p) for p in paragraphs]))
            if before not in pairs and after not in pairs]
    if len(kept) == len(paragraphs):
        return text  # nothing removed now, so nothing was before either: the text as extracted
    return join_paragraphs(kept)


@dataclass(frozen=True)
class RecordedTemplate:
    """What a crawl's texts of one site depended on, as its WARC ``metadata`` record holds it.

    ``base``: the site's template when the crawl started (every page was extracted with
    it); ``final``: ``base`` and what the crawl learned (every text was finished with it).
    """

    site: str
    crawl_id: str
    base: frozenset[int]
    final: frozenset[int]
    pages: int = 0

    def to_json(self) -> bytes:
        added = sorted(self.final - self.base)
        return json.dumps({
            "format": RECORD_FORMAT, "site": self.site, "crawl_id": self.crawl_id, "pages": self.pages,
            "base": [f"{key:016x}" for key in sorted(self.base)], "added": [f"{key:016x}" for key in added],
        }, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_json(cls, payload: bytes) -> RecordedTemplate:
        """The record's template; ValueError when it is not one this release can read."""
        data = json.loads(payload.decode("utf-8"))
        if not isinstance(data, dict) or data.get("format") != RECORD_FORMAT:
            raise ValueError("not a newsarchive template record of a known format")
        base = frozenset(int(key, 16) for key in data["base"])
        return cls(site=str(data["site"]), crawl_id=str(data["crawl_id"]), base=base,
                   final=base | frozenset(int(key, 16) for key in data["added"]), pages=int(data.get("pages", 0)))


def pairs_json(pairs: frozenset[int]) -> str:
    """A template's pairs as the catalog's ``site_templates.pairs`` column holds them."""
    return json.dumps([f"{key:016x}" for key in sorted(pairs)])


def pairs_from_json(text: str | None) -> frozenset[int]:
    return frozenset(int(key, 16) for key in json.loads(text or "[]"))


class CrawlTemplates:
    """One crawl's view of its sites' templates (the module docstring says why it works this way).

    Pages are extracted with each site's ``base`` (the template its previous crawl
    recorded), which stays fixed for the whole crawl, so a text never depends on the order
    pages arrived in. Meanwhile every page is learned from; at close the crawl's template of
    a site is ``base`` plus what repeated on enough of its pages: a first crawl learns its
    sites from scratch, a re-crawl of a few pages changes nothing (too few pages to learn from).
    """

    def __init__(self, crawl_id: str, bases: dict[str, frozenset[int]] | None = None,
                 finished: dict[str, frozenset[int]] | None = None, **template_options):
        self.crawl_id = crawl_id
        self.bases = dict(bases or {})
        # A resumed crawl that already recorded a site's final template keeps it: its earlier
        # texts were finished with it, so the pages fetched now must be finished with the same.
        self.finished = dict(finished or {})
        self.learners = SiteTemplates(**template_options)
        self._removed: dict[tuple[str, int], Removed] = {}  # capture -> paragraphs the base took out
        self._interned: dict[str, str] = {}

    def base_for(self, url: str | None) -> TemplateSnapshot:
        """What pages of the URL's site are extracted with during this crawl."""
        return TemplateSnapshot(self.bases.get(site_of(url), frozenset()))

    def learn(self, article, capture_key: tuple[str, int] | None = None) -> None:
        """Learn from one extracted page; keep what its base removed, for :meth:`removed`."""
        self.learners.learn_article(article)
        if capture_key is not None and article.template_removed:
            intern = self._interned.setdefault
            self._removed[capture_key] = tuple((i, intern(p, p)) for i, p in article.template_removed)

    def removed(self, warc_filename: str, warc_offset: int) -> Removed:
        """What the base took out of the page at that capture (nothing when unknown or nothing)."""
        return self._removed.get((warc_filename, warc_offset), ())

    def recorded(self) -> list[RecordedTemplate]:
        """The crawl's template of every site it learned from or started with, in site order."""
        records = []
        learners = self.learners.templates()
        for site in sorted(set(self.bases) | set(learners) | set(self.finished)):
            base = self.bases.get(site, frozenset())
            learner = learners.get(site)
            learned = learner.snapshot().pairs if learner is not None else frozenset()
            pages = learner.pages if learner is not None else 0
            final = self.finished[site] | base if site in self.finished else base | learned
            records.append(RecordedTemplate(site, self.crawl_id, base, final, pages))
        return records
