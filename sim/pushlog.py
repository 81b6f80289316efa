"""One account's push log: the append-only sequence of items the server owes the account's client.

Every item gets a strictly increasing `pts` (µs, like the platform's sync positions) and stays "un-ACKed" until a
client ACKs a push frame that carried it. The log keeps a retention window (age and item count); items that fall
out of it are forgotten, ACKed or not — the platform's sync also only reaches back so far.

Not thread-safe: only used inside a state transaction (under the state lock).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DataItem:
    """One element of `syncPushPackage.data`."""

    biz_type: int
    object_type: int
    stream_id: str
    data: str           # base64 payload (msgpack, or JSON for 370000)

    def to_json(self) -> dict[str, Any]:
        return {"bizType": self.biz_type, "data": self.data, "streamId": self.stream_id,
                "objectType": self.object_type, "syncId": ""}


@dataclass(frozen=True)
class LogEntry:
    pts: int            # µs, strictly increasing per account
    seq: int            # 1, 2, … per account (syncPushPackage startSeq/endSeq)
    created_ms: int
    live_route: str     # "/s/para" or "/s/sync" when pushed live; replays always use "/s/sync"
    item: DataItem


class PushLog:
    def __init__(self, retention_us: int, max_items: int) -> None:
        self._entries: deque[LogEntry] = deque()
        self._unacked: set[int] = set()
        self._never_sent: set[int] = set()
        self._retention_us = retention_us
        self._max_items = max_items
        self.last_pts = 0
        self.last_seq = 0

    def append(self, item: DataItem, live_route: str, now_us: int) -> LogEntry:
        self.last_pts = max(now_us, self.last_pts + 1)
        self.last_seq += 1
        entry = LogEntry(self.last_pts, self.last_seq, now_us // 1000, live_route, item)
        self._entries.append(entry)
        self._unacked.add(entry.pts)
        self._never_sent.add(entry.pts)
        self._trim(now_us)
        return entry

    def _trim(self, now_us: int) -> None:
        oldest_kept = now_us - self._retention_us
        while self._entries and (len(self._entries) > self._max_items or self._entries[0].pts < oldest_kept):
            gone = self._entries.popleft()
            self._unacked.discard(gone.pts)
            self._never_sent.discard(gone.pts)

    def ack(self, pts: int) -> bool:
        """Mark an item ACKed; False if it already was (duplicate ACK) or is no longer retained."""
        if pts in self._unacked:
            self._unacked.remove(pts)
            return True
        return False

    def mark_sent(self, entry: LogEntry) -> None:
        self._never_sent.discard(entry.pts)

    def replay(self, position: int | None) -> list[LogEntry]:
        """What a syncing client gets: every un-ACKed item, plus everything after `position` (None = nothing)."""
        return [e for e in self._entries
                if e.pts in self._unacked or (position is not None and e.pts > position)]

    def after(self, pts: int) -> list[LogEntry]:
        """Items appended after `pts`, oldest first (what a live connection has not been sent yet)."""
        newer: list[LogEntry] = []
        for entry in reversed(self._entries):
            if entry.pts <= pts:
                break
            newer.append(entry)
        newer.reverse()
        return newer

    @property
    def unacked(self) -> int:
        return len(self._unacked)

    @property
    def queued(self) -> int:
        """Un-ACKed items that were never pushed on any connection (posted while the account was offline)."""
        return len(self._never_sent)

    def __len__(self) -> int:
        return len(self._entries)
