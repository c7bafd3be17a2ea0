"""For ``scrapyd-deploy`` only: everything about the package is declared in pyproject.toml.

scrapyd-deploy builds its egg by running ``python setup.py bdist_egg`` in the
directory of scrapy.cfg; without this file it writes a setup.py of its own
(package "project", version 1.0) into the checkout. Scrapyd finds the settings
module through the egg's ``scrapy`` entry point, which pyproject.toml declares.
"""

from setuptools import setup

setup()
