"""How fast the catalog answers data users, on a synthetic catalog of N articles.

    python benchmarks/query.py --articles 1000000 --db /tmp/bench-catalog.db
    python benchmarks/query.py --recall

Builds (or reuses) a catalog through archive.catalog (so with the real schema,
migrations, FTS5 table and triggers) filled with synthetic articles of
realistic size in Kazakh, Russian and English: titles of 6-14 words, texts of
150-700 words (~1-5 KB), words drawn with a Zipf law from the demo portal's
vocabulary (frequent) and generated words with Kazakh/Russian/English endings
(the long tail of a news vocabulary), one capture row per article. Then it
reports:

- search latency (archive.query.search, 20 results with snippets): median and
  p95 over queries of mixed frequency, without filters and with filters
  (language + year, site + since);
- export throughput (archive.query.write_export to CSV, all rows and one year);
- catalog bytes per article.

``--compare REV`` measures archive/query.py as it was at git revision REV in
the same run, on its own connection, interleaved query by query (and export by
export) with the current code, and prints the ratios (baseline ÷ current, >1 is
faster now), CPU milliseconds as well as wall time (the machine is shared), and
whether both returned the same results.

``--recall`` compares search strategies on word forms (Kazakh and Russian
inflections of news words): exact words, stem prefixes (what search does), and
a trigram index; it prints recall per strategy and the index size of each
tokenizer on a sample of synthetic articles.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import io
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from archive.catalog import Catalog  # noqa: E402
import archive.query as current_query  # noqa: E402
from archive.query import Filters  # noqa: E402

ASSETS = Path(__file__).resolve().parent.parent / "crawler" / "demo" / "assets"
LANG_SHARE = (("kk", 0.45), ("ru", 0.4), ("en", 0.15))
REGIONS = ("Атырау", "Алматы", "Астана", "Ақтөбе", "Қарағанды", "Шымкент", "Павлодар", "Маңғыстау")
ENDINGS = {
    "kk": ("", "", "", "ның", "ға", "да", "дан", "ы", "лары", "ларының", "ды", "мен", "дағы"),
    "ru": ("", "", "а", "ы", "ов", "ом", "ах", "ами", "е", "ий", "ого", "ому", "ой"),
    "en": ("", "", "", "s", "ed", "ing", "er"),
}
LETTERS = {"kk": "абвгдежзиклмнопрстуұүқғңөәіһшы", "ru": "абвгдежзиклмнопрстуфхцчшщыэюя", "en": "abcdefghiklmnoprstuvwy"}


# -- synthetic corpus ------------------------------------------------------------


def demo_words(lang: str) -> list[str]:
    data = json.loads((ASSETS / f"{lang}.json").read_text(encoding="utf-8"))
    text = json.dumps(data, ensure_ascii=False)
    return sorted({w.lower() for w in _words(text) if len(w) > 1 and not w.isdigit()})


def _words(text: str) -> list[str]:
    import re

    return re.findall(r"[^\W\d_]+", text)


def vocabulary(lang: str, size: int, rng: random.Random) -> list[str]:
    """Frequent real words first, then generated stems with the language's endings."""
    words = demo_words(lang)
    rng.shuffle(words)
    letters = LETTERS[lang]
    while len(words) < size:
        stem = "".join(rng.choice(letters) for _ in range(rng.randint(3, 8)))
        for ending in rng.sample(ENDINGS[lang], 3):
            words.append(stem + ending)
    return words[:size]


