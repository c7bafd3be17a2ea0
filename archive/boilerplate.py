"""Keep site chrome out of the article text, in two passes.

Before trafilatura (``remove_chrome``) we drop whole elements whose role is
plain from the markup: ``<footer>``, ``<nav>``, ``<aside>``, scripts (JSON-LD
stays: it is metadata, not text), and
elements whose class/id/role names a share bar, cookie banner, sidebar,
"latest"/"popular"/"related" list, gallery label, contact block, etc.
An element is spared when it holds the article itself (the main heading or
``articleBody``) or most of the page's text: a ``<body class="with-sidebar">``
or a theme that wraps everything in ``<div id="footer-wrap">`` must not take
the article with it.

A page-top ``<header>`` outside ``<article>``/``<main>`` goes too (logo, menu).

Layout tables (old CMS pages laid out with ``<table>``: a cell that holds
headings, paragraphs or lists is a column of the page, not a datum) become
plain ``<div>`` blocks first, so that the chrome rules above see their cells
and trafilatura does not flatten the whole article into one table cell with
its paragraphs run together. Data tables (cells of inline text) stay tables.

After trafilatura (``trim_text``) we look only at the leading and trailing
paragraphs and drop those that are chrome beyond doubt: phone-number lines,
bare links ("Источник: https://…"), bare dates and view counters,
short all-caps labels ("ФОТОГАЛЕРЕЯ"), lines that start with a known chrome
phrase in kk/ru/en (or hold one and do not end like a sentence), and
a leading repeat of the title (a kicker in front or not). A paragraph in the
middle of the text is not touched, and a line that reads like a sentence
(long, or ending with a full stop after several words) is never dropped,
with two narrow exceptions: a short photo-credit line ("Фото: пресс-служба")
goes wherever it is, and a bare "More from …" / "Читайте также" / "Тағы
оқыңыз" heading with more text before it than after ends it (what follows is
the theme's list of other news). A line "© …" or "All rights reserved" is
the footer even when it reads like a sentence.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from lxml.html import HtmlElement

_NON_TEXT_TAGS = ("script", "style", "noscript", "template", "iframe", "svg")
_CHROME_TAGS = frozenset({"nav", "footer", "aside"})
# Lists and widgets that are never the article.
_CHROME_WORDS = frozenset(
    """share sharing social socials likes cookie cookies consent gdpr related latest popular
    recommended recommend subscribe newsletter advert ads adv promo comments comment breadcrumb
    breadcrumbs copyright tags rating login modal popup weather currency counters contacts
    contact""".split()
)
# Layout words that also appear on the article's own container
# ("sidebar-grid__content article__content", "widgets_article-widgets"):
# they count only when no content word is in the same names and the element
# holds no paragraph of prose ("sidebar-grid__container" wraps the article).
_LAYOUT_WORDS = frozenset(
    """sidebar widget widgets banner banners menu navbar nav navigation footer pagination pager
    search lang language languages gallery""".split()
)
_CONTENT_WORDS = frozenset("article articlebody body content text story entry main".split())
# Words that are chrome only together with another chrome word or as the
# whole name ("print-content", "more-text" and "side-by-side" are not chrome).
_WEAK_WORDS = frozenset({"more", "side", "print", "most", "tag", "soc", "visually"})
_CHROME_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary", "search", "dialog"})
_NAME_SPLIT = re.compile(r"[\s_\-]+|(?<=[a-z])(?=[A-Z])")
_PROSE_CHARS = 300
_PROTECTED_TAGS = frozenset({"html", "body", "main", "article"})

# -- structural pass ---------------------------------------------------------


def remove_chrome(tree: HtmlElement, keep: HtmlElement | None = None) -> int:
    """Remove site chrome from ``tree`` in place; return how many elements went.

    ``keep`` is an element that must survive (the article's main heading).
    """
    body = tree.find("body")
    if body is None:
        body = tree
    unwrap_layout_tables(body)
    page_chars = len(_text_of(body)) or 1
    protected = _ancestors_and_self(keep) | _article_bodies(tree)
    doomed = [e for e in tree.iter(*_NON_TEXT_TAGS) if "ld+json" not in (e.get("type") or "").lower()]
    for element in body.iter():
        if not isinstance(element.tag, str) or element in protected:
            continue
        if element.tag in _PROTECTED_TAGS:
            continue
        if element.tag == "header" and not _inside_content(element):
            doomed.append(element)
        elif element.tag in _CHROME_TAGS:
            doomed.append(element)
        elif _names_chrome(element) and len(_text_of(element)) < page_chars / 2:
            doomed.append(element)
    for element in doomed:
        if element.getparent() is not None:
            drop_element(element)
    return len(doomed)


def remove_selected(tree: HtmlElement, selectors: tuple[str, ...], keep: HtmlElement | None = None) -> int:
    """Remove the elements a site profile names as boilerplate (CSS selectors); return how many went.

    For chrome the generic rules cannot know ("Previously reported: ..." links,
    a site's own banner). Like :func:`remove_chrome`, it never removes the page
    itself or a block holding ``keep`` (the main heading), so a too-broad
    selector cannot take the article with it.
    """
    if not selectors:
        return 0
    protected = _ancestors_and_self(keep)
    doomed = [element for selector in selectors for element in tree.xpath(_css_to_xpath(selector))
              if element not in protected and element.tag not in ("html", "body")]
    for element in doomed:
        if element.getparent() is not None:
            drop_element(element)
    return len(doomed)


@functools.lru_cache(maxsize=64)
def _css_to_xpath(selector: str) -> str:
    """The XPath text of a CSS selector (cached), not a compiled selector: a compiled lxml XPath
    reused on trees from other documents fails on non-ASCII strings (``:contains("Бұған")``)."""
    from cssselect import HTMLTranslator  # a Scrapy dependency too (parsel)

    return HTMLTranslator().css_to_xpath(selector)


_LAYOUT_CELL_BLOCKS = frozenset({"p", "div", "h1", "h2", "h3", "ul", "ol", "form", "table", "article", "section"})
_TABLE_PARTS = frozenset({"table", "tbody", "thead", "tfoot", "tr", "td", "th"})


def unwrap_layout_tables(root: HtmlElement) -> int:
    """Turn tables used for page layout into ``<div>`` blocks; return how many.

    Innermost first, so a data table inside a layout cell stays a table.
    """
    unwrapped = 0
    for table in reversed(list(root.iter("table"))):
        if not _is_layout_table(table):
            continue
        parts = [table] + [p for p in table.iter(*_TABLE_PARTS) if p is not table and _owning_table(p) is table]
        for part in parts:
            part.tag = "div"
            for name in ("colspan", "rowspan", "valign", "width", "align", "border", "cellpadding", "cellspacing"):
                part.attrib.pop(name, None)
        unwrapped += 1
    return unwrapped


def _is_layout_table(table: HtmlElement) -> bool:
    for cell in table.iter("td", "th"):
        if _owning_table(cell) is table and any(
            isinstance(child.tag, str) and child.tag in _LAYOUT_CELL_BLOCKS for child in cell
        ):
            return True
    return False


def _owning_table(element: HtmlElement) -> HtmlElement | None:
    return next(element.iterancestors("table"), None)


_CONTENT_SHARE = 0.5


def mark_article(tree: HtmlElement, heading: HtmlElement | None) -> HtmlElement | None:
    """Make the block that holds the headline and the article's prose an ``<article>``.

    Only on pages with no ``<article>``, ``<main>`` or ``articleBody``: there
    trafilatura falls back to generic extractors that drop lists ("- зерновые
    — 1 850 га") and keep stray side columns. The block is the nearest
    ancestor of the main heading that holds half the page's paragraph text.
    """
    if heading is None or tree.xpath('//article|//main|//*[@itemprop="articleBody"]'):
        return None
    body = tree.find("body")
    if body is None:
        return None
    total = sum(len(_text_of(p)) for p in body.iter("p"))
    if not total:
        return None
    for ancestor in heading.iterancestors():
        if ancestor is body or ancestor.tag in ("body", "html"):
            return None
        if sum(len(_text_of(p)) for p in ancestor.iter("p")) >= total * _CONTENT_SHARE:
            ancestor.tag = "article"
            return ancestor
    return None


def _names_chrome(element: HtmlElement) -> bool:
    role = (element.get("role") or "").lower()
    if role in _CHROME_ROLES:
        return True
    names = f"{element.get('class') or ''} {element.get('id') or ''}"
    if not names.strip():
        return False
    words = {w.lower() for w in _NAME_SPLIT.split(names) if w}
    if words & _CHROME_WORDS:
        return True
    if words & _LAYOUT_WORDS and not words & _CONTENT_WORDS:
        return not _holds_prose(element)
    weak = words & _WEAK_WORDS
    return bool(weak) and (len(weak) >= 2 or len(words) == 1)


def _holds_prose(element: HtmlElement) -> bool:
    """Paragraphs of real prose inside: a grid container, not a sidebar."""
    prose = 0
    for paragraph in element.iter("p"):
        text = _text_of(paragraph)
        linked = sum(len(_text_of(a)) for a in paragraph.iter("a"))
        if linked < len(text) / 2:
            prose += len(text)
            if prose >= _PROSE_CHARS:
                return True
    return False


def _inside_content(element: HtmlElement) -> bool:
    return any(a.tag in ("article", "main") for a in element.iterancestors())


def _article_bodies(tree: HtmlElement) -> set:
    found = set()
    for element in tree.xpath('//*[@itemprop="articleBody"]|//article'):
        found |= _ancestors_and_self(element)
    return found


def _ancestors_and_self(element: HtmlElement | None) -> set:
    if element is None:
        return set()
    return {element, *element.iterancestors()}


def drop_element(element: HtmlElement) -> None:
    """Remove an element but keep the text that follows it (its tail)."""
    parent = element.getparent()
    tail = element.tail
    if tail and tail.strip():
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(element)


def _text_of(element: HtmlElement) -> str:
    return "".join(element.itertext())


# -- text pass -----------------------------------------------------------------

# "+7 702 132 03 32", "+77122458521", "8 (7122) 35-45-12"; not "2019-2020" or "13 007".
_PHONE = re.compile(r"(?<![\d\w])(?:\+\d{1,3}|8)[\s\-]?\(?\d{3,5}\)?[\s\-]?\d{1,3}[\s\-]?\d{2}[\s\-]?\d{2}(?!\d)")
_CHROME_PHRASES = tuple(
    phrase.casefold()
    for phrase in (
        # kk
        "Бірыңғай байланыс", "Біріңғай мемлекеттік байланыс", "Байланыс номері", "Байланыс номерi",
        "Барлық құқықтар қорғалған", "Бөлісу", "Соңғы жаңалықтар", "Тағы оқыңыз", "Фотогалерея",
        "Басып шығару", "Сайтты әзірлеген", "Мекенжайымыз", "Мекенжай:", "Біз әлеуметтік желілерде",
        # ru
        "Все права защищены", "Поделиться", "Последние новости", "Читайте также", "Популярное",
        "Версия для печати", "Распечатать", "Сайт разработан", "Разработка сайта",
        "Мы в социальных сетях", "Подписывайтесь", "Телефон доверия", "Единый контакт-центр",
        "Использование материалов", "Нашли ошибку", "Адрес:",
        # en
        "All rights reserved", "Share this", "Share on", "Latest news", "Related articles",
        "Read more", "Read also", "Follow us", "Subscribe", "We use cookies", "Print version",
        "Photo gallery", "Contact us", "Address:",
        # site-builder credits often left in footers
        "AqPrint",
    )
)
_RIGHTS_RESERVED = tuple(
    p.casefold() for p in ("Барлық құқықтар қорғалған", "Все права защищены", "All rights reserved")
)
_LETTER_RUN = re.compile(r"[^\W\d_]+")
_URL = re.compile(r"(?:https?://|www\.)\S+")
_MAX_CHROME_LINE = 90
_SENTENCE_END = re.compile(r"[.!?…»\"”)]\s*$")


def trim_text(text: str, title: str | None = None, headings: tuple[str | None, ...] = ()) -> str:
    """Drop chrome paragraphs from the start and the end of ``text``.

    At the start, the title goes too, and so do ``headings``: the page's
    visible ``<h1>`` where the title is another wording of it (a teaser
    heading, a section label, a heading with its subtitle glued on).
    Paragraphs come out separated by a blank line; the rows of a table and
    the items of a list stay together, one per line, and are never chrome.
    """
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n|\n", text) if p.strip()]
    paragraphs = [p for p in paragraphs if not _is_photo_credit(p)]
    paragraphs = _cut_trailing_section(paragraphs)
    title_key = _key(title) if title else None
    heading_keys = {_key(h) for h in headings if h}
    while paragraphs and (_is_chrome_line(paragraphs[0]) or _is_title_line(paragraphs[0], title_key)
                          or _key(paragraphs[0]) in heading_keys):
        paragraphs.pop(0)
    while paragraphs and _is_chrome_line(paragraphs[-1]):
        paragraphs.pop()
    return join_paragraphs(paragraphs)


_KICKER_CHARS = 60
# Headings of the "more news" section some themes put inside the article container.
_SECTION_LABELS = re.compile(
    r"^(?:more from\b.*|related(?: articles| stories| news)?|read (?:more|also|next)|see also|latest news|"
    r"читайте также|по теме|похожие новости|другие новости|последние новости|"
    r"тағы оқыңыз|тақырыпқа қатысты|соңғы жаңалықтар|басқа жаңалықтар)\s*:?$",
    re.IGNORECASE,
)
_SECTION_LABEL_CHARS = 40
_PHOTO_CREDIT = re.compile(r"^(?:photo|photos|фото|сурет|photo by)\s*:", re.IGNORECASE)
_PHOTO_CREDIT_CHARS = 60


def _cut_trailing_section(paragraphs: list[str]) -> list[str]:
    """Cut at a "More from …" / "Читайте также" heading with more text before it than after, and all after it."""
    total = sum(len(p) for p in paragraphs)
    before = 0
    for index, line in enumerate(paragraphs):
        if index and before >= total - before - len(line) and len(line) <= _SECTION_LABEL_CHARS \
                and _SECTION_LABELS.match(line.strip()):
            return paragraphs[:index]
        before += len(line)
    return paragraphs


def _is_photo_credit(line: str) -> bool:
    """"Photo: AFP", "Фото: пресс-служба акимата": a credit line, anywhere in the text."""
    return len(line) <= _PHOTO_CREDIT_CHARS and bool(_PHOTO_CREDIT.match(line))


def _is_title_line(line: str, title_key: str | None) -> bool:
    """The title again, perhaps with its kicker in front ("Білім беру Жаңа мектеп ашылды")."""
    if not title_key:
        return False
    key = _key(line)
    return key == title_key or (key.endswith(title_key) and len(key) - len(title_key) <= _KICKER_CHARS)


def join_paragraphs(paragraphs: list[str]) -> str:
    """Blank lines between paragraphs; single newlines inside a table or a list."""
    out: list[str] = []
    for paragraph in paragraphs:
        if out and _structure_of(paragraph) and _structure_of(paragraph) == _structure_of(out[-1].rsplit("\n", 1)[-1]):
            out[-1] += "\n" + paragraph
        else:
            out.append(paragraph)
    return "\n\n".join(out)


def _structure_of(line: str) -> str | None:
    if line.startswith("|"):
        return "table"
    if line.startswith(("- ", "* ", "• ")):
        return "list"
    return None


def _is_chrome_line(line: str) -> bool:
    if _structure_of(line) == "table":
        return False
    if len(line) > _MAX_CHROME_LINE * 2:
        return False
    if _is_phone_line(line) or _is_url_line(line) or _is_date_or_counter(line):
        return True
    folded = line.casefold()
    if line.startswith("©") or folded.startswith("copyright") or any(p in folded for p in _RIGHTS_RESERVED):
        return True  # "© 2026 Akimat. All rights reserved." reads like a sentence but is the footer
    if len(line) > _MAX_CHROME_LINE or _reads_like_sentence(line):
        return False
    stripped = folded.lstrip(" -–—•·|:>")
    if any(stripped.startswith(p) or (p in folded and not _SENTENCE_END.search(line)) for p in _CHROME_PHRASES):
        return True
    return _is_caps_label(line)


def _is_phone_line(line: str) -> bool:
    phones = _PHONE.findall(line)
    if not phones:
        return False
    rest = _PHONE.sub(" ", line)
    return sum(c.isalpha() for c in rest) <= 40


def _is_date_or_counter(line: str) -> bool:
    """A bare byline date or view counter: "25.11.2026, 10:30", "Просмотров: 312"."""
    return (
        len(line) <= 40
        and sum(c.isdigit() for c in line) >= 2
        and sum(c.isalpha() for c in line) <= 20
        and len(_LETTER_RUN.findall(line)) <= 2
        and not _SENTENCE_END.search(line)
    )


def _is_url_line(line: str) -> bool:
    """A bare link or "Источник: https://…" (print versions end with one)."""
    if not _URL.search(line):
        return False
    return sum(c.isalpha() for c in _URL.sub(" ", line)) <= 20


def _is_caps_label(line: str) -> bool:
    words = line.split()
    letters = [c for c in line if c.isalpha()]
    if line.rstrip().endswith((".", "!", "?", "…")):
        return False  # "ҚҰТТЫҚТАЙМЫЗ!" is a (shouted) sentence, not a label
    return 0 < len(words) <= 3 and len(line) <= 30 and len(letters) >= 3 and all(c.isupper() for c in letters)


def _reads_like_sentence(line: str) -> bool:
    return len(line.split()) >= 8 and bool(_SENTENCE_END.search(line))


def _key(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).replace("\u00ad", "")
    return " ".join(text.casefold().split()).strip(" .")
