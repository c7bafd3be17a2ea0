"""The demo portal's three news sites: their pages, URL schemes and ground truth.

Nothing here touches sockets. A site answers ``respond(target) -> Page`` for a
request target ("/kk/news?page=2") and knows, as ``expected_articles``, what a
correct archiver must catalog. Article text is generated deterministically from
the phrase pools in ``assets/<language>.json``, so 2,000 articles per site cost
nothing to hold and the first N articles are the same whatever the site's size.

The sites imitate three kinds of real CMS and their traps:
``kk`` a Kazakh party-branch site (div soup, dates only in a Kazakh byline, no
canonical links, ``?sid=`` session ids), ``ru`` a Russian akimat site served in
windows-1251 (table layout, two date formats, a gzipped child sitemap), ``en``
an English ministry site (semantic HTML5, ``<time datetime>``, og: tags and
JSON-LD on some pages, "Updated" dates that are not publication dates).

Every 200 answer carries an ETag (articles also a Last-Modified), so a
re-crawl can ask "changed since?". For incremental-crawl tests a site can
change after start: :meth:`DemoSite.publish_articles`, :meth:`DemoSite.edit_article`
and :meth:`DemoSite.remove_article` update the pages and the ground truth
together; without them a site never changes.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from html import escape
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs, quote, urlsplit

ASSETS = Path(__file__).with_name("assets")
KAZAKHSTAN_TIME = timezone(timedelta(hours=5))
# The newest article of every site; older ones step back from it, so ground truth never moves.
NEWEST_PUBLISHED = datetime(2026, 11, 25, 10, 30, tzinfo=KAZAKHSTAN_TIME)
FEED_SIZE = 20
SIDEBAR_SIZE = 5
MAX_ARTICLES_PER_SITE = 10_000
# Appended to an article's lead by DemoSite.edit_article unless the test gives its own text.
EDIT_NOTES = {"kk": "Мәтін нақтыланды.", "ru": "Текст уточнён.", "en": "The text was corrected."}


@dataclass(frozen=True)
class ExpectedArticle:
    """What the catalog must hold for one article page."""

    url: str
    title: str
    published: str
    language: str
    key_sentence: str
    variant_urls: list[str]


@dataclass(frozen=True)
class Page:
    """One HTTP answer, before transfer encoding (the server decides gzip/chunked)."""

    status: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class DemoArticle:
    """One generated article; ``index`` 0 is the newest at start, articles published later have -1, -2..."""

    index: int
    number: int
    title: str
    lead: str
    paragraphs: tuple[str, ...]
    published: datetime
    shows_time: bool
    tags: tuple[str, ...]
    revised: datetime | None = None  # set by DemoSite.edit_article: the page's new Last-Modified

    @property
    def published_iso(self) -> str:
        return self.published.isoformat() if self.shows_time else self.published.date().isoformat()

    @property
    def updated(self) -> datetime | None:
        """Some pages announce a later edit: a date that must not be taken for publication."""
        return self.published + timedelta(days=1 + self.index % 3, hours=2) if self.index % 3 == 0 and self.index >= 6 else None

    @property
    def image_count(self) -> int:
        return 1 + self.index % 3

    @property
    def has_pdf(self) -> bool:
        return self.index % 4 == 0

    @property
    def has_broken_link(self) -> bool:
        return self.index % 6 == 5

    @property
    def linked_by_old_url(self) -> bool:
        """The next newer article links here through the legacy URL that 301-redirects."""
        return self.index % 5 == 2

    @property
    def linked_with_session_id(self) -> bool:
        return self.index % 3 == 1


def roman(number: int) -> str:
    numerals = ((10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"))
    digits = []
    for value, numeral in ((50, "L"), (40, "XL")) + numerals:
        while number >= value:
            digits.append(numeral)
            number -= value
    return "".join(digits)


def load_texts(language: str) -> dict:
    return json.loads((ASSETS / f"{language}.json").read_text(encoding="utf-8"))


def _earlier(previous: datetime, clock: random.Random) -> datetime:
    """A publication time before ``previous``: same day when there is room, else 1-2 days back."""
    latest_same_day = previous.hour * 60 + previous.minute - 30
    if clock.random() < 0.35 and latest_same_day >= 9 * 60:
        minutes = clock.randrange(9 * 60, latest_same_day + 1, 5)
        day = previous
    else:
        minutes = clock.randrange(9 * 60, 19 * 60, 5)
        day = previous - timedelta(days=clock.choice((1, 1, 1, 2)))
    return day.replace(hour=minutes // 60, minute=minutes % 60)


def generate_articles(site_id: str, texts: dict, count: int, base_number: int,
                      lead_date: Callable[[datetime], str]) -> list[DemoArticle]:
    """Articles newest first; article ``i`` depends only on the site and ``i``."""
    clock = random.Random(f"{site_id}:clock")
    published = NEWEST_PUBLISHED
    articles = []
    for index in range(count):
        if index:
            published = _earlier(published, clock)
        articles.append(generate_article(site_id, texts, index, base_number - index, published, lead_date))
    return articles


def generate_article(site_id: str, texts: dict, index: int, number: int, published: datetime,
                     lead_date: Callable[[datetime], str], serial: int | None = None) -> DemoArticle:
    """One article from its site, ``index`` and date; ``serial`` orders the leads (default: ``index``)."""
    rng = random.Random(f"{site_id}:article:{index}")
    topic = rng.choice(texts["topics"])
    place, place_gen, place_loc = rng.choice(texts["places"])
    slots = {
        "place": place, "place_gen": place_gen, "place_loc": place_loc,
        "Place_loc": place_loc[:1].upper() + place_loc[1:],
        "n": rng.randint(3, 45), "roman": roman(rng.randint(10, 45)),
        # strictly increasing with the serial: every lead is unique
        "count": 40 + 3 * (index if serial is None else serial) + rng.randint(0, 2),
        "date": lead_date(published),
    }
    title = topic["title"].format(**slots)
    return DemoArticle(
        index=index,
        number=number,
        title=title[:1].upper() + title[1:],
        lead=topic["lead"].format(**slots),
        paragraphs=tuple(rng.sample(texts["paragraphs"], rng.randint(4, 6))),
        published=published,
        shows_time=index % 4 != 3,
        tags=tuple(sorted(rng.sample(sorted(texts["tags"]), rng.randint(1, 2)))),
    )


def page_number(query: dict) -> int:
    """``?page=N`` of a listing: 1 when absent, 0 (no such page) when not a number."""
    value = query.get("page", "1")
    return int(value) if value.isdigit() else 0


def slug(title: str) -> str:
    """ASCII URL slug of an English title ("Citizens' appeals" -> "citizens-appeals")."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower().replace("'", "")).strip("-")


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(timezone.utc), usegmt=True)


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha1(body).hexdigest()[:20] + '"'


