"""Talking to Scrapyd nodes over their HTTP JSON API, and the egg they run.

Why our own small client on ``urllib`` rather than scrapyd-client's
``ScrapydClient``: the scheduler needs five endpoints (``daemonstatus``,
``addversion``, ``schedule``, ``listjobs``, ``cancel``) and the job log; that
client has no ``addversion``, pulls in ``requests`` (not a newsarchive
dependency: scrapyd-client is only the optional ``scrapyd`` extra) and its
errors do not say which node failed. Every failure here is one
:class:`ScrapydError` line naming the node.

:func:`build_egg` writes the egg Scrapyd runs: the ``archive`` and ``crawler``
packages (with the demo assets) and the ``scrapy`` entry point naming
``crawler.settings``, which Scrapyd's runner needs to find the settings.
"""

from __future__ import annotations

import json
import re
import secrets
import zipfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode, urljoin, urlsplit
from urllib.request import Request, urlopen

from archive import __version__
from archive.errors import ScrapydError

PROJECT = "newsarchive"
SPIDER = "news"


def worker_id(url: str) -> str:
    """``http://10.0.0.5:6800/`` -> ``10-0-0-5-6800``: a node's name in WARC file names and data dirs."""
    return re.sub(r"[^a-z0-9]+", "-", urlsplit(url).netloc.lower()).strip("-") or "node"


