"""Query words to FTS5 prefix terms, so one form finds the others.

Kazakh is agglutinative ("праймериз" → "праймериздің", "праймериздер"), Russian
inflects ("конференция" → "конференции", "конференцией"). The catalog's index
keeps whole words (unicode61); the *query* is widened instead: each word is cut
to its stem and searched as a prefix (``конференц*``). Measured against exact
words and a trigram index (benchmarks/query.py --recall), this finds every form
of the test list at the same speed as an exact search and needs no reindex; a
trigram index is ~3x bigger and also finds words *containing* the stem.

Stems: Russian words through Snowball's Russian stemmer (snowballstemmer, pure
Python); Kazakh case, plural and possessive endings are cut first by the short
rule list below (Snowball has no Kazakh), then the Russian stemmer runs on what
is left, which is right for the many Russian loanwords Kazakh news inflects
("конференциясы" → "конференция" → "конференц"). Latin words go through the
English stemmer. Words shorter than :data:`MIN_STEM` stay whole: a prefix that
short matches too much.
"""

from __future__ import annotations

import re
from functools import lru_cache

import snowballstemmer

MIN_STEM = 4
LOANWORD_MIN = 8
KAZAKH_LETTERS = frozenset("әғқңөұүһі")
# Kazakh inflectional endings, longest first; at most MAX_KAZAKH_LAYERS are cut.
_KAZAKH_ENDINGS = sorted({
    # plural
    "лар", "лер", "дар", "дер", "тар", "тер",
    # possessive
    "ымыз", "іміз", "мыз", "міз", "ыңыз", "іңіз", "ңыз", "ңіз", "ым", "ім", "ың", "ің", "сы", "сі", "ы", "і",
    # genitive, dative, accusative, locative, ablative, instrumental
    "ның", "нің", "дың", "дің", "тың", "тің",
    "ға", "ге", "қа", "ке", "на", "не",
    "ны", "ні", "ды", "ді", "ты", "ті",
    "нда", "нде", "да", "де", "та", "те",
    "нан", "нен", "дан", "ден", "тан", "тен",
    "мен", "бен", "пен",
    # derivational endings common in news ("әкімдігі", "облыстық")
    "дағы", "дегі", "тағы", "тегі", "ндағы", "ндегі", "лық", "лік", "дық", "дік", "тық", "тік",
}, key=len, reverse=True)
MAX_KAZAKH_LAYERS = 3
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_russian = snowballstemmer.stemmer("russian")
_english = snowballstemmer.stemmer("english")


def strip_kazakh_endings(word: str) -> str:
    """Cut up to three Kazakh endings, never below MIN_STEM letters."""
    for _layer in range(MAX_KAZAKH_LAYERS):
        for ending in _KAZAKH_ENDINGS:
            if word.endswith(ending) and len(word) - len(ending) >= MIN_STEM:
                word = word[: -len(ending)]
                break
        else:
            break
    return word


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The prefix that stands for every form of ``word`` (lower-cased)."""
    word = word.lower()
    if len(word) < MIN_STEM or word.isdigit():
        return word
    if _CYRILLIC.search(word):
        # A long word without Kazakh letters may still be a loanword with Kazakh endings
        # ("конференциясы"); short Russian words are left to the Russian stemmer alone.
        if KAZAKH_LETTERS & set(word) or len(word) > LOANWORD_MIN:
            word = strip_kazakh_endings(word)
        stemmed = _russian.stemWord(word) if not KAZAKH_LETTERS & set(word) else word
    else:
        stemmed = _english.stemWord(word)
    # The index keeps letters as written (ё is not е): the prefix must be one of the word's.
    common = 0
    while common < min(len(stemmed), len(word)) and stemmed[common] == word[common]:
        common += 1
    return word[: max(common, MIN_STEM)]


def words(text: str) -> list[str]:
    return _WORD.findall(text)
