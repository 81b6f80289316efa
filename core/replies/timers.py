"""`Timers`: one thread with a heap of deadlines, for debounce windows and send retries.

A newer `schedule` on the same key replaces the older one: a burst in one chat keeps only its newest callback.
Callbacks run on the timer thread: they must only hand work over (to the dispatcher), never block.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Hashable

log = logging.getLogger(__name__)

Work = Callable[[], None]


class Timers:
    """Calls ``fire`` for a key once it has been quiet for its delay; a newer schedule replaces an older."""

    def __init__(self, name: str = "timers") -> None:
        self._heap: list[tuple[float, int, Hashable]] = []
        self._pending: dict[Hashable, tuple[int, Work]] = {}
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def schedule(self, key: Hashable, delay: float, fire: Work) -> None:
        seq = next(self._seq)
        with self._cond:
            self._pending[key] = (seq, fire)
            heapq.heappush(self._heap, (time.monotonic() + delay, seq, key))
            self._cond.notify()

    def pending(self) -> int:
        with self._cond:
            return len(self._pending)

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._pending.clear()
            self._cond.notify()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (not self._heap or self._heap[0][0] > time.monotonic()):
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(timeout)
                if self._stopped:
                    return
                _, seq, key = heapq.heappop(self._heap)
                current = self._pending.get(key)
                if current is None or current[0] != seq:
                    continue  # superseded by a newer message of the same burst
                del self._pending[key]
                fire = current[1]
            try:
                fire()
            except Exception:
                log.exception("debounced callback failed for %s", key)
