"""Hand-offs from session threads to the shared handler pool.

``ChatDispatcher`` runs work on a shared ``ThreadPoolExecutor`` so a slow reply (an item-detail fetch,
a retried send) never stalls an account's socket loop, while keeping two guarantees:

* messages of one chat are handled in arrival order (one queue per chat key, drained by one worker);
* a ``BoundedSemaphore`` acquired *before* submitting bounds the work in flight across all accounts.
  Socket threads use ``offer`` (never blocks): a session keeps what was refused in its own backlog and
  goes on reading, because a handler may be waiting for a send's answer that only that socket thread
  can read — blocking it on the bound would deadlock the two (see core/session.py).

``Debouncer`` is one timer thread with a heap: a burst on one key keeps only the newest callback.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger(__name__)

Work = Callable[[], None]


class ChatDispatcher:
    def __init__(self, pool: ThreadPoolExecutor, in_flight: int) -> None:
        self._pool = pool
        self._slots = threading.BoundedSemaphore(in_flight)
        self._queues: dict[Hashable, deque[Work]] = {}
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)  # notified when the last key's queue is drained

    def submit(self, key: Hashable, work: Work) -> None:
        """Queue ``work`` behind earlier work of the same key; blocks while the system is full."""
        self._slots.acquire()
        self._enqueue(key, work)

    def idle(self, key: Hashable) -> bool:
        """Nothing of this key is queued or running: work done elsewhere now keeps the key's order."""
        return key not in self._queues

    def offer(self, key: Hashable, work: Work) -> bool:
        """``submit`` if a slot is free now; False (nothing queued) when the system is full."""
        if not self._slots.acquire(blocking=False):
            return False
        self._enqueue(key, work)
        return True

    def _enqueue(self, key: Hashable, work: Work) -> None:
        with self._lock:
            queue = self._queues.get(key)
            if queue is not None:  # a worker is draining this key: it will pick this up in order
                queue.append(work)
                return
            self._queues[key] = deque([work])
        try:
            self._pool.submit(self._drain, key)
        except RuntimeError:  # pool shut down: drop the slot we took, the work is abandoned
            with self._lock:
                self._queues.pop(key, None)
                if not self._queues:
                    self._idle.notify_all()
            self._slots.release()
            raise

    def wait_idle(self, timeout: float) -> int:
        """Wait until nothing is queued or running; returns how many items were still queued at the end."""
        with self._idle:
            self._idle.wait_for(lambda: not self._queues, timeout)
            return sum(len(queue) for queue in self._queues.values())

    def _drain(self, key: Hashable) -> None:
        while True:
            with self._lock:
                queue = self._queues[key]
                if not queue:
                    del self._queues[key]
                    if not self._queues:
                        self._idle.notify_all()
                    return
                work = queue.popleft()
            try:
                work()
            except Exception:
                log.exception("handler failed for %s", key)
            finally:
                self._slots.release()


class Debouncer:
    """Calls ``fire`` for a key once it has been quiet for its delay; a newer schedule replaces an older."""

    def __init__(self, name: str = "debouncer") -> None:
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
