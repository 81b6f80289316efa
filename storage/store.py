"""`Store`: the opened database, as one store per kind of data.

    store = Store("sqlite:///data/xianyu.db")     # or postgresql+psycopg://user:pass@host/db
    store.messages.accept(inbound, ttl_ms=WEEK_MS, verdict=verdict)
    store.orders.edit(account_id, order_id)  …
    store.close()

Each store's method is one short transaction on a pooled connection, so any thread may call any method at any
time; rows come back detached (readable after the transaction ended). Storage keeps rows and the shape of the
transactions that make them safe; it takes every time from its caller and decides nothing — the reply chain's
decisions and the order state machine live in core.

Errors: `DatabaseUnavailable` when the database cannot be reached or stayed locked, `StorageError` for any other
database failure. Wrong arguments (an unknown field, an unknown reply status) raise TypeError / ValueError.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import delete, tuple_
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import select

from storage.accounts import AccountStore, any_sealed
from storage.assistant import AiStore
from storage.chats import ChatStore
from storage.database import Database
from storage.engine import sqlite_file, sqlite_path
from storage.errors import SecretKeyError, mask_url
from storage.files import FileIdentity
from storage.instance import note_holder
from storage.items import ItemStore
from storage.keys import KEY_FILE, KeySource, key_source
from storage.messages import MessageStore
from storage.models import ChatPause, InboundMessage, NotifyIncident, NotifyMessage, Reply, SeenMessage
from storage.notices import NoticeStore
from storage.orders import OrderStore
from storage.replies import ReplyStore
from storage.sealing import Sealer
from storage.stock import StockStore

log = logging.getLogger(__name__)

# Cleanup deletes in chunks of this many rows, one transaction each, so SQLite's single write lock is never held
# long enough to make message handling wait (a day of 200 messages/s is 17 million rows).
_CLEANUP_CHUNK = 5_000


class Store:
    """The service's database. `Store(url)` opens (and if needed creates and migrates) it; `close()` releases it.

    ``config_dir``, the folder of accounts.yml, is where a PostgreSQL database's key file lives (keys.py); a
    SQLite database's is beside the file. Opening checks that the key opens every sealed value (SecretKeyError,
    nothing written, when it does not) and seals the values of rows written before encryption."""

    def __init__(self, url: str, config_dir: Path | None = None) -> None:
        self.url = url
        self.db = Database(url)
        try:
            self.keys = key_source(sqlite_path(self.db.engine.url), config_dir)
            self.accounts = AccountStore(self.db, _sealer(self.db, self.keys))
            sealed = self.accounts.seal_plaintext()
            if sealed:
                self.db.scrub()
        except BaseException:
            self.db.close()
            raise
        if sealed:
            log.info("database %s: sealed the cookies and tokens of %d account(s) stored in plain text",
                     mask_url(url), sealed)
        self.messages = MessageStore(self.db)
        self.replies = ReplyStore(self.db)
        self.chats = ChatStore(self.db)
        self.items = ItemStore(self.db)
        self.orders = OrderStore(self.db)
        self.stock = StockStore(self.db)
        self.ai = AiStore(self.db)
        self.notices = NoticeStore(self.db)
        self.file = sqlite_file(self.db.engine.url)
        self._identity = FileIdentity.of(self.file) if self.file is not None else None

    @property
    def dialect(self) -> str:
        return self.db.dialect

    def close(self) -> None:
        self.db.close()

    def check_writable(self, now_ms: int) -> None:
        """One small real write (this process as the database's holder): raises DatabaseUnavailable or
        StorageError when the database opens but cannot be written (read-only, disk full)."""
        with self.db.write() as conn:
            note_holder(conn, now_ms)

    def file_lost(self) -> str | None:
        """SQLite: "deleted" or "replaced" once the database path no longer names the file opened here (writes
        still succeed then, into a file no one will open again); None while it does, and always for PostgreSQL."""
        if self.file is None:
            return None
        now = FileIdentity.of(self.file)
        if now == self._identity:
            return None
        return "deleted" if now is None else "replaced"

    def refuse_writes(self, reason: str) -> None:
        """For a database whose file was lost (``file_lost``), where a write seems to succeed and is lost: from now
        on the per-message writes (messages, replies, pauses, items: what decides whether a buyer message is
        answered and acknowledged) raise DatabaseUnavailable(reason), so nothing is answered without a record and
        the platform keeps what was not recorded. The other writes (account progress, orders, stock) go on, into
        the lost file, so shutting down still works; reads go on. A new Store opens the database anew."""
        self.db.refuse_writes(reason)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({mask_url(self.url)!r})"

    def cleanup(self, now_ms: int, retention_ms: int) -> dict[str, int]:
        """Delete expired dedupe marks and pauses, and messages and replies older than `retention_ms`.

        Returns the rows deleted per table. Runs as several short transactions (see `_CLEANUP_CHUNK`).
        Once-per-chat claims are kept: once means once for the life of the chat."""
        cutoff = now_ms - retention_ms
        return {
            "seen_messages": self._delete_chunked(
                (SeenMessage.account_id, SeenMessage.message_id), SeenMessage.expires_at_ms <= now_ms),
            "chat_pauses": self._delete_chunked((ChatPause.account_id, ChatPause.cid), ChatPause.until_ms <= now_ms),
            "inbound_messages": self._delete_chunked((InboundMessage.id,), InboundMessage.received_at_ms < cutoff),
            "replies": self._delete_chunked((Reply.id,), Reply.decided_at_ms < cutoff),
            "notifications": self._delete_chunked((NotifyMessage.id,), NotifyMessage.created_at_ms < cutoff),
            "incidents": self._delete_chunked((NotifyIncident.id,), NotifyIncident.closed_at_ms < cutoff),
        }

    def _delete_chunked(self, key: tuple[Any, ...], condition: ColumnElement[bool]) -> int:
        table = key[0].table
        deleted = 0
        while True:
            victims = select(*key).where(condition).limit(_CLEANUP_CHUNK)
            with self.db.write() as conn:
                count = conn.execute(delete(table).where(tuple_(*key).in_(victims))).rowcount
            deleted += count
            if count < _CLEANUP_CHUNK:
                return deleted


def _sealer(db: Database, source: KeySource) -> Sealer:
    """The database's sealer: its key, created with the key file at the first run; a missing key file for a
    database with sealed values is an error (a new key would open none of them)."""
    keys = source.read()
    if keys is None:
        if any_sealed(db):
            raise SecretKeyError(source.shown, "missing, and this database's cookies and tokens are sealed with a "
                                               "key: restore the key file from your backup (or set XIANYU_SECRET_KEY "
                                               "to the key); nothing was changed")
        keys = [source.create()]
        log.info("created the %s (back it up with the database: the database is useless without it)",
                 source.shown)
    if len(keys) > 1:
        log.warning("%s: a key rotation was interrupted (%s.new is there): run python xianyu.py rekey to finish it",
                    source.shown, KEY_FILE)
    return Sealer(keys, source.shown)
