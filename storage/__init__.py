"""Persistence for the service: the tables, the engine, and `Store`, the only place that speaks SQL.

Usage::

    store = Store("sqlite:///data/xianyu.db")     # or postgresql://user:pass@host/db
    if store.mark_seen(account_id, message_id, ttl_ms=DAY_MS, now_ms=now):
        ...
    store.close()
"""

from storage.engine import DEFAULT_DB_URL, open_engine
from storage.errors import DatabaseUnavailable, StorageError
from storage.models import (
    AccountState,
    ChatLine,
    ChatPause,
    Decided,
    DeliveryState,
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
    Verdict,
)
from storage.orders import OrderStore, StatusChange
from storage.store import ECHO_WINDOW_MS, Store

__all__ = [
    "DEFAULT_DB_URL",
    "ECHO_WINDOW_MS",
    "AccountState",
    "ChatLine",
    "ChatPause",
    "DatabaseUnavailable",
    "Decided",
    "DeliveryState",
    "DeliveryUnit",
    "InboundMessage",
    "ItemCache",
    "OrderRecord",
    "OrderStore",
    "OrderTransition",
    "Reply",
    "ReplyOnce",
    "ReplyStatus",
    "SeenMessage",
    "StatusChange",
    "StockAlert",
    "StockCode",
    "StorageError",
    "Store",
    "Verdict",
    "open_engine",
]
