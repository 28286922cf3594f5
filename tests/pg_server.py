"""A throwaway PostgreSQL server for the tests: one per test session (or xdist worker).

``initdb`` into a private temporary folder, ``postgres`` listening on a Unix socket in that folder
only (no TCP port), ``trust`` authentication (any login name, no password: the folder is the
fence), torn down with ``pg_ctl stop -m immediate`` at the end. PostgreSQL refuses to run as
root, so as root the server runs as ``nobody`` (the folder is given to it). The binaries: on the
PATH, else Debian's ``/usr/lib/postgresql/<version>/bin`` (``.ci/run`` installs the package).

Each test gets a fresh database (:meth:`PgServer.new_database`) with the xlexec schema made by
``init_schema`` (what ``xlexec journal init`` runs) as the owner ``postgres`` once, in a template
database each new one is copied from, and the URL for any login (:meth:`url`).
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests import cli_fork

OWNER = "postgres"


BINARIES = ("initdb", "pg_ctl", "postgres")
#: where Debian's packages put each major version's binaries (not on the PATH)
DEBIAN_ROOT = "/usr/lib/postgresql"


def find_bindir(search_path: str | None = None, root: str | os.PathLike = DEBIAN_ROOT) -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres`` (all executable), or None.

    The PATH first (``search_path``: a PATH string, default the environment's), else the newest
    version under ``root`` (``<root>/<version>/bin``, versions compared as numbers: 9.6 < 13 < 16)."""
    found = shutil.which("initdb", path=search_path)
    if found and all(shutil.which(b, path=search_path) for b in BINARIES):
        return Path(found).resolve().parent
    best: Path | None = None
    for d in sorted(Path(root).glob("*/bin"), key=lambda d: _version(d.parent.name)):
        if all((d / b).is_file() and os.access(d / b, os.X_OK) for b in BINARIES):
            best = d
    return best


def _version(name: str) -> tuple[int, ...]:
    """``"9.6"`` -> (9, 6); a name that is not a version sorts first."""
    try:
        return tuple(int(x) for x in name.split("."))
    except ValueError:
        return (-1,)


class PgServer:
    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="xlexec-pg-"))
        self.data = self.root / "data"
        self.sock = self.root  # the socket lives in the private folder
        self.port = 5432
        self._as: list[str] = []
        if os.geteuid() == 0:  # postgres refuses root: run it as nobody, in a folder it owns
            self._as = ["runuser", "-u", "nobody", "--"]
            shutil.chown(self.root, "nobody")
        os.chmod(self.root, 0o700)
        self._n = itertools.count(1)
        self._template: str | None = None  # a database with the xlexec schema, copied by new_database

    def _run(self, *cmd: str) -> None:
        subprocess.run([*self._as, *cmd], check=True, capture_output=True, timeout=120, cwd="/")

    def start(self) -> PgServer:
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", OWNER, "-A", "trust", "-E", "UTF8")
        opts = (
            f"-c listen_addresses='' -c unix_socket_directories='{self.sock}' -c port={self.port} "
            "-c fsync=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=32MB"
        )
        log = str(self.root / "server.log")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", opts, "-l", log, "-w", "-t", "60", "start")
        return self

    def stop(self) -> None:
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, db: str = "postgres", login: str = OWNER) -> str:
        return f"postgresql://{login}@/{db}?host={self.sock}&port={self.port}"

    def new_database(self, *, init: bool = True) -> str:
        """A fresh database (its name); with the xlexec schema when ``init``: a copy of a template
        made once by ``init_schema`` (``CREATE DATABASE ... TEMPLATE``, cheaper than a migration)."""
        import psycopg

        name = f"xl_{os.getpid()}_{next(self._n)}"
        template = ""
        if init:
            if self._template is None:
                from xlexec.store.pg_journal import init_schema

                self._template = f"xl_template_{os.getpid()}"
                with psycopg.connect(self.url(), autocommit=True) as con:
                    con.execute(f'CREATE DATABASE "{self._template}"')
                init_schema(self.url(self._template))
            template = f' TEMPLATE "{self._template}"'
        with psycopg.connect(self.url(), autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{name}"{template}')
        return name

    def sql(self, db: str, query: str, params: tuple = (), login: str = OWNER) -> list[tuple]:
        """Run one statement as ``login`` on ``db``; its rows (empty when it returns none)."""
        import psycopg

        with psycopg.connect(self.url(db, login), autocommit=True) as con:
            cur = con.execute(query, params or None)  # type: ignore[arg-type]
            return cur.fetchall() if cur.description else []


def cli(*args: str, env: dict | None = None, cwd: str | Path | None = None) -> subprocess.CompletedProcess:
    """``python -m xlexec ARGS`` as a subprocess (this tree first on the path)."""
    root = str(Path(__file__).resolve().parent.parent)
    e = dict(os.environ, PYTHONPATH=root, XLWINGS_LICENSE_KEY="noncommercial", **(env or {}))
    return cli_fork.run(
        [sys.executable, "-m", "xlexec", *args],
        capture_output=True,
        text=True,
        env=e,
        cwd=str(cwd or tempfile.gettempdir()),
        timeout=300,
    )
