"""archive.template: a site's chrome learned from its own pages, never its articles' text."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from archive import extract
from archive.template import SiteTemplate, SiteTemplates, TemplateSnapshot, block_key, site_of

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
# Chrome in blocks whose names say nothing: only repetition gives it away.
RECEPTION = "Приёмная акимата работает с понедельника по пятницу, с 9:00 до 18:00, перерыв с 13:00 до 14:00."
ADDRESS = "Жылыойский район, город Кульсары, улица Абая, дом 5, здание районного акимата."
SHARED = "Напомним, что программа «Ауыл – Ел бесігі» действует в области с 2019 года."
TOPICS = ["школы", "больницы", "дороги", "котельной", "парка", "моста", "стадиона", "библиотеки", "рынка", "клуба"]


def page(number: int, shared: bool = False) -> str:
    topic = TOPICS[number % len(TOPICS)]
    body = "".join(
        f"<p>Абзац {k} статьи номер {number} о ремонте {topic}: работы идут по графику, подрядчик отчитался "
        f"о выполнении {10 * k + number} процентов плана.</p>"
        for k in range(1, 5)
    )
    if shared:
        body += f"<p>{SHARED}</p>"
    return (
        f"<html><head><title>Ремонт {topic} №{number}</title></head><body><div class='w1'>"
        f"<h1>Ремонт {topic} №{number}</h1>{body}<div class='q7'><p>{RECEPTION}</p><p>{ADDRESS}</p></div>"
        "</div></body></html>"
    )


def url(number: int) -> str:
    return f"https://zhylyoi.example.kz/ru/news/{number}"


def learned(pages: range, template: SiteTemplate | None = None) -> SiteTemplate:
    template = template or SiteTemplate()
    for number in pages:
        template.learn_article(extract(page(number), url(number), now=NOW))
    return template


def test_without_a_template_the_unnamed_chrome_stays_in_the_text():
    assert RECEPTION in extract(page(1), url(1), now=NOW).text


def test_chrome_repeated_on_every_page_is_learned_and_stripped():
    template = learned(range(6))
    article = extract(page(99), url(99), now=NOW, template=template.snapshot())
    assert RECEPTION not in article.text and ADDRESS not in article.text
    assert [p for _, p in article.template_removed] == [RECEPTION, ADDRESS]
    assert "Абзац 1 статьи номер 99" in article.text


def test_a_closing_sentence_shared_by_four_articles_is_kept():
    template = learned(range(10))
    for number in (20, 21, 22, 23):
        template.learn_article(extract(page(number, shared=True), url(number), now=NOW, template=template))
    article = extract(page(24, shared=True), url(24), now=NOW, template=template)
    assert SHARED in article.text and RECEPTION not in article.text


def test_stock_paragraphs_reused_in_any_order_are_never_template():
    """Like the demo portal: every article draws a few paragraphs from one small pool."""
    pool = [f"Типовой абзац номер {k} о работе акимата в этом году." for k in range(8)]
    template = SiteTemplate()
    for number in range(60):
        chosen = [pool[(number * 3 + k * (1 + number % 5)) % 8] for k in range(4)]
        template.learn("\n\n".join([f"Уникальный лид {number}.", *dict.fromkeys(chosen), RECEPTION]), page_key=str(number))
    text = "\n\n".join(["Уникальный лид 99.", pool[1], pool[6], pool[3], RECEPTION])
    stripped, removed = template.strip(text)
    assert removed == ((4, RECEPTION),)
    assert all(p in stripped for p in (pool[1], pool[6], pool[3]))


def test_article_paragraphs_are_never_template():
    template = learned(range(12))
    text = extract(page(5), url(5), now=NOW).text
    stripped, removed = template.strip(text)
    assert all("статьи номер 5" in line for line in stripped.split("\n\n"))
    assert [p for _, p in removed] == [RECEPTION, ADDRESS]


def test_too_few_pages_teach_nothing():
    template = learned(range(4))
    assert RECEPTION in extract(page(9), url(9), now=NOW, template=template).text


def test_learning_from_stripped_articles_keeps_the_template_stable():
    template = learned(range(6))
    for number in range(6, 40):
        template.learn_article(extract(page(number), url(number), now=NOW, template=template.snapshot()))
    assert RECEPTION not in extract(page(77), url(77), now=NOW, template=template).text


def test_the_same_page_learned_twice_counts_once():
    template = SiteTemplate()
    article = extract(page(1), url(1), now=NOW)
    assert template.learn_article(article) is True
    assert template.learn_article(article) is False
    assert template.learn(article.text, page_key="https://zhylyoi.example.kz/ru/print/1") is False
    assert template.pages == 1


def test_the_window_bounds_memory_and_forgets_old_chrome():
    template = SiteTemplate(window=5)
    for number in range(5):
        template.learn(f"Статья {number}.\n\nСтарый подвал сайта.", page_key=str(number))
    assert template.strip("Статья 9.\n\nСтарый подвал сайта.")[0] == "Статья 9."
    for number in range(5, 10):
        template.learn(f"Статья {number}.\n\nНовый подвал сайта.", page_key=str(number))
    assert template.pages == 5
    assert template.strip("Статья 9.\n\nСтарый подвал сайта.")[1] == ()
    assert template.strip("Статья 9.\n\nНовый подвал сайта.")[0] == "Статья 9."


def test_a_threshold_below_three_pages_is_refused():
    with pytest.raises(ValueError):
        SiteTemplate(min_pages=2)


def test_block_keys_ignore_case_and_spacing():
    assert block_key("Все права  защищены") == block_key("все права защищены")


def test_block_keys_are_the_same_in_another_process():
    code = "from archive.template import block_key; print(block_key('Все права защищены'))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": "12345"}, cwd=Path(__file__).parent.parent)
    assert int(other.stdout) == block_key("Все права защищены")


def test_a_snapshot_is_small_picklable_and_strips_like_the_live_template():
    template = learned(range(6))
    snapshot = pickle.loads(pickle.dumps(template.snapshot()))
    text = extract(page(50), url(50), now=NOW).text
    assert snapshot.strip(text) == template.strip(text)
    assert 0 < len(snapshot) < 10


def test_an_empty_snapshot_strips_nothing():
    assert TemplateSnapshot().strip("Один.\n\nДва.") == ("Один.\n\nДва.", ())


def test_sites_are_learned_apart_and_bounded():
    book = SiteTemplates(max_sites=2)
    for number in range(6):
        book.learn_article(extract(page(number), url(number), now=NOW))
    assert len(book.snapshot_for("https://www.zhylyoi.example.kz/ru/news/77")) > 0
    assert len(book.snapshot_for("https://other.example.kz/")) == 0
    book.for_url("https://a.example.kz/")
    book.for_url("https://b.example.kz/")
    assert len(book) == 2 and len(book.snapshot_for(url(1))) == 0


def test_site_of_drops_www_and_keeps_the_port():
    assert site_of("https://WWW.Akimat.kz:8443/ru/news/1") == "akimat.kz:8443"
