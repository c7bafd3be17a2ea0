"""The language rule of archive.language (see its module docstring)."""

from __future__ import annotations

import pytest

from archive.language import detect_language, normalise_language_tag

KAZAKH = (
    "Атырау қаласында партияның облыстық филиалының кезекті есеп беру-сайлау конференциясы өтті. "
    "Жиынға облыс орталығынан және аудандардан 85 делегат қатысты."
)
RUSSIAN = (
    "В акимате области прошло совещание, посвящённое подготовке к отопительному сезону. "
    "Руководители коммунальных служб доложили о ходе ремонта тепловых сетей."
)
RUSSIAN_WITH_A_KAZAKH_NAME = "Аким области Махамбет Досмұхамбетов провёл совещание с руководителями районов."
ENGLISH = (
    "Residents of three villages in Makhambet district now have a piped water supply for the first "
    "time, after a pipeline was completed this week."
)


@pytest.mark.parametrize(
    ("tag", "code"),
    [("kk-KZ", "kk"), ("kz", "kk"), ("ru_RU", "ru"), ("EN-us", "en"), ("", None), (None, None), ("x-klingon", None)],
)
def test_declared_tags_are_normalised_to_iso_639_1(tag, code):
    assert normalise_language_tag(tag) == code


def test_kazakh_text_is_kk():
    assert detect_language(KAZAKH) == "kk"


def test_russian_text_is_ru():
    assert detect_language(RUSSIAN) == "ru"


def test_english_text_is_en():
    assert detect_language(ENGLISH) == "en"


def test_russian_with_one_kazakh_name_stays_ru():
    assert detect_language(RUSSIAN_WITH_A_KAZAKH_NAME) == "ru"


def test_kazakh_text_under_a_template_lang_ru_is_kk():
    assert detect_language(KAZAKH, declared="ru") == "kk"


def test_russian_text_declared_kk_is_ru():
    assert detect_language(RUSSIAN, declared="kk-KZ") == "ru"


def test_declaration_in_another_script_is_not_trusted():
    assert detect_language(RUSSIAN, declared="en") == "ru"


def test_declaration_wins_when_the_text_is_too_short_to_tell():
    assert detect_language("Жаңалықтар", declared="kk") == "kk"


def test_short_text_without_declaration_still_reads_its_script():
    assert detect_language("Новости") == "ru"


def test_declared_latin_language_is_kept_over_latin_text():
    assert detect_language("Die Bewohner dreier Dörfer haben jetzt fließendes Wasser im Haus.", declared="de") == "de"


def test_other_cyrillic_declaration_is_kept():
    assert detect_language("Мешканці трьох сіл нарешті отримали водопровід, про це повідомили в області.", "uk") == "uk"


@pytest.mark.parametrize(("text", "code"), [("東京都で会議が開かれました。これは日本語の文章です。", "ja"),
                                           ("서울에서 회의가 열렸습니다. 이것은 한국어 문장입니다.", "ko")])
def test_other_scripts_map_to_their_language(text, code):
    assert detect_language(text * 3) == code


def test_no_letters_and_no_declaration_is_unknown():
    assert detect_language("12:30 — 2026") is None


def test_chinese_with_a_stray_katakana_dot_is_zh():
    assert detect_language("习近平主席向首届论坛致贺信・为中拉深化航天合作指明方向。" * 4) == "zh"
