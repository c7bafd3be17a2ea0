"""Site profiles: the sites an archivist looks after, each with its own scope and rhythm.

One TOML file lists them::

    [presets.bitrix-akimat]            # what many regional sites on one CMS share
    timezone = "Asia/Almaty"
    cadence = "6h"
    politeness = { DOWNLOAD_DELAY = 2 }

    [sites.atyrau]
    extends = "bitrix-akimat"
    name = "Atyrau region akimat"
    start_urls = ["https://atyrau.example.kz/ru/news/"]
    cadence = "0 */6 * * *"

Why TOML rather than YAML: ``tomllib`` is in the standard library (no extra
dependency); TOML has no implicit typing, so ``country = NO`` or ``cadence = 6:00``
is an error instead of silently becoming ``false`` or the integer 360; and it
is simple enough to scan line by line, which gives every validation error a
``file:line`` (``tomllib`` itself reports lines only for syntax errors).

:func:`load_profiles` never lets one bad profile stop the others: it returns
the good profiles and a list of :class:`ProfileError`, each one line such as
``sites.toml:14: site "atyrau": cadence "every 6 hourz" is not a cadence ...``.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

CADENCE_EXAMPLES = '(examples: "6h", "daily", "0 */6 * * *")'
_INTERVAL = re.compile(r"(\d+)\s*(m|h|d|w)")
_UNIT = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
_NAMED_INTERVALS = {"hourly": timedelta(hours=1), "daily": timedelta(days=1), "weekly": timedelta(weeks=1)}
_SITE_ID = re.compile(r"[a-z0-9][a-z0-9_-]*")
_SETTING_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
_LANGUAGE = re.compile(r"[a-z]{2,3}")
_COUNTRY = re.compile(r"[A-Z]{2}")

# key -> what it must be; the order is the order `sites add` writes them in.
SITE_KEYS = ("extends", "name", "region", "country", "languages", "start_urls", "scope", "article_url_pattern",
             "timezone", "cadence", "politeness", "page_budget", "boilerplate_selectors", "render")
SCOPE_KEYS = ("hosts", "path_prefixes", "exclude")


@dataclass(frozen=True)
class Cadence:
    """How often a site is crawled: a fixed interval, or a cron expression in the site's timezone."""

    text: str
    interval: timedelta | None = None
    cron: str | None = None

    def next_due(self, last_start: datetime | None, tz: ZoneInfo) -> datetime | None:
        """When the next crawl is due (UTC); None when the site was never crawled (due at once)."""
        if last_start is None:
            return None
        if self.interval is not None:
            return (last_start + self.interval).astimezone(timezone.utc)
        from croniter import croniter

        return croniter(self.cron, last_start.astimezone(tz)).get_next(datetime).astimezone(timezone.utc)


def parse_cadence(text: str) -> Cadence:
    """``"6h"``, ``"30m"``, ``"2d"``, ``"1w"``, ``"hourly"``, ``"daily"``, ``"weekly"`` or a 5-field cron line.

    Raises ValueError with the reason for anything else.
    """
    if not isinstance(text, str):
        raise ValueError(f"cadence {text!r} is not a cadence {CADENCE_EXAMPLES}")
    cleaned = " ".join(text.split()).lower()
    if cleaned in _NAMED_INTERVALS:
        return Cadence(text, interval=_NAMED_INTERVALS[cleaned])
    interval = _INTERVAL.fullmatch(cleaned)
    if interval:
        amount = int(interval.group(1))
        if amount == 0:
            raise ValueError(f'cadence "{text}" is zero: a site cannot be crawled continuously')
        return Cadence(text, interval=amount * _UNIT[interval.group(2)])
    if len(cleaned.split()) == 5:
        from croniter import croniter

        if croniter.is_valid(cleaned):
            return Cadence(text, cron=cleaned)
    raise ValueError(f'cadence "{text}" is not a cadence {CADENCE_EXAMPLES}')


@dataclass(frozen=True)
class Scope:
    """Which URLs belong to the site: its hosts, optionally only some paths, minus excluded patterns."""

    hosts: tuple[str, ...]  # "example.kz" (any port) or "example.kz:8080" (that port only)
    path_prefixes: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()  # regular expressions searched in the whole URL

    def has_host(self, url: str) -> bool:
        parts = urlsplit(url)
        return (parts.hostname or "").lower() in self.hosts or parts.netloc.lower() in self.hosts

    def contains(self, url: str) -> bool:
        parts = urlsplit(url)
        if not self.has_host(url):
            return False
        if self.path_prefixes and not any(parts.path.startswith(prefix) for prefix in self.path_prefixes):
            return False
        return not self.excludes(url)

    def excludes(self, url: str) -> bool:
        """One of the excluded patterns is found in the URL."""
        return any(re.search(pattern, url) for pattern in self.exclude)