class Corpus:
    def __init__(self, seed: int = 1, vocab_size: int = 60_000):
        self.rng = random.Random(seed)
        self.vocab = {lang: vocabulary(lang, vocab_size, self.rng) for lang, _ in LANG_SHARE}
        weights = [1 / (rank + 10) for rank in range(vocab_size)]
        total = 0.0
        self.cum = []
        for w in weights:
            total += w
            self.cum.append(total)
        self.sites = [(f"site{i:02d}.example.kz", LANG_SHARE[i % 3][0], REGIONS[i % len(REGIONS)]) for i in range(60)]

    def words(self, lang: str, k: int) -> list[str]:
        return self.rng.choices(self.vocab[lang], cum_weights=self.cum, k=k)

    def article(self, i: int) -> dict:
        site, lang, _region = self.sites[i % len(self.sites)]
        rng = self.rng
        sizes = [rng.randint(6, 14)] + [rng.randint(30, 90) for _ in range(rng.randint(3, 8))]
        drawn = self.words(lang, sum(sizes))
        parts, at = [], 0
        for size in sizes:
            parts.append(" ".join(drawn[at:at + size]))
            at += size
        title = parts[0].capitalize()
        paragraphs = [p.capitalize() + "." for p in parts[1:]]
        year = rng.randint(2015, 2026)
        published = f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        if rng.random() < 0.5:
            published += f"T{rng.randint(8, 19):02d}:{rng.randint(0, 59):02d}:00+05:00"
        return {
            "url": f"https://{site}/{lang}/news/{i}", "site": site, "title": title, "published": published,
            "modified": None, "language": lang, "author": None, "description": paragraphs[0][:200],
            "text": "\n\n".join(paragraphs), "warc_filename": f"bench-{i // 20000:05d}.warc.gz",
            "warc_offset": (i % 20000) * 9000, "warc_length": 9000,
            "payload_digest": f"sha1:{i:032d}", "fetched_at": f"{year}-12-31T00:00:00Z", "crawl_id": "bench",
        }


_worker_corpus: Corpus | None = None


def _init_worker(seed: int) -> None:
    global _worker_corpus
    _worker_corpus = Corpus(seed)


def _generate(args: tuple[int, int, int]) -> list[dict]:
    """One batch of articles, the same for the same (seed, start) whichever process makes it."""
    seed, start, stop = args
    _worker_corpus.rng = random.Random(seed * 1_000_003 + start)
    return [_worker_corpus.article(i) for i in range(start, stop)]


def build(path: Path, n: int, seed: int, batch: int = 5000, commit_every: int = 50_000) -> float:
    """Create the catalog through archive.catalog, then bulk-insert N articles; returns seconds.

    Articles are generated in a second process while this one inserts (two cores).
    """
    import multiprocessing

    started = time.perf_counter()
    Catalog(path).close()  # schema, FTS table and triggers, migrations
    corpus = Corpus(seed)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-400000")
    conn.executemany("INSERT INTO sites (id, name, region, country) VALUES (?, ?, ?, 'KZ')",
                     [(s, s, r) for s, _l, r in corpus.sites])
    columns = list(corpus.article(0))
    insert_article = f"INSERT INTO articles ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
    insert_capture = ("INSERT INTO captures (url, status, content_type, fetched_at, warc_filename, warc_offset,"
                      " warc_length, record_id, payload_digest, crawl_id, record_type)"
                      " VALUES (?, 200, 'text/html', ?, ?, ?, ?, ?, ?, 'bench', 'response')")
    jobs = [(seed, start, min(n, start + batch)) for start in range(0, n, batch)]
    with multiprocessing.get_context("fork").Pool(1, initializer=_init_worker, initargs=(seed,)) as pool:
        conn.execute("BEGIN")
        for (_seed, start, _stop), rows in zip(jobs, pool.imap(_generate, jobs)):
            conn.executemany(insert_article, [[r[c] for c in columns] for r in rows])
            conn.executemany(insert_capture, [
                (r["url"], r["fetched_at"], r["warc_filename"], r["warc_offset"], r["warc_length"],
                 f"<urn:uuid:{i:08d}-0000-0000-0000-000000000000>", r["payload_digest"])
                for i, r in enumerate(rows, start)])
            if (start + batch) % commit_every == 0:
                conn.execute("COMMIT")
                conn.execute("BEGIN")
                print(f"  {start + batch:,} articles, {time.perf_counter() - started:.0f} s", file=sys.stderr)
        conn.execute("COMMIT")
    print(f"  inserted, {time.perf_counter() - started:.0f} s; optimizing the FTS index", file=sys.stderr)
    conn.execute("INSERT INTO articles_fts(articles_fts) VALUES ('optimize')")
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return time.perf_counter() - started


