"""`Beats`: every account's heartbeat on one heap timer, instead of one APScheduler job per account.

At a thousand accounts the per-account job was most of the idle cost: three APScheduler objects per account
(job, trigger, executor future), a scheduler wake-up, a trigger computation and a pool hand-off for each beat
every 15 s, and the socket loop woke every few seconds only to see whether a beat was overdue. Here one thread
sleeps until the earliest due time on the monotonic clock (so a step of the wall clock moves nothing), hands the
beat to a small pool (a socket whose peer stopped reading may block a send for its timeout, and must not hold up
the others), and checks each beat's answer once, when its timeout is up: an unanswered beat aborts the socket, so
the socket loop needs no short ``recv`` timeout to notice.

Due times keep their phase: the k-th beat of an account is due at ``first + k·interval``; lateness is measured
against that and recorded under "heartbeat" (`core/scheduler.Lateness`), as the APScheduler jobs were.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)

SEND_WORKERS = 2  # beats in flight at once; a beat is one small frame, so two are plenty
# The check runs this long after the timeout, so a beat sent a moment after it was due is already overdue then.
CHECK_MARGIN = 0.25


class Beating(Protocol):
    def heartbeat(self) -> None: ...
    def heartbeat_check(self) -> None: ...


class Recorder(Protocol):
    def record(self, kind: str, seconds: float) -> None: ...


@dataclass(slots=True)
class _Entry:
    account_id: str
    session: Beating
    interval: float
    timeout: float
    first_due: float
    next_due: float
    live: bool = True


class Beats:
    def __init__(self, lateness: Recorder, clock: Callable[[], float] = time.monotonic) -> None:
        self._lateness = lateness
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        # (due, tie-breaker, entry, is_check): beats and their answer checks on one heap.
        self._heap: list[tuple[float, int, _Entry, bool]] = []
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._stopping = False
        self._pool = ThreadPoolExecutor(SEND_WORKERS, thread_name_prefix="heartbeat")
        self._thread = threading.Thread(target=self._run, name="heartbeats", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def add(self, account_id: str, session: Beating, interval: float, timeout: float, first_in: float) -> None:
        """Beat ``session`` every ``interval`` s from ``first_in`` s on (replacing the account's earlier entry)."""
        due = self._clock() + first_in
        entry = _Entry(account_id, session, interval, timeout, due, due)
        with self._cond:
            old = self._entries.pop(account_id, None)
            if old is not None:
                old.live = False
            self._entries[account_id] = entry
            self._push(due, entry, False)

    def remove(self, account_id: str) -> None:
        with self._cond:
            entry = self._entries.pop(account_id, None)
            if entry is not None:
                entry.live = False  # its heap items are dropped when they come up

    def next_due_ms(self, account_id: str) -> int | None:
        """The account's next beat in epoch ms (for the dashboard), None when it has none."""
        with self._cond:
            entry = self._entries.get(account_id)
            due = entry.next_due if entry is not None else None
        return None if due is None else int((time.time() + due - self._clock()) * 1000)

    def _push(self, due: float, entry: _Entry, is_check: bool) -> None:
        heapq.heappush(self._heap, (due, next(self._order), entry, is_check))
        if self._heap[0][2] is entry:
            self._cond.notify()  # the timer sleeps until the earliest due time: a new earliest wakes it

    def _run(self) -> None:
        while True:
            with self._cond:
                due_items = self._take_due()
                if due_items is None:
                    return
            for entry, is_check, late in due_items:
                if is_check:
                    self._pool.submit(_guarded, entry.account_id, entry.session.heartbeat_check)
                else:
                    self._lateness.record("heartbeat", late)
                    self._pool.submit(_guarded, entry.account_id, entry.session.heartbeat)

    def _take_due(self) -> list[tuple[_Entry, bool, float]] | None:
        """Wait (holding the condition) until something is due; what is due, or None when stopping."""
        heap = self._heap
        while not self._stopping:
            now = self._clock()
            while heap and not heap[0][2].live:
                heapq.heappop(heap)
            if heap and heap[0][0] <= now:
                taken = []
                while heap and heap[0][0] <= now:
                    due, _, entry, is_check = heapq.heappop(heap)
                    if not entry.live:
                        continue
                    if not is_check:
                        # The next beat keeps the phase; after a long stall the missed ones are skipped (coalesced).
                        skipped = int((now - due) // entry.interval)
                        entry.next_due = due + (skipped + 1) * entry.interval
                        self._push(entry.next_due, entry, False)
                        self._push(now + entry.timeout + CHECK_MARGIN, entry, True)
                    taken.append((entry, is_check, now - due))
                return taken
            self._cond.wait(None if not heap else heap[0][0] - now)
        return None


def _guarded(account_id: str, func: Callable[[], None]) -> None:
    try:
        func()
    except Exception as exc:  # noqa: BLE001 - one account's failure must not stop the timer's workers
        log.warning("heartbeat of %s failed: %s", account_id, exc)
