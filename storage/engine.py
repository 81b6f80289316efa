"""The SQLAlchemy engine: SQLite in WAL mode by default, PostgreSQL (psycopg 3) when the URL says so.

SQLite notes, because they decide whether 1,000 account threads can share one file:

- WAL lets readers run while one writer writes; `synchronous=NORMAL` is durable across application crashes
  (only an OS crash may lose the last transactions) and avoids an fsync per commit.
- pysqlite opens transactions lazily and as DEFERRED. A deferred transaction that reads and then writes can fail
  at once with "database is locked" when another connection wrote in between: SQLite cannot honour the busy
  timeout there. So we take transaction control from pysqlite and issue the BEGIN ourselves; connections obtained
  through `for_writes(engine)` begin with `BEGIN IMMEDIATE`, which takes the write lock up front and waits for it
  (busy_timeout) instead of failing.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlmodel import SQLModel

from storage import models  # noqa: F401  (registers the tables on SQLModel.metadata before create_all)
from storage.errors import DatabaseUnavailable, StorageError, first_line, mask_url
from storage.files import private_file, remove_database
from storage.migrations import migrate

log = logging.getLogger(__name__)

DEFAULT_DB_URL = "sqlite:///data/xianyu.db"
# `server: demo` with no `database`: the demo marketplace's own file, started afresh by every demo run (the
# simulator forgets everything when it stops, so what a run left here would only be sent to a marketplace that
# never had it).
DEMO_DB_URL = "sqlite:///data/demo.db"

_IMMEDIATE = "xianyu_sqlite_begin_immediate"
_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=5000",
    "PRAGMA foreign_keys=ON",
    # 1 MiB of page cache per pooled connection (SQLite's default is 2 MiB): the hot pages (the indexes of recent
    # messages and replies) fit; the default let RSS creep up for hours as each connection's cache filled.
    "PRAGMA cache_size=-1024",
    # No checkpoint inside a commit: the committing thread would copy the WAL into the database and
    # fsync while holding the write lock (100–200 ms stalls of every writer). Store checkpoints from a
    # thread of its own instead (PASSIVE: writers carry on meanwhile).
    "PRAGMA wal_autocheckpoint=0",
)
# Account threads hold a connection only for one short transaction, so a modest pool serves many threads; the
# overflow absorbs bursts (a flood of messages) instead of making threads wait for pool_timeout.
_POOL = {"pool_size": 8, "max_overflow": 24, "pool_timeout": 30}


def open_engine(url: str) -> Engine:
    """Create the engine for `url`, check that the database answers, create missing tables and bring an older
    database's tables up to date (`migrations.py`).

    Raises `DatabaseUnavailable` when the database cannot be opened or reached; `StorageError` for a URL that is
    not a SQLite file or a PostgreSQL server, and for a file that is not a database.
    """
    parsed = _parse(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        engine = _sqlite_engine(url, parsed)
    elif backend == "postgresql":
        engine = _postgresql_engine(parsed)
    else:
        raise StorageError(f"unsupported database {mask_url(url)}: use sqlite:///PATH or postgresql://…")
    try:
        SQLModel.metadata.create_all(engine)
        for change in migrate(engine):
            log.info("database %s migrated: %s", mask_url(url), change)
    except DBAPIError as exc:
        engine.dispose()
        if isinstance(exc, OperationalError):
            raise DatabaseUnavailable(url, reason_of(exc)) from exc
        raise StorageError(f"{mask_url(url)}: {reason_of(exc)}") from exc  # e.g. a file that is no database
    return engine


def for_writes(engine: Engine) -> Engine:
    """The same engine (and pool) whose transactions take SQLite's write lock at BEGIN; a no-op for PostgreSQL."""
    return engine.execution_options(**{_IMMEDIATE: True})


def reason_of(exc: DBAPIError) -> str:
    """The driver's first message line: says what failed (refused, locked, no such file) without parameters."""
    return first_line(exc.orig)


def discard_sqlite(url: str) -> None:
    """Delete the SQLite database ``url`` names, with its ``-wal`` and ``-shm``, before anything opens it (the
    demo's fresh start; its instance lock, ``<db>.lock``, is the caller's and stays)."""
    path = sqlite_file(url)
    if path is None:
        raise StorageError(f"only a SQLite file is discarded, not {mask_url(url)}")
    remove_database(path, url)


def sqlite_file(url: URL | str) -> Path | None:
    """The file a SQLite URL names; None for another database, in-memory SQLite, and a URI filename
    (``file:…?mode=ro&uri=true``), whose file is the user's to manage."""
    if isinstance(url, str):
        url = _parse(url)
    name = url.database
    if url.get_backend_name() != "sqlite" or not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name)


def sqlite_path(url: URL | str) -> Path | None:
    """The file a SQLite URL names, a URI filename's (``file:PATH?mode=ro&uri=true``) too; None for another
    database and in-memory SQLite."""
    if isinstance(url, str):
        url = _parse(url)
    name = url.database or ""
    if url.get_backend_name() != "sqlite" or not name or name == ":memory:":
        return None
    if name.startswith("file:"):  # a URI filename: the path is in it, plus options
        name = name[len("file:"):].split("?", 1)[0]
    return Path(name)


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError:
        # `from None`: ArgumentError's text repeats the URL, password included.
        raise StorageError(f"invalid database URL {mask_url(url)}") from None


def _sqlite_engine(raw_url: str, url: URL) -> Engine:
    if not url.database or url.database == ":memory:":
        # An in-memory database exists per connection, so each pooled connection (thread) would see its own.
        raise StorageError("in-memory SQLite is not supported: give a file, e.g. sqlite:///data/xianyu.db")
    path = sqlite_file(url)
    if path is not None:
        private_file(path, raw_url)
    engine = create_engine(
        url,
        hide_parameters=True,
        connect_args={"check_same_thread": False},
        **_POOL,
    )
    event.listen(engine, "connect", _on_sqlite_connect)
    event.listen(engine, "begin", _on_sqlite_begin)
    return engine


def _on_sqlite_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    # None = pysqlite never emits BEGIN itself (see the module docstring); COMMIT/ROLLBACK still work.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def _on_sqlite_begin(conn: Connection) -> None:
    immediate = conn.get_execution_options().get(_IMMEDIATE, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _postgresql_engine(url: URL) -> Engine:
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    # pre_ping: a server restart or an idle-timeout kill must cost one reconnect, not one failed message.
    return create_engine(url, hide_parameters=True, pool_pre_ping=True, **_POOL)
