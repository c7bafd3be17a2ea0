"""Publication dates of Kazakh, Russian and English news pages (archive.dates).

Every test pins `now` so that "in the future" means the same thing on every run.
"""

from datetime import date, datetime, timedelta, timezone

import lxml.html
import pytest

from archive.dates import DEFAULT_TIMEZONE, FoundDate, find_dates, parse_date

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
PLUS_5 = timezone(timedelta(hours=5))
PLUS_6 = timezone(timedelta(hours=6))


def parse(text, tz=DEFAULT_TIMEZONE):
    return parse_date(text, tz, now=NOW)


def page(html):
    return lxml.html.document_fromstring(html)


def dates_of(html, url=None):
    return find_dates(page(html), url, now=NOW)


# ---------------------------------------------------------------------------
# parse_date: month words in three languages
# ---------------------------------------------------------------------------

KAZAKH = [
    ("25 қараша 2026", date(2026, 11, 25)),
    ("25 қараша 2026 ж.", date(2026, 11, 25)),
    ("25 қараша 2026 жыл", date(2026, 11, 25)),
    ("2026 жылғы 25 қараша", date(2026, 11, 25)),
    ("2026 ж. 25 қарашада", date(2026, 11, 25)),
    ("2026 жылы 25 қарашада", date(2026, 11, 25)),
    ("2026 жылдың 25 қарашасында", date(2026, 11, 25)),
    ("2026 жылғы 25-қарашадағы", date(2026, 11, 25)),
    ("25 ҚАРАША 2026", date(2026, 11, 25)),
    ("25.11.2026 ж.", date(2026, 11, 25)),
    ("3 қаңтар 2025", date(2025, 1, 3)),
    ("3 ақпан 2025", date(2025, 2, 3)),
    ("3 наурызда 2025 жылы", date(2025, 3, 3)),
    ("3 сәуір 2025", date(2025, 4, 3)),
    ("3 мамыр 2025", date(2025, 5, 3)),
    ("3 маусым 2025", date(2025, 6, 3)),
    ("3 шілде 2025", date(2025, 7, 3)),
    ("3 тамыз 2025", date(2025, 8, 3)),
    ("3 қыркүйек 2025", date(2025, 9, 3)),
    ("2025 жылғы 3 қазанның", date(2025, 10, 3)),
    ("3 желтоқсан 2025", date(2025, 12, 3)),
    # Kazakh letters typed as their Russian look-alikes, as many sites do
    ("3 кантар 2025", date(2025, 1, 3)),
    ("3 сауир 2025", date(2025, 4, 3)),
    # the Latin Kazakh alphabet
    ("3 qazan 2025", date(2025, 10, 3)),
    ("3 jeltoqsan 2025", date(2025, 12, 3)),
]

RUSSIAN = [
    ("25 ноября 2026 г.", date(2026, 11, 25)),
    ("25 ноября 2026 года", date(2026, 11, 25)),
    ("25 НОЯБРЯ 2026", date(2026, 11, 25)),
    ("25 нояб. 2026", date(2026, 11, 25)),
    ("25 ноя 2026", date(2026, 11, 25)),
    ("25-го ноября 2026 года", date(2026, 11, 25)),
    ("Опубликовано: 25.11.2026", date(2026, 11, 25)),
    ("1 января 2025", date(2025, 1, 1)),
    ("1 янв. 2025", date(2025, 1, 1)),
    ("1 февраля 2025", date(2025, 2, 1)),
    ("1 марта 2025", date(2025, 3, 1)),
    ("1 апреля 2025", date(2025, 4, 1)),
    ("1 мая 2025", date(2025, 5, 1)),
    ("1 июня 2025", date(2025, 6, 1)),
    ("1 июля 2025", date(2025, 7, 1)),
    ("1 августа 2025", date(2025, 8, 1)),
    ("1 сентября 2025", date(2025, 9, 1)),
    ("1 сент. 2025", date(2025, 9, 1)),
    ("1 октября 2025", date(2025, 10, 1)),
    ("1 декабря 2025", date(2025, 12, 1)),
]

ENGLISH = [
    ("Published 25 November 2026", date(2026, 11, 25)),
    ("25 Nov 2026", date(2026, 11, 25)),
    ("November 25, 2026", date(2026, 11, 25)),
    ("Nov. 25, 2026", date(2026, 11, 25)),
    ("25th of November 2026", date(2026, 11, 25)),
    ("Sept 1, 2025", date(2025, 9, 1)),
    ("Wed, 25 Nov 2026", date(2026, 11, 25)),
]

