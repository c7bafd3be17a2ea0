"""Site profiles: what a profiles file means, and the exact line of every mistake in it."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from archive.profiles import (KeyLines, load_profiles, parse_cadence, parse_profiles, profile_for_url,
                               profile_from_json, render_site)
from crawler.cli import cli

GOOD_SITE = """
[sites.{id}]
start_urls = ["https://{id}.example.kz/ru/news/"]
"""


def write(tmp_path, monkeypatch, text):
    """The profiles file as sites.toml in the current directory, so messages name it as the user would."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sites.toml").write_text(text, encoding="utf-8")
    return "sites.toml"


def numbered(*lines):
    return "\n".join(lines) + "\n"


# -- errors name the file, the line and the site ----------------------------------------


def test_a_bad_cadence_is_reported_at_its_line_with_examples(tmp_path, monkeypatch):
    path = write(tmp_path, monkeypatch, numbered(
        "# Regional akimats", "", "[presets.bitrix]", 'timezone = "Asia/Almaty"', "",
        "[sites.aktau]", 'start_urls = ["https://aktau.example.kz/ru/"]', "",
        "[sites.atyrau]", 'extends = "bitrix"', 'name = "Atyrau region akimat"',
        'start_urls = [', '  "https://atyrau.example.kz/ru/news/",', ']',  # line 14 closes the array
        'cadence = "every 6 hourz"'))  # line 15
    profiles, errors = load_profiles(path)
    assert [str(e) for e in errors] == [
        'sites.toml:15: site "atyrau": cadence "every 6 hourz" is not a cadence '
        '(examples: "6h", "daily", "0 */6 * * *")']
    assert [p.id for p in profiles] == ["aktau"]


def test_a_misspelt_key_is_named_at_its_line(tmp_path, monkeypatch):
    path = write(tmp_path, monkeypatch, numbered(
        "[sites.atyrau]", 'start_urls = ["https://atyrau.example.kz/"]', 'cadense = "6h"'))
    _, (error,) = load_profiles(path)
    assert str(error).startswith('sites.toml:3: site "atyrau": unknown key "cadense" (known: extends, name,')


def test_a_key_in_a_subtable_is_found_under_its_header(tmp_path, monkeypatch):
    path = write(tmp_path, monkeypatch, numbered(
        "[sites.atyrau]", 'start_urls = ["https://atyrau.example.kz/"]', "",
        "[sites.atyrau.scope]", 'hosts = ["atyrau.example.kz"]', 'exclude = ["(unclosed"]'))
    _, (error,) = load_profiles(path)
    assert str(error).startswith('sites.toml:6: site "atyrau": scope.exclude "(unclosed" is not a regular expression')


def test_a_politeness_setting_that_is_not_a_setting_name_is_named(tmp_path, monkeypatch):
    path = write(tmp_path, monkeypatch, numbered(
        "[sites.atyrau]", 'start_urls = ["https://atyrau.example.kz/"]', "[sites.atyrau.politeness]",
        "DOWNLOAD_DELAY = 2", "download_timeout = 30"))
    _, (error,) = load_profiles(path)
    assert str(error) == ('sites.toml:5: site "atyrau": politeness "download_timeout" is not a Scrapy setting name '
                          "(example: DOWNLOAD_DELAY)")


def test_an_unknown_timezone_and_a_missing_start_url_are_explained(tmp_path, monkeypatch):
    path = write(tmp_path, monkeypatch, numbered(
        "[sites.one]", 'start_urls = ["https://one.example.kz/"]', 'timezone = "Asia/Atyrau City"',
        "[sites.two]", 'name = "No start URL"'))
    _, errors = load_profiles(path)
    assert [str(e) for e in errors] == [
        'sites.toml:3: site "one": timezone "Asia/Atyrau City" is not a time zone (example: "Asia/Almaty")',
        'sites.toml:4: site "two": start_urls is missing (example: start_urls = ["https://example.kz/ru/news/"])']


def test_a_start_url_outside_the_scope_is_refused(tmp_path, monkeypatch):
    path = write(tmp_path, monkeypatch, numbered(
        "[sites.atyrau]", 'start_urls = ["https://atyrau.example.kz/ru/"]',
        'scope = { hosts = ["atyrau.example.kz"], path_prefixes = ["/kk/"] }'))
    _, (error,) = load_profiles(path)
    assert str(error) == 'sites.toml:3: site "atyrau": start URL "https://atyrau.example.kz/ru/" is outside the scope'


