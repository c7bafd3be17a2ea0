"""archive.extract on saved pages written for these tests (tests/pages/*.html + .json).

Each .json holds the expected fields of its page, the key sentence that must
be in the text and the boilerplate strings that must not ("absent").
"""

from __future__ import annotations

import functools
import json
import pickle
import random
from datetime import datetime, timezone
from pathlib import Path

import pytest

from archive import Article, extract
from archive.boilerplate import trim_text
from archive.charset import decode_html
from archive.classify import url_shape

PAGES = Path(__file__).parent / "pages"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
FIELDS = ("canonical_url", "title", "published", "modified", "language", "author", "description",
          "is_article", "why", "encoding")
MOJIBAKE = ("Ð", "Ñ", "Ã", "Р°", "Рѕ", "\ufffd")


def expected(name: str) -> dict:
    return json.loads((PAGES / f"{name}.json").read_text(encoding="utf-8"))


def saved_page(name: str) -> bytes:
    """The page's bytes: ``name.html``, or ``name.bin`` for what is not HTML at all."""
    html = PAGES / f"{name}.html"
    return (html if html.exists() else PAGES / f"{name}.bin").read_bytes()


@functools.cache
def extracted(name: str) -> Article:
    page = expected(name)
    return extract(saved_page(name), page["url"], page.get("headers"), now=NOW)


PAGE_NAMES = sorted(p.stem for p in PAGES.glob("*.json"))
FIELD_CASES = [(n, f) for n in PAGE_NAMES for f in FIELDS if f in expected(n)]
ABSENT_CASES = [(n, s) for n in PAGE_NAMES for s in expected(n).get("absent", [])]
ARTICLES = [n for n in PAGE_NAMES if expected(n)["is_article"]]
STRUCTURE_CASES = [(n, f) for n in PAGE_NAMES for f in ("captions", "links") if f in expected(n)]


@pytest.mark.parametrize(("name", "field"), FIELD_CASES)
def test_field_matches_the_saved_expectation(name, field):
    assert getattr(extracted(name), field) == expected(name)[field]


@pytest.mark.parametrize(("name", "field"), STRUCTURE_CASES)
def test_captions_and_links_match_the_saved_expectation(name, field):
    value = getattr(extracted(name), field)
    assert (list(value) if field == "captions" else value) == expected(name)[field]


@pytest.mark.parametrize("name", ARTICLES)
def test_key_sentence_is_in_the_text(name):
    assert expected(name)["key_sentence"] in extracted(name).text


@pytest.mark.parametrize(("name", "chrome"), ABSENT_CASES)
def test_boilerplate_is_not_in_the_text(name, chrome):
    assert chrome.casefold() not in extracted(name).text.casefold()


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_text_has_no_mojibake(name):
    text = extracted(name).text + (extracted(name).title or "")
    assert not [m for m in MOJIBAKE if m in text]


@pytest.mark.parametrize("name", ARTICLES)
def test_article_text_is_the_body_paragraphs_apart(name):
    assert extracted(name).text == expected(name)["body"]


def test_listing_is_not_an_article_even_without_its_url():
    article = extract(saved_page("kk-news-listing"), None, now=NOW)
    assert (article.is_article, article.why.split(":")[0]) == (False, "listing")


def test_cp1251_bytes_under_a_lying_utf8_header_decode_as_cp1251():
    assert extracted("ru-akimat-cp1251").title.startswith("Аким области провёл совещание")


def test_print_version_points_to_its_canonical_article():
    assert extracted("ru-print-version").canonical_url.endswith("/ru/news/4533-v-atyrau-startovala-vaktsinatsiya-protiv-grippa")


# --- garbage in, an Article out ------------------------------------------------


@pytest.mark.parametrize(
    "html",
    [
        b"",
        "",
        b"   \n ",
        b"<html></html>",
        b"\x89PNG\r\n\x1a\n" + random.Random(7).randbytes(6000),
        bytes(range(256)) * 20,
        b"<html><body><p>unclosed <b><i><table><tr><td>cell",
        "<?xml version='1.0' encoding='utf-8'?><html><body><p>x</p></body></html>",
        b"\xff\xfe<\x00h\x00t\x00m\x00l\x00>\x00",
        "\ud800 lone surrogate",
    ],
    ids=["empty-bytes", "empty-str", "blank", "bare-html", "png", "all-bytes", "broken", "xml-decl",
         "utf16-bom", "surrogate"],
)
def test_garbage_gives_a_non_article_and_never_raises(html):
    article = extract(html, "https://example.kz/x", {"Content-Type": "text/html"}, now=NOW)
    assert article.is_article is False


