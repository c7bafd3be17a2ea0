"""Keep a profile-driven crawl inside its site's scope (hosts, path prefixes, excluded patterns).

The news spider follows every link on the start URLs' origins; a site profile
(``-a site_profile=<json>``, see archive.profiles) narrows that: a request whose
URL the profile's :class:`~archive.profiles.Scope` does not contain is dropped
before it is scheduled, counted as ``newsarchive/skipped/profile_scope``.

Two kinds of request on the site's hosts pass outside the path prefixes,
because a crawl needs them although they are not the pages it keeps:

- discovery documents, sitemaps and feeds: ``/sitemap.xml`` must be read when
  the scope is ``/kk/news``; the pages it lists go through this check like any
  link, so its out-of-prefix URLs are dropped there. (robots.txt is fetched
  by the robots middleware, below the spider, and never passes here.)
- attachments (images, PDFs) of a page that is itself in scope: an archived
  article should replay with its pictures, which usually live under
  ``/uploads/`` rather than under the news path.

Excluded patterns apply to every request: they are the archivist's "never".
Without a profile the middleware does nothing.

The profile's settings reach the crawl through the :class:`ProfileSettings`
add-on: Scrapy builds add-ons after the spider (so its ``site_profile``
argument is there) and before the settings freeze. That is what makes
``scrapy crawl news -a site_profile=<json>`` (a Scrapyd job) crawl like
``newsarchive crawl --site``, with no profiles file.
"""

from __future__ import annotations

from scrapy.exceptions import NotConfigured
from scrapy.spidermiddlewares.base import BaseSpiderMiddleware

from archive.profiles import SiteProfile, profile_from_json

SKIPPED_STAT = "newsarchive/skipped/profile_scope"
DISCOVERY_KINDS = frozenset({"sitemap", "feed"})
REQUISITE_KINDS = frozenset({"attachment"})


def site_profile_of(spider) -> SiteProfile | None:
    """The profile a spider was given as ``site_profile`` (a JSON string or a SiteProfile), or None.

    Raises ValueError when the argument is not a valid profile: a crawl must not
    silently run unscoped.
    """
    value = getattr(spider, "site_profile", None)
    if value is None or value == "":
        return None
    if isinstance(value, SiteProfile):
        return value
    return profile_from_json(value)


def crawl_profile(crawler) -> SiteProfile | None:
    """The crawl's site profile; an invalid one stops the crawl with its reason as the stop message.

    (An unscoped crawl of the wrong pages would be worse than none.)
    """
    try:
        return site_profile_of(crawler.spider)
    except ValueError as exc:
        crawler.stats.set_value("newsarchive/stop_message", str(exc))
        raise


class ProfileScopeMiddleware(BaseSpiderMiddleware):
    @classmethod
    def from_crawler(cls, crawler):
        spider = crawler.spider
        if spider is not None and getattr(spider, "site_profile", None) in (None, ""):
            # No profile: nothing to check, and one generator less around every page's output.
            raise NotConfigured("no site profile")
        return super().from_crawler(crawler)

    def __init__(self, crawler):
        super().__init__(crawler)
        self._profile: SiteProfile | None = None
        self._read = False

    @property
    def profile(self) -> SiteProfile | None:
        if not self._read:  # the spider exists only once the crawl starts
            self._profile = crawl_profile(self.crawler)
            self._read = True
        return self._profile

    def get_processed_request(self, request, response):
        profile = self.profile
        if profile is None or self.allows(profile, request, response):
            return request
        self.crawler.stats.inc_value(SKIPPED_STAT)
        return None

    @staticmethod
    def allows(profile: SiteProfile, request, response) -> bool:
        return in_profile_scope(profile, request.url, request.meta.get("newsarchive_kind"),
                                response.url if response is not None else None)


def in_profile_scope(profile: SiteProfile, url: str, kind: str | None, found_on: str | None = None) -> bool:
    """In scope, or a discovery document or an in-scope page's attachment on the site's hosts.

    The spider asks this before it counts a request against its budgets (so an
    out-of-scope link costs no budget); the middleware asks again for requests
    made elsewhere.
    """
    scope = profile.scope
    if scope.contains(url):
        return True
    if not scope.has_host(url) or scope.excludes(url):
        return False
    if kind in DISCOVERY_KINDS:
        return True
    return kind in REQUISITE_KINDS and found_on is not None and scope.contains(found_on)


class ProfileSettings:
    """Scrapy add-on: the profile's politeness table, timezone and page budget become the crawl's settings.

    Set at "spider" priority: above the project's settings, below the
    command line's, so ``-s NAME=VALUE`` still wins over the profile.
    """

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def update_settings(self, settings) -> None:
        spider = self.crawler.spider
        profile = site_profile_of(spider)
        if profile is None:
            return
        for name, value in profile.politeness.items():
            settings.set(name, value, priority="spider")
        settings.set("NEWSARCHIVE_TIMEZONE", profile.timezone, priority="spider")
        if profile.page_budget:
            settings.set("NEWSARCHIVE_SITE_BUDGET", profile.page_budget, priority="spider")
            if not getattr(spider, "_site_budget_arg", None):  # read before add-ons run; -a site_budget wins
                spider.site_budget = profile.page_budget