def test_invalid_toml_in_one_site_costs_that_site_only(tmp_path, monkeypatch):
    path = write(tmp_path, monkeypatch, numbered(
        "[sites.atyrau]", 'start_urls = ["https://a.kz/"]', "cadence = 6h",
        "[sites.aktau]", 'start_urls = ["https://aktau.kz/"]'))
    profiles, (error,) = load_profiles(path)
    assert [p.id for p in profiles] == ["aktau"]
    assert str(error).startswith('sites.toml:3: site "atyrau": not valid TOML:')


def test_a_site_defined_twice_is_an_error_at_the_second_definition(tmp_path, monkeypatch):
    path = write(tmp_path, monkeypatch, GOOD_SITE.format(id="a") + GOOD_SITE.format(id="b") + GOOD_SITE.format(id="a"))
    profiles, (error,) = load_profiles(path)
    assert [p.id for p in profiles] == ["b"]
    assert str(error).startswith('sites.toml:8: site "a": not valid TOML: Cannot declare')


def test_a_missing_file_is_one_error():
    profiles, (error,) = load_profiles("/nonexistent/sites.toml")
    assert profiles == [] and str(error).startswith("/nonexistent/sites.toml: cannot read profiles file")


# -- one bad profile never stops the others ------------------------------------------


def test_a_bad_profile_does_not_stop_the_others():
    text = GOOD_SITE.format(id="aktau") + '[sites.atyrau]\ncadence = "sometimes"\n' + GOOD_SITE.format(id="oral")
    profiles, errors = parse_profiles(text)
    assert [p.id for p in profiles] == ["aktau", "oral"]
    assert [e.site for e in errors] == ["atyrau"]


# -- presets --------------------------------------------------------------------------

PRESET = """\
[presets.bitrix]
timezone = "Asia/Almaty"
cadence = "6h"
languages = ["kk", "ru"]
politeness = { DOWNLOAD_DELAY = 2, CONCURRENT_REQUESTS_PER_DOMAIN = 1 }
boilerplate_selectors = [".bx-footer", "#cookie-banner"]
"""


def test_a_site_inherits_its_preset():
    (profile,), errors = parse_profiles(PRESET + '[sites.atyrau]\nextends = "bitrix"\n'
                                        'start_urls = ["https://atyrau.example.kz/ru/"]\n')
    assert errors == []
    assert profile.timezone == "Asia/Almaty" and profile.cadence.interval == timedelta(hours=6)
    assert profile.languages == ("kk", "ru") and profile.boilerplate_selectors == (".bx-footer", "#cookie-banner")
    assert profile.extends == "bitrix"


def test_a_site_overrides_its_preset_and_refines_its_tables_key_by_key():
    (profile,), _ = parse_profiles(PRESET + '[sites.atyrau]\nextends = "bitrix"\ncadence = "daily"\n'
                                   'start_urls = ["https://atyrau.example.kz/ru/"]\n'
                                   "politeness = { DOWNLOAD_DELAY = 5 }\n")
    assert profile.cadence.text == "daily"
    assert profile.politeness == {"DOWNLOAD_DELAY": 5, "CONCURRENT_REQUESTS_PER_DOMAIN": 1}


def test_a_mistake_in_a_preset_is_reported_at_the_preset_line_for_each_site_using_it():
    text = ('[presets.bitrix]\ncadence = "6 hours"\n' + '[sites.a]\nextends = "bitrix"\nstart_urls = ["https://a.kz/"]\n'
            '[sites.b]\nextends = "bitrix"\nstart_urls = ["https://b.kz/"]\n')
    profiles, errors = parse_profiles(text)
    assert profiles == []
    assert [(e.line, e.site) for e in errors] == [(2, "a"), (2, "b")]


def test_extending_an_unknown_preset_names_the_known_ones():
    _, (error,) = parse_profiles(PRESET + '[sites.a]\nextends = "drupal"\nstart_urls = ["https://a.kz/"]\n')
    assert str(error) == 'sites.toml:8: site "a": extends "drupal", which is not a preset (presets: bitrix)'


# -- what a profile holds -------------------------------------------------------------


def test_scope_hosts_default_to_the_start_urls_hosts_with_their_ports():
    (profile,), _ = parse_profiles('[sites.demo]\nstart_urls = ["http://127.0.0.1:8001/kk/news"]\n')
    assert profile.scope.hosts == ("127.0.0.1:8001",)
    assert profile.scope.contains("http://127.0.0.1:8001/kk/news/1")
    assert not profile.scope.contains("http://127.0.0.1:8002/kk/news/1")


