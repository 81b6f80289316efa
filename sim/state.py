"""The one lock over all simulator state, and the transaction that applies a change's effects after it.

Every front end (control API, mtop gateway, IM connections, demo buyers) reads and writes the World only inside
`with state.transaction() as world:`. The lock is never held during socket I/O: pushes and disconnects a change
causes are carried out when the transaction ends, outside the lock, so a slow client cannot stall everyone else.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sim.accounts import PushTarget
from sim.world import Options, World


class SimState:
    def __init__(self, options: Options) -> None:
        self.options = options
        self._lock = threading.Lock()
        self._world = World(options)
        self._account_listeners: list[Callable[[str], None]] = []

    @contextmanager
    def transaction(self) -> Iterator[World]:
        self._lock.acquire()
        try:
            yield self._world
        finally:
            effects = self._world.take_effects()
            self._lock.release()
            self._apply(*effects)

    def _apply(self, flush: list[PushTarget], drop: list[PushTarget], created: list[str]) -> None:
        for target in drop:
            target.drop()
        for target in flush:
            target.flush()
        for unb in created:
            for listener in self._account_listeners:
                listener(unb)

    def on_account_created(self, listener: Callable[[str], None]) -> None:
        """Call `listener(unb)` (outside the lock) for every account created from now on."""
        self._account_listeners.append(listener)

    def snapshot(self) -> dict[str, Any]:
        with self.transaction() as world:
            return world.snapshot()