NUMERIC = [
    ("25.11.2026", date(2026, 11, 25)),
    ("25-11-2026", date(2026, 11, 25)),
    ("5.1.2025", date(2025, 1, 5)),
    ("2026-11-25", date(2026, 11, 25)),
    ("2026/11/25", date(2026, 11, 25)),
    ("2026.11.25", date(2026, 11, 25)),
    ("news 25.11.2026, 3 comments", date(2026, 11, 25)),
]


@pytest.mark.parametrize("text, expected", KAZAKH)
def test_kazakh_month_names_in_all_their_forms(text, expected):
    assert parse(text) == expected


@pytest.mark.parametrize("text, expected", RUSSIAN)
def test_russian_month_names_and_abbreviations(text, expected):
    assert parse(text) == expected


@pytest.mark.parametrize("text, expected", ENGLISH)
def test_english_month_names(text, expected):
    assert parse(text) == expected


@pytest.mark.parametrize("text, expected", NUMERIC)
def test_numeric_dates_are_day_first(text, expected):
    assert parse(text) == expected


def test_the_first_plausible_date_in_the_text_wins():
    assert parse("Опубликовано 24.11.2026, обновлено 25.11.2026") == date(2026, 11, 24)


def test_a_month_without_a_day_is_too_vague_for_a_publication_date():
    assert parse("ноябрь 2026") is None
    assert parse("қараша 2026") is None
    assert parse("November 2026") is None


def test_a_day_and_month_without_a_year_is_rejected():
    assert parse("25 ноября, 10:30") is None


@pytest.mark.parametrize(
    "text",
    [
        "Қазан қаласында 2026 жылы 25 адам жиналды",
        "Қазан",
        "Ол қазан сатып алды",
        "Казань 2026",
    ],
)
def test_kazan_is_not_october_outside_a_date(text):
    assert parse(text) is None


def test_kazan_is_october_inside_a_date():
    assert parse("12 қазан 2025") == date(2025, 10, 12)


# ---------------------------------------------------------------------------
# parse_date: numbers that could be read two ways
# ---------------------------------------------------------------------------


def test_slash_dates_are_day_first_when_both_readings_fit():
    assert parse("05/11/2025") == date(2025, 11, 5)


def test_slash_dates_are_us_month_first_when_the_second_number_is_a_day():
    assert parse("11/13/2025") == date(2025, 11, 13)


def test_two_digit_years_mean_this_century():
    assert parse("25.11.26") == date(2026, 11, 25)


def test_two_digit_years_from_91_mean_the_nineties():
    assert parse("25.11.98") == date(1998, 11, 25)


def test_a_version_number_is_not_a_date():
    assert parse("release 1.2.3.4") is None


# ---------------------------------------------------------------------------
# parse_date: time of day and time zones
# ---------------------------------------------------------------------------

TIMES = [
    ("25 қараша 2026, 10:30", datetime(2026, 11, 25, 10, 30, tzinfo=PLUS_5)),
    ("25 ноября 2026 года, 10:30", datetime(2026, 11, 25, 10, 30, tzinfo=PLUS_5)),
    ("3 мая 2024 в 14:05", datetime(2024, 5, 3, 14, 5, tzinfo=PLUS_5)),
    ("Опубликовано: 25.11.2026 10:30", datetime(2026, 11, 25, 10, 30, tzinfo=PLUS_5)),
    ("November 25, 2026 10:30 AM", datetime(2026, 11, 25, 10, 30, tzinfo=PLUS_5)),
    ("November 25, 2026 10:30 PM", datetime(2026, 11, 25, 22, 30, tzinfo=PLUS_5)),
    ("November 25, 2026 12:05 a.m.", datetime(2026, 11, 25, 0, 5, tzinfo=PLUS_5)),
    ("2026-11-25 10:30:15", datetime(2026, 11, 25, 10, 30, 15, tzinfo=PLUS_5)),
    ("10:30, 25 ноября 2026", datetime(2026, 11, 25, 10, 30, tzinfo=PLUS_5)),
    ("10:30 | 25.11.2026", datetime(2026, 11, 25, 10, 30, tzinfo=PLUS_5)),
    ("25 ноября 2026 г. в 10:30", datetime(2026, 11, 25, 10, 30, tzinfo=PLUS_5)),
    ("25.11.2026 ж., 10:30", datetime(2026, 11, 25, 10, 30, tzinfo=PLUS_5)),
    ("Сейсенбі, 25 қараша 2026 | 10:30", datetime(2026, 11, 25, 10, 30, tzinfo=PLUS_5)),
]


