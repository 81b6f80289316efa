"""Hand-offs from socket threads to the shared handler pool: `ChatDispatcher`.

It runs work on a shared ``ThreadPoolExecutor`` so a slow step (an item-detail fetch, a history check before a
resend) never stalls an account's socket loop, while keeping two guarantees:

* messages of one chat are handled in arrival order (one queue per chat key, drained by one worker);
* a ``BoundedSemaphore`` acquired *before* submitting bounds the work in flight across all accounts.
  Socket threads use ``offer`` (never blocks): a session keeps what was refused in its own backlog and
  goes on reading, because a handler may be waiting for a send's answer that only that socket thread
  can read — blocking it on the bound would deadlock the two (see core/session/loop.py).

A chat whose answer waits on a slow rule is *parked*: its queue keeps the chat's later messages, in order, without
holding a handler, until `resume` (see core/replies/answer.py).
"""

from __future__ import annotations

import logging
import threading
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
        self._parked: set[Hashable] = set()
        self._draining: set[Hashable] = set()  # keys a worker is on: at most one per key, or order is lost

    def submit(self, key: Hashable, work: Work) -> None:
        """Queue ``work`` behind earlier work of the same key; blocks while the system is full."""
        self._slots.acquire()
        self._enqueue(key, work)

    def idle(self, key: Hashable) -> bool:
        """Nothing of this key is queued, running or parked: work done elsewhere now keeps the key's order."""
        return key not in self._queues and key not in self._parked

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
            self._draining.add(key)
        try:
            self._pool.submit(self._drain, key)
        except RuntimeError:  # pool shut down: drop the slot we took, the work is abandoned
            with self._lock:
                self._queues.pop(key, None)
                self._draining.discard(key)
                if not self._queues:
                    self._idle.notify_all()
            self._slots.release()
            raise

    def wait_idle(self, timeout: float) -> int:
        """Wait until nothing is queued or running; returns how many items were still queued at the end."""
        with self._idle:
            self._idle.wait_for(lambda: not self._queues, timeout)
            return sum(len(queue) for queue in self._queues.values())

    def park(self, key: Hashable) -> None:
        """Called from work of `key` (or for an idle key): from now on (once that work returns) the key's later
        work waits (queued, holding no handler) until `resume(key)`."""
        with self._lock:
            self._parked.add(key)

    def resume(self, key: Hashable) -> None:
        """Let the key's waiting work run. Safe at any moment, also before the parking work has returned (a slow
        rule that answered at once): the worker still on the key then simply carries on."""
        with self._lock:
            self._parked.discard(key)
            queue = self._queues.get(key)
            if queue is None or key in self._draining:
                return
            if not queue:
                del self._queues[key]
                if not self._queues:
                    self._idle.notify_all()
                return
            self._draining.add(key)
        self._pool.submit(self._drain, key)

    def _drain(self, key: Hashable) -> None:
        while True:
            with self._lock:
                if key in self._parked:
                    self._draining.discard(key)
                    return  # resume() drains the rest
                queue = self._queues[key]
                if not queue:
                    del self._queues[key]
                    self._draining.discard(key)
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
