"""What the learned site template removes on the demo portal, and what it costs per article.

    python benchmarks/templates.py [articles_per_site]      # default 40

Crawls the demo portal (kk/ru/en) on loopback twice, with NEWSARCHIVE_SITE_TEMPLATES off and on,
and compares the article texts with the portal's own article text (lead and paragraphs): the
paragraphs the template removed that extraction kept, and any article paragraph lost (must be 0).
Then times the template steps alone (learning, stripping, finishing texts at close) on the
crawl's texts with a press-office footer added, in this process.
"""

import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from archive.template import SiteTemplate, paragraphs_of, restrip  # noqa: E402
from crawler.demo.portal import DemoPortal  # noqa: E402

per_site = int(sys.argv[1]) if len(sys.argv) > 1 else 40
root = Path(tempfile.mkdtemp(prefix="newsarchive-templates-"))


def crawl(seeds, data, *settings):
    started = time.time()
    result = subprocess.run([sys.executable, "-m", "crawler.cli", "crawl", *seeds, "--data", str(data),
                             "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0", *settings],
                            capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stderr[-2000:]
    return time.time() - started


with DemoPortal(articles_per_site=per_site) as portal:
    seeds = [site.start_url for site in portal.sites.values()]
    own_text = {}
    for site in portal.sites.values():
        for article, expected in zip(site.articles, site.expected_articles):
            own_text[expected.url] = [article.lead, *article.paragraphs]
    plain_s = crawl(seeds, root / "plain", "-s", "NEWSARCHIVE_SITE_TEMPLATES=False")
    with_s = crawl(seeds, root / "with")


def texts(path):
    with sqlite3.connect(path) as db:
        return dict(db.execute("SELECT url, text FROM articles"))


plain, templated = texts(root / "plain" / "catalog.db"), texts(root / "with" / "catalog.db")
removed = lost = 0
examples = set()
for url, text in plain.items():
    kept = set(paragraphs_of(templated.get(url, "")))
    gone = [p for p in paragraphs_of(text) if p not in kept]
    removed += len(gone)
    examples.update(g[:80] for g in gone)
    lost += sum(1 for p in own_text.get(url, []) if p not in templated.get(url, ""))
with sqlite3.connect(root / "with" / "catalog.db") as db:
    pairs = db.execute("SELECT site, length(pairs) / 19, pages FROM site_templates").fetchall()
print(f"demo portal, {per_site} articles/site: {len(plain)} articles; template pairs per site {pairs}")
print(f"paragraphs the template removed that trafilatura kept: {removed} {sorted(examples)[:5]}")
print(f"article paragraphs (lead + body) lost: {lost} of {sum(len(v) for v in own_text.values())}")
print(f"crawl wall time, shared machine: plain {plain_s:.1f} s, with templates {with_s:.1f} s")

# CPU of the template steps alone, per article, on the crawl's own texts with a footer run added.
footer = ["Пресс-служба акимата района", "Телефон: 8 (7172) 55-00-00", "Адрес: ул. Бейбітшілік, 11"]
pages = [t + "\n\n" + "\n\n".join(footer) for t in plain.values()] * 5
learner = SiteTemplate()
start = time.process_time()
for n, page in enumerate(pages):
    learner.learn(page, page_key=str(n))
learn_ms = (time.process_time() - start) * 1000 / len(pages)
snapshot = learner.snapshot()
start = time.process_time()
stripped = [snapshot.strip(page) for page in pages]
strip_ms = (time.process_time() - start) * 1000 / len(pages)
start = time.process_time()
for (text, gone) in stripped:
    restrip(text, gone, snapshot.pairs)
restrip_ms = (time.process_time() - start) * 1000 / len(pages)
print(f"CPU per article: learn {learn_ms:.3f} ms, strip {strip_ms:.3f} ms, finish (restrip) {restrip_ms:.3f} ms"
      f" ({len(pages)} pages, {len(snapshot)} pairs)")
shutil.rmtree(root)
