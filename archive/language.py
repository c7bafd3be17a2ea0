"""Which language a page is written in: kk, ru, en and others by script.

The rule, in order:

1. The declared language (``<html lang>``, og:locale, Content-Language) is
   normalised to ISO 639-1 (``kk-KZ`` → ``kk``, the common mistake ``kz`` → ``kk``).
2. If the text has fewer than ``MIN_LETTERS`` letters it is too short to tell:
   the declared language wins; without one, a clear script still decides.
3. Otherwise the text's dominant script decides, and a declaration is trusted
   only when it agrees with that script (sites in Kazakhstan often serve
   ``lang="ru"`` from a shared template over Kazakh text, or ``lang="en"``
   over everything).
4. Cyrillic: Kazakh vs Russian is decided by the share of Kazakh-only letters
   (ә ғ қ ң ө ұ ү һ; not і, which Ukrainian shares) among Cyrillic letters.
   Kazakh prose has about 7-10 %,
   Russian prose with a few Kazakh names far below 2 %. In the grey zone
   between, function words vote (және, мен, үшін… vs и, в, на, что…), then
   the declaration. Another declared Cyrillic language (uk, be, ky…) is kept
   unless the text is clearly Kazakh.
5. Latin: a declared Latin-script language is kept; otherwise English
   function words must make up a real share of the words to say ``en``.
6. Other scripts map to their language (kana → ja, hangul → ko, Han → zh,
   Arabic → ar, …), a declaration of a language written in that script wins.

Only the first ``SAMPLE_CHARS`` characters are looked at: it is fast and
the language of a news article does not change half-way.
"""

from __future__ import annotations

import re
import unicodedata

MIN_LETTERS = 40
SAMPLE_CHARS = 6000
# Letters of Kazakh that Russian lacks; "і" is left out because Ukrainian and
# Belarusian use it too.
KAZAKH_LETTERS = frozenset("әғқңөұүһӘҒҚҢӨҰҮҺ")
KAZAKH_SURE = 0.04  # share of Kazakh-only letters above which the text is Kazakh
RUSSIAN_SURE = 0.015  # share below which the text is Russian

_KK_WORDS = frozenset(
    "және мен бен пен үшін деп бұл осы сол ал да де бойынша туралы жылы "
    "болып болды бар жоқ дейін кейін арқылы сияқты барлық өз".split()
)
_RU_WORDS = frozenset(
    "и в во на с со по не что для это как из о об к от до за при его её их "
    "был была были также который которые года".split()
)
_EN_WORDS = frozenset(
    "the of and to in is was for on that with as by at from are this be "
    "it an has have were which will said".split()
)

_CYRILLIC_LANGS = frozenset("ru kk uk be bg sr mk ky tg mn tt ba cv".split())
_OTHER_SCRIPT_LANGS = {
    "ja": "kana-han", "zh": "han", "ko": "hangul", "ar": "arabic", "fa": "arabic",
    "ur": "arabic", "he": "hebrew", "yi": "hebrew", "el": "greek", "hi": "devanagari",
    "mr": "devanagari", "ne": "devanagari", "th": "thai", "ka": "georgian", "hy": "armenian",
    "bn": "bengali", "ta": "tamil",
}
_SCRIPT_DEFAULT_LANG = {
    "kana": "ja", "hangul": "ko", "han": "zh", "arabic": "ar", "hebrew": "he",
    "greek": "el", "devanagari": "hi", "thai": "th", "georgian": "ka",
    "armenian": "hy", "bengali": "bn", "tamil": "ta",
}
_ALIASES = {"kz": "kk", "ua": "uk", "cn": "zh", "jp": "ja", "gr": "el", "iw": "he", "in": "id"}
_TAG = re.compile(r"^\s*([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)*\s*$")
_WORD = re.compile(r"[^\W\d_]+")


def normalise_language_tag(tag: str | None) -> str | None:
    """ISO 639-1 code of a language tag (``"kk-KZ"`` → ``"kk"``), None if unusable."""
    if not tag:
        return None
    match = _TAG.match(tag)
    if not match:
        return None
    code = match.group(1).lower()
    code = _ALIASES.get(code, code)
    if len(code) != 2 or code in ("zz", "xx"):
        return None
    return code


def detect_language(text: str, declared: str | None = None) -> str | None:
    """The ISO 639-1 language of ``text``; ``declared`` is the page's own claim."""
    declared = normalise_language_tag(declared)
    sample = text[:SAMPLE_CHARS]
    scripts, kazakh_letters = _count_scripts(sample)
    letters = sum(scripts.values())
    if letters == 0:
        return declared
    script = max(scripts, key=scripts.get)
    if letters < MIN_LETTERS and declared:
        return declared
    if script == "cyrillic":
        return _cyrillic_language(sample, kazakh_letters / scripts["cyrillic"], declared)
    if script == "latin":
        return _latin_language(sample, declared)
    if declared and script in _OTHER_SCRIPT_LANGS.get(declared, ""):
        return declared
    if script == "han" and scripts.get("kana", 0) >= scripts["han"] * 0.05:
        return "ja"  # Japanese mixes kana in; Chinese has at most a stray "・"
    return _SCRIPT_DEFAULT_LANG.get(script)


def _cyrillic_language(sample: str, kazakh_share: float, declared: str | None) -> str | None:
    if kazakh_share >= KAZAKH_SURE:
        return "kk"
    if declared in _CYRILLIC_LANGS and declared not in ("ru", "kk"):
        return declared
    if kazakh_share < RUSSIAN_SURE:
        return "ru"
    words = [w.lower() for w in _WORD.findall(sample)]
    kk_votes = sum(w in _KK_WORDS for w in words)
    ru_votes = sum(w in _RU_WORDS for w in words)
    if kk_votes != ru_votes:
        return "kk" if kk_votes > ru_votes else "ru"
    if declared in ("ru", "kk"):
        return declared
    return "kk" if kazakh_share >= (KAZAKH_SURE + RUSSIAN_SURE) / 2 else "ru"


def _latin_language(sample: str, declared: str | None) -> str | None:
    if declared and declared not in _CYRILLIC_LANGS and declared not in _OTHER_SCRIPT_LANGS:
        return declared
    words = [w.lower() for w in _WORD.findall(sample)]
    if words and sum(w in _EN_WORDS for w in words) / len(words) >= 0.08:
        return "en"
    return None


def _count_scripts(sample: str) -> tuple[dict[str, int], int]:
    """Letters per script, and how many are Kazakh-only Cyrillic letters."""
    counts: dict[str, int] = {}
    kazakh = 0
    for char in sample:
        if not char.isalpha():
            continue
        if char < "\u0250":
            script = "latin"
        elif "\u0400" <= char <= "\u04ff":
            script = "cyrillic"
            kazakh += char in KAZAKH_LETTERS
        else:
            script = _script_of(char)
        counts[script] = counts.get(script, 0) + 1
    return counts, kazakh


def _script_of(char: str) -> str:
    name = unicodedata.name(char, "")
    for prefix, script in (
        ("CJK", "han"), ("HIRAGANA", "kana"), ("KATAKANA", "kana"), ("HANGUL", "hangul"),
        ("ARABIC", "arabic"), ("HEBREW", "hebrew"), ("GREEK", "greek"),
        ("DEVANAGARI", "devanagari"), ("THAI", "thai"), ("GEORGIAN", "georgian"),
        ("ARMENIAN", "armenian"), ("BENGALI", "bengali"), ("TAMIL", "tamil"),
        ("CYRILLIC", "cyrillic"), ("LATIN", "latin"),
    ):
        if name.startswith(prefix):
            return script
    return "other"
