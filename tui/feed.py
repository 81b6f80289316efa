"""What crosses from service threads into the dashboard: events and log lines, through bounded deques.

``emit`` and ``logging.Handler.emit`` run on session, handler and scheduler threads. A ``deque.append`` is
atomic and never blocks, and the bound means a stalled UI drops the oldest items instead of growing
memory without limit (account rows are rebuilt from snapshots, so nothing on screen goes stale for good).
"""

from __future__ import annotations

import logging
from collections import deque
from typing import TypeVar

from core import events as ev
from core.logsink import log_formatter
from core.redact import RedactFilter

EVENTS_KEPT = 100_000
LOG_LINES_KEPT = 5_000

T = TypeVar("T")


def drain(queue: deque[T]) -> list[T]:
    """Everything queued so far, oldest first (popleft is atomic against the appending threads)."""
    pop = queue.popleft
    return [pop() for _ in range(len(queue))]


class EventFeed:
    """An EventBus sink: service threads append, the app's loop drains (at 4 Hz) and coalesces."""

    inline = True  # a deque append: called on the emitting thread

    def __init__(self, keep: int = EVENTS_KEPT) -> None:
        self._events: deque[ev.Event] = deque(maxlen=keep)

    def emit(self, event: ev.Event) -> None:
        self._events.append(event)

    def drain(self) -> list[ev.Event]:
        return drain(self._events)


class LogLines(logging.Handler):
    """The lines ``--no-tui`` prints (same format, secrets masked), kept for the Log screen."""

    def __init__(self, keep: int = LOG_LINES_KEPT) -> None:
        super().__init__()
        self.setFormatter(log_formatter())
        self.addFilter(RedactFilter())
        self._new: deque[str] = deque(maxlen=keep)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._new.append(self.format(record))
        except Exception:  # noqa: BLE001 - logging must never raise into the thread that logged
            self.handleError(record)

    def drain(self) -> list[str]:
        return drain(self._new)
