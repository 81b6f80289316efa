"""The one item lookup: title, price and description of a listing, for reply templates and delivery texts.

Cached in the database (`store.items`) for a day, so a busy item costs one detail call per day, not one per
message or order; a failed fetch falls back to what was cached (or blanks), because a reply or delivery with a
blank title beats none. It runs an HTTP call: never on a socket thread (the replies stage checks
`needs_fetch` first and hands such messages to a handler).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from core.clock import now_ms
from core.goofish.errors import GoofishError
from core.goofish.mtop import MtopClient
from storage import Store

log = logging.getLogger(__name__)

ITEM_CACHE_MS = 24 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class Item:
    item_id: str
    title: str = ""
    price: str = ""
    desc: str = ""
    quantity: int | None = None


class Catalog:
    def __init__(self, store: Store) -> None:
        self._store = store
        # Fresh copies also kept in memory (item id → (fetched at, item)): a lookup on every AI reply and
        # {item_price} template costs no database read.
        self._fresh: dict[str, tuple[int, Item]] = {}

    def cached(self, item_id: str) -> Item | None:
        """The item if a fresh copy is cached (no HTTP), else None."""
        now = now_ms()
        held = self._fresh.get(item_id)
        if held is not None and now - held[0] < ITEM_CACHE_MS:
            return held[1]
        row = self._store.items.get(item_id)
        if row is None or now - row.fetched_at_ms >= ITEM_CACHE_MS:
            return None
        item = Item(item_id, row.title, row.price, row.desc, row.quantity)
        self._fresh[item_id] = (row.fetched_at_ms, item)
        return item

    def item(self, mtop: MtopClient, item_id: str, account_id: str = "") -> Item:
        """The item, fetched through `mtop` when the cache has no fresh copy."""
        fresh = self.cached(item_id)
        if fresh is not None:
            return fresh
        try:
            info = mtop.item_detail(item_id)
        except GoofishError as exc:
            log.warning("%s: item %s detail failed: %s", account_id, item_id, exc)
            row = self._store.items.get(item_id)
            return Item(item_id, row.title, row.price, row.desc, row.quantity) if row else Item(item_id)
        item = Item(item_id, info.title, info.price or "", info.desc, info.quantity)
        fetched = now_ms()
        self._store.items.put(item_id, title=item.title, price=item.price, desc=item.desc, quantity=item.quantity,
                              fetched_at_ms=fetched)
        self._fresh[item_id] = (fetched, item)
        return item