# -- measurements ----------------------------------------------------------------


def queries(seed: int, count: int) -> list[str]:
    """Query words across the frequency range (rank 20 to 20,000), some two-word queries."""
    corpus = Corpus(seed)
    rng = random.Random(seed + 1)
    out = []
    for i in range(count):
        lang = LANG_SHARE[i % 3][0]
        vocab = corpus.vocab[lang]
        first = vocab[int(20 * (1000 ** rng.random()))]  # log-uniform over ranks 20..20,000
        out.append(first if i % 4 else f"{first} {vocab[rng.randint(20, 2000)]}")
    return out


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def baseline_module(revision: str):
    """archive/query.py as it was at git ``revision``, imported under its own name beside the current one."""
    root = Path(__file__).resolve().parent.parent
    source = subprocess.run(["git", "-C", str(root), "show", f"{revision}:archive/query.py"],
                            capture_output=True, text=True, check=True).stdout
    spec = importlib.util.spec_from_loader("baseline_query", loader=None)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    exec(compile(source, f"{revision}:archive/query.py", "exec"), module.__dict__)
    return module


def _summary(wall: list[float], cpu: list[float]) -> dict:
    return {"median_ms": round(statistics.median(wall), 1), "p95_ms": round(percentile(wall, 95), 1),
            "max_ms": round(max(wall), 1), "cpu_median_ms": round(statistics.median(cpu), 1),
            "cpu_p95_ms": round(percentile(cpu, 95), 1)}


def _ratios(base: dict, now: dict, keys=("median_ms", "p95_ms", "cpu_median_ms")) -> dict:
    return {k: round(base[k] / now[k], 2) if now[k] else None for k in keys}


def time_searches(impls: dict, qs: list[str], filters_for) -> dict:
    """Each query through every implementation in turn (the order alternating), each on its own connection."""
    wall = {name: [] for name in impls}
    cpu = {name: [] for name in impls}
    answers = {name: [] for name in impls}
    names = list(impls)
    for i, q in enumerate(qs):
        filters = filters_for(i)
        for name in names if i % 2 == 0 else reversed(names):
            module, conn = impls[name]
            t, c = time.perf_counter(), time.process_time()
            rows = module.search(conn, q, filters, limit=20)
            cpu[name].append((time.process_time() - c) * 1000)
            wall[name].append((time.perf_counter() - t) * 1000)
            answers[name].append([(r["url"], r["snippet"]) for r in rows])
    result = {name: {**_summary(wall[name], cpu[name]), "queries": len(qs),
                     "with_results": sum(1 for a in answers[name] if a)} for name in names}
    if "baseline" in impls:
        result["baseline_over_current"] = _ratios(result["baseline"], result["current"])
        result["same_results"] = sum(a == b for a, b in zip(answers["current"], answers["baseline"]))
    return result if "baseline" in impls else result["current"]


class _Counter(io.RawIOBase):
    """A binary sink that counts (and hashes) bytes: the cost of export without the disk's."""

    def __init__(self):
        self.chars = 0
        self.digest = hashlib.blake2b(digest_size=16)

    def write(self, data):
        self.chars += len(data)
        self.digest.update(data)
        return len(data)


