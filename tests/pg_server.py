"""A throw-away PostgreSQL server for tests: `with running_postgres() as url: ...`.

initdb into a fresh temporary directory (trust authentication, superuser `postgres`), start it on a free local
port with its socket in that directory, create one database, yield its URL, stop the server and delete the
directory. Durability is switched off (fsync, synchronous_commit): the data dies with the test run anyway.

PostgreSQL refuses to run as root, so under root initdb and pg_ctl run as the `postgres` OS user (created when
missing) and the directory is handed to that user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

INSTALL_HINT = "install the PostgreSQL server (apt-get install -y postgresql) or set XIANYU_SKIP_PG=1"
_OS_USER = "postgres"
_SERVER_OPTIONS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"


# The key sealing cookies and tokens in tests on PostgreSQL, given as XIANYU_SECRET_KEY (the fixtures set it): one
# server's database serves many tests, each with a folder (and so a key file) of its own, as instances sharing a
# database share one key. Made once with Fernet.generate_key(); it seals test cookies only.
SECRET_KEY = "q4rZ0cJmS6jvE0Xf2xg0yq0D9m9dFvUXwYQk1mJ6b2s="


class PostgresNotInstalled(RuntimeError):
    """initdb / pg_ctl are not on this machine."""


class PostgresStartFailed(RuntimeError):
    """The server did not come up; the message carries the tail of its log."""


@contextmanager
def running_postgres(database: str = "xianyu") -> Iterator[str]:
    """Yield `postgresql://postgres@127.0.0.1:PORT/<database>` of a server that lives for the `with` block."""
    bindir = find_bindir()
    as_root = os.geteuid() == 0
    if as_root:
        _ensure_os_user()
    workdir = Path(tempfile.mkdtemp(prefix="xianyu-pg-"))
    try:
        if as_root:
            shutil.chown(workdir, _OS_USER, _OS_USER)
        datadir, log = workdir / "data", workdir / "server.log"
        port = free_port()
        _run(
            bindir / "initdb", "-D", datadir, "-A", "trust", "-U", "postgres", "-N", "-E", "UTF8", cwd=workdir
        )
        options = f"-k {workdir} -p {port} -c listen_addresses=127.0.0.1 {_SERVER_OPTIONS}"
        try:
            _run(bindir / "pg_ctl", "-D", datadir, "-l", log, "-o", options, "-w", "start", cwd=workdir)
        except PostgresStartFailed as exc:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
            raise PostgresStartFailed(f"{exc}\nserver log:\n{tail}") from None
        try:
            base = f"postgresql://postgres@127.0.0.1:{port}"
            with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{database}"')
            yield f"{base}/{database}"
        finally:
            _run(bindir / "pg_ctl", "-D", datadir, "-m", "fast", "-w", "stop", cwd=workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def find_bindir() -> Path:
    """The directory holding initdb and pg_ctl; `pg_config --bindir` first (it may belong to libpq alone)."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        answer = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(Path(answer.stdout.strip()))
    # Debian/Ubuntu keep the server off PATH, one directory per major version; the newest wins.
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_major, reverse=True)]
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    raise PostgresNotInstalled(f"PostgreSQL server binaries (initdb, pg_ctl) not found: {INSTALL_HINT}")


def _major(bindir: str) -> int:
    version = Path(bindir).parent.name
    return int(version) if version.isdigit() else 0


def _ensure_os_user() -> None:
    try:
        pwd.getpwnam(_OS_USER)
    except KeyError:
        subprocess.run(["useradd", "-r", _OS_USER], check=True, capture_output=True)


def free_port() -> int:
    # The port is free now; another process could take it before postgres binds, which pg_ctl would report.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run(*argv: str | Path, cwd: Path) -> None:
    command = [str(arg) for arg in argv]
    if os.geteuid() == 0:
        command = ["runuser", "-u", _OS_USER, "--", *command]
    # cwd: the postgres user may not be allowed into the caller's directory, and initdb refuses to start there.
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise PostgresStartFailed(f"{' '.join(command)} exited {done.returncode}: {done.stderr.strip()}")