@dataclass(frozen=True)
class SiteProfile:
    id: str
    name: str
    start_urls: tuple[str, ...]
    scope: Scope
    cadence: Cadence
    timezone: str = "UTC"
    region: str | None = None
    country: str | None = None
    languages: tuple[str, ...] = ()
    article_url_pattern: str | None = None
    politeness: dict = field(default_factory=dict)  # Scrapy settings for this site's crawls
    page_budget: int = 0  # requests per crawl; 0: the crawler's default
    boilerplate_selectors: tuple[str, ...] = ()
    render: bool = False  # load pages in headless Chromium (browser mode), for sites built by JavaScript
    extends: str | None = None
    line: int = 0  # of its [sites.<id>] header

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def to_json(self) -> str:
        """The profile as one JSON object, for a crawl that has no profiles file (``-a site_profile=...``).

        :func:`profile_from_json` reads it back equal; presets are already
        merged in, so the JSON stands alone.
        """
        values = {
            "id": self.id, "name": self.name, "region": self.region, "country": self.country,
            "languages": list(self.languages), "start_urls": list(self.start_urls),
            "scope": {"hosts": list(self.scope.hosts), "path_prefixes": list(self.scope.path_prefixes),
                      "exclude": list(self.scope.exclude)},
            "article_url_pattern": self.article_url_pattern, "timezone": self.timezone,
            "cadence": self.cadence.text, "politeness": dict(self.politeness), "page_budget": self.page_budget,
            "boilerplate_selectors": list(self.boilerplate_selectors), "render": self.render,
            "extends": self.extends, "line": self.line,
        }
        return json.dumps(values, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class ProfileError:
    """One problem in a profiles file, located at the line the archivist must edit."""

    path: str
    line: int
    site: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        who = f' site "{self.site}":' if self.site else ""
        return f"{where}:{who} {self.message}"


def load_profiles(path: str | Path) -> tuple[list[SiteProfile], list[ProfileError]]:
    """Every valid site profile in the file, and an error for each problem found (file order)."""
    shown = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [ProfileError(shown, 0, None, f"cannot read profiles file: {exc}")]
    return parse_profiles(text, shown)


def parse_profiles(text: str, path: str = "sites.toml") -> tuple[list[SiteProfile], list[ProfileError]]:
    """:func:`load_profiles` on text already read; ``path`` is only used in messages."""
    errors: list[ProfileError] = []
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        document = _parse_by_site(text, path, errors)
    lines = KeyLines(text)
    for key in document:
        if key not in ("presets", "sites"):
            errors.append(ProfileError(path, lines.line((key,)), None,
                                       f'unknown top-level table "{key}" (known: presets, sites)'))
    presets, sites = document.get("presets", {}), document.get("sites", {})
    for key, value in (("presets", presets), ("sites", sites)):
        if not isinstance(value, dict):
            errors.append(ProfileError(path, lines.line((key,)), None, f"{key} must be tables ([{key}.<name>])"))
    presets = presets if isinstance(presets, dict) else {}
    sites = sites if isinstance(sites, dict) else {}
    profiles = []
    for site_id, table in sites.items():
        try:
            profiles.append(_site_profile(site_id, table, presets, lines))
        except _Invalid as invalid:
            errors.append(ProfileError(path, lines.line(invalid.key), site_id, invalid.message))
    errors.sort(key=lambda error: error.line)
    return profiles, errors


def _parse_by_site(text: str, path: str, errors: list[ProfileError]) -> dict:
    """A file with a TOML syntax error, parsed one ``[sites.<id>]`` / ``[presets.<name>]`` at a time.

    Each part keeps its line numbers (the other lines are blanked), so a
    mistake in one site's table costs that site only, reported at its line.
    """
    owners = []
    owner: tuple[str, ...] = ()
    for line in text.splitlines():
        header = _HEADER.match(line)
        if header:
            owner = _key_path(header.group(1))[:2]
        owners.append(owner)
    document: dict = {}
    for part_owner in dict.fromkeys(owners):
        part = "\n".join(line if o == part_owner else "" for line, o in zip(text.splitlines(), owners))
        try:
            parsed = tomllib.loads(part)
        except tomllib.TOMLDecodeError as exc:
            number = re.search(r"at line (\d+)", str(exc))
            reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
            site = part_owner[1] if len(part_owner) == 2 and part_owner[0] == "sites" else None
            errors.append(ProfileError(path, int(number.group(1)) if number else 0, site, f"not valid TOML: {reason}"))
            continue
        for key, value in parsed.items():
            if isinstance(value, dict) and isinstance(document.get(key), dict):
                document[key].update(value)
            else:
                document.setdefault(key, value)
    return document


class _Invalid(Exception):
    def __init__(self, key: tuple, message: str):
        super().__init__(message)
        self.key, self.message = key, message


def _site_profile(site_id: str, table, presets: dict, lines: KeyLines) -> SiteProfile:
    here = ("sites", site_id)
    if not isinstance(table, dict):
        raise _Invalid(here, "must be a table ([sites.<id>])")
    if not _SITE_ID.fullmatch(site_id):
        raise _Invalid(here, "an id is lowercase letters, digits, - and _ (example: atyrau-akimat)")
    values, origin = {}, {}  # key -> value, key -> where it was written (for the line number)
    extends = table.get("extends")
    if extends is not None:
        preset = presets.get(extends) if isinstance(extends, str) else None
        if not isinstance(preset, dict):
            known = ", ".join(sorted(presets)) or "none defined"
            raise _Invalid(here + ("extends",), f'extends "{extends}", which is not a preset (presets: {known})')
        _check_keys(preset, ("presets", extends), allowed=set(SITE_KEYS) - {"extends"})
        for key, value in preset.items():
            values[key], origin[key] = value, ("presets", extends, key)
    _check_keys(table, here, allowed=set(SITE_KEYS))
    for key, value in table.items():
        if key in ("scope", "politeness") and isinstance(value, dict) and isinstance(values.get(key), dict):
            value = {**values[key], **value}  # a site refines its preset's tables key by key
        values[key], origin[key] = value, here + (key,)

    def at(key):
        return origin.get(key, here)

    def text(key, default=None, pattern=None, hint=""):
        value = values.get(key, default)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise _Invalid(at(key), f"{key} must be a non-empty string, not {value!r}")
        if value is not None and pattern and not pattern.fullmatch(value):
            raise _Invalid(at(key), f'{key} "{value}" {hint}')
        return value

    def strings(key, where=None, value=None):
        value = values.get(key, []) if value is None else value
        if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
            raise _Invalid(where or at(key), f"{key} must be a list of strings, not {value!r}")
        return tuple(value)

    start_urls = strings("start_urls")
    if not start_urls:
        raise _Invalid(at("start_urls"), 'start_urls is missing (example: start_urls = ["https://example.kz/ru/news/"])')
    for url in start_urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _Invalid(at("start_urls"), f'start URL "{url}" is not an http(s) URL')
    scope = _scope(values.get("scope", {}), at("scope"), start_urls, strings)
    zone_name = text("timezone", "UTC")
    try:
        ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise _Invalid(at("timezone"), f'timezone "{zone_name}" is not a time zone (example: "Asia/Almaty")') from None
    try:
        cadence = parse_cadence(values.get("cadence", "daily"))
    except ValueError as exc:
        raise _Invalid(at("cadence"), str(exc)) from None
    languages = strings("languages")
    for language in languages:
        if not _LANGUAGE.fullmatch(language):
            raise _Invalid(at("languages"), f'language "{language}" is not an ISO 639 code (examples: "kk", "ru")')
    pattern = text("article_url_pattern")
    _check_regex(pattern, "article_url_pattern", at("article_url_pattern"))
    politeness = values.get("politeness", {})
    if not isinstance(politeness, dict):
        raise _Invalid(at("politeness"), "politeness must be a table of Scrapy settings (example: DOWNLOAD_DELAY = 2)")
    for name, value in politeness.items():
        where = lines.key_or(at("politeness") + (name,), at("politeness"))
        if not _SETTING_NAME.fullmatch(name):
            raise _Invalid(where, f'politeness "{name}" is not a Scrapy setting name (example: DOWNLOAD_DELAY)')
        if isinstance(value, (dict, list)) or isinstance(value, datetime):
            raise _Invalid(where, f"politeness {name} must be a number, a string or true/false")
    budget = values.get("page_budget", 0)
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 0:
        raise _Invalid(at("page_budget"), f"page_budget must be a whole number of requests, not {budget!r}")
    selectors = strings("boilerplate_selectors")
    for selector in selectors:
        _check_selector(selector, at("boilerplate_selectors"))
    render = values.get("render", False)
    if not isinstance(render, bool):
        raise _Invalid(at("render"), f"render must be true or false, not {render!r}")
    return SiteProfile(
        id=site_id, name=text("name") or site_id, start_urls=start_urls, scope=scope, cadence=cadence,
        timezone=zone_name, region=text("region"),
        country=text("country", pattern=_COUNTRY, hint="is not a two-letter country code (example: KZ)"),
        languages=languages, article_url_pattern=pattern, politeness=dict(politeness), page_budget=budget,
        boilerplate_selectors=selectors, render=render, extends=extends, line=lines.line(here))


def _scope(value, where: tuple, start_urls: tuple[str, ...], strings) -> Scope:
    if not isinstance(value, dict):
        raise _Invalid(where, "scope must be a table (example: scope = { hosts = [\"example.kz\"] })")
    unknown = sorted(set(value) - set(SCOPE_KEYS))
    if unknown:
        raise _Invalid(where + (unknown[0],), f'unknown scope key "{unknown[0]}" (known: {", ".join(SCOPE_KEYS)})')
    hosts = tuple(h.lower() for h in strings("hosts", where + ("hosts",), value.get("hosts", []))) or tuple(
        dict.fromkeys(urlsplit(url).netloc.lower() for url in start_urls))
    prefixes = strings("path_prefixes", where + ("path_prefixes",), value.get("path_prefixes", []))
    for prefix in prefixes:
        if not prefix.startswith("/"):
            raise _Invalid(where + ("path_prefixes",), f'path prefix "{prefix}" must start with "/"')
    exclude = strings("exclude", where + ("exclude",), value.get("exclude", []))
    for pattern in exclude:
        _check_regex(pattern, "scope.exclude", where + ("exclude",))
    scope = Scope(hosts, prefixes, exclude)
    outside = [url for url in start_urls if not scope.contains(url)]
    if outside:
        raise _Invalid(where, f'start URL "{outside[0]}" is outside the scope')
    return scope


def _check_keys(table: dict, where: tuple, allowed: set[str]) -> None:
    for key in table:
        if key not in allowed:
            raise _Invalid(where + (key,), f'unknown key "{key}" (known: {", ".join(k for k in SITE_KEYS if k in allowed)})')


def _check_regex(pattern: str | None, key: str, where: tuple) -> None:
    if pattern is None:
        return
    try:
        re.compile(pattern)
    except re.error as exc:
        raise _Invalid(where, f'{key} "{pattern}" is not a regular expression: {exc}') from None


def _check_selector(selector: str, where: tuple) -> None:
    try:
        from cssselect import GenericTranslator, SelectorError
    except ImportError:  # cssselect comes with lxml's CSS support; without it, selectors are not checked
        return
    try:
        GenericTranslator().css_to_xpath(selector)
    except SelectorError as exc:
        raise _Invalid(where, f'boilerplate selector "{selector}" is not a CSS selector: {exc}') from None


# -- a profile outside its file ----------------------------------------------------


def profile_from_json(text: str) -> SiteProfile:
    """The profile :meth:`SiteProfile.to_json` wrote, checked by the same rules as a profiles file.

    Raises ValueError, one line saying what is wrong, for anything else.
    """
    try:
        values = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"site profile is not JSON: {exc}") from None
    if not isinstance(values, dict) or not isinstance(values.get("id"), str):
        raise ValueError('site profile must be a JSON object with an "id" (made by SiteProfile.to_json)')
    site_id = values["id"]
    table = {key: value for key, value in values.items()
             if key in SITE_KEYS and key != "extends" and value is not None}
    unknown = sorted(set(values) - set(SITE_KEYS) - {"id", "line"})
    if unknown:
        raise ValueError(f'site profile "{site_id}": unknown key "{unknown[0]}"')
    try:
        profile = _site_profile(site_id, table, {}, KeyLines(""))
    except _Invalid as invalid:
        raise ValueError(f'site profile "{site_id}": {invalid.message}') from None
    line = values.get("line", 0)
    return replace(profile, extends=values.get("extends"), line=line if isinstance(line, int) else 0)