class DemoSite:
    """Shared machinery; subclasses define the URL scheme, the templates and the boilerplate."""

    id: str
    language: str
    charset = "utf-8"
    base_number: int
    page_size: int
    start_path: str
    feed_path: str
    disallowed_paths: list[str]
    boilerplate: list[str]
    # Path templates by kind: article, print, old, listing, tag, image, pdf, broken.
    # Slots: {number} (article id), {slug} (from the title), {page}, {k} (image number).
    url_templates: dict[str, str]
    lead_markup = "<p>{}</p>"
    body_labels: dict[str, str]  # link texts in the body: older, pdf, broken
    uses_session_ids = True
    has_canonical_links = True

    def __init__(self, base_url: str, articles_per_site: int = 12, crawl_delay: float | None = None):
        if not 3 <= articles_per_site <= MAX_ARTICLES_PER_SITE:
            raise ValueError(f"articles_per_site must be between 3 and {MAX_ARTICLES_PER_SITE}")
        self.base_url = base_url.rstrip("/")
        self.crawl_delay = crawl_delay
        self.texts = load_texts(self.language)
        self.name = self.texts["site_name"]
        self.boilerplate = list(self.boilerplate)
        self.disallowed_paths = list(self.disallowed_paths)
        self.tag_labels: dict[str, str] = self.texts["tags"]
        self._routes = [(re.compile(pattern + r"\Z"), handler) for pattern, handler in self.routes()]
        self.start_url = self.absolute(self.start_path)
        self.feed_url = self.absolute(self.feed_path)
        self.robots_url = self.absolute("/robots.txt")
        self.sitemap_url = self.absolute("/sitemap.xml")
        self.published_later = 0  # articles added by publish_articles
        self.removed_urls: dict[str, int] = {}  # article URL -> the status it now answers (404 or 410)
        self._gone_paths: dict[str, int] = {}  # its article and print paths -> that status
        self._set_articles(generate_articles(self.id, self.texts, articles_per_site, self.base_number, self.lead_date))

    def _set_articles(self, articles: list[DemoArticle]) -> None:
        """The site's articles, newest first, and the ground truth that follows from them."""
        self.articles = articles
        self._by_number = {article.number: article for article in articles}
        self._position = {article.number: position for position, article in enumerate(articles)}
        self.expected_articles = [self._expected(article) for article in articles]
        self.non_article_urls = [self.absolute(path) for path in self.non_article_paths()]
        self.broken_urls = [self.absolute(path) for path in self.broken_paths()]

    # --- changes after start (incremental crawl tests) --------------------------
    def publish_articles(self, count: int) -> list[ExpectedArticle]:
        """``count`` new articles, each newer than the newest so far; returns their ground truth, newest first."""
        added, published = [], self.articles[0].published if self.articles else NEWEST_PUBLISHED
        for _ in range(count):
            self.published_later += 1
            serial = self.published_later
            published += timedelta(minutes=45)
            added.append(generate_article(self.id, self.texts, -serial, self.base_number + serial, published,
                                          self.lead_date, serial=MAX_ARTICLES_PER_SITE + serial))
        self._set_articles(added[::-1] + self.articles)
        return self.expected_articles[:count]

    def edit_article(self, url: str, lead: str | None = None) -> ExpectedArticle:
        """Rewrite an article's lead (its key sentence): new text, new ETag, a later Last-Modified."""
        article = self._article_at(url)
        revised = self.article_modified(article) + timedelta(hours=1)
        edited = replace(article, lead=lead or f"{article.lead} {EDIT_NOTES[self.language]}", revised=revised)
        self._set_articles([edited if a is article else a for a in self.articles])
        return self.expected_articles[self._position[edited.number]]

    def remove_article(self, url: str, status: int = 404) -> None:
        """Take an article down: it leaves the listings, and its page and print version answer ``status``."""
        if status not in (404, 410):
            raise ValueError("a removed article answers 404 or 410")
        article = self._article_at(url)
        self.removed_urls[url] = status
        for path in (self.article_path(article), self.print_path(article)):
            self._gone_paths[urlsplit(path).path] = status
        self._set_articles([a for a in self.articles if a is not article])

    def _article_at(self, url: str) -> DemoArticle:
        for article, expected in zip(self.articles, self.expected_articles):
            if expected.url == url:
                return article
        raise ValueError(f"{url} is not a current article of {self.base_url}")

    # --- URL scheme: each site's url_templates ------------------------------------
    def routes(self) -> list[tuple[str, Callable[[re.Match, dict], Page]]]:
        raise NotImplementedError

    def article_path(self, article: DemoArticle) -> str:
        return self._path("article", article)

    def print_path(self, article: DemoArticle) -> str:
        return self._path("print", article)

    def old_path(self, article: DemoArticle) -> str:
        """The legacy URL that 301-redirects to the article."""
        return self._path("old", article)

    def listing_path(self, page: int) -> str:
        return self.url_templates["listing"].format(page=page)

    def tag_path(self, slug: str) -> str:
        return self.url_templates["tag"].format(slug=slug)

    def image_path(self, article: DemoArticle, number: int) -> str:
        return self._path("image", article, k=number)

    def pdf_path(self, article: DemoArticle) -> str:
        return self._path("pdf", article)

    def attachment_broken_path(self, article: DemoArticle) -> str:
        """A dead link from the article body: answered with 404."""
        return self._path("broken", article)

    def _path(self, kind: str, article: DemoArticle, **slots) -> str:
        return self.url_templates[kind].format(number=article.number, slug=slug(article.title), **slots)

    about_path: str
    contacts_path: str
    contacts_broken_path: str

    # --- shared URL logic -----------------------------------------------------
    def absolute(self, path: str) -> str:
        return self.base_url + path

    def session_id(self, article: DemoArticle) -> str:
        """Looks random, is deterministic: the same sid for the same article on every page."""
        return hashlib.sha1(f"{self.id}:session:{article.number}".encode()).hexdigest()[:26]

    def listing_link(self, article: DemoArticle) -> str:
        path = self.article_path(article)
        if self.uses_session_ids and article.linked_with_session_id:
            return f"{path}?sid={self.session_id(article)}"
        return path

    def feed_link(self, article: DemoArticle) -> str:
        return self.absolute(self.article_path(article) + "?utm_source=rss&utm_medium=feed&utm_campaign=news")

    def older_link(self, article: DemoArticle) -> tuple[DemoArticle, str] | None:
        """The "previously reported" link from an article to the next older one."""
        position = self._position[article.number]
        if position + 1 >= len(self.articles):
            return None
        older = self.articles[position + 1]
        return older, self.old_path(older) if older.linked_by_old_url else self.article_path(older)

    @property
    def page_count(self) -> int:
        return -(-len(self.articles) // self.page_size)

    def non_article_paths(self) -> list[str]:
        listings = [self.start_path] + [self.listing_path(page) for page in range(2, self.page_count + 1)]
        return listings + [self.tag_path(tag) for tag in sorted(self.tag_labels)] + [self.about_path, self.contacts_path]

    def broken_paths(self) -> list[str]:
        return [self.contacts_broken_path] + [
            self.attachment_broken_path(article) for article in self.articles if article.has_broken_link]

    def _expected(self, article: DemoArticle) -> ExpectedArticle:
        variants = [self.absolute(self.print_path(article))]
        if self.uses_session_ids and article.linked_with_session_id:
            variants.append(self.absolute(self.listing_link(article)))
        position = self._position[article.number]
        if position < FEED_SIZE:
            variants.append(self.feed_link(article))
        if article.linked_by_old_url and position > 0:
            variants.append(self.absolute(self.old_path(article)))
        return ExpectedArticle(
            url=self.absolute(self.article_path(article)), title=article.title, published=article.published_iso,
            language=self.language, key_sentence=article.lead, variant_urls=variants)

    def article(self, number: str | int) -> DemoArticle | None:
        return self._by_number.get(int(number))

    def sidebar_articles(self, current: DemoArticle | None = None) -> list[DemoArticle]:
        return [a for a in self.articles[:SIDEBAR_SIZE + 1] if a is not current][:SIDEBAR_SIZE]

    def listing_articles(self, page: int) -> list[DemoArticle]:
        return self.articles[(page - 1) * self.page_size: page * self.page_size]

    def tagged(self, slug: str) -> list[DemoArticle]:
        return [article for article in self.articles if slug in article.tags][:20]

    # --- dispatch --------------------------------------------------------------
    def respond(self, target: str) -> Page:
        """Answer a request target (path plus query); unknown paths give the site's 404 page."""
        page = self._dispatch(target)
        if page.status == 200 and not any(name == "ETag" for name, _ in page.headers):
            page = replace(page, headers=(*page.headers, ("ETag", _etag(page.body))))
        return page

    def _dispatch(self, target: str) -> Page:
        parts = urlsplit(target)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        if parts.path in self._gone_paths:
            return self.html_page(self.render_not_found(), status=self._gone_paths[parts.path])
        if parts.path == "/robots.txt":
            return self.text_page(self.robots_txt(), "text/plain; charset=utf-8")
        if parts.path == "/":
            return self.redirect(self.start_url, status=302)
        for pattern, handler in self._routes:
            match = pattern.match(parts.path)
            if match:
                page = handler(match, query)
                if page is not None:
                    return page
        return self.not_found()

    def robots_txt(self) -> str:
        lines = ["User-agent: *"] + [f"Disallow: {path}" for path in self.disallowed_paths]
        if self.crawl_delay is not None:
            lines.append(f"Crawl-delay: {self.crawl_delay:g}")
        lines += ["", f"Sitemap: {self.sitemap_url}", ""]
        return "\n".join(lines)

    # --- page builders ---------------------------------------------------------
    def text_page(self, text: str, content_type: str, status: int = 200) -> Page:
        return Page(status, text.encode(self.charset, "xmlcharrefreplace"), content_type)

    def html_page(self, markup: str, status: int = 200, modified: datetime | None = None) -> Page:
        """HTML in the site's charset; pages with a ``modified`` time also get Last-Modified and ETag."""
        body = markup.encode(self.charset, "xmlcharrefreplace")
        headers: tuple[tuple[str, str], ...] = ()
        if modified is not None:
            headers = (("Last-Modified", http_date(modified)), ("ETag", _etag(body)))
        return Page(status, body, f"text/html; charset={self.charset}", headers)

    def redirect(self, location: str, status: int = 301) -> Page:
        return Page(status, b"", "text/html; charset=utf-8", (("Location", location),))

    def not_found(self) -> Page:
        return self.html_page(self.render_not_found(), status=404)

    def asset(self, name: str, content_type: str) -> Page:
        return Page(200, (ASSETS / name).read_bytes(), content_type)

    def article_modified(self, article: DemoArticle) -> datetime:
        if article.revised is not None:
            return article.revised
        return (article.updated or article.published) + timedelta(minutes=17)

    def serve_article(self, match: re.Match, query: dict) -> Page | None:
        article = self.article(match["number"])
        if article is None:
            return None
        if self.is_print_request(query):
            return self.html_page(self.render_print(article), modified=self.article_modified(article))
        return self.html_page(self.render_article(article), modified=self.article_modified(article))

    def is_print_request(self, query: dict) -> bool:
        return False

    def serve_print(self, match: re.Match, query: dict) -> Page | None:
        article = self.article(match["number"])
        return article and self.html_page(self.render_print(article), modified=self.article_modified(article))

    def serve_old_url(self, number: str | None) -> Page | None:
        article = self.article(number) if number and number.isdigit() else None
        return article and self.redirect(self.absolute(self.article_path(article)))

    def serve_listing(self, page: int) -> Page | None:
        if not 1 <= page <= self.page_count:
            return None
        return self.html_page(self.render_listing(page))

    def serve_tag(self, match: re.Match, query: dict) -> Page | None:
        slug = match["slug"]
        return self.html_page(self.render_tag(slug)) if slug in self.tag_labels else None

    def serve_image(self, match: re.Match, query: dict) -> Page | None:
        article = self.article(match["number"])
        if article is None or not 1 <= int(match["k"]) <= article.image_count:
            return None
        return self.asset("photo.png", "image/png")

    def serve_pdf(self, match: re.Match, query: dict) -> Page | None:
        article = self.article(match["number"])
        return self.asset("attachment.pdf", "application/pdf") if article and article.has_pdf else None

    # --- shared XML ------------------------------------------------------------
    def urlset(self, entries: list[tuple[str, datetime | None]]) -> str:
        items = "".join(
            f"<url><loc>{escape(url)}</loc>" + (f"<lastmod>{moment.date().isoformat()}</lastmod>" if moment else "")
            + "</url>\n" for url, moment in entries)
        return ('<?xml version="1.0" encoding="UTF-8"?>\n'
                f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{items}</urlset>\n')

    def sitemap_index(self, urls: list[str]) -> str:
        items = "".join(f"<sitemap><loc>{escape(url)}</loc></sitemap>\n" for url in urls)
        return ('<?xml version="1.0" encoding="UTF-8"?>\n'
                f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{items}</sitemapindex>\n')

    def article_entries(self) -> list[tuple[str, datetime | None]]:
        return [(self.absolute(self.article_path(a)), a.updated or a.published) for a in self.articles]

    def rss(self) -> str:
        items = "".join(
            f"<item><title>{escape(a.title)}</title><link>{escape(self.feed_link(a))}</link>"
            f"<guid isPermaLink=\"false\">{self.id}-{a.number}</guid>"
            f"<pubDate>{http_date(a.published)}</pubDate><description>{escape(a.lead)}</description></item>\n"
            for a in self.articles[:FEED_SIZE])
        return (f'<?xml version="1.0" encoding="{self.charset}"?>\n<rss version="2.0"><channel>\n'
                f"<title>{escape(self.name)}</title><link>{escape(self.start_url)}</link>"
                f"<description>{escape(self.name)}</description><language>{self.language}</language>\n"
                f"{items}</channel></rss>\n")

    def share_links(self, article: DemoArticle) -> str:
        target = quote(self.absolute(self.article_path(article)), safe="")
        return (f'<a href="https://www.facebook.com/sharer/sharer.php?u={target}">Facebook</a> '
                f'<a href="https://t.me/share/url?url={target}">Telegram</a> '
                f'<a href="https://api.whatsapp.com/send?text={target}">WhatsApp</a>')

    # --- templates (subclasses) -------------------------------------------------
    def lead_date(self, moment: datetime) -> str:
        raise NotImplementedError

    def render_article(self, article: DemoArticle) -> str:
        raise NotImplementedError

    def render_print(self, article: DemoArticle) -> str:
        raise NotImplementedError

    def render_listing(self, page: int) -> str:
        raise NotImplementedError

    def render_tag(self, slug: str) -> str:
        raise NotImplementedError

    def render_not_found(self) -> str:
        raise NotImplementedError

    def article_body(self, article: DemoArticle) -> str:
        """Lead, paragraphs, then the links a body carries: an older article, a PDF, a dead attachment."""
        parts = [self.lead_markup.format(escape(article.lead))] + [f"<p>{escape(p)}</p>" for p in article.paragraphs]
        older = self.older_link(article)
        if older:
            parts.append(f'<p>{self.body_labels["older"]} <a href="{escape(older[1])}">{escape(older[0].title)}</a></p>')
        if article.has_pdf:
            parts.append(f'<p><a href="{self.pdf_path(article)}">{self.body_labels["pdf"]}</a></p>')
        if article.has_broken_link:
            parts.append(f'<p><a href="{self.attachment_broken_path(article)}">{self.body_labels["broken"]}</a></p>')
        return "\n".join(parts)

    def pager(self, page: int, first_label: str, next_label: str, prev_label: str) -> str:
        """Numbered pages around the current one, plus first/prev/next/last, as most CMSs print them."""
        links = []
        if page > 1:
            links.append(f'<a href="{self.start_path}">{first_label}</a>')
            prev = self.start_path if page == 2 else self.listing_path(page - 1)
            links.append(f'<a href="{prev}" rel="prev">{prev_label}</a>')
        for number in range(max(1, page - 3), min(self.page_count, page + 3) + 1):
            href = self.start_path if number == 1 else self.listing_path(number)
            links.append(f"<span class=\"current\">{number}</span>" if number == page else f'<a href="{href}">{number}</a>')
        if page < self.page_count:
            links.append(f'<a href="{self.listing_path(page + 1)}" rel="next">{next_label}</a>')
            links.append(f'<a href="{self.listing_path(self.page_count)}">{self.page_count}</a>')
        return " ".join(links)


KK_MONTHS = ("қаңтар", "ақпан", "наурыз", "сәуір", "мамыр", "маусым", "шілде", "тамыз", "қыркүйек",
             "қазан", "қараша", "желтоқсан")
KK_MONTHS_LOCATIVE = ("қаңтарда", "ақпанда", "наурызда", "сәуірде", "мамырда", "маусымда", "шілдеде", "тамызда",
                      "қыркүйекте", "қазанда", "қарашада", "желтоқсанда")
RU_MONTHS_GENITIVE = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября",
                      "октября", "ноября", "декабря")
EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December")


class KazakhPartySite(DemoSite):
    """A party branch on an old home-grown CMS: div soup, Kazakh byline dates, no canonical links."""

    id = "kk"
    language = "kk"
    base_number = 60_000
    page_size = 10
    start_path = "/kk/news"
    feed_path = "/kk/rss"
    about_path = "/kk/about"
    contacts_path = "/kk/contacts"
    contacts_broken_path = "/uploads/docs/rekvizitter-2019.doc"
    disallowed_paths = ["/admin/", "/kk/search"]
    has_canonical_links = False
    lead_markup = "<p><strong>{}</strong></p>"
    body_labels = {"older": "Бұған дейін хабарлағанымыздай:", "pdf": "Шешімнің толық мәтіні (PDF)",
                   "broken": "Қосымша құжат"}
    url_templates = {
        "article": "/kk/news/{number}", "print": "/kk/print/{number}",
        "old": "/index.php?option=com_content&view=article&id={number}",
        "listing": "/kk/news?page={page}", "tag": "/kk/tag/{slug}",
        "image": "/uploads/images/{number}_{k}.png", "pdf": "/uploads/docs/{number}.pdf",
        "broken": "/uploads/docs/{number}-qosymsha.docx",
    }
    phones = "Байланыс номерi :     +7 702 555 01 23      +77122000000"
    cookie_text = "Біз сайттың жұмысын жақсарту үшін cookie файлдарын пайдаланамыз."
    boilerplate = ["ФОТОГАЛЕРЕЯ", "Біріңғай мемлекеттік байланыс", "AqPrint", "Байланыс номерi",
                   "+7 702 555 01 23", "Соңғы жаңалықтар", "Бөлісу", cookie_text, "Басып шығару",
                   "Барлық құқықтар қорғалған", "Атырау қ., Сәтпаев көшесі, 15"]

    def routes(self):
        return [
            (r"/kk/news", lambda m, q: self.serve_listing(page_number(q))),
            (r"/kk/news/(?P<number>\d+)", self.serve_article),
            (r"/kk/print/(?P<number>\d+)", self.serve_print),
            (r"/index\.php", lambda m, q: self.serve_old_url(q.get("id"))),
            (r"/kk/tag/(?P<slug>[a-z-]+)", self.serve_tag),
            (r"/kk/about", lambda m, q: self.html_page(self.render_about())),
            (r"/kk/contacts", lambda m, q: self.html_page(self.render_contacts())),
            (r"/kk/search", lambda m, q: self.html_page(self.layout("Іздеу", "<h1>Іздеу нәтижелері</h1>"))),
            (r"/admin/.*", lambda m, q: self.html_page(self.layout("Кіру", "<h1>Әкімші панелі</h1>"), status=403)),
            (r"/kk/rss", lambda m, q: self.text_page(self.rss(), "application/rss+xml; charset=utf-8")),
            (r"/sitemap\.xml", lambda m, q: self.text_page(self.urlset(self.sitemap_entries()), "application/xml; charset=utf-8")),
            (r"/uploads/images/logo\.png", lambda m, q: self.asset("photo.png", "image/png")),
            (r"/uploads/images/(?P<number>\d+)_(?P<k>\d)\.png", self.serve_image),
            (r"/uploads/docs/(?P<number>\d+)\.pdf", self.serve_pdf),
        ]

    def sitemap_entries(self):
        pages = [(self.absolute(path), None) for path in (self.start_path, self.about_path, self.contacts_path)]
        return self.article_entries() + pages

    def lead_date(self, moment):
        return f"{moment.day} {KK_MONTHS_LOCATIVE[moment.month - 1]}"

    def byline_date(self, article: DemoArticle) -> str:
        moment = article.published
        day = f"{moment.day} {KK_MONTHS[moment.month - 1]} {moment.year}"
        return f"{day}, {moment:%H:%M}" if article.shows_time else day

    def layout(self, title: str, content: str, sidebar: list[DemoArticle] | None = None) -> str:
        latest = "".join(
            f'<div class="item"><a href="{self.article_path(a)}">{escape(a.title)}</a>'
            f'<div class="item-date">{self.byline_date(a)}</div></div>'
            for a in (self.sidebar_articles() if sidebar is None else sidebar))
        menu = "".join(f'<a href="{self.tag_path(slug)}">{escape(label)}</a> ' for slug, label in self.tag_labels.items())
        return f"""<!DOCTYPE html>
<html lang="kk">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>{escape(title)} - {escape(self.name)}</title>
<link rel="alternate" type="application/rss+xml" title="Жаңалықтар" href="{self.feed_path}">
</head>
<body>
<div id="cookie-banner" class="cookie">{self.cookie_text} <a href="#" class="cookie-ok">Келісемін</a></div>
<div class="wrapper">
<div class="top"><div class="logo"><a href="{self.start_path}"><img src="/uploads/images/logo.png" alt="logo"></a></div>
<div class="site-name">{escape(self.name)}</div>
<div class="search"><form action="/kk/search" method="get"><input type="text" name="q"></form><a href="/kk/search?q=%D0%BF%D0%B0%D1%80%D1%82%D0%B8%D1%8F">Іздеу</a></div></div>
<div class="menu"><a href="{self.start_path}">Жаңалықтар</a> <a href="{self.about_path}">Филиал туралы</a> <a href="{self.contacts_path}">Байланыс</a> {menu}</div>
<div class="main">
<div class="left">
{content}
</div>
<div class="right"><div class="block-title">Соңғы жаңалықтар</div><div class="last-news">{latest}</div></div>
</div>
<div class="footer">
<div class="footer-block">Біріңғай мемлекеттік байланыс</div>
<div class="footer-block">AqPrint</div>
<div class="phones">{self.phones}</div>
<div class="address">Атырау қ., Сәтпаев көшесі, 15</div>
<div class="copy">© 2026 Барлық құқықтар қорғалған <a href="/admin/">Кіру</a></div>
</div>
</div>
</body>
</html>
"""

    def render_article(self, article):
        gallery = "".join(
            f'<a href="{self.image_path(article, k)}"><img src="{self.image_path(article, k)}" alt=""></a>'
            for k in range(1, article.image_count + 1))
        tags = " ".join(f'<a href="{self.tag_path(t)}">{escape(self.tag_labels[t])}</a>' for t in article.tags)
        content = f"""<div class="news-full">
<div class="news-title"><h1>{escape(article.title)}</h1></div>
<div class="news-info"><span class="date">{self.byline_date(article)}</span> | <a href="{self.print_path(article)}">Басып шығару</a></div>
<div class="news-text">
{self.article_body(article)}
</div>
<div class="tags">{tags}</div>
<div class="share">Бөлісу: {self.share_links(article)}</div>
<div class="gallery"><div class="gallery-title">ФОТОГАЛЕРЕЯ</div>{gallery}</div>
</div>"""
        return self.layout(article.title, content, self.sidebar_articles(article))

    def render_print(self, article):
        return f"""<!DOCTYPE html>
<html lang="kk"><head><meta charset="utf-8"><title>{escape(article.title)}</title>
<link rel="canonical" href="{self.absolute(self.article_path(article))}"></head>
<body onload="window.print()"><h1>{escape(article.title)}</h1><div class="date">{self.byline_date(article)}</div>
{self.article_body(article)}
</body></html>
"""

    def news_list(self, articles: list[DemoArticle], with_session_ids: bool) -> str:
        return "".join(
            f'<div class="news-item"><div class="news-date">{self.byline_date(a)}</div>'
            f'<a class="news-link" href="{escape(self.listing_link(a) if with_session_ids else self.article_path(a))}">'
            f'{escape(a.title)}</a><div class="anons">{escape(a.lead[:90])}…</div></div>\n' for a in articles)

    def render_listing(self, page):
        pager = self.pager(page, "« Басы", "Келесі »", "‹ Алдыңғы")
        content = (f'<div class="page-title">Жаңалықтар</div><div class="news-list">\n'
                   f'{self.news_list(self.listing_articles(page), True)}</div><div class="pager">{pager}</div>')
        return self.layout("Жаңалықтар", content)

    def render_tag(self, slug):
        content = (f'<div class="page-title">{escape(self.tag_labels[slug])}</div>'
                   f'<div class="news-list">\n{self.news_list(self.tagged(slug), False)}</div>')
        return self.layout(self.tag_labels[slug], content)

    def render_about(self):
        return self.layout("Филиал туралы", """<div class="page-title">Филиал туралы</div><div class="static-text">
<p>Облыстық филиал аумақтық партия ұйымдарының жұмысын үйлестіреді, партиялық қоғамдық қабылдау бөлмелерінің қызметін ұйымдастырады.</p>
<p>Филиалдың құрылымында Саяси кеңес, Саяси кеңес Бюросы және бақылау-тексеру комиссиясы жұмыс істейді.</p></div>""")

    def render_contacts(self):
        return self.layout("Байланыс", f"""<div class="page-title">Байланыс</div><div class="static-text">
<p>Мекенжайы: Атырау қ., Сәтпаев көшесі, 15</p><p>Қабылдау бөлмесі: +7 7122 00 00 00</p><p>Электрондық пошта: info@example.kz</p>
<p><a href="{self.contacts_broken_path}">Филиалдың деректемелері</a></p></div>""")

    def render_not_found(self):
        return self.layout("Бет табылмады", '<div class="page-title">404</div><p>Бет табылмады.</p>')


class RussianAkimatSite(DemoSite):
    """An akimat site on a Bitrix-like CMS, served in windows-1251 with table layout."""

    id = "ru"
    language = "ru"
    charset = "windows-1251"
    base_number = 38_000
    page_size = 8
    start_path = "/ru/novosti/"
    feed_path = "/ru/rss/"
    about_path = "/ru/ob-akimate/"
    contacts_path = "/ru/kontakty/"
    contacts_broken_path = "/upload/docs/rekvizity-2019.doc"
    disallowed_paths = ["/bitrix/", "/search/"]
    body_labels = {"older": "Ранее сообщалось:", "pdf": "Постановление акимата (PDF)", "broken": "Приложение к решению"}
    url_templates = {
        "article": "/ru/novosti/{number}.html", "print": "/ru/novosti/{number}.html?print=Y",
        "old": "/news.php?id={number}", "listing": "/ru/novosti/page/{page}/", "tag": "/ru/tags/{slug}/",
        "image": "/upload/iblock/{number}_{k}.png", "pdf": "/upload/docs/{number}.pdf",
        "broken": "/upload/docs/{number}-prilozhenie.doc",
    }
    cookie_text = "Мы используем файлы cookie, чтобы сайт работал удобнее для вас."
    address = "060000, г. Атырау, пр. Азаттык, 1"
    boilerplate = ["Последние новости", "Поделиться", "Фотогалерея", "Версия для печати", cookie_text,
                   "Телефон приемной", "+7 (7122) 35-00-00", address, "Все права защищены",
                   "Единый контакт-центр"]

    def routes(self):
        return [
            (r"/ru/novosti/", lambda m, q: self.serve_listing(1)),
            (r"/ru/novosti/page/(?P<page>\d+)/", lambda m, q: self.serve_listing(int(m["page"]))),
            (r"/ru/novosti/(?P<number>\d+)\.html", self.serve_article),
            (r"/news\.php", lambda m, q: self.serve_old_url(q.get("id"))),
            (r"/ru/tags/(?P<slug>[a-z-]+)/", self.serve_tag),
            (r"/ru/ob-akimate/", lambda m, q: self.html_page(self.render_about())),
            (r"/ru/kontakty/", lambda m, q: self.html_page(self.render_contacts())),
            (r"/search/", lambda m, q: self.html_page(self.layout("Поиск", "<h1>Поиск</h1>"))),
            (r"/bitrix/.*", lambda m, q: self.html_page(self.layout("Авторизация", "<h1>Авторизация</h1>"), status=403)),
            (r"/ru/rss/", lambda m, q: self.text_page(self.rss(), "application/rss+xml; charset=windows-1251")),
            (r"/sitemap\.xml", lambda m, q: self.text_page(
                self.sitemap_index([self.absolute("/sitemap-news.xml.gz"), self.absolute("/sitemap-pages.xml")]),
                "application/xml; charset=utf-8")),
            (r"/sitemap-news\.xml\.gz", lambda m, q: Page(
                200, gzip.compress(self.urlset(self.article_entries()).encode("utf-8"), mtime=0), "application/x-gzip")),
            (r"/sitemap-pages\.xml", lambda m, q: Page(
                200, self.urlset([(url, None) for url in self.non_article_urls]).encode("utf-8"),
                "application/xml; charset=utf-8")),
            (r"/upload/iblock/(?P<number>\d+)_(?P<k>\d)\.png", self.serve_image),
            (r"/upload/docs/(?P<number>\d+)\.pdf", self.serve_pdf),
        ]

    def is_print_request(self, query):
        return query.get("print") == "Y"

    def lead_date(self, moment):
        return f"{moment.day} {RU_MONTHS_GENITIVE[moment.month - 1]}"

    def shown_date(self, article: DemoArticle) -> str:
        moment = article.published
        if article.shows_time:
            return f"{moment:%d.%m.%Y %H:%M}"
        return f"{moment.day} {RU_MONTHS_GENITIVE[moment.month - 1]} {moment.year} г."

    def layout(self, title: str, content: str, sidebar: list[DemoArticle] | None = None, head: str = "") -> str:
        latest = "".join(
            f'<li><span class="date">{self.shown_date(a)}</span> <a href="{escape(self.listing_link(a))}">{escape(a.title)}</a></li>'
            for a in (self.sidebar_articles() if sidebar is None else sidebar))
        return f"""<!DOCTYPE html>
<html lang="ru">
<head>
<meta charset="windows-1251">
<title>{escape(title)} | {escape(self.name)}</title>
{head}<link rel="alternate" type="application/rss+xml" title="RSS" href="{self.feed_path}">
</head>
<body>
<div class="cookie-notice">{self.cookie_text} <button type="button">Принять</button></div>
<table class="layout" width="100%">
<tr><td colspan="2" class="header"><a href="/"><b>{escape(self.name)}</b></a>
<span class="lang"><a href="/">Қазақша</a> | <b>Русский</b></span>
<form action="/search/" method="get"><input name="q"> <a href="/search/?q=%E0%EA%E8%EC">Поиск</a></form>
<div class="top-menu"><a href="{self.start_path}">Новости</a> | <a href="{self.about_path}">Об акимате</a> | <a href="{self.contacts_path}">Контакты</a></div></td></tr>
<tr><td class="content" valign="top">
<div class="breadcrumbs"><a href="/">Главная</a> / <a href="{self.start_path}">Новости</a></div>
{content}
</td>
<td class="sidebar" valign="top" width="280"><h3>Последние новости</h3><ul>{latest}</ul>
<h3>Фотогалерея</h3><p><a href="{self.start_path}">Все фото</a></p></td></tr>
<tr><td colspan="2" class="footer">Адрес: {self.address}<br>Телефон приемной: +7 (7122) 35-00-00<br>
Единый контакт-центр: 1414<br>© 2026 {escape(self.name)}. Все права защищены. <a href="/bitrix/admin/">Вход</a></td></tr>
</table>
</body>
</html>
"""

    def render_article(self, article):
        photos = "".join(f'<img src="{self.image_path(article, k)}" alt="" width="200">'
                         for k in range(1, article.image_count + 1))
        tags = ", ".join(f'<a href="{self.tag_path(t)}">{escape(self.tag_labels[t])}</a>' for t in article.tags)
        canonical = self.absolute(self.article_path(article))
        content = f"""<h1 class="page-title">{escape(article.title)}</h1>
<div class="news-detail">
<span class="news-date-time">{self.shown_date(article)}</span>
<div class="detail-photos">{photos}</div>
<div class="detail-text">
{self.article_body(article)}
</div>
<div class="detail-tags">Теги: {tags}</div>
<div class="print-link"><a href="{escape(self.print_path(article))}">Версия для печати</a></div>
<div class="share">Поделиться: {self.share_links(article)}</div>
</div>"""
        return self.layout(article.title, content, self.sidebar_articles(article),
                           head=f'<link rel="canonical" href="{canonical}">\n')

    def render_print(self, article):
        return f"""<!DOCTYPE html>
<html lang="ru"><head><meta charset="windows-1251"><title>{escape(article.title)}</title>
<link rel="canonical" href="{self.absolute(self.article_path(article))}"></head>
<body class="print"><h1>{escape(article.title)}</h1><p>{self.shown_date(article)}</p>
{self.article_body(article)}
</body></html>
"""

    def news_list(self, articles: list[DemoArticle], with_session_ids: bool) -> str:
        rows = "".join(
            f'<tr><td class="date">{self.shown_date(a)}</td><td><a href="{escape(self.listing_link(a) if with_session_ids else self.article_path(a))}">'
            f'{escape(a.title)}</a><br><small>{escape(a.lead[:100])}…</small></td></tr>\n' for a in articles)
        return f'<table class="news-list">\n{rows}</table>'

    def render_listing(self, page):
        pager = self.pager(page, "Начало", "След.", "Пред.")
        return self.layout("Новости", f'<h1>Новости</h1>{self.news_list(self.listing_articles(page), True)}'
                                      f'<div class="modern-page-navigation">{pager}</div>')

    def render_tag(self, slug):
        label = escape(self.tag_labels[slug])
        return self.layout(label, f"<h1>Тег: {label}</h1>{self.news_list(self.tagged(slug), False)}")

    def render_about(self):
        return self.layout("Об акимате", """<h1>Об акимате</h1>
<p>Акимат области является коллегиальным исполнительным органом, возглавляемым акимом области.</p>
<p>Акимат обеспечивает реализацию государственной политики на территории области и координирует работу районных акиматов.</p>""")

    def render_contacts(self):
        return self.layout("Контакты", f"""<h1>Контакты</h1><p>Адрес: {self.address}</p>
<p>Канцелярия: +7 (7122) 35-00-01</p><p>E-mail: akimat@example.kz</p>
<p><a href="{self.contacts_broken_path}">Реквизиты акимата</a></p>""")

    def render_not_found(self):
        return self.layout("Страница не найдена", "<h1>404</h1><p>Страница не найдена.</p>")


class EnglishMinistrySite(DemoSite):
    """A ministry's English pages on a modern CMS: semantic HTML5, og: meta, JSON-LD on even articles."""

    id = "en"
    language = "en"
    base_number = 12_000
    page_size = 6
    start_path = "/en/news"
    feed_path = "/en/feed.atom"
    about_path = "/en/about"
    contacts_path = "/en/contacts"
    contacts_broken_path = "/media/documents/organisation-chart-2019.pdf"
    disallowed_paths = ["/admin/", "/en/search"]
    lead_markup = '<p class="lead">{}</p>'
    body_labels = {"older": "Related:", "pdf": "Read the full decision (PDF)", "broken": "Annex to the decision"}
    url_templates = {
        "article": "/en/news/{number}-{slug}", "print": "/en/news/{number}-{slug}/print",
        "old": "/news/{number}", "listing": "/en/news?page={page}", "tag": "/en/topics/{slug}",
        "image": "/media/images/{number}-{k}.png", "pdf": "/media/documents/{number}.pdf",
        "broken": "/media/documents/{number}-annex.docx",
    }
    uses_session_ids = False
    cookie_text = "We use cookies to make this website work and to understand how you use it."
    boilerplate = ["Latest news", "Share this page", "Print this page", cookie_text, "Ministry switchboard",
                   "+7 7172 00 00 00", "All rights reserved", "Accept cookies", "Skip to main content"]

    def routes(self):
        return [
            (r"/en/news", lambda m, q: self.serve_listing(page_number(q))),
            (r"/en/news/(?P<number>\d+)-(?P<slug>[a-z0-9-]+)", self.serve_slugged_article),
            (r"/en/news/(?P<number>\d+)-(?P<slug>[a-z0-9-]+)/print", self.serve_print),
            (r"/news/(?P<number>\d+)", lambda m, q: self.serve_old_url(m["number"])),
            (r"/en/topics/(?P<slug>[a-z-]+)", self.serve_tag),
            (r"/en/about", lambda m, q: self.html_page(self.render_static("About the ministry", self.about_markup()))),
            (r"/en/contacts", lambda m, q: self.html_page(self.render_static("Contacts", self.contacts_markup()))),
            (r"/en/search", lambda m, q: self.html_page(self.render_static("Search", "<p>No results.</p>"))),
            (r"/admin/.*", lambda m, q: self.html_page(self.render_static("Log in", "<p>Restricted.</p>"), status=403)),
            (r"/en/feed\.atom", lambda m, q: self.text_page(self.atom(), "application/atom+xml; charset=utf-8")),
            (r"/sitemap\.xml", lambda m, q: self.text_page(self.urlset(self.article_entries() + [
                (url, None) for url in self.non_article_urls]), "application/xml; charset=utf-8")),
            (r"/media/images/(?P<number>\d+)-(?P<k>\d)\.png", self.serve_image),
            (r"/media/documents/(?P<number>\d+)\.pdf", self.serve_pdf),
        ]

    def serve_slugged_article(self, match, query):
        article = self.article(match["number"])
        if article is not None and match["slug"] != slug(article.title):
            return self.redirect(self.absolute(self.article_path(article)))
        return self.serve_article(match, query)

    def feed_link(self, article):
        return self.absolute(self.article_path(article) + "?utm_source=atom&utm_medium=feed&utm_campaign=press")

    def lead_date(self, moment):
        return f"On {moment.day} {EN_MONTHS[moment.month - 1]}"

    @staticmethod
    def day_text(moment: datetime) -> str:
        return f"{moment.day} {EN_MONTHS[moment.month - 1]} {moment.year}"

    def atom(self) -> str:
        entries = "".join(
            f"<entry><title>{escape(a.title)}</title><link href=\"{escape(self.feed_link(a))}\"/>"
            f"<id>tag:ministry.example,2026:{a.number}</id><published>{a.published.isoformat()}</published>"
            f"<updated>{(a.updated or a.published).isoformat()}</updated><summary>{escape(a.lead)}</summary></entry>\n"
            for a in self.articles[:FEED_SIZE])
        return ('<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'
                f"<title>{escape(self.name)}</title><link href=\"{self.start_url}\"/><id>{self.start_url}</id>"
                f"<updated>{self.articles[0].published.isoformat()}</updated>\n{entries}</feed>\n")

    def layout(self, title: str, main: str, head: str = "", current: DemoArticle | None = None) -> str:
        latest = "".join(
            f'<li><a href="{self.article_path(a)}">{escape(a.title)}</a> '
            f'<time datetime="{a.published_iso}">{self.day_text(a.published)}</time></li>'
            for a in self.sidebar_articles(current))
        topics = "".join(f'<li><a href="{self.tag_path(s)}">{escape(label)}</a></li>' for s, label in self.tag_labels.items())
        return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} | {escape(self.name)}</title>
{head}<link rel="alternate" type="application/atom+xml" title="News" href="{self.feed_path}">
</head>
<body>
<a class="skip" href="#main">Skip to main content</a>
<div class="cookie-consent" role="dialog"><p>{self.cookie_text}</p><button type="button">Accept cookies</button></div>
<header class="site-header"><a class="brand" href="{self.start_path}">{escape(self.name)}</a>
<nav aria-label="Main"><ul><li><a href="{self.start_path}">News</a></li><li><a href="{self.about_path}">About</a></li><li><a href="{self.contacts_path}">Contacts</a></li></ul></nav>
<form role="search" action="/en/search"><input type="search" name="q"><a href="/en/search?q=budget">Search</a></form></header>
<main id="main">
{main}
<aside class="latest"><h2>Latest news</h2><ul>{latest}</ul><h2>Topics</h2><ul>{topics}</ul></aside>
</main>
<footer class="site-footer"><p>Ministry switchboard: +7 7172 00 00 00</p><p>© 2026 {escape(self.name)}. All rights reserved.</p><p><a href="/admin/login">Staff login</a></p></footer>
</body>
</html>
"""

    def head_meta(self, article: DemoArticle) -> str:
        canonical = self.absolute(self.article_path(article))
        meta = [f'<meta name="description" content="{escape(article.lead)}">',
                f'<link rel="canonical" href="{canonical}">',
                '<meta property="og:type" content="article">',
                f'<meta property="og:title" content="{escape(article.title)}">',
                f'<meta property="og:url" content="{canonical}">',
                f'<meta property="og:description" content="{escape(article.lead)}">',
                f'<meta property="og:image" content="{self.absolute(self.image_path(article, 1))}">',
                f'<meta property="og:site_name" content="{escape(self.name)}">',
                f'<meta property="article:published_time" content="{article.published_iso}">']
        if article.index % 2 == 0:
            data = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": article.title,
                    "datePublished": article.published_iso, "inLanguage": "en",
                    "mainEntityOfPage": canonical, "image": [self.absolute(self.image_path(article, 1))],
                    "publisher": {"@type": "GovernmentOrganization", "name": self.name}}
            if article.updated:
                data["dateModified"] = article.updated.isoformat()
            meta.append(f'<script type="application/ld+json">{json.dumps(data, ensure_ascii=False)}</script>')
        return "\n".join(meta) + "\n"

    def published_line(self, article: DemoArticle) -> str:
        line = f'Published <time datetime="{article.published_iso}">{self.day_text(article.published)}</time>'
        if article.updated:
            line += f' · Updated <time datetime="{article.updated.isoformat()}">{self.day_text(article.updated)}</time>'
        return line

    def render_article(self, article):
        figures = "".join(f'<figure><img src="{self.image_path(article, k)}" alt=""></figure>'
                          for k in range(1, article.image_count + 1))
        tags = "".join(f'<li><a href="{self.tag_path(t)}">{escape(self.tag_labels[t])}</a></li>' for t in article.tags)
        main = f"""<article class="news-article">
<header><h1>{escape(article.title)}</h1><p class="meta">{self.published_line(article)}</p></header>
{figures}
<div class="article-body">
{self.article_body(article)}
</div>
<footer class="article-footer"><ul class="tags">{tags}</ul><a href="{self.print_path(article)}">Print this page</a>
<div class="share">Share this page: {self.share_links(article)}</div></footer>
</article>"""
        return self.layout(article.title, main, head=self.head_meta(article), current=article)

    def render_print(self, article):
        return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(article.title)}</title>
<link rel="canonical" href="{self.absolute(self.article_path(article))}"><meta name="robots" content="noindex"></head>
<body class="print"><h1>{escape(article.title)}</h1><p>{self.published_line(article)}</p>
{self.article_body(article)}
</body></html>
"""

    def news_list(self, articles: list[DemoArticle]) -> str:
        items = "".join(
            f'<li class="teaser"><h3><a href="{self.article_path(a)}">{escape(a.title)}</a></h3>'
            f'<time datetime="{a.published_iso}">{self.day_text(a.published)}</time><p>{escape(a.lead[:110])}…</p></li>\n'
            for a in articles)
        return f'<ul class="news-list">\n{items}</ul>'

    def render_listing(self, page):
        pager = self.pager(page, "First", "Next ›", "‹ Previous")
        return self.render_static("News", f'{self.news_list(self.listing_articles(page))}'
                                          f'<nav class="pager" aria-label="Pages">{pager}</nav>')

    def render_tag(self, slug):
        return self.render_static(self.tag_labels[slug], self.news_list(self.tagged(slug)))

    def render_static(self, title: str, body: str) -> str:
        return self.layout(title, f'<section class="page"><h1>{escape(title)}</h1>\n{body}\n</section>')

    def about_markup(self) -> str:
        return ("<p>The ministry shapes state policy on regional development, local self-government and housing.</p>"
                "<p>It coordinates regional administrations and monitors the delivery of national programmes.</p>")

    def contacts_markup(self) -> str:
        return (f"<address>Government House, 010000 Astana</address><p>Press office: press@example.kz</p>"
                f'<p><a href="{self.contacts_broken_path}">Organisation chart</a></p>')

    def render_not_found(self):
        return self.render_static("Page not found", "<p>The page you requested does not exist.</p>")


SITE_CLASSES: dict[str, type[DemoSite]] = {
    site.id: site for site in (KazakhPartySite, RussianAkimatSite, EnglishMinistrySite)}
