"""Named exceptions of the archive library.

Each is a user-facing condition: the command line prints its message as one line.
"""


class NewsArchiveError(Exception):
    """Base class: a problem the user can act on, reported in one line."""


class DataDirError(NewsArchiveError):
    """The data directory cannot be created or written."""


class WarcWriteError(NewsArchiveError):
    """A WARC record could not be written (disk full, file removed, permissions)."""


class CatalogError(NewsArchiveError):
    """The SQLite catalog cannot be opened or is not a newsarchive catalog."""


class RecordNotFound(NewsArchiveError):
    """A catalog pointer does not open the WARC record it names."""


class IndexBuildError(NewsArchiveError):
    """A CDXJ index could not be built (unreadable WARC, unwritable index directory)."""


class PackageError(NewsArchiveError):
    """A WACZ package could not be written (no WARC files to package, unwritable output)."""


class ReplayError(NewsArchiveError):
    """pywb cannot be found or started to replay the archive."""


class QueryError(NewsArchiveError):
    """A search, export or SQL query the catalog cannot answer (bad SQL, a write, a time limit)."""


class DateFilterError(QueryError):
    """A --since/--until value that names no date."""


class SiteBusy(NewsArchiveError):
    """A crawl of this site is already running (its lock file is held by another process)."""


class ScrapydError(NewsArchiveError):
    """A Scrapyd node cannot be reached, or refused a request (deploy, schedule, list, cancel)."""


class ArticleNotFound(NewsArchiveError):
    """A URL the catalog holds no article for (``newsarchive history``)."""


class BrowserModeError(NewsArchiveError):
    """Browser mode (--render) cannot run: scrapy-playwright or Chromium is missing."""