def profile_for_url(profiles, url: str) -> SiteProfile | None:
    """The profile a URL belongs to: the first whose scope contains it, else the first with its host."""
    profiles = list(profiles)
    return (next((p for p in profiles if p.scope.contains(url)), None)
            or next((p for p in profiles if p.scope.has_host(url)), None))


def extraction_options(profile: SiteProfile | None) -> dict:
    """The keyword arguments of ``archive.extract.extract`` a profile sets ({} without one).

    The crawl and ``reindex --file`` both take them from here, so both extract alike.
    """
    if profile is None:
        return {}
    return {"timezone": profile.timezone, "article_url_pattern": profile.article_url_pattern,
            "extra_boilerplate": profile.boilerplate_selectors}


# -- line numbers ------------------------------------------------------------------

_BARE = r"[A-Za-z0-9_-]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"|\'[^\']*\''
_KEY_PART = rf"\s*(?:{_BARE}|{_QUOTED})\s*"
_DOTTED = rf"{_KEY_PART}(?:\.{_KEY_PART})*"
_HEADER = re.compile(rf"\s*\[\[?({_DOTTED})\]\]?\s*(?:#.*)?$")
_KEY_LINE = re.compile(rf"({_DOTTED})=")


def _key_path(dotted: str) -> tuple[str, ...]:
    parts = re.findall(rf"\s*({_BARE}|{_QUOTED})\s*(?:\.|$)", dotted)
    return tuple(part[1:-1] if part[:1] in "\"'" else part for part in parts)