def time_export(impls: dict, filters: Filters = Filters(), rounds: int = 1) -> dict:
    """Whole CSV exports, implementations alternating; the best round of each (the least disturbed)."""
    runs = {name: [] for name in impls}
    names = list(impls)
    for r in range(rounds):
        for name in names if r % 2 == 0 else reversed(names):
            module, conn = impls[name]
            out = _Counter()
            t, c = time.perf_counter(), time.process_time()
            count = module.write_export(conn, "csv", out, filters)
            runs[name].append((time.perf_counter() - t, time.process_time() - c, count, out))
    result = {}
    for name, measured in runs.items():
        seconds, cpu, count, out = min(measured, key=lambda m: m[0])
        result[name] = {"rows": count, "seconds": round(seconds, 1),
                        "rows_per_s": round(count / seconds) if seconds else None,
                        "rows_per_cpu_s": round(count / cpu) if cpu else None, "mb": round(out.chars / 1e6)}
    if "baseline" in impls:
        result["baseline_over_current"] = {
            k: round(result["current"][k] / result["baseline"][k], 2) for k in ("rows_per_s", "rows_per_cpu_s")}
        result["same_bytes"] = runs["current"][0][3].digest.digest() == runs["baseline"][0][3].digest.digest()
        return result
    return result["current"]


def run(args) -> dict:
    path = Path(args.db)
    if args.rebuild and path.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    build_seconds = None
    if not path.exists():
        print(f"building {args.articles:,} articles into {path}", file=sys.stderr)
        build_seconds = build(path, args.articles, args.seed)
    impls = {"current": current_query}
    if args.compare:
        impls["baseline"] = baseline_module(args.compare)
    impls = {name: (module, module.connect(path)) for name, module in impls.items()}
    conn = impls["current"][1]
    n = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    qs = queries(args.seed, args.queries)
    for module, connection in impls.values():
        for q in qs[:10]:  # warm the page cache as a user's second query would find it
            module.search(connection, q)
    years = [str(y) for y in range(2015, 2027)]
    sites = [f"site{i:02d}.example.kz" for i in range(60)]
    only = set(args.only.split(",")) if args.only else None
    wanted = lambda key: only is None or key in only  # noqa: E731
    result = {
        "articles": n,
        "build_seconds": round(build_seconds) if build_seconds else None,
        "catalog_bytes_per_article": round(sum(
            os.path.getsize(str(path) + s) for s in ("", "-wal") if os.path.exists(str(path) + s)) / n),
    }
    measures = {
        "search": lambda: time_searches(impls, qs, lambda i: Filters()),
        "search_lang_year": lambda: time_searches(
            impls, qs, lambda i: Filters(language=("kk", "ru", "en")[i % 3], since=years[i % 12],
                                         until=years[i % 12])),
        "search_site_since": lambda: time_searches(
            impls, qs, lambda i: Filters(sites=(sites[i % 60],), since="march 2020")),
        "export_all_csv": lambda: time_export(impls, rounds=args.export_rounds),
        "export_one_year_csv": lambda: time_export(impls, Filters(since="2021", until="2021"),
                                                   rounds=args.export_rounds),
    }
    for key, measure in measures.items():
        if wanted(key):
            result[key] = measure()
            print(f"  {key} measured", file=sys.stderr)
    return result


# -- recall of search strategies ---------------------------------------------------

# (what a user types, forms that must be found): news words in Kazakh and Russian.
FORMS = [
    ("праймериз", ["праймериздің", "праймериз", "праймериздер", "праймериздерге"]),
    ("конференция", ["конференциясы", "конференции", "конференцией", "конференцияға", "конференцияда"]),
    ("конференциясы", ["конференция", "конференции"]),
    ("выборы", ["выборах", "выборов", "выборами"]),
    ("аким", ["акима", "акимом", "акиму"]),
    ("мектеп", ["мектептің", "мектепке", "мектептер", "мектепте"]),
    ("мектептерде", ["мектеп", "мектептің"]),
    ("бағдарлама", ["бағдарламасы", "бағдарламаға", "бағдарламаның"]),
    ("бағдарламасы", ["бағдарлама", "бағдарламаға"]),
    ("ауыл", ["ауылдың", "ауылға", "ауылдар"]),
    ("әкімдігі", ["әкімдігінің", "әкімдігіне"]),
    ("депутат", ["депутаттар", "депутаттардың", "депутаты", "депутатов", "депутатами"]),
    ("школа", ["школы", "школе", "школами"]),
    ("программа", ["программы", "программе", "программой"]),
    ("жастар", ["жастардың", "жастарға"]),
    ("election", ["elections", "elected"]),
]