@pytest.mark.parametrize("text, expected", TIMES)
def test_a_time_of_day_is_kept_and_localised_in_the_site_zone(text, expected):
    found = parse(text)
    assert found == expected
    assert found.utcoffset() == expected.utcoffset()


def test_a_date_without_a_time_stays_a_date():
    assert type(parse("25.11.2026")) is date


def test_an_explicit_iso_offset_is_kept():
    found = parse("2026-11-25T10:30:00+06:00")
    assert found.isoformat() == "2026-11-25T10:30:00+06:00"


def test_a_utc_iso_time_stays_utc():
    assert parse("2024-03-05T07:00:00.000Z").isoformat() == "2024-03-05T07:00:00+00:00"


def test_an_rfc_2822_date_keeps_its_offset():
    assert parse("Wed, 25 Nov 2026 10:30:00 +0600").isoformat() == "2026-11-25T10:30:00+06:00"


def test_almaty_was_utc_plus_6_in_2020():
    assert parse("2020-05-01 10:30").isoformat() == "2020-05-01T10:30:00+06:00"


def test_almaty_is_utc_plus_5_since_march_2024():
    assert parse("2026-05-01 10:30").isoformat() == "2026-05-01T10:30:00+05:00"


def test_the_site_zone_can_be_chosen():
    assert parse("2026-11-25 10:30", tz="Europe/Moscow").isoformat() == "2026-11-25T10:30:00+03:00"


def test_the_site_zone_can_be_a_tzinfo():
    assert parse("2026-11-25 10:30", tz=PLUS_6).isoformat() == "2026-11-25T10:30:00+06:00"


def test_relative_dates_are_not_guessed():
    assert parse("Вчера, 10:30") is None
    assert parse("Бүгін, 10:30") is None


def test_an_impossible_time_leaves_the_date():
    assert parse("25.11.2026 25:61") == date(2026, 11, 25)


# ---------------------------------------------------------------------------
# parse_date: what is rejected
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["31.02.2026", "32.01.2026", "25.13.2026", "2026-00-10", "30 февраля 2025"])
def test_impossible_days_and_months_are_rejected(text):
    assert parse(text) is None


def test_tomorrow_is_accepted_for_sites_ahead_of_utc():
    assert parse("26.11.2026") == date(2026, 11, 26)


def test_dates_further_in_the_future_are_rejected():
    assert parse("27.11.2026") is None
    assert parse("2026-11-26T13:00:00+00:00") is None


def test_dates_before_the_web_are_rejected():
    assert parse("31.12.1990") is None
    assert parse("01.01.1991") == date(1991, 1, 1)


def test_a_rejected_date_does_not_hide_a_later_good_one():
    assert parse("31.02.2026 — 24.11.2026") == date(2026, 11, 24)


@pytest.mark.parametrize("garbage", ["", "   ", "no date here", "٣٣٣", "9" * 100_000, None, 20261125])
def test_garbage_gives_none(garbage):
    assert parse(garbage) is None


# ---------------------------------------------------------------------------
# find_dates: each kind of evidence
# ---------------------------------------------------------------------------

JSON_LD_GRAPH = """<html><head><script type="application/ld+json">
{"@context": "https://schema.org", "@graph": [
  {"@type": "WebSite", "datePublished": "2010-01-01"},
  {"@type": "Organization", "name": "Akimat"},
  {"@type": "NewsArticle", "datePublished": "2026-11-24T09:15:00+05:00",
   "dateModified": "2026-11-25T08:00:00+05:00"}
]}</script></head><body><h1>Title</h1></body></html>"""


def test_json_ld_article_dates_come_first():
    published, modified = dates_of(JSON_LD_GRAPH)
    assert published == FoundDate(datetime(2026, 11, 24, 9, 15, tzinfo=PLUS_5), "json-ld")
    assert modified.isoformat() == "2026-11-25T08:00:00+05:00"


def test_json_ld_in_a_list_is_read():
    html = """<script type="application/ld+json">[{"@type": "Organization"},
        {"@type": ["BlogPosting"], "datePublished": "2026-11-20"}]</script><h1>T</h1>"""
    assert dates_of(html)[0] == FoundDate(date(2026, 11, 20), "json-ld")