class KeyLines:
    """The line of every table header and key in a TOML text, found by scanning it.

    Good enough for the files people write: multi-line strings and arrays are
    skipped so their contents are never taken for keys.
    """

    def __init__(self, text: str):
        self._lines: dict[tuple, int] = {}
        table: tuple[str, ...] = ()
        in_string = None
        depth = 0  # of brackets still open from a multi-line array or inline table
        for number, line in enumerate(text.splitlines(), start=1):
            if in_string:
                if in_string in line:
                    in_string = None
                continue
            if depth == 0:
                header = _HEADER.match(line)
                if header:
                    table = _key_path(header.group(1))
                    self._lines.setdefault(table, number)
                    continue
                key = _KEY_LINE.match(line)
                if key:
                    path = table + _key_path(key.group(1))
                    for end in range(len(table) + 1, len(path) + 1):
                        self._lines.setdefault(path[:end], number)
            value = line.split("=", 1)[1] if depth == 0 and "=" in line else line
            for quote in ('"""', "'''"):
                if value.count(quote) % 2 == 1:
                    in_string = quote
            stripped = re.sub(_QUOTED, "", value).split("#", 1)[0]  # strings first: "#" may be in a URL
            depth = max(0, depth + stripped.count("[") + stripped.count("{") - stripped.count("]") - stripped.count("}"))

    def line(self, key: tuple) -> int:
        """The line of ``key`` or of its nearest enclosing table; 0 if none is written."""
        while key:
            if key in self._lines:
                return self._lines[key]
            key = key[:-1]
        return 0

    def key_or(self, key: tuple, fallback: tuple) -> tuple:
        return key if key in self._lines else fallback


# -- writing -------------------------------------------------------------------------


def toml_value(value) -> str:
    """A TOML literal for the simple values a profile holds (strings, numbers, booleans, lists, tables)."""
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        if "'" not in value and "\n" not in value and "\\" in value:
            return f"'{value}'"  # a literal string keeps regular expressions readable
        return json.dumps(value, ensure_ascii=False)  # JSON's escapes are valid in TOML basic strings
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def _toml_key(key: str) -> str:
    return key if re.fullmatch(_BARE, key) else toml_value(str(key))


def render_site(site_id: str, values: dict, comments: list[str] = ()) -> str:
    """A ``[sites.<id>]`` table, keys in :data:`SITE_KEYS` order, ``comments`` above it."""
    lines = [f"# {comment}" if comment else "#" for comment in comments]
    lines.append(f"[sites.{_toml_key(site_id)}]")
    for key in SITE_KEYS:
        if key in values and values[key] is not None:
            lines.append(f"{key} = {toml_value(values[key])}")
    return "\n".join(lines) + "\n"
