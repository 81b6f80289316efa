"""The marketplace's records: listings, conversations with their history, and orders.

Plain storage with the lookups the front ends need; the rules (who may do what, what gets pushed) live in
sim/trade.py. Not thread-safe: only used inside a state transaction (under the state lock).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sim.ids import Ids
from sim.payloads import ChatPayload

HISTORY_PER_CHAT = 1000


def parse_yuan(price: str) -> int:
    """ "9.90" → 990 fen; ValueError on anything that is not a non-negative amount with at most 2 decimals."""
    try:
        amount = Decimal(str(price))
    except InvalidOperation:
        raise ValueError(f"price must be a yuan amount like \"9.90\", got {price!r}") from None
    fen = amount * 100
    if not amount.is_finite() or amount < 0 or fen != fen.to_integral_value():
        raise ValueError(f"price must be a yuan amount like \"9.90\", got {price!r}")
    return int(fen)


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


@dataclass(frozen=True)
class Sku:
    name: str
    price_fen: int
    quantity: int


@dataclass(frozen=True)
class Item:
    seller: str
    item_id: str
    title: str
    price_fen: int
    desc: str
    quantity: int
    skus: tuple[Sku, ...] = ()


@dataclass(frozen=True)
class Conversation:
    cid: str
    seller: str
    buyer: str
    buyer_nick: str
    item_id: str
    created_ms: int


@dataclass(frozen=True)
class Order:
    order_id: str
    seller: str
    buyer: str
    item_id: str
    status: str
    quantity: int
    unit_price_fen: int
    created_ms: int

    @property
    def total_fen(self) -> int:
        return self.unit_price_fen * self.quantity


class Market:
    def __init__(self, ids: Ids) -> None:
        self._ids = ids
        self.items: dict[str, Item] = {}
        self.orders: dict[str, Order] = {}
        self._chats: dict[tuple[str, str, str], Conversation] = {}
        self._by_cid: dict[str, Conversation] = {}
        self._buyer_ns: dict[str, int] = {}
        self._history: dict[str, deque[ChatPayload]] = {}
        self._red_points: dict[str, int] = {}

    # -- listings -----------------------------------------------------------------------------------------------
    def put_item(self, item: Item) -> None:
        self.items[item.item_id] = item

    def seller_items(self, seller: str) -> list[Item]:
        return [item for item in self.items.values() if item.seller == seller]

    # -- conversations ------------------------------------------------------------------------------------------
    def conversation(self, seller: str, buyer: str, item_id: str, buyer_nick: str, now_ms: int) -> Conversation:
        """The chat for (seller, buyer, item), created on first use (with `buyer_nick`); its cid never changes."""
        key = (seller, buyer, item_id)
        chat = self._chats.get(key)
        if chat is None:
            chat = Conversation(self._ids.cid(), seller, buyer, buyer_nick, item_id, now_ms)
            self._chats[key] = chat
            self._by_cid[chat.cid] = chat
            self._history[chat.cid] = deque(maxlen=HISTORY_PER_CHAT)
        return chat

    def note_buyer_message(self, cid: str) -> None:
        """Remember when the newest buyer message entered this chat (for reply latency in /_sim/sent)."""
        self._buyer_ns[cid] = time.perf_counter_ns()

    def reply_after_us(self, cid: str) -> int | None:
        """Microseconds since the newest buyer message of the chat: the seller's push-to-reply latency."""
        started = self._buyer_ns.get(cid)
        return None if started is None else (time.perf_counter_ns() - started) // 1000

    def by_cid(self, cid: str) -> Conversation | None:
        return self._by_cid.get(cid)

    def seller_conversations(self, seller: str) -> list[Conversation]:
        return [chat for chat in self._by_cid.values() if chat.seller == seller]

    def record(self, message: ChatPayload, unread: bool) -> None:
        self._history[message.cid].append(message)
        if unread:
            self._red_points[message.cid] = self._red_points.get(message.cid, 0) + 1

    def history(self, cid: str) -> list[ChatPayload]:
        return list(self._history.get(cid, ()))

    def red_point(self, cid: str) -> int:
        return self._red_points.get(cid, 0)

    def clear_red_point(self, cid: str) -> None:
        self._red_points.pop(cid, None)

    # -- orders -------------------------------------------------------------------------------------------------
    def new_order(self, seller: str, buyer: str, item_id: str, status: str, quantity: int, now_ms: int) -> Order:
        item = self.items.get(item_id)
        order = Order(self._ids.order_id(), seller, buyer, item_id, status, quantity,
                      item.price_fen if item is not None else 0, now_ms)
        self.orders[order.order_id] = order
        return order

    def seller_orders(self, seller: str) -> list[Order]:
        return [order for order in self.orders.values() if order.seller == seller]
