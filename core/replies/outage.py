"""`StorageOutage`: a failing database is reported once per outage, not once per message.

While writes fail (the disk full, the file read-only or deleted) every buyer message meets the same error; a line
for each would bury the one that says what is wrong. The first failure is an ERROR line, the first success after it
says so. Nothing is answered meanwhile: a reply is sent only after its decision is
recorded, and an unrecorded message stays un-ACKed (core/session/receipts.py), so the platform keeps it for us.
"""

from __future__ import annotations

import logging
import threading

from storage import StorageError

log = logging.getLogger(__name__)


class StorageOutage:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting = 0  # failed attempts to record since the outage began; 0 while storage works

    def failed(self, account_id: str, error: StorageError) -> None:
        with self._lock:
            self._waiting += 1
            first = self._waiting == 1
        if first:
            log.error("%s: cannot record buyer messages: %s — not answering and not acknowledging them until "
                      "the database is writable again (they are kept and retried)", account_id, error)

    def recorded(self) -> None:
        if not self._waiting:  # the common case, read without the lock
            return
        with self._lock:
            waited, self._waiting = self._waiting, 0
        if waited:
            log.warning("the database is writable again after %d failed attempt(s) to record; the messages that "
                        "waited are being answered now", waited)