def test_article_and_extract_are_picklable_for_process_pools():
    article = extracted("en-jsonld-water-pipeline")
    assert pickle.loads(pickle.dumps((extract, article)))[1] == article


def test_as_dict_has_every_field():
    assert list(extracted("ru-contacts").as_dict()) == [
        "url", "canonical_url", "title", "published", "modified", "language", "author",
        "description", "text", "is_article", "why", "encoding", "captions", "links", "template_removed",
    ]


# --- structure: captions and links -------------------------------------------------


def _article_with(inner: str) -> str:
    return ("<html><body><article><h1>Новая школа</h1><p>" + "В селе открыли новую школу на 300 мест. " * 8
            + f"</p>{inner}<p>" + "Строительство вели два года. " * 6 + "</p></article></body></html>")


def test_image_captions_are_kept_apart_from_the_text():
    article = extract(_article_with('<figure><img src="a.jpg"><figcaption>Фото: пресс-служба акимата</figcaption>'
                                    '</figure><div class="wp-caption"><p class="wp-caption-text">Аким на открытии</p>'
                                    "</div>"), now=NOW)
    assert article.captions == ("Фото: пресс-служба акимата", "Аким на открытии")
    assert "пресс-служба" not in article.text and "Аким на открытии" not in article.text


def test_a_caption_class_on_the_whole_page_is_not_a_caption():
    html = _article_with("").replace("<body>", '<body class="f_caption_muted_videos_on">')
    article = extract(html, now=NOW)
    assert article.captions == () and "новую школу" in article.text


def test_links_in_the_article_text_are_counted_and_menu_links_are_not():
    html = _article_with('<p>Подробнее в <a href="/docs/1.pdf">решении акимата</a> и на '
                         '<a href="https://gov.kz/x">портале</a>. <a href="#top">Наверх</a></p>').replace(
        "<body>", '<body><nav><a href="/">Главная</a></nav>')
    assert extract(html, now=NOW).links == 2


# --- title -----------------------------------------------------------------------


def test_title_is_the_main_heading_without_soft_hyphens_or_site_suffix():
    html = ("<html><head><title>Long\u00adword news | Akimat</title></head><body><main>"
            "<h1>Long\u00adword   news</h1><p>" + "Some text. " * 40 + "</p></main></body></html>")
    assert extract(html, now=NOW).title == "Longword news"


def test_title_falls_back_to_og_title_when_the_h1_is_a_widget():
    html = ('<html><head><title>Floods recede in Atyrau | Akimat</title>'
            '<meta property="og:title" content="Floods recede in Atyrau"></head><body>'
            '<div class="content"><h1>Log in</h1></div><p>' + "Water levels fall. " * 30 + "</p></body></html>")
    assert extract(html, now=NOW).title == "Floods recede in Atyrau"


def _titled_page(head: str, h1: str) -> str:
    return (f"<html><head>{head}</head><body><article>{h1}<p>" + "Жители области получили новые квартиры. " * 20
            + "</p></article></body></html>")


def test_title_drops_a_kicker_marked_up_inside_the_heading():
    html = _titled_page('<meta property="og:title" content="Аким встретился с жителями">',
                        '<h1><span class="article-title__overline">Отчёт</span> '
                        '<span class="article-title__text">Аким встретился с жителями</span></h1>')
    assert extract(html, now=NOW).title == "Аким встретился с жителями"


def test_title_keeps_the_kicker_when_the_publisher_declares_it_part_of_the_headline():
    ld = '{"@type": "NewsArticle", "headline": "Атырау: аким встретился с жителями"}'
    html = _titled_page(f'<script type="application/ld+json">{ld}</script>', "<h1>Аким встретился с жителями</h1>")
    assert extract(html, now=NOW).title == "Атырау: аким встретился с жителями"


