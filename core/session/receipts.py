"""`Receipts`: which pushes of a session are recorded in full, so they may be ACKed and the sync position moved.

A push is ACKed to the platform only when every item of it is *stored* (the replies stage calls back, from
whichever thread recorded it). An ACKed push is never delivered again, so ACKing one whose message was never
stored — the disk full, the database gone — loses that buyer's message for good; un-ACKed, the platform sends
it again on the next connection, and the stage's dedupe absorbs a copy that did get stored.

The sync position (what the next connection asks the platform to replay from) only moves past a push once it
and every push before it are stored. An item the stage could not store waits in `take_unstored` for the session
to offer it again (after a delay: the storage is failing), its push still open.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from functools import partial

from core.goofish.frames import Push
from core.goofish.messages import ImEvent
from core.session.connection import Channel

Stored = Callable[[bool], None]  # the stage's answer for one item: True once recorded, False when it could not be


class Receipt:
    """One push on its way to storage."""

    __slots__ = ("ws", "frame", "position", "left", "seq")

    def __init__(self, ws: Channel, frame: Push, position: int, left: int, seq: int) -> None:
        self.ws = ws
        self.frame = frame
        self.position = position  # 0: the push carries none
        self.left = left  # items not stored yet
        self.seq = seq


class Receipts:
    def __init__(self, ack: Callable[[Channel, Push], None], synced: Callable[[int], None]) -> None:
        self._ack = ack
        self._synced = synced
        self._lock = threading.Lock()
        self._open: deque[Receipt] = deque()  # arrival order; the front decides how far the position moves
        self._unstored: list[tuple[int, ImEvent, Receipt]] = []
        self._seq = 0

    def open(self, ws: Channel, frame: Push, position: int, items: int) -> Receipt:
        """A push read from `ws` with `items` to store (ACKed at once when it has none)."""
        with self._lock:
            self._seq += 1
            receipt = Receipt(ws, frame, position, items, self._seq)
            self._open.append(receipt)
        if items == 0:
            self._settled(receipt)
        return receipt

    def item(self, receipt: Receipt, event: ImEvent) -> Stored:
        """The callback the stage answers for `event` of `receipt`'s push."""
        return partial(self._answer, receipt, event)

    def unstored_waiting(self) -> bool:
        return bool(self._unstored)

    def take_unstored(self) -> list[tuple[ImEvent, Stored]]:
        """The items the stage could not store, in arrival order, each with a fresh callback."""
        with self._lock:
            taken, self._unstored = sorted(self._unstored, key=lambda entry: entry[0]), []
        return [(event, self.item(receipt, event)) for _seq, event, receipt in taken]

    def _answer(self, receipt: Receipt, event: ImEvent, stored: bool) -> None:
        if not stored:
            with self._lock:
                self._unstored.append((receipt.seq, event, receipt))
            return
        with self._lock:
            receipt.left -= 1
            done = receipt.left == 0
        if done:
            self._settled(receipt)

    def _settled(self, receipt: Receipt) -> None:
        self._ack(receipt.ws, receipt.frame)
        position = 0
        with self._lock:
            while self._open and self._open[0].left <= 0:
                position = max(position, self._open.popleft().position)
            if position:  # under the lock: two threads settling must not report positions out of order
                self._synced(position)
