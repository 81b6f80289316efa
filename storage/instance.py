"""One service per database: the instance lock.

Two ``xianyu.py`` on one database would run every account twice, and on the real platform two sessions of one
account fight over its login. So a service holds this lock for as long as it runs:

- SQLite: ``flock`` on ``<db>.lock`` (0600, beside the database), which holds ``pid host`` of the holder;
- PostgreSQL: ``pg_try_advisory_lock`` on a connection of its own, with the holder in the ``xianyu_instance`` row.

Both are the operating system's or the server's: a process killed with ``kill -9`` loses its lock with its file
descriptors or its connection, so nothing stale is ever left to clean up.

The lock is the process's: services inside one process (tests, benchmarks) share it, counted. Only the service
and ``rekey`` (which re-seals every row and must not race a service writing with the old key) take it: the other
commands (``check`` and ``decode`` open no database; ``stock`` and ``verify`` make short
writes a running service is built to see) run beside a service. A fleet (issue 17: instances sharing one
PostgreSQL database, the accounts divided by leases) is to skip this lock; it is the single-instance case.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.pool import NullPool

from storage.engine import reason_of, sqlite_path
from storage.errors import DatabaseInUse, DatabaseUnavailable, StorageError, mask_url
from storage.files import FILE_MODE, private_dir

LOCK_SUFFIX = ".lock"
ADVISORY_KEY = 0x7869_616E_7975  # "xianyu": one key for the whole database
_HOLDER_TABLE = ("CREATE TABLE IF NOT EXISTS xianyu_instance (id integer PRIMARY KEY, pid integer, host text, "
                 "started_at_ms bigint)")


def _me() -> tuple[int, str]:
    return os.getpid(), socket.gethostname()


def _holder(pid: object, host: object) -> str:
    return f"pid {pid} on {host}" if pid else "a process that did not say who it is"


class InstanceLock:
    """A held lock; ``release`` gives it up (idempotent). Dropping the process releases it as well."""

    def __init__(self, release: Callable[[], None]) -> None:
        self._release: Callable[[], None] | None = release

    def release(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()


_held: dict[str, tuple[InstanceLock, int]] = {}  # database → (this process's lock, services holding it)
_held_guard = threading.Lock()


def claim(url: str, started_at_ms: int) -> InstanceLock:
    """Take the database's instance lock. Raises DatabaseInUse naming the holder, DatabaseUnavailable when the
    lock cannot be asked for (the directory cannot be created, the server is down)."""
    key, take = _locker(url, started_at_ms)
    with _held_guard:
        lock, users = _held.get(key) or (take(), 0)
        _held[key] = (lock, users + 1)
    return InstanceLock(lambda: _let_go(key))


def _let_go(key: str) -> None:
    with _held_guard:
        lock, users = _held.pop(key)
        if users > 1:
            _held[key] = (lock, users - 1)
        else:
            lock.release()


def _locker(url: str, started_at_ms: int) -> tuple[str, Callable[[], InstanceLock]]:
    """(what names the database in this process, how to take its lock)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StorageError(f"invalid database URL {mask_url(url)}") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = sqlite_path(parsed) or Path("")
        path = database.with_name(database.name + LOCK_SUFFIX)
        return os.path.realpath(path), lambda: _claim_file(path, url)
    if backend == "postgresql":
        return (f"postgresql://{parsed.host}:{parsed.port}/{parsed.database}",
                lambda: _claim_advisory(url, started_at_ms))
    raise StorageError(f"unsupported database {mask_url(url)}: use sqlite:///PATH or postgresql://…")


def _claim_file(path: Path, url: str) -> InstanceLock:
    private_dir(path.parent, url)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    except OSError as exc:
        raise DatabaseUnavailable(url, f"cannot open {path}: {exc.strerror}") from exc
    try:
        os.fchmod(fd, FILE_MODE)  # whatever the umask, and an older file too
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        written = os.pread(fd, 200, 0).decode(errors="replace").split()
        os.close(fd)
        raise DatabaseInUse(url, _holder(*(written + [None, None])[:2])) from None
    except OSError as exc:
        os.close(fd)
        raise DatabaseUnavailable(url, f"cannot lock {path}: {exc.strerror}") from exc
    pid, host = _me()
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{pid} {host}\n".encode(), 0)
    except OSError as exc:  # a full disk: the lock is ours, but nothing could be written
        os.close(fd)
        raise DatabaseUnavailable(url, f"cannot write {path}: {exc.strerror}") from exc

    def release() -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    return InstanceLock(release)


def _claim_advisory(url: str, started_at_ms: int) -> InstanceLock:
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    engine = create_engine(parsed, poolclass=NullPool, hide_parameters=True)
    try:
        conn = engine.connect()
    except DBAPIError as exc:
        engine.dispose()
        raise DatabaseUnavailable(url, reason_of(exc)) from exc
    try:
        got = conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}).scalar()
        conn.execute(text(_HOLDER_TABLE))
        if not got:
            row = conn.execute(text("SELECT pid, host FROM xianyu_instance WHERE id = 1")).first()
            conn.rollback()
            raise DatabaseInUse(url, _holder(*(row or (None, None))))
        note_holder(conn, started_at_ms)
        conn.commit()
    except DatabaseInUse:
        _close(conn, engine)
        raise
    except DBAPIError as exc:
        _close(conn, engine)
        raise DatabaseUnavailable(url, reason_of(exc)) from exc
    return InstanceLock(lambda: _close(conn, engine))


def note_holder(conn: Connection, started_at_ms: int) -> None:
    """Write this process into the ``xianyu_instance`` row (a real write: it also proves the database writable)."""
    pid, host = _me()
    conn.execute(text(_HOLDER_TABLE))
    conn.execute(text("INSERT INTO xianyu_instance (id, pid, host, started_at_ms) VALUES (1, :pid, :host, :at) "
                      "ON CONFLICT (id) DO UPDATE SET pid = :pid, host = :host, started_at_ms = :at"),
                 {"pid": pid, "host": host, "at": started_at_ms})


def _close(conn: Connection, engine: object) -> None:
    with contextlib.suppress(Exception):  # closing the session releases the advisory lock in any case
        conn.close()
    engine.dispose()  # type: ignore[attr-defined]