def test_title_without_a_heading_is_the_json_ld_headline_not_the_suffixed_og_title():
    ld = '{"@type": "NewsArticle", "headline": "Floods recede in Atyrau &#8216;for now&#8217;"}'
    html = ('<html><head><meta property="og:title" content="Floods recede in Atyrau - Atyrau Times">'
            f'<script type="application/ld+json">{ld}</script></head><body><h1>Atyrau Times</h1><h1>Menu</h1>'
            "<p>" + "Water levels fall. " * 30 + "</p></body></html>")
    assert extract(html, now=NOW).title == "Floods recede in Atyrau \u2018for now\u2019"


def test_title_takes_the_publishers_spacing_when_the_heading_lost_a_space():
    ld = '{"@type": "NewsArticle", "headline": "Аким встретился с жителями: обсудили отопление"}'
    html = _titled_page(f'<script type="application/ld+json">{ld}</script>',
                        "<h1><span>Аким встретился с жителями:</span>обсудили отопление</h1>")
    assert extract(html, now=NOW).title == "Аким встретился с жителями: обсудили отопление"


def test_title_reads_a_line_break_in_the_heading_as_a_space():
    html = _titled_page("", "<h1>Аким области<br>встретился с жителями</h1>")
    assert extract(html, now=NOW).title == "Аким области встретился с жителями"


def test_title_ignores_logo_words_in_the_body_class():
    html = ('<html><head><title>Floods recede</title></head><body class="wp-custom-logo brand-x"><main>'
            "<h1>Floods recede in Atyrau</h1><p>" + "Water levels fall. " * 30 + "</p></main></body></html>")
    assert extract(html, now=NOW).title == "Floods recede in Atyrau"


# --- layout tables -----------------------------------------------------------------


def test_a_layout_table_keeps_paragraphs_apart_and_loses_its_side_column():
    html = ('<html><body><table class="layout"><tr><td class="content"><h1>Сессия маслихата</h1>'
            "<p>Первый абзац о сессии маслихата, на которой приняли бюджет области.</p>"
            "<p>Второй абзац о решениях депутатов по ремонту школ и больниц.</p></td>"
            '<td class="sidebar"><h3>Последние новости</h3><ul><li><a href="/1">Другая новость</a></li></ul></td>'
            "</tr></table></body></html>")
    text = extract(html, now=NOW).text
    assert "бюджет области.\n\nВторой абзац" in text
    assert "Последние новости" not in text and "|" not in text


def test_a_data_table_stays_a_table_of_text():
    html = ("<html><body><article><h1>Бюджет</h1><p>" + "Расходы области распределены так. " * 10 + "</p>"
            "<table><tr><th>Статья</th><th>Сумма</th></tr><tr><td>Школы</td><td>120</td></tr></table>"
            "</article></body></html>")
    text = extract(html, now=NOW).text
    assert "Школы" in text and "120" in text


# --- charset -----------------------------------------------------------------------


def test_charset_header_is_used_when_the_bytes_agree():
    assert decode_html("Привет".encode("koi8-r"), {"content-type": "text/html; charset=KOI8-R"}) == ("Привет", "koi8-r")


def test_charset_is_detected_for_undeclared_cp1251():
    text = "<p>Аким области провёл совещание с руководителями районов области.</p>" * 3
    assert decode_html(text.encode("cp1251"))[1] == "cp1251"


def test_charset_utf8_bytes_win_over_a_stale_cp1251_declaration():
    html = '<meta charset="windows-1251"><p>Әкімдік жаңалықтары</p>'.encode()
    assert decode_html(html) == (html.decode(), "utf-8")


def test_charset_bom_wins_over_everything():
    assert decode_html("\ufeffтекст".encode("utf-8"), {"Content-Type": "text/html; charset=cp1251"}) == ("текст", "utf-8")


# --- post-filter -------------------------------------------------------------------

SEED_TAIL = """Келелі кеңес барысында партия мүшелеріне бірқатар міндет жүктелді.

ФОТОГАЛЕРЕЯ

Біріңғай мемлекеттік байланыс

AqPrint

Байланыс номерi :     +7 702 132 03 32      +77122458521"""


