"""archive.pagemeta's title rule: the visible heading, the page's other titles, and their agreement.

The saved pages in tests/pages show each case on a whole page (a rubric in
the heading, a teaser heading, a subtitle glued to the heading, a long site
suffix, a section label as the heading); these tests pin the rules one by one.
"""

from __future__ import annotations

import lxml.html

from archive.pagemeta import (
    agreed_title,
    json_ld_headline,
    json_ld_objects,
    json_ld_site_names,
    main_heading,
    page_title,
    site_names,
    title_key,
    without_site_affix,
)

ARTICLE_TEXT = "Жители области получили новые квартиры. " * 20


def title_of(head: str, body: str, url: str | None = None, declared_sites: tuple[str, ...] = ()) -> str | None:
    tree = lxml.html.document_fromstring(f"<html><head>{head}</head><body>{body}<p>{ARTICLE_TEXT}</p></body></html>")
    objects = json_ld_objects(tree)
    return page_title(tree, main_heading(tree), headline=json_ld_headline(objects), url=url,
                      declared_sites=declared_sites or json_ld_site_names(objects))


def og(title: str) -> str:
    return f'<meta property="og:title" content="{title}">'


def ld(headline: str) -> str:
    return f'<script type="application/ld+json">{{"@type": "NewsArticle", "headline": "{headline}"}}</script>'


# --- comparing titles -------------------------------------------------------------


def test_title_key_ignores_quote_marks_dashes_case_spacing_and_a_final_full_stop():
    assert title_key("‘We had some issues,’ exec says — Disney+  glitches.") == title_key(
        "'We had some issues,' exec says - disney+ glitches")


def test_title_key_keeps_the_words():
    assert title_key("Аким принял граждан") != title_key("Аким принял жителей")


# --- site names ---------------------------------------------------------------------


def test_a_host_suffix_is_cut_off():
    names = site_names(None, "http://www.wday.ru/articles/1")
    assert without_site_affix("Фудблогеры по версии Wday.ru: список — www.wday.ru", names) == (
        "Фудблогеры по версии Wday.ru: список")


def test_a_site_name_holding_the_hosts_label_is_cut_off():
    names = site_names(None, "https://www.tageszeitung.it/2025/04/01/x/")
    assert without_site_affix("„Unermüdlicher Einsatz“ - Die Neue Südtiroler Tageszeitung", names) == (
        "„Unermüdlicher Einsatz“")


def test_a_headline_merely_mentioning_the_host_label_keeps_every_part():
    names = site_names(None, "http://www.wday.ru/articles/1")
    title = "Самые популярные кулинарные блоги по версии Wday.ru: список"
    assert without_site_affix(title, names) == title


def test_the_og_site_name_is_cut_off_after_the_last_separator_only():
    names = site_names("Atyrau Times", None)
    assert without_site_affix("Bridge - river - works | Atyrau Times", names) == "Bridge - river - works"


def test_a_name_with_a_colon_in_front_is_read_as_a_kicker_not_a_site():
    names = site_names("Atyrau", None)
    assert without_site_affix("Atyrau: floods recede", names) == "Atyrau: floods recede"


def test_the_publisher_named_in_json_ld_is_a_site_name():
    objects = [{"@type": "NewsArticle", "publisher": {"@type": "Organization", "name": "Atyrau Region Akimat"}},
               {"@type": "WebSite", "name": "atyrau.gov.kz"}]
    assert json_ld_site_names(objects) == ("Atyrau Region Akimat", "atyrau.gov.kz")


# --- agreement between the heading and the declared titles ------------------------------


def test_a_teaser_heading_loses_to_the_headline_declared_everywhere_else():
    declared = "Ural river bridge in Atyrau reopens after two years of repairs"
    assert agreed_title("The bridge is open again", [declared, declared, f"{declared} | Atyrau"], set()) == declared


def test_on_a_tie_the_visible_heading_stays():
    assert agreed_title("Аким принял граждан", ["Аким принял граждан", "Аким провёл приём", "Аким провёл приём"],
                        set()) == "Аким принял граждан"


def test_the_heading_with_a_long_suffix_nobody_names_is_still_the_heading():
    suffixed = "Аким принял граждан | Официальный интернет-ресурс акимата Махамбетского района"
    assert agreed_title("Аким принял граждан", [suffixed, suffixed], set()) == "Аким принял граждан"


def test_a_title_with_a_label_after_it_votes_for_the_title_without_it():
    assert agreed_title("Новости", ["В Атырау высадили деревья", "В Атырау высадили деревья | Новости"],
                        set()) == "В Атырау высадили деревья"


def test_a_kicker_in_front_does_not_vote_for_the_shorter_wording():
    heading = "'Ends recession debate': economists weigh in on the jobs report"
    assert agreed_title(heading, [heading, heading, "Economists weigh in on the jobs report | Financial Post"],
                        site_names("financialpost", None)) == heading


# --- whole pages: the rule through page_title ---------------------------------------------


def test_a_subtitle_marked_up_inside_the_heading_is_not_the_title():
    body = '<article><h1>Жаңа емхана ашылды <small class="news-subtitle">Күніне 250 адам</small></h1></article>'
    assert title_of("<title>Жаңа емхана ашылды | Индер ауданы әкімдігі</title>", body) == "Жаңа емхана ашылды"


def test_a_subtitle_glued_to_the_heading_goes_when_the_declared_titles_agree_without_it():
    body = "<article><h1>Аким встретился с жителями<br>Обсудили отопление и дороги</h1></article>"
    head = og("Аким встретился с жителями") + "<title>Аким встретился с жителями | Акимат</title>"
    assert title_of(head, body) == "Аким встретился с жителями"


def test_a_rubric_marked_up_inside_the_heading_is_not_the_title():
    body = '<article><h1><a class="news-rubric" href="/economy/">Экономика</a>. Открылся новый завод</h1></article>'
    assert title_of("<title>Открылся новый завод | Акимат</title>", body) == "Открылся новый завод"


def test_twitter_title_copying_og_title_is_one_voice_not_two():
    social = "Bridge reopens after repairs"
    head = (og(social) + f'<meta name="twitter:title" content="{social}">' + f"<title>{social} | Atyrau</title>"
            + ld("The Ural bridge is open again"))
    body = "<article><h1>The Ural bridge is open again</h1></article>"
    assert title_of(head, body) == "The Ural bridge is open again"  # 2 against 2: the heading stays


def test_a_host_suffixed_title_and_og_title_outvote_the_heading():
    declared = "Ural bridge reopens after two years"
    head = og(declared) + f"<title>{declared} — atyrau.example.kz</title>"
    body = "<article><h1>Bridge open again</h1></article>"
    assert title_of(head, body, url="https://atyrau.example.kz/en/news/1") == declared
