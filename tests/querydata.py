"""A small catalog with known answers, written through archive.catalog into a real SQLite file.

Used by the query, CLI and Datasette tests. Each article is there for one
question: inflected forms, dates at period edges, sites of two regions, text
with the characters CSV and JSON must escape.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from archive.catalog import Catalog

WARC = "newsarchive-20261125103000000-00001-test.warc.gz"
WARC_SIZE = 100_000
ATYRAU = "atyrau.example.kz"
ALMATY = "almaty.example.kz"
ENGLISH = "gov.example.kz"

ARTICLES = [
    # (key, site, language, published, title, text)
    ("primaries-kk", ATYRAU, "kk", "2021-03-05T10:30:00+06:00", "Партияның праймериздің нәтижелері",
     "Атырау облысында праймериз арқылы үміткерлер анықталды. Праймериздің қорытындысы жарияланды."),
    ("conference-kk", ATYRAU, "kk", "2021-03-31", "Есеп беру конференциясы өтті",
     "Облыстық филиалдың конференциясы өтті, оған 120 делегат қатысты."),
    ("conference-ru", ALMATY, "ru", "2021-04-01T09:00:00+06:00", "Отчётная конференция филиала",
     "В работе конференции приняли участие 120 делегатов. Итоги конференции подведены."),
    ("school-ru", ALMATY, "ru", "2020-12-31T23:00:00+06:00", "Новая школа открыта",
     'В селе открыли школу на 300 мест; директор сказал: "Ждём учеников", а также, что классы готовы.'),
    ("school-en", ENGLISH, "en", "2026-11-25", "Rural schools connected to the internet",
     "Twenty-eight rural schools were connected to high-speed internet this year."),
    ("undated-en", ENGLISH, "en", None, "Statement on water supply",
     "The ministry published a statement about the water supply of villages."),
    ("body-mention-en", ENGLISH, "en", "2026-11-20", "Budget hearing held",
     "The budget hearing also covered the school renovation programme."),
]
SITES = [(ATYRAU, "Atyrau akimat", "Atyrau", "KZ"), (ALMATY, "Almaty akimat", "Almaty", "KZ"),
         (ENGLISH, "Government portal", None, "KZ")]


def url_of(key: str) -> str:
    site = next(a[1] for a in ARTICLES if a[0] == key)
    return f"https://{site}/news/{key}"


def build_catalog(data_dir: Path) -> Path:
    """Write the articles (one capture each, two for conference-ru) and sites; returns catalog.db."""
    warc_dir = data_dir / "warc"
    warc_dir.mkdir(parents=True, exist_ok=True)
    (warc_dir / WARC).write_bytes(b"\0" * WARC_SIZE)
    path = data_dir / "catalog.db"
    with Catalog(path, warc_dir=warc_dir) as catalog:
        for number, (key, site, language, published, title, text) in enumerate(ARTICLES):
            pointer = {"warc_filename": WARC, "warc_offset": number * 1000, "warc_length": 900}
            fetched_at = f"2026-11-25T10:{number:02d}:00Z"
            catalog.add_capture({"url": url_of(key), "status": 200, "content_type": "text/html",
                                 "fetched_at": fetched_at, "record_id": f"<urn:uuid:record-{key}>",
                                 "payload_digest": f"sha1:{key.upper()}", "crawl_id": "crawl-1",
                                 "record_type": "response", **pointer})
            catalog.add_article({"url": url_of(key), "site": site, "title": title, "published": published,
                                 "language": language, "text": text, "payload_digest": f"sha1:{key.upper()}",
                                 "fetched_at": fetched_at, "crawl_id": "crawl-1", **pointer})
        # An earlier capture of the same page: a second version in the captures table.
        catalog.add_capture({"url": url_of("conference-ru"), "status": 200, "content_type": "text/html",
                             "fetched_at": "2026-11-01T08:00:00Z", "record_id": "<urn:uuid:record-older>",
                             "payload_digest": "sha1:OLDER", "crawl_id": "crawl-0", "record_type": "response",
                             "warc_filename": WARC, "warc_offset": 50_000, "warc_length": 900})
    with sqlite3.connect(path) as conn:
        conn.executemany("INSERT INTO sites (id, name, region, country) VALUES (?, ?, ?, ?)", SITES)
    conn.close()
    return path
