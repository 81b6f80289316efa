"""Persistence for the service: the tables, the engine, and `Store`, the only place that speaks SQL.

Owns: the schema (models.py) and its migrations, the engine and its transactions (engine.py, database.py,
driver.py), one store per kind of data (accounts, messages, replies, chats, items, orders, stock, ai), composed
by `Store`, and the sealing of cookies and tokens at rest (keys.py, sealing.py, rekey.py). It stores; it never decides (reply decisions and the order state machine are core's), calls back into
core or writes user-facing text. It may import sqlmodel/SQLAlchemy and the driver, nothing of core, tui or sim.

Usage::

    store = Store("sqlite:///data/xianyu.db")     # or postgresql+psycopg://user:pass@host/db
    if store.messages.mark_seen(account_id, message_id, ttl_ms=DAY_MS, now_ms=now):
        ...
    store.close()
"""

from storage.assistant import UsageRow
from storage.engine import DEFAULT_DB_URL, DEMO_DB_URL, discard_sqlite, open_engine, sqlite_file
from storage.errors import DatabaseInUse, DatabaseUnavailable, SecretKeyError, StorageError, shown_database
from storage.instance import InstanceLock, claim
from storage.keys import KEY_ENV, KEY_FILE, NEW_KEY_ENV
from storage.messages import Inbound, RecordableVerdict, Recorded
from storage.models import (
    AccountRecord,
    AiDraft,
    AiUsage,
    BargainRecord,
    ChatFlag,
    ChatLine,
    ChatPause,
    CodeState,
    DeliveryUnit,
    InboundMessage,
    ItemCache,
    NotifyIncident,
    NotifyMessage,
    OrderRecord,
    OrderTransition,
    Reply,
    ReplyOnce,
    ReplyStatus,
    SeenMessage,
    StockAlert,
    StockCode,
)
from storage.orders import OrderStore, OrderTx
from storage.rekey import Rekeyed, rekey
from storage.store import Store

__all__ = [
    "DEFAULT_DB_URL",
    "DEMO_DB_URL",
    "AccountRecord",
    "AiDraft",
    "AiUsage",
    "BargainRecord",
    "ChatFlag",
    "ChatLine",
    "ChatPause",
    "CodeState",
    "DatabaseInUse",
    "DatabaseUnavailable",
    "DeliveryUnit",
    "Inbound",
    "InboundMessage",
    "InstanceLock",
    "KEY_ENV",
    "KEY_FILE",
    "NEW_KEY_ENV",
    "ItemCache",
    "NotifyIncident",
    "NotifyMessage",
    "OrderRecord",
    "OrderStore",
    "OrderTransition",
    "OrderTx",
    "RecordableVerdict",
    "Recorded",
    "Rekeyed",
    "Reply",
    "ReplyOnce",
    "ReplyStatus",
    "SecretKeyError",
    "SeenMessage",
    "StockAlert",
    "StockCode",
    "StorageError",
    "UsageRow",
    "Store",
    "claim",
    "discard_sqlite",
    "open_engine",
    "rekey",
    "shown_database",
    "sqlite_file",
]
