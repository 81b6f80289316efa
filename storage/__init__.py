"""Persistence for the service: the tables, the engine, and `Store`, the only place that speaks SQL.

Owns: the schema (models.py) and its migrations, the engine and its transactions (engine.py, database.py,
driver.py), and one store per kind of data (accounts, messages, replies, chats, items, orders, stock), composed
by `Store`. It stores; it never decides (reply decisions and the order state machine are core's), calls back into
core or writes user-facing text. It may import sqlmodel/SQLAlchemy and the driver, nothing of core, tui or sim.

Usage::

    store = Store("sqlite:///data/xianyu.db")     # or postgresql+psycopg://user:pass@host/db
    if store.messages.mark_seen(account_id, message_id, ttl_ms=DAY_MS, now_ms=now):
        ...
    store.close()
"""

from storage.engine import DEFAULT_DB_URL, DEMO_DB_URL, discard_sqlite, open_engine, sqlite_file
from storage.errors import DatabaseInUse, DatabaseUnavailable, StorageError, shown_database
from storage.instance import InstanceLock, claim
from storage.messages import Inbound, RecordableVerdict, Recorded
from storage.models import (
    AccountRecord,
    ChatLine,
    ChatPause,
    CodeState,
    DeliveryUnit,
    InboundMessage,
    ItemCache,
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
from storage.store import Store

__all__ = [
    "DEFAULT_DB_URL",
    "DEMO_DB_URL",
    "AccountRecord",
    "ChatLine",
    "ChatPause",
    "CodeState",
    "DatabaseInUse",
    "DatabaseUnavailable",
    "DeliveryUnit",
    "Inbound",
    "InboundMessage",
    "InstanceLock",
    "ItemCache",
    "OrderRecord",
    "OrderStore",
    "OrderTransition",
    "OrderTx",
    "RecordableVerdict",
    "Recorded",
    "Reply",
    "ReplyOnce",
    "ReplyStatus",
    "SeenMessage",
    "StockAlert",
    "StockCode",
    "StorageError",
    "Store",
    "claim",
    "discard_sqlite",
    "open_engine",
    "shown_database",
    "sqlite_file",
]