def test_scope_excluded_patterns_and_path_prefixes():
    (profile,), _ = parse_profiles(
        '[sites.a]\nstart_urls = ["https://a.kz/ru/news/"]\n'
        '[sites.a.scope]\nhosts = ["a.kz"]\npath_prefixes = ["/ru/"]\nexclude = ["/print/", "[?&]sort="]\n')
    assert profile.scope.contains("https://a.kz/ru/news/12")
    assert not profile.scope.contains("https://a.kz/kk/news/12")
    assert not profile.scope.contains("https://a.kz/ru/print/12")
    assert not profile.scope.contains("https://a.kz/ru/news/?sort=date")


def test_a_written_profile_reads_back_the_same():
    values = {"name": 'Акимат "Атырау"', "languages": ["ru"], "start_urls": ["https://a.kz/ru/"],
              "article_url_pattern": r"/ru/news/\d+\.html$", "cadence": "0 */6 * * *",
              "politeness": {"DOWNLOAD_DELAY": 1.5, "ROBOTSTXT_OBEY": True}, "page_budget": 500}
    (profile,), errors = parse_profiles(render_site("atyrau", values, ["probed today"]))
    assert errors == []
    assert (profile.name, profile.article_url_pattern, profile.cadence.cron, profile.page_budget) == (
        'Акимат "Атырау"', r"/ru/news/\d+\.html$", "0 */6 * * *", 500)
    assert profile.politeness == {"DOWNLOAD_DELAY": 1.5, "ROBOTSTXT_OBEY": True}


FULL_PROFILE = numbered(
    "[presets.bitrix]", 'timezone = "Asia/Almaty"', "politeness = { DOWNLOAD_DELAY = 2.5, ROBOTSTXT_OBEY = true }",
    "[sites.atyrau]", 'extends = "bitrix"', 'name = "Атырау облысының әкімдігі"', 'region = "Atyrau"',
    'country = "KZ"', 'languages = ["kk", "ru"]', 'start_urls = ["https://atyrau.example.kz/kk/news"]',
    "scope = { hosts = [\"atyrau.example.kz\"], path_prefixes = [\"/kk/\"], exclude = ['[?&]print='] }",
    r"article_url_pattern = '/kk/news/\d+$'", 'cadence = "0 */6 * * *"', "page_budget = 800",
    "boilerplate_selectors = ['.share', 'p:contains(\"Бұған дейін\")']")


def test_a_profile_survives_its_json_round_trip():
    (profile,), errors = parse_profiles(FULL_PROFILE)
    assert errors == []
    assert profile_from_json(profile.to_json()) == profile


def test_a_profile_json_is_checked_by_the_rules_of_a_profiles_file():
    (profile,), _ = parse_profiles(FULL_PROFILE)
    broken = profile.to_json().replace('"Asia/Almaty"', '"Asia/Atyrau City"')
    with pytest.raises(ValueError, match='^site profile "atyrau": timezone "Asia/Atyrau City" is not a time zone'):
        profile_from_json(broken)
    with pytest.raises(ValueError, match="^site profile is not JSON"):
        profile_from_json("atyrau")


def test_a_url_belongs_to_the_profile_whose_scope_contains_it_else_to_one_with_its_host():
    profiles, _ = parse_profiles(numbered(
        "[sites.kk]", 'start_urls = ["https://a.kz/kk/news"]', 'scope = { path_prefixes = ["/kk/"] }',
        "[sites.ru]", 'start_urls = ["https://a.kz/ru/news"]', 'scope = { path_prefixes = ["/ru/"] }'))
    assert [profile_for_url(profiles, url).id for url in ("https://a.kz/ru/news/1", "https://a.kz/uploads/1.png")] \
        == ["ru", "kk"]
    assert profile_for_url(profiles, "https://b.kz/ru/news/1") is None


def test_key_lines_skip_the_contents_of_multiline_arrays_and_strings():
    lines = KeyLines(numbered('[sites.a]', 'start_urls = [', '  "https://a.kz/?x=1",', ']',
                              'name = """', 'fake = "not a key"', '"""', 'cadence = "6h"'))
    assert lines.line(("sites", "a", "cadence")) == 8
    assert lines.line(("sites", "a", "fake")) == 1  # falls back to the table header


# -- cadences -------------------------------------------------------------------------


@pytest.mark.parametrize("text, interval", [("6h", timedelta(hours=6)), ("30m", timedelta(minutes=30)),
                                            ("daily", timedelta(days=1)), ("Weekly", timedelta(weeks=1)),
                                            ("2d", timedelta(days=2))])