def test_json_ld_of_the_website_alone_is_not_the_article_date():
    html = """<script type="application/ld+json">{"@type": "WebSite", "datePublished": "2010-01-01"}</script>
        <h1>T</h1><div class="date">24.11.2026</div>"""
    assert dates_of(html)[0] == FoundDate(date(2026, 11, 24), "byline")


def test_json_ld_lists_of_other_articles_are_ignored():
    html = """<script type="application/ld+json">{"@type": "ItemList", "itemListElement": [
        {"@type": "NewsArticle", "datePublished": "2026-11-25"}]}</script>
        <h1>T</h1><div class="date">20.11.2026</div>"""
    assert dates_of(html)[0] == FoundDate(date(2026, 11, 20), "byline")


def test_broken_json_ld_is_skipped():
    html = """<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": </script>
        <meta property="article:published_time" content="2026-11-23T10:00:00+05:00"><h1>T</h1>"""
    assert dates_of(html)[0].source == "meta"


def test_meta_published_and_modified_times():
    html = """<html><head>
        <meta property="article:published_time" content="2026-11-23T10:00:00+05:00">
        <meta property="article:modified_time" content="2026-11-24T11:00:00+05:00">
        </head><body><h1>T</h1></body></html>"""
    published, modified = dates_of(html)
    assert published.isoformat() == "2026-11-23T10:00:00+05:00"
    assert published.source == "meta"
    assert modified.isoformat() == "2026-11-24T11:00:00+05:00"


@pytest.mark.parametrize(
    "meta",
    [
        '<meta property="og:article:published_time" content="2026-11-23">',
        '<meta itemprop="datePublished" content="2026-11-23">',
        '<meta name="DC.date.issued" content="2026-11-23">',
        '<meta name="pubdate" content="2026-11-23">',
        '<meta name="sailthru.date" content="2026-11-23">',
        '<meta name="parsely-pub-date" content="2026-11-23">',
        '<meta name="date" content="23.11.2026">',
    ],
)
def test_published_meta_names(meta):
    assert dates_of(f"<head>{meta}</head><h1>T</h1>")[0] == FoundDate(date(2026, 11, 23), "meta")


@pytest.mark.parametrize(
    "meta",
    [
        '<meta property="og:updated_time" content="2026-11-24">',
        '<meta itemprop="dateModified" content="2026-11-24">',
    ],
)
def test_modified_meta_names(meta):
    assert dates_of(f"<head>{meta}</head><h1>T</h1>")[1] == FoundDate(date(2026, 11, 24), "meta")


def test_json_ld_of_the_web_page_serves_when_no_article_node_exists():
    html = """<script type="application/ld+json">{"@type": "WebPage", "datePublished": "2026-11-22"}</script>"""
    assert dates_of(html)[0] == FoundDate(date(2026, 11, 22), "json-ld")


def test_the_specific_meta_name_beats_the_generic_one():
    html = """<head><meta name="date" content="2026-01-01">
        <meta property="article:published_time" content="2026-11-23"></head><h1>T</h1>"""
    assert dates_of(html)[0] == FoundDate(date(2026, 11, 23), "meta")


def test_time_element_inside_the_article():
    html = """<body><article><h1>Жаңалық</h1>
        <time datetime="2026-11-22T16:40">22 қараша 2026, 16:40</time><p>Мәтін</p></article></body>"""
    assert dates_of(html)[0] == FoundDate(datetime(2026, 11, 22, 16, 40, tzinfo=PLUS_5), "time")


def test_itemprop_date_published_inside_the_article():
    html = """<div class="news"><h1>Новость</h1>
        <span itemprop="datePublished" content="2026-11-21">21 ноября 2026</span></div>"""
    assert dates_of(html)[0] == FoundDate(date(2026, 11, 21), "time")


def test_a_time_marked_as_updated_is_the_modified_date():
    html = """<article><h1>T</h1><time class="published" datetime="2026-11-20">20.11.2026</time>
        <span>Updated: <time datetime="2026-11-24">24.11.2026</time></span></article>"""
    published, modified = dates_of(html)
    assert published == FoundDate(date(2026, 11, 20), "time")
    assert modified == FoundDate(date(2026, 11, 24), "time")


def test_byline_under_the_heading_in_kazakh():
    html = """<div class="content"><h1>Аудан әкімі тұрғындармен кездесті</h1>
        <div class="info">25 қараша 2026, 10:30 | Қаралым: 120</div><p>Мәтін...</p></div>"""
    assert dates_of(html)[0] == FoundDate(datetime(2026, 11, 25, 10, 30, tzinfo=PLUS_5), "byline")


