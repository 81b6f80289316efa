"""Helpers for the order tests: a seller with a delivery rule, orders placed through the simulator."""

from __future__ import annotations

from typing import Any

from tests.service.conftest import BUYER, ITEM, Env, Running
from tests.service.support import wait_until

SELLER = "shop-a"


def stock_seller(env: Env, codes: int, stock: str = "cards", **rule: Any) -> dict[str, Any]:
    """shop-a selling ITEM with a stock rule; the sim knows the item."""
    account = env.seller(SELLER, delivery=[{"item": ITEM, "stock": stock, "message": "卡密：{code}", **rule}])
    env.ctl.item(env.unb(SELLER), ITEM, "会员兑换码", "9.90", quantity=100)
    return account


def start_with_rule(env: Env, rule: dict[str, Any], **settings: Any) -> Running:
    """shop-a online, selling ITEM, with one delivery rule."""
    account = env.seller(SELLER, delivery=[rule])
    env.ctl.item(env.unb(SELLER), ITEM, "会员兑换码", "9.90")
    return env.start([account], settings=settings or None)


def fill_stock(run: Running, stock: str, count: int, prefix: str = "CODE") -> list[str]:
    codes = [f"{prefix}-{n:04d}-XYZW" for n in range(count)]
    run.store.stock.import_codes(stock, codes, 0)
    return codes


def place_paid(env: Env, buyer: str = BUYER, quantity: int = 1, item: str = ITEM) -> str:
    unb = env.unb(SELLER)
    order = env.ctl.order(seller=unb, buyer=buyer, item_id=item, status="unpaid", quantity=quantity)
    env.ctl.order(order_id=order["order_id"], status="paid")
    return order["order_id"]


def codes_sent(env: Env, codes: list[str]) -> list[str]:
    """Every code found in what the seller sent, in order (a code twice appears twice)."""
    found = []
    for message in env.ctl.sent(env.unb(SELLER)):
        found += [code for code in codes if code in message["text"]]
    return found


def shipments(env: Env) -> list[str]:
    return env.ctl.account_state(env.unb(SELLER))["shipments"]


def wait_delivered(run: Running, order_id: str, timeout: float = 10.0) -> Any:
    def done() -> Any:
        order = run.store.orders.get(SELLER, order_id)
        return order if order is not None and order.delivery_state == "sent" else None

    return wait_until(done, timeout, lambda: f"order {order_id}: {run.store.orders.get(SELLER, order_id)}")
