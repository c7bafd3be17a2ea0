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


# -- one crawl's templates: base while crawling, final at close (archive.template's docstring) ------

from archive.catalog import Catalog  # noqa: E402
from archive.template import CrawlTemplates, RecordedTemplate, restrip  # noqa: E402


def extracted(number: int, template=None):
    return extract(page(number), url(number), now=NOW, template=template)


def test_finishing_a_base_stripped_text_equals_stripping_with_the_final_template_at_once():
    final = learned(range(1, 9)).snapshot()
    base = TemplateSnapshot(frozenset(sorted(final.pairs)[:1]))  # knows part of the chrome
    at_once = extracted(40, final).text
    with_base = extracted(40, base)
    assert with_base.template_removed and with_base.text != at_once
    assert restrip(with_base.text, with_base.template_removed, final.pairs) == at_once


def test_finishing_with_the_template_a_text_was_extracted_with_changes_nothing():
    base = learned(range(1, 7)).snapshot()
    article = extracted(40, base)
    assert restrip(article.text, article.template_removed, base.pairs) == article.text


def test_a_first_crawl_extracts_with_nothing_and_records_what_it_learned():
    crawl = CrawlTemplates("crawl-1")
    for number in range(1, 9):
        article = extract(page(number), url(number), now=NOW, template=crawl.base_for(url(number)))
        assert RECEPTION in article.text  # not stripped while the crawl runs
        crawl.learn(article)
    (record,) = crawl.recorded()
    assert (record.site, record.base, record.pages) == ("zhylyoi.example.kz", frozenset(), 8)
    assert RECEPTION not in restrip(extracted(9).text, (), record.final)


def test_a_recrawl_starts_from_the_base_and_a_few_pages_add_nothing():
    base = learned(range(1, 9)).snapshot().pairs
    crawl = CrawlTemplates("crawl-2", {"zhylyoi.example.kz": base})
    for number in (30, 31):
        crawl.learn(extract(page(number), url(number), now=NOW, template=crawl.base_for(url(number))),
                    ("a.warc.gz", number))
    (record,) = crawl.recorded()
    assert record.final == record.base == base
    assert [p for _, p in crawl.removed("a.warc.gz", 30)] == [RECEPTION, ADDRESS]


def test_a_resumed_crawl_keeps_the_final_template_it_recorded_before():
    recorded = learned(range(1, 9)).snapshot().pairs
    crawl = CrawlTemplates("crawl-1", {}, {"zhylyoi.example.kz": recorded})
    for number in range(20, 30):
        crawl.learn(extracted(number))
    (record,) = crawl.recorded()
    assert record.final == recorded


def test_a_template_record_is_small_json_that_reads_back_the_same():
    pairs = learned(range(1, 9)).snapshot().pairs
    record = RecordedTemplate("zhylyoi.example.kz", "crawl-1", frozenset(list(pairs)[:2]), pairs, 8)
    payload = record.to_json()
    assert RecordedTemplate.from_json(payload) == record
    assert len(payload) < 200 + 20 * len(pairs)


def test_a_record_of_an_unknown_format_is_refused():
    with pytest.raises(ValueError):
        RecordedTemplate.from_json(b'{"format": 99}')


def test_finishing_a_crawl_merges_versions_that_differed_only_by_chrome(tmp_path):
    """An article fetched by two crawls whose texts differ only in a line the site repeats everywhere."""
    (tmp_path / "warc").mkdir()
    (tmp_path / "warc" / "a.warc.gz").write_bytes(b"\0" * 1000)
    article = {"url": url(1), "site": "zhylyoi.example.kz", "title": "Ремонт", "warc_filename": "a.warc.gz",
               "warc_length": 10}
    chrome = learned(range(1, 9)).snapshot().pairs
    own = "Абзац статьи о ремонте школы, работы идут по графику."
    with Catalog(tmp_path / "catalog.db", warc_dir=tmp_path / "warc") as catalog:
        catalog.add_article({**article, "text": own, "warc_offset": 0, "fetched_at": "2026-01-01T00:00:00Z",
                             "crawl_id": "crawl-1"})
        catalog.add_article({**article, "text": f"{own}\n\n{RECEPTION}\n\n{ADDRESS}", "warc_offset": 100,
                             "fetched_at": "2026-02-01T00:00:00Z", "crawl_id": "crawl-2"})
        catalog.flush()
        assert catalog.article(url(1))["versions"] == 2
        record = RecordedTemplate("zhylyoi.example.kz", "crawl-2", frozenset(), chrome, 8)
        assert catalog.finish_templates([(record, ("a.warc.gz", 200, 10))]) == 1
        row = catalog.article(url(1))
        templates = list(catalog.db.query("SELECT site, crawl_id, warc_offset FROM site_templates"))
        bases = catalog.site_template_bases("crawl-3")
    assert (row["text"], row["versions"]) == (own, 1)
    assert templates == [{"site": "zhylyoi.example.kz", "crawl_id": "crawl-2", "warc_offset": 200}]
    assert bases == {"zhylyoi.example.kz": chrome}