def recall_report(sample: int) -> dict:
    from archive.stemming import stem
    from archive.query import fts_query

    def index(tokenizer):
        conn = sqlite3.connect(":memory:")
        conn.execute(f"CREATE VIRTUAL TABLE f USING fts5(text, tokenize=\"{tokenizer}\")")
        return conn

    forms = [form for _q, fs in FORMS for form in fs]
    strategies = {}
    for name, tokenizer, make in (
        ("exact words (unicode61)", "unicode61 remove_diacritics 2", lambda q: '"' + q + '"'),
        ("stem prefix (unicode61; search default)", "unicode61 remove_diacritics 2", fts_query),
        ("trigram, word as typed", "trigram", lambda q: '"' + q + '"'),
        ("trigram, stem", "trigram", lambda q: '"' + stem(q) + '"'),
    ):
        conn = index(tokenizer)
        conn.executemany("INSERT INTO f (rowid, text) VALUES (?, ?)", [(i, f"новость {w} өтті") for i, w in enumerate(forms)])
        found = wanted = 0
        missed = []
        for query, expected in FORMS:
            rows = {r[0] for r in conn.execute("SELECT text FROM f WHERE f MATCH ?", [make(query)])}
            for form in expected:
                wanted += 1
                if f"новость {form} өтті" in rows:
                    found += 1
                else:
                    missed.append(f"{query}->{form}")
        strategies[name] = {"recall": round(found / wanted, 3), "missed": missed[:8]}
    # Index size and exact-vs-prefix speed of both tokenizers on synthetic articles.
    corpus = Corpus(7)
    docs = [corpus.article(i)["text"] for i in range(sample)]
    sizes = {}
    for tokenizer in ("unicode61 remove_diacritics 2", "trigram"):
        path = Path(f"/tmp/newsarchive-recall-{tokenizer.split()[0]}.db")
        path.unlink(missing_ok=True)
        conn = sqlite3.connect(path)
        conn.execute(f"CREATE VIRTUAL TABLE f USING fts5(text, content='', tokenize=\"{tokenizer}\")")
        t = time.perf_counter()
        with conn:
            conn.executemany("INSERT INTO f (rowid, text) VALUES (?, ?)", enumerate(docs))
        index_s = time.perf_counter() - t
        conn.execute("INSERT INTO f(f) VALUES ('optimize')")
        conn.commit()
        conn.close()
        sizes[tokenizer] = {"index_bytes_per_article": round(path.stat().st_size / sample),
                            "index_seconds": round(index_s, 1)}
        path.unlink()
    return {"strategies": strategies, "index_size": sizes, "sample_articles": sample}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=1_000_000, help="articles in the synthetic catalog")
    parser.add_argument("--db", default="/tmp/newsarchive-bench/catalog.db", help="catalog file (reused if present)")
    parser.add_argument("--rebuild", action="store_true", help="build the catalog again even if it exists")
    parser.add_argument("--queries", type=int, default=200, help="search queries per configuration")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--compare", metavar="REV",
                        help="also measure archive/query.py at this git revision, interleaved, with ratios")
    parser.add_argument("--only", metavar="A,B", help="only these measures (search, search_lang_year, "
                        "search_site_since, export_all_csv, export_one_year_csv)")
    parser.add_argument("--export-rounds", type=int, default=1, help="whole exports per implementation")
    parser.add_argument("--recall", action="store_true", help="compare search strategies instead")
    parser.add_argument("--recall-sample", type=int, default=5000, help="articles for the index-size comparison")
    args = parser.parse_args()
    if args.recall:
        print(json.dumps(recall_report(args.recall_sample), ensure_ascii=False, indent=2))
        return
    Path(args.db).parent.mkdir(parents=True, exist_ok=True)
    print(json.dumps(run(args), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