def test_byline_in_a_marked_element_of_the_header_block():
    html = """<div class="page"><div class="head"><h1>Заголовок</h1></div>
        <div class="tags">Политика</div><div class="share">Поделиться</div><div class="x">—</div>
        <span class="post-date">Опубликовано: 24.11.2026 10:30</span></div>"""
    assert dates_of(html)[0].value == datetime(2026, 11, 24, 10, 30, tzinfo=PLUS_5)


def test_byline_with_published_and_updated_dates():
    html = """<main><h1>T</h1><p class="meta">Жарияланды: 20.11.2026. Жаңартылды: 24.11.2026</p></main>"""
    published, modified = dates_of(html)
    assert published == FoundDate(date(2026, 11, 20), "byline")
    assert modified == FoundDate(date(2026, 11, 24), "byline")


def test_a_photo_caption_next_to_the_heading_is_not_a_byline():
    html = """<div><h1>T</h1><figure><img src="a.jpg"><figcaption>Фото 01.01.2020</figcaption></figure>
        <div class="date">24.11.2026</div></div>"""
    assert dates_of(html)[0] == FoundDate(date(2026, 11, 24), "byline")


def test_date_in_the_url_path():
    html = "<h1>T</h1><p>No date on the page</p>"
    for url in (
        "https://akimat.kz/news/2026/11/23/slug",
        "https://akimat.kz/news/20261123-slug",
        "https://akimat.kz/news/2026-11-23-slug.html",
    ):
        assert dates_of(html, url)[0] == FoundDate(date(2026, 11, 23), "url")


def test_the_first_sentence_is_the_last_resort():
    html = """<div class="news"><h1>Әкім тұрғындармен кездесті</h1>
        <p>24 қарашада 2026 жылы аудан әкімі Ерлан Сәрсенов ауыл тұрғындарымен кездесіп, жол
        жөндеу мен су құбыры мәселелерін талқылады.</p></div>"""
    assert dates_of(html)[0] == FoundDate(date(2026, 11, 24), "text")


def test_the_url_outranks_the_first_sentence():
    html = """<div><h1>T</h1><p>Кездесу 20 қараша 2026 жылы аудан әкімдігінің мәжіліс залында өтті,
        оған ауыл әкімдері мен кәсіпкерлер қатысты.</p></div>"""
    assert dates_of(html, "https://a.kz/2026/11/24/x")[0] == FoundDate(date(2026, 11, 24), "url")


def test_a_short_paragraph_under_the_heading_is_a_byline():
    html = "<div><h1>T</h1><p>24.11.2026, 10:30</p><p>Мәтін.</p></div>"
    assert dates_of(html)[0].source == "byline"


def test_a_future_date_in_the_url_is_ignored():
    assert dates_of("<h1>T</h1>", "https://akimat.kz/2027/01/01/x") == (None, None)


def test_json_ld_outranks_the_byline_and_the_url():
    html = """<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": "2026-11-24"}</script>
        <article><h1>T</h1><div class="date">20.11.2026</div></article>"""
    assert dates_of(html, "https://a.kz/2026/11/01/x")[0] == FoundDate(date(2026, 11, 24), "json-ld")


# ---------------------------------------------------------------------------
# find_dates: other news around the article never lend it their dates
# ---------------------------------------------------------------------------

SIDEBAR_PAGE = """<html><body>
<div class="container">
  <div class="main"><h1>Әкім есеп берді</h1>
    <div class="news-info">24 қараша 2026, 09:00</div>
    <p>Мәтін.</p>
  </div>
  <aside class="latest-news">
    <ul><li><time datetime="2026-11-25T11:00">25.11.2026 11:00</time> Басқа жаңалық</li></ul>
  </aside>
</div></body></html>"""

SIDEBAR_ONLY_PAGE = """<html><body>
<div class="container">
  <div class="main"><h1>Әкім есеп берді</h1><p>Мәтін.</p></div>
  <div class="sidebar"><div class="widget">
    <time datetime="2026-11-25T11:00">25.11.2026 11:00</time> Басқа жаңалық</div></div>
  <aside class="latest-news"><span class="date">25.11.2026</span></aside>
</div></body></html>"""


def test_the_byline_wins_over_a_newer_date_in_the_sidebar():
    published, _ = dates_of(SIDEBAR_PAGE)
    assert published == FoundDate(datetime(2026, 11, 24, 9, 0, tzinfo=PLUS_5), "byline")


