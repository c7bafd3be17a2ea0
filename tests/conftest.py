"""Shared fixtures: one demo portal for the whole session, a fresh data directory per test."""

import shutil

import pytest

from crawler.demo.portal import DemoPortal


@pytest.fixture(scope="session")
def portal():
    """The loopback demo portal (kk, ru, en sites, 12 articles each), started once per session."""
    demo = DemoPortal(articles_per_site=12).start()
    yield demo
    demo.stop()


@pytest.fixture
def data_dir(tmp_path):
    """Where a test's archive lives; not created, so code under test must create it."""
    return tmp_path / "data"


def pytest_collection_modifyitems(config, items):
    """Browser tests need Debian's chromium: `.ci/run` installs it; elsewhere they are skipped, saying so."""
    if shutil.which("chromium"):
        return
    skip = pytest.mark.skip(reason="Debian's chromium is not installed (apt-get install chromium; .ci/run does it)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)