def test_interval_cadences(text, interval):
    assert parse_cadence(text).interval == interval


@pytest.mark.parametrize("text", ["every 6 hourz", "0h", "6 hours", "0 */6 * * * *", "61 * * * *", ""])
def test_what_is_not_a_cadence(text):
    with pytest.raises(ValueError):
        parse_cadence(text)


def test_an_interval_cadence_is_due_that_long_after_the_last_crawl_started():
    last = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)
    assert parse_cadence("6h").next_due(last, ZoneInfo("UTC")) == datetime(2026, 11, 25, 16, 0, tzinfo=timezone.utc)


def test_a_cron_cadence_runs_in_the_sites_timezone():
    """06:00 in Almaty (UTC+5) is 01:00 UTC."""
    last = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)
    due = parse_cadence("0 6 * * *").next_due(last, ZoneInfo("Asia/Almaty"))
    assert due == datetime(2026, 11, 26, 1, 0, tzinfo=timezone.utc)


def test_a_site_never_crawled_is_due_at_once():
    assert parse_cadence("weekly").next_due(None, ZoneInfo("UTC")) is None


# -- the sites command ------------------------------------------------------------------


def test_sites_check_prints_every_error_and_fails(tmp_path, monkeypatch):
    path = write(tmp_path, monkeypatch, GOOD_SITE.format(id="ok") + '[sites.bad]\ncadence = "x"\n'
                 '[sites.worse]\nstart_urls = ["ftp://worse.kz/"]\n')
    result = CliRunner().invoke(cli, ["sites", "check", "--file", path])
    assert result.exit_code == 1
    assert 'sites.toml:4: site "bad": start_urls is missing' in result.output
    assert 'sites.toml:7: site "worse": start URL "ftp://worse.kz/" is not an http(s) URL' in result.output
    assert "sites.toml: 1 valid site(s), 2 error(s)" in result.output


def test_sites_check_passes_a_good_file(tmp_path, monkeypatch):
    path = write(tmp_path, monkeypatch, PRESET + '[sites.atyrau]\nextends = "bitrix"\n'
                 'start_urls = ["https://atyrau.example.kz/ru/"]\n')
    result = CliRunner().invoke(cli, ["sites", "check", "--file", path])
    assert result.exit_code == 0, result.output
    assert "1 valid site(s), 0 error(s)" in result.output


def test_sites_list_shows_each_valid_site(tmp_path, monkeypatch):
    path = write(tmp_path, monkeypatch, PRESET + '[sites.atyrau]\nextends = "bitrix"\nname = "Atyrau"\n'
                 'start_urls = ["https://atyrau.example.kz/ru/"]\n')
    result = CliRunner().invoke(cli, ["sites", "list", "--file", path])
    assert result.exit_code == 0
    assert result.output.split() == ["atyrau", "6h", "Asia/Almaty", "https://atyrau.example.kz/ru/", "Atyrau",
                                     "(extends", "bitrix)"]


def test_sites_check_names_a_misspelt_scrapy_setting_and_guesses_the_right_one(tmp_path, monkeypatch):
    path = write(tmp_path, monkeypatch, numbered(
        "[presets.bitrix]", "politeness = { DOWNLOAD_DELAI = 2 }",
        "[sites.a]", 'extends = "bitrix"', 'start_urls = ["https://a.kz/"]'))
    result = CliRunner().invoke(cli, ["sites", "check", "--file", path])
    assert result.exit_code == 1
    assert ('sites.toml:2: site "a": politeness "DOWNLOAD_DELAI" is not a Scrapy or newsarchive setting; '
            "did you mean DOWNLOAD_DELAY?") in result.output


def test_key_lines_ignore_brackets_in_strings_and_comments():
    lines = KeyLines(numbered('[sites.a]', 'exclude = ["[?&]page=", "#top"]  # drops [1', 'cadence = "6h"'))
    assert lines.line(("sites", "a", "cadence")) == 3


def test_render_is_a_yes_or_no_that_survives_the_json_round_trip():
    (profile,), errors = parse_profiles('[sites.spa]\nstart_urls = ["https://gov.example.kz/news"]\nrender = true\n')
    assert not errors and profile.render
    assert profile_from_json(profile.to_json()).render is True
    _, errors = parse_profiles('[sites.spa]\nstart_urls = ["https://gov.example.kz/news"]\nrender = "yes"\n')
    assert [str(error) for error in errors] == ['sites.toml:3: site "spa": render must be true or false, not \'yes\'']
