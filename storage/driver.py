"""Write transactions on the database driver's own connection, for the statements of the per-message path.

Why not SQLAlchemy here: a buyer message's transaction (dedupe, record, decide, reply) costs about 0.33 ms of
CPU through SQLAlchemy Core and 0.07 ms on the driver (`sqlite3`, `psycopg`). On SQLite every microsecond of
it is spent holding the single write lock, while up to a thousand account threads take turns at the GIL: each
statement gives the GIL up and has to win it back before the next. Measured with `bench/service_scale.py`
(1,000 accounts, 200 messages/s), reply latency p99 was 34 ms through Core and 6 ms on the driver.

The SQL is still written once, as the Core statements of `statements.py`: `DriverSql` compiles each one for
the dialect and the set of parameters it is called with (named parameters, so rows stay dicts), once.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.dialects import sqlite
from sqlalchemy.sql import Executable

from storage.errors import DatabaseUnavailable, StorageError, first_line, mask_url

T = TypeVar("T")
MAX_BATCH = 64  # jobs in one group commit: bounds the leader's own wait


class DriverSql:
    """Core statements compiled to the driver's SQL, cached per (statement, parameter names): the SQL and the
    values the statement carries itself (the 1 of ``attempts + 1``), which go along with the caller's."""

    def __init__(self, engine: Engine) -> None:
        # sqlite3 accepts named parameters (:name) from a dict; SQLAlchemy's default for it is positional.
        self._dialect = sqlite.dialect(paramstyle="named") if engine.dialect.name == "sqlite" else engine.dialect
        self._cache: dict[tuple[int, tuple[str, ...]], tuple[str, dict[str, Any]]] = {}

    def __call__(self, stmt: Executable, names: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
        key = (id(stmt), names)  # the statements live as long as the store
        found = self._cache.get(key)
        if found is None:
            compiled = stmt.compile(dialect=self._dialect, column_keys=list(names))  # type: ignore[call-arg]
            own = {name: value for name, value in compiled.params.items() if name not in names}
            found = self._cache[key] = (str(compiled), own)
        return found


class DriverTx:
    """One open write transaction: runs Core statements with dict parameters on a driver cursor."""

    def __init__(self, cursor: Any, sql: DriverSql) -> None:
        self._cursor = cursor
        self._sql = sql

    def run(self, stmt: Executable, params: Mapping[str, Any]) -> None:
        sql, own = self._sql(stmt, tuple(params))
        self._cursor.execute(sql, {**own, **params} if own else params)

    def rows(self, stmt: Executable, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """A statement with RETURNING: every row it returned (read to the end, so the statement is finished
        before the next one or the commit)."""
        self.run(stmt, params)
        return self._cursor.fetchall()

    def many(self, stmt: Executable, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            sql, own = self._sql(stmt, tuple(rows[0]))
            self._cursor.executemany(sql, [{**own, **row} for row in rows] if own else rows)


class _Job:
    """One caller's work, waiting in the writer's queue."""

    __slots__ = ("work", "result", "error", "done", "wake")

    def __init__(self, work: Callable[[DriverTx], Any]) -> None:
        self.work = work
        self.result: Any = None
        self.error: BaseException | None = None
        self.done = False
        self.wake = threading.Event()


class DriverWriter:
    """Runs work in `DriverTx` transactions. SQLite: one dedicated connection behind the store's write gate
    (SQLite has one writer anyway), transactions begun IMMEDIATE, and group commit; PostgreSQL: a pooled
    connection per transaction.

    Group commit: callers queue their work; the first in the queue (the leader) runs everything queued at
    that moment in ONE transaction, then hands the lead to the next in line. When a commit stalls (the
    disk, or the committing thread waiting its turn at the GIL) the writers arriving meanwhile share the
    next transaction, instead of each taking the lock in turn, one GIL hand-off after another."""

    def __init__(self, engine: Engine, gate: AbstractContextManager[object], url: str) -> None:
        self._engine = engine
        self._gate = gate
        self._url = url
        self._sql = DriverSql(engine)
        self._errors = engine.dialect.loaded_dbapi
        # The pool's connect hook has set it up (WAL, busy timeout, no implicit BEGIN; engine.py).
        self._sqlite = engine.raw_connection() if engine.dialect.name == "sqlite" else None
        self._queue: deque[_Job] = deque()
        self._queue_lock = threading.Lock()
        self._refused: str | None = None  # why every run() fails from now on (the file lost); None: it does not

    def refuse(self, reason: str) -> None:
        self._refused = reason

    def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()  # back to the pool, which the engine's dispose then closes

    def run(self, work: Callable[[DriverTx], T]) -> T:
        """``work(tx)`` inside a write transaction; its result, or its exception. ``work`` only runs
        statements: it may be run twice (see ``_lead``)."""
        if self._refused is not None:
            raise DatabaseUnavailable(self._url, self._refused)
        if self._sqlite is None:
            with self._transaction() as tx:
                return work(tx)
        job = _Job(work)
        with self._queue_lock:
            self._queue.append(job)
            leading = len(self._queue) == 1
        if not leading:
            job.wake.wait()  # done by a leader, or made the leader
        if not job.done:
            self._lead()
        if job.error is not None:
            raise job.error
        return job.result  # type: ignore[no-any-return]

    def _lead(self) -> None:
        with self._queue_lock:
            batch = list(itertools.islice(self._queue, MAX_BATCH))
        try:
            self._run_batch(batch)
        finally:
            with self._queue_lock:
                for _ in batch:
                    self._queue.popleft()
                successor = self._queue[0] if self._queue else None
            if successor is not None:
                successor.wake.set()  # not done: it leads the next batch
            for job in batch:
                job.done = True
                job.wake.set()

    def _run_batch(self, batch: list[_Job]) -> None:
        try:
            with self._transaction() as tx:
                results = [job.work(tx) for job in batch]
        except DatabaseUnavailable as exc:  # locked or gone: trying each alone would only wait N times
            for job in batch:
                job.error = exc
            return
        except Exception as exc:
            if len(batch) == 1:
                batch[0].error = exc
                return
            # One job's failure rolled back the whole batch: run each alone, so it fails only its own caller.
            for job in batch:
                try:
                    with self._transaction() as tx:
                        job.result = job.work(tx)
                except Exception as alone:
                    job.error = alone
            return
        for job, result in zip(batch, results, strict=True):
            job.result = result

    @contextmanager
    def _transaction(self) -> Iterator[DriverTx]:
        try:
            if self._sqlite is not None:
                with self._gate:
                    yield from self._sqlite_transaction(self._sqlite)
            else:
                yield from self._pooled_transaction()
        except self._errors.OperationalError as exc:
            raise DatabaseUnavailable(self._url, first_line(exc)) from exc
        except self._errors.Error as exc:
            raise StorageError(f"{mask_url(self._url)}: {first_line(exc)}") from exc

    def _sqlite_transaction(self, conn: Any) -> Iterator[DriverTx]:
        cursor = conn.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield DriverTx(cursor, self._sql)
                cursor.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # a failed COMMIT (disk full, I/O error) leaves it open too
                    cursor.execute("ROLLBACK")
                raise
        finally:
            cursor.close()

    def _pooled_transaction(self) -> Iterator[DriverTx]:
        conn = self._engine.raw_connection()
        try:
            cursor = conn.cursor()
            try:
                yield DriverTx(cursor, self._sql)
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
        finally:
            conn.close()