def test_a_date_only_in_the_sidebar_is_no_date_of_the_article():
    assert dates_of(SIDEBAR_ONLY_PAGE) == (None, None)


def test_related_news_cards_on_a_page_without_heading_give_no_date():
    html = """<body><article><time datetime="2026-11-20">20.11.2026</time></article>
        <article><time datetime="2026-11-21">21.11.2026</time></article></body>"""
    assert dates_of(html) == (None, None)


def test_a_sidebar_class_on_the_layout_wrapper_does_not_hide_the_article():
    html = """<body class="has-sidebar"><div class="content-sidebar-wrap"><main><h1>T</h1>
        <div class="date">24.11.2026</div></main><div class="sidebar">25.11.2026</div></div></body>"""
    assert dates_of(html)[0] == FoundDate(date(2026, 11, 24), "byline")


def test_related_news_inside_the_article_are_skipped():
    html = """<article><h1>T</h1><p>Мәтін.</p>
        <div class="related-news"><time datetime="2026-11-25">25.11.2026</time></div>
        <footer><time datetime="2026-11-25">25.11.2026</time></footer></article>"""
    assert dates_of(html) == (None, None)


# ---------------------------------------------------------------------------
# find_dates: published versus modified, garbage
# ---------------------------------------------------------------------------


def test_a_modified_date_alone_is_not_returned_as_published():
    html = """<head><meta property="article:modified_time" content="2026-11-24"></head><h1>T</h1>"""
    published, modified = dates_of(html)
    assert published is None
    assert modified == FoundDate(date(2026, 11, 24), "meta")


def test_isoformat_of_a_found_date():
    assert FoundDate(date(2026, 11, 25), "meta").isoformat() == "2026-11-25"
    assert (
        FoundDate(datetime(2026, 11, 25, 10, 30, tzinfo=PLUS_5), "byline").isoformat()
        == "2026-11-25T10:30:00+05:00"
    )


@pytest.mark.parametrize(
    "html",
    [
        "<p>",
        "<html><body><h1></h1><div class='date'></div></body></html>",
        "<script type='application/ld+json'>" + "[" * 100_000 + "</script><h1>T</h1>",
        "<script type='application/ld+json'>{\"@type\": \"NewsArticle\", \"datePublished\": 5}</script>",
        "<script type='application/ld+json'>\"just a string\"</script><!-- comment --><h1>T<!-- c --></h1>",
        "<meta property='article:published_time' content='" + "9" * 100_000 + "'>",
    ],
)
def test_garbage_pages_give_no_date_and_no_error(html):
    assert dates_of(html) == (None, None)


def test_a_non_tree_gives_no_date():
    assert find_dates(None, now=NOW) == (None, None)
    assert find_dates("<html>", now=NOW) == (None, None)


def test_an_element_tree_is_accepted_as_well_as_its_root():
    tree = page("<h1>T</h1><div class='date'>24.11.2026</div>").getroottree()
    assert find_dates(tree, now=NOW)[0] == FoundDate(date(2026, 11, 24), "byline")


# ---------------------------------------------------------------------------
# find_dates: how markup splits a byline
# ---------------------------------------------------------------------------


def test_a_byline_split_by_an_html_comment_is_read_whole():
    html = "<main><h1>T</h1><div class='publish-date'>Posted: <!-- -->18 Nov 2025 8:11 pm</div></main>"
    assert dates_of(html)[0].value == datetime(2025, 11, 18, 20, 11, tzinfo=PLUS_5)


def test_text_nodes_of_separate_elements_do_not_run_together():
    html = "<main><h1>T</h1><div class='time'><span>Wed, Nov 19 2025</span><span>4:29 AM</span></div></main>"
    assert dates_of(html)[0].value == datetime(2025, 11, 19, 4, 29, tzinfo=PLUS_5)


def test_scripts_inside_a_byline_are_not_text():
    html = """<main><h1>T</h1><div class="date">24.11.2026 <script>var d = "01.01.2020";</script></div></main>"""
    assert dates_of(html)[0] == FoundDate(date(2026, 11, 24), "byline")


def test_a_time_element_a_few_blocks_away_from_the_heading_is_found():
    html = """<main><div class="top"><div class="head"><header><div><h1>T</h1></div></header></div>
        <div class="info"><div><time datetime="2026-11-24T10:00:00+05:00">24.11</time></div></div></div>
        <div class="body"><p>Text</p></div></main>"""
    assert dates_of(html)[0] == FoundDate(datetime(2026, 11, 24, 10, tzinfo=PLUS_5), "time")
