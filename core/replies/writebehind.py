"""Small writes taken off the reply's critical path and committed together.

A reply's "sent" mark is bookkeeping: nothing decides on it within milliseconds (echo matching accepts a
pending reply too), yet writing it at once costs every reply a third transaction on SQLite's single
write lock, in the middle of other accounts' replies. ``WriteBehind`` queues such rows and commits them
in one transaction every ``interval`` seconds from its own thread, and on ``close()``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class WriteBehind(Generic[T]):
    def __init__(self, flush: Callable[[list[T]], None], interval: float, name: str) -> None:
        self._flush = flush
        self._interval = interval
        self._rows: list[T] = []
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def put(self, row: T) -> None:
        with self._cond:
            if self._closed:  # after shutdown: write it through rather than lose it
                self._write([row])
                return
            self._rows.append(row)

    def close(self) -> None:
        """Commit what is queued and stop the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._closed:
                    self._cond.wait(self._interval)
                rows, self._rows = self._rows, []
                closed = self._closed
            if rows:
                self._write(rows)
            if closed:
                return

    def _write(self, rows: list[T]) -> None:
        try:
            self._flush(rows)
        except Exception:  # a failed batch is logged; the rows are bookkeeping, the replies went out
            log.exception("could not record %d rows", len(rows))