def test_trim_drops_the_seed_footer_lines():
    assert trim_text(SEED_TAIL) == "Келелі кеңес барысында партия мүшелеріне бірқатар міндет жүктелді."


def test_trim_keeps_a_short_last_sentence():
    text = "Жиын өтті.\n\nБАРЛЫҒЫ 80 ДЕЛЕГАТ ҚАТЫСТЫ, ОЛАРДЫҢ 20-СЫ ОНЛАЙН ТҮРДЕ ҚОСЫЛДЫ."
    assert trim_text(text) == text


def test_trim_never_touches_a_middle_paragraph():
    text = "First sentence of the story.\n\nPHOTO\n\nLast sentence of the story."
    assert trim_text(text) == text


def test_trim_drops_a_leading_repeat_of_the_title():
    assert trim_text("Floods recede\n\nWater levels fell.", title="Floods  recede") == "Water levels fell."


# --- URL shape ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shape"),
    [
        ("https://a.kz/kk/news/12345-konferentsiya-otti", "article"),
        ("https://a.kz/ru/news/print/4533", "article"),
        ("https://a.kz/2026/11/25/akim-met-farmers/", "article"),
        ("https://a.kz/kk/news?page=2", "listing"),
        ("https://a.kz/ru/news/", "listing"),
        ("https://a.kz/kk/", "listing"),
        ("https://a.kz/ru/tag/zhkh", "listing"),
        ("https://a.kz/ru/tag/123", "listing"),
        ("https://a.kz/kk/news/page/2", "listing"),
        ("https://a.kz/ru/search", "service"),
        ("https://a.kz/?p=4521", "article"),
        ("https://a.kz/news.php?ELEMENT_ID=1203", "article"),
        ("https://a.kz/ru/contacts/", "service"),
        ("https://a.kz/en/about", "service"),
    ],
)
def test_url_shape(url, shape):
    assert url_shape(url) == shape


def test_charset_header_may_come_as_raw_bytes_lists():
    headers = {b"Content-Type": [b"text/html; charset=windows-1251"]}
    assert decode_html("Новости".encode("cp1251"), headers) == ("Новости", "cp1251")


def test_trim_keeps_a_shouted_closing_sentence():
    text = "Мерекемен құттықтаймыз, ардагерлер!\n\nҚҰТТЫҚТАЙМЫЗ!"
    assert trim_text(text) == text


def test_trim_drops_a_leading_byline_date_and_a_trailing_view_counter():
    assert trim_text("25.11.2026, 10:30\n\nЖиын өтті.\n\nПросмотров: 312") == "Жиын өтті."


def test_trim_keeps_a_closing_line_about_years_and_counts():
    text = "Жиын өтті.\n\n2019-2020 жылдары 13 007 өтініш қаралды"
    assert trim_text(text) == text


@pytest.mark.parametrize("phone", ["+7 702 132 03 32", "+77122458521", "8 (7122) 35-45-12", "+7 (7122) 35-40-00"])
def test_trim_drops_a_closing_phone_line(phone):
    assert trim_text(f"Жиын өтті.\n\nТелефон: {phone}") == "Жиын өтті."


def test_trim_keeps_a_sentence_that_merely_mentions_a_chrome_word():
    text = "The akim visited the plant.\n\nThe cookie factory opened."
    assert trim_text(text) == text


def test_trim_cuts_a_more_news_section_after_most_of_the_text():
    text = ("Аким провёл приём граждан по личным вопросам.\n\nНа приём пришли 14 жителей района.\n\n"
            "Читайте также\n\nВ районе открыли школу\n\nОтремонтирована дорога")
    assert trim_text(text) == "Аким провёл приём граждан по личным вопросам.\n\nНа приём пришли 14 жителей района."


def test_trim_keeps_a_more_news_label_before_most_of_the_text():
    text = "Читайте также\n\nАким провёл приём граждан.\n\nНа приём пришли 14 жителей.\n\nВсе вопросы решены."
    assert "Аким провёл приём граждан." in trim_text(text)


def test_trim_drops_a_photo_credit_line_in_the_middle():
    text = "Мектеп ашылды.\n\nФото: аудан әкімдігінің баспасөз қызметі\n\nОқушылар келді."
    assert trim_text(text) == "Мектеп ашылды.\n\nОқушылар келді."
