"""`Database`: the engine and the three ways to run a transaction on it, shared by every store of `Store`.

- `read()`: a read transaction with an ORM session (rows come back detached, readable after it ended);
- `write()`: a SQLAlchemy Core write transaction (SQLite: begun IMMEDIATE, behind this process's write gate);
- `fast.run(work)`: a write transaction on the driver's own connection, for the per-message statements
  (`driver.py`: compiled once, group-committed on SQLite).

SQLite has one writer at a time; a thread that loses the race sleeps in SQLite's busy handler in 1, 2, 5,
10 … ms steps, which is where tail latency came from. Queueing this process's writers on a lock instead
wakes the next one the moment the last commits (busy_timeout still arbitrates between processes).
PostgreSQL needs no such thing.

Errors: `DatabaseUnavailable` when the database cannot be reached or stayed locked (or the per-message writes
were refused: `refuse_writes`), `StorageError` for any other database failure.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session as OrmSession

from storage.driver import DriverWriter
from storage.engine import for_writes, open_engine, reason_of
from storage.errors import DatabaseUnavailable, StorageError, first_line, mask_url
from storage.statements import Statements

log = logging.getLogger(__name__)

# How often the WAL is folded into the database file (engine.py turns automatic checkpoints off).
CHECKPOINT_SECONDS = 2.0


class Database:
    """One opened database. `Database(url)` opens (and if needed creates and migrates) it; `close()` releases it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = open_engine(url)
        self.dialect = self.engine.dialect.name
        self.sql = Statements.build(self.dialect)
        self._writer = for_writes(self.engine)
        self._write_gate: AbstractContextManager[object] = (
            threading.Lock() if self.dialect == "sqlite" else contextlib.nullcontext())
        self._closed = threading.Event()
        self.fast = DriverWriter(self.engine, self._write_gate, url)
        if self.dialect == "sqlite":
            threading.Thread(target=self._checkpoints, name="sqlite-checkpoint", daemon=True).start()

    def close(self) -> None:
        self._closed.set()
        self.fast.close()
        if self.dialect == "sqlite":
            self._checkpoint("TRUNCATE")  # leave a small WAL behind
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({mask_url(self.url)!r})"

    @contextmanager
    def transaction(self, bind: Engine | None = None) -> Iterator[Connection]:
        try:
            with (bind or self.engine).begin() as conn:
                yield conn
        except OperationalError as exc:
            raise DatabaseUnavailable(self.url, reason_of(exc)) from exc
        except DBAPIError as exc:
            raise StorageError(f"{mask_url(self.url)}: {reason_of(exc)}") from exc

    @contextmanager
    def read(self) -> Iterator[OrmSession]:
        with self.transaction() as conn, OrmSession(conn, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with self._write_gate, self.transaction(self._writer) as conn:
            yield conn

    def scrub(self) -> None:
        """Rewrite the stored pages so none keeps a value that was overwritten (the plain cookies the migration
        sealed, the values a rekey sealed anew): SQLite VACUUMs and empties its WAL; PostgreSQL rewrites the
        accounts' table (its dead row versions would keep them until reused)."""
        raw = self.engine.raw_connection()  # VACUUM runs outside a transaction, so beside SQLAlchemy's
        try:
            if self.dialect == "sqlite":
                raw.cursor().execute("VACUUM")  # the connection is in autocommit (engine.py)
            else:
                raw.driver_connection.autocommit = True
                try:
                    raw.cursor().execute("VACUUM FULL account_state")
                finally:
                    raw.driver_connection.autocommit = False
        except self.engine.dialect.loaded_dbapi.Error as exc:  # the driver's own, raw: no SQLAlchemy wrapping here
            raise StorageError(f"{mask_url(self.url)}: {first_line(exc)}") from exc
        finally:
            raw.close()
        if self.dialect == "sqlite":
            self._checkpoint("TRUNCATE")

    def refuse_writes(self, reason: str) -> None:
        """From now on every `fast.run` raises DatabaseUnavailable(reason) (see Store.refuse_writes)."""
        self.fast.refuse(reason)

    def _checkpoints(self) -> None:
        """Fold the WAL into the database every few seconds, off the writers' path (see engine.py)."""
        while not self._closed.wait(CHECKPOINT_SECONDS):
            self._checkpoint("PASSIVE")

    def _checkpoint(self, mode: str) -> None:
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql(f"PRAGMA wal_checkpoint({mode})")
        except DBAPIError as exc:  # a busy or closed database: the next round tries again
            log.debug("checkpoint %s skipped: %s", mode, reason_of(exc))