@dataclass(frozen=True)
class ScrapydNode:
    """One Scrapyd server: ``url`` is its root (``http://host:6800/``), ``worker`` its id in file names."""

    url: str
    worker: str
    timeout: float = 60.0  # a node answers schedule.json only after listing its spiders (a Scrapy start)

    @classmethod
    def parse(cls, text: str) -> ScrapydNode:
        """``URL`` or ``WORKER=URL`` (worker ids: letters, digits, - and _)."""
        worker, sep, url = text.partition("=")
        if not sep or "://" in worker:
            worker, url = "", text
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ScrapydError(f"{text!r} is not a Scrapyd URL (example: http://127.0.0.1:6800/ or w1=http://...)")
        if worker and not re.fullmatch(r"[A-Za-z0-9_-]+", worker):
            raise ScrapydError(f"worker id {worker!r} may only hold letters, digits, - and _")
        return cls(url.rstrip("/") + "/", worker or worker_id(url))

    # -- the API -----------------------------------------------------------------------

    def status(self) -> dict:
        return self._call("daemonstatus.json")

    def add_version(self, egg: bytes, *, project: str = PROJECT, version: str | None = None) -> dict:
        """Upload an egg (what ``scrapyd-deploy`` does); the newest version is the one jobs run."""
        fields = {"project": project, "version": version or egg_version()}
        body, content_type = _multipart(fields, "egg", f"{project}.egg", egg)
        return self._call("addversion.json", body=body, content_type=content_type)

    def schedule(self, job_id: str, *, args: dict, settings: dict, project: str = PROJECT,
                 spider: str = SPIDER) -> str:
        """Queue a job; ``args`` become spider arguments (``-a``), ``settings`` Scrapy settings (``-s``)."""
        fields = [("project", project), ("spider", spider), ("jobid", job_id)]
        fields += [(name, str(value)) for name, value in args.items()]
        fields += [("setting", f"{name}={value}") for name, value in settings.items()]
        return self._call("schedule.json", body=urlencode(fields).encode())["jobid"]

    def jobs(self, project: str | None = PROJECT) -> dict:
        """``{"pending": [...], "running": [...], "finished": [...]}``, each job a dict with its ``id``.

        ``project=None`` lists every project's jobs (and works before anything is deployed).
        """
        return self._call(f"listjobs.json?{urlencode({'project': project})}" if project else "listjobs.json")

    def cancel(self, job_id: str, *, project: str = PROJECT, signal: str = "TERM") -> dict:
        """Cancel a job: a pending one is dropped, a running one gets ``signal`` (Scrapy then closes cleanly)."""
        return self._call("cancel.json", body=urlencode({"project": project, "job": job_id, "signal": signal}).encode())

    def text(self, path: str) -> str:
        """A page the node serves, such as a job's log (its ``log_url``)."""
        return self._open(urljoin(self.url, path)).decode("utf-8", errors="replace")

    def _call(self, endpoint: str, *, body: bytes | None = None,
              content_type: str = "application/x-www-form-urlencoded") -> dict:
        raw = self._open(urljoin(self.url, endpoint), body, content_type)
        try:
            answer = json.loads(raw)
        except ValueError:
            raise ScrapydError(f"Scrapyd {self.url} answered {endpoint} with something that is not JSON") from None
        if answer.get("status") != "ok":
            raise ScrapydError(f"Scrapyd {self.url} refused {endpoint.split('?')[0]}: {answer.get('message', answer)}")
        return answer

    def _open(self, url: str, body: bytes | None = None, content_type: str | None = None) -> bytes:
        request = Request(url, data=body, headers={"Content-Type": content_type} if body is not None else {})
        try:
            with urlopen(request, timeout=self.timeout) as response:
                return response.read()
        except HTTPError as exc:
            raise ScrapydError(f"Scrapyd {self.url}: HTTP {exc.code} for {url}") from None
        except (URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ScrapydError(f"cannot reach Scrapyd {self.url}: {reason}") from None


def _multipart(fields: dict, file_field: str, filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = f"newsarchive-{secrets.token_hex(12)}"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
             for name, value in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{filename}"\r\n'
                 "Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


# -- the egg ---------------------------------------------------------------------------------


def egg_version() -> str:
    """Seconds since the epoch, as ``scrapyd-deploy`` numbers versions: Scrapyd runs the highest."""
    import time

    return str(int(time.time()))


def build_egg() -> bytes:
    """The egg of the running code: ``archive`` and ``crawler`` (demo assets included) and EGG-INFO.

    Built from wherever the packages are imported from (a checkout or an
    install), so a node runs exactly the code of the scheduler that deployed it.
    """
    import io

    import archive
    import crawler

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as egg:
        for package in (archive, crawler):
            root = Path(package.__file__).resolve().parent
            for path in sorted(root.rglob("*")):
                relative = path.relative_to(root.parent)
                if path.is_file() and "__pycache__" not in relative.parts and path.suffix not in (".pyc", ".pyo"):
                    egg.write(path, relative.as_posix())
        egg.writestr("EGG-INFO/PKG-INFO", f"Metadata-Version: 2.1\nName: {PROJECT}\nVersion: {__version__}\n")
        egg.writestr("EGG-INFO/entry_points.txt", "[scrapy]\nsettings = crawler.settings\n")
        egg.writestr("EGG-INFO/top_level.txt", "archive\ncrawler\n")
    return buffer.getvalue()


# -- dispatching crawls to a pool of nodes -----------------------------------------------------

_CLOSED = {"finished": "finished", "shutdown": "interrupted", "cancelled": "interrupted"}


class ScrapydPool:
    """Starts each site's crawl as a Scrapyd job on the node with the fewest of our jobs.

    One site is never crawled by two jobs at once: the scheduler holds the
    site's lock in ``data_dir`` for as long as the job runs (so a local
    ``run-due`` on that data dir keeps off it too), and a job's id starts with
    its site id (``<site>.<crawl id>``), so jobs left by an earlier scheduler
    are found on the nodes and waited for (:meth:`adopt`).

    Each node writes into its own data dir, ``node_data`` with ``{data}`` (the
    scheduler's data dir) and ``{worker}`` filled in, and names its WARC files
    ``newsarchive-<worker>-...``: its own catalog shard, never a shared SQLite
    file. The path is the node's: the default suits nodes on this machine or
    sharing its disk.
    """

    def __init__(self, nodes: list[ScrapydNode], data_dir: Path, *, node_data: str = "{data}/nodes/{worker}",
                 project: str = PROJECT, log_level: str = "INFO"):
        if not nodes:
            raise ScrapydError("a Scrapyd pool needs at least one node")
        workers = [node.worker for node in nodes]
        if len(set(workers)) != len(workers):
            raise ScrapydError(f"two nodes share a worker id ({', '.join(workers)}); name them WORKER=URL")
        self.nodes = nodes
        self.data_dir = Path(data_dir)
        self.node_data = node_data
        self.project = project
        self.log_level = log_level
        self.in_flight: dict[str, int] = dict.fromkeys(workers, 0)
        self._unprepared = list(nodes)

    def data_dir_of(self, node: ScrapydNode) -> Path:
        return Path(self.node_data.format(data=self.data_dir.resolve(), worker=node.worker))

    def warc_prefix_of(self, node: ScrapydNode) -> str:
        return f"newsarchive-{node.worker}"

    def history_paths(self) -> list[Path]:
        return [self.data_dir / "catalog.db", *(self.data_dir_of(node) / "catalog.db" for node in self.nodes)]

    def deploy(self, egg: bytes | None = None, version: str | None = None) -> list[str]:
        """Upload the egg of the running code to every node; one line per node."""
        egg = egg if egg is not None else build_egg()
        version = version or egg_version()
        lines = []
        for node in self.nodes:
            answer = node.add_version(egg, project=self.project, version=version)
            lines.append(f"deployed {self.project} {version} to {node.worker} ({node.url}): "
                         f"{answer.get('spiders', '?')} spider(s)")
        return lines

    def job_settings(self, profile, node: ScrapydNode) -> dict:
        """What ``newsarchive crawl --site`` sets from a profile, plus the node's own data dir and WARC prefix."""
        return {**profile.politeness, "NEWSARCHIVE_TIMEZONE": profile.timezone,
                "NEWSARCHIVE_DATA_DIR": str(self.data_dir_of(node)),
                "NEWSARCHIVE_WARC_PREFIX": self.warc_prefix_of(node), "LOG_LEVEL": self.log_level}

    def job_args(self, profile, crawl_id: str) -> dict:
        """Spider arguments: the whole profile as JSON (a node has no profiles file), the crawl id we chose."""
        args = {"start_urls": " ".join(profile.start_urls), "site_profile": profile.to_json(), "crawl_id": crawl_id}
        if profile.page_budget:
            args["site_budget"] = profile.page_budget
        return args

    def start(self, profile, now):
        from archive.schedule import site_lock
        from crawler.spiders.news import new_crawl_id

        with ExitStack() as held:
            held.enter_context(site_lock(self.data_dir, profile.id))
            self._prepare_node_dirs()
            crawl_id = new_crawl_id(now)
            job_id = f"{profile.id}.{crawl_id}"
            problems = []
            for node in sorted(self.nodes, key=lambda node: self.in_flight[node.worker]):
                try:
                    node.schedule(job_id, args=self.job_args(profile, crawl_id),
                                  settings=self.job_settings(profile, node), project=self.project)
                except ScrapydError as exc:
                    if not self._has_job(node, job_id):  # a request that timed out may still have been queued
                        problems.append(str(exc))
                        continue
                self.in_flight[node.worker] += 1
                return ScrapydCrawl(self, node, profile.id, job_id, crawl_id, held.pop_all())
            raise ScrapydError("; ".join(problems))

    def _has_job(self, node: ScrapydNode, job_id: str) -> bool:
        try:
            listing = node.jobs(self.project)
        except ScrapydError:
            return False
        return any(job["id"] == job_id for jobs in listing.values() if isinstance(jobs, list) for job in jobs)

    def _prepare_node_dirs(self) -> None:
        """Create the catalog of each node on this machine (see ensure_catalog); a remote node's is its own."""
        from archive.errors import NewsArchiveError
        from crawler.scheduler import ensure_catalog

        while self._unprepared:
            node = self._unprepared.pop()
            local = urlsplit(node.url).hostname in ("localhost", "127.0.0.1", "::1")
            if local or self.data_dir_of(node).is_dir():
                try:
                    ensure_catalog(self.data_dir_of(node))
                except (NewsArchiveError, OSError):
                    pass  # the node creates it with its first job

    def adopt(self) -> list[ScrapydCrawl]:
        adopted = []
        for node in self.nodes:
            listing = node.jobs(None)
            for job in listing["pending"] + listing["running"]:
                site_id, dot, crawl_id = job["id"].partition(".")
                if dot and job.get("project") == self.project:
                    self.in_flight[node.worker] += 1
                    adopted.append(ScrapydCrawl(self, node, site_id, job["id"], crawl_id, ExitStack()))
        return adopted

    def release(self, crawl: ScrapydCrawl) -> None:
        """The job ended: its node has a free slot, its site's lock is released."""
        if not crawl.released:
            crawl.released = True
            self.in_flight[crawl.node.worker] -= 1
            crawl.lock.close()


class ScrapydCrawl:
    """One site's crawl running as a Scrapyd job; how it ended is read from its log and its crawls row."""

    def __init__(self, pool: ScrapydPool, node: ScrapydNode, site_id: str, job_id: str, crawl_id: str, lock):
        self.pool, self.node, self.site_id, self.job_id, self.crawl_id, self.lock = (
            pool, node, site_id, job_id, crawl_id, lock)
        self.where = f"job {job_id} on {node.worker}"
        self.released = False
        self._cancelled = False

    def poll(self):
        from crawler.scheduler import Outcome

        listing = self.node.jobs(self.pool.project)
        if any(job["id"] == self.job_id for job in listing["pending"] + listing["running"]):
            return None
        ended = next((job for job in listing["finished"] if job["id"] == self.job_id), None)
        self.pool.release(self)
        if ended is None:  # cancelled while pending, or the node restarted and forgot it
            status = "interrupted" if self._cancelled else "failed"
            return Outcome(status, f"{status}: {self.where} is gone from the node")
        log = self.node.text(ended["log_url"]) if ended.get("log_url") else ""
        reason = re.search(r"'finish_reason': '([^']+)'", log)
        status = _CLOSED.get(reason.group(1), "failed") if reason else "failed"
        row = self._crawl_row()
        if row is not None and row["status"] in ("finished", "interrupted", "failed"):
            status = row["status"]
        counts = (f"; {row['pages'] or 0} pages, {row['articles'] or 0} articles, {row['errors'] or 0} errors"
                  if row else "")
        if status == "failed":
            errors = [line for line in log.splitlines() if "Error" in line or "error" in line]
            why = errors[-1].strip() if errors else (f"finish_reason {reason.group(1)}" if reason else "no finish")
            return Outcome(status, f"FAILED: crawl {self.crawl_id} ({self.where}): {why}{counts}  "
                                   f"[log: {urljoin(self.node.url, ended.get('log_url') or '')}]")
        return Outcome(status, f"crawl {self.crawl_id}: {status} ({self.where}){counts}")

    def _crawl_row(self) -> dict | None:
        """The job's ``crawls`` row, when the node's data dir is readable from here."""
        from archive.schedule import read_crawls

        path = self.pool.data_dir_of(self.node) / "catalog.db"
        return next((row for row in read_crawls(path) if row["id"] == self.crawl_id), None)

    def stop(self) -> None:
        self._cancelled = True
        self.node.cancel(self.job_id, project=self.pool.project, signal="TERM")

    def kill(self) -> None:
        self.node.cancel(self.job_id, project=self.pool.project, signal="KILL")
        self.pool.release(self)
