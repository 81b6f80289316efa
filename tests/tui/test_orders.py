"""The Orders screen on a real Service: a paid order whose stock is empty fails, the seller fills the
stock and retries from the dashboard, the code goes out; resend sends the SAME code again after a
confirmation; the low-stock warning shows wherever the seller is. Codes only ever appear masked."""

from __future__ import annotations

import asyncio

from tests.orders.support import SELLER, codes_sent, fill_stock, place_paid, stock_seller
from tests.service.conftest import Env
from tests.service.support import wait_until
from tests.tui.pilot import cell, dashboard, notification_hook, rows, select_row, until
from tests.tui.test_pilot import spy
from tui.screens.common import ConfirmScreen
from tui.screens.orders import OrdersScreen


def test_retry_and_resend_from_the_orders_screen(env: Env) -> None:
    run = env.start([stock_seller(env, 0, low_stock=1)], settings={"delivery_attempts": 1})
    retries, resends = spy(run.svc.orders, "retry"), spy(run.svc.orders, "resend")
    notes, hook = notification_hook()
    app = dashboard(run.svc)

    async def drive() -> None:
        async with app.run_test(size=(160, 40), message_hook=hook) as pilot:
            await pilot.press("4")
            await until(lambda: isinstance(app.screen, OrdersScreen))
            order_id = place_paid(env)
            key = f"{SELLER}\x1f{order_id}"
            await until(lambda: cell(app, "orders", key, "delivery") == "failed", 10)
            assert "empty" in cell(app, "orders", key, "reason")
            assert cell(app, "orders", key, "status") == "paid"

            codes = fill_stock(run, "cards", 2)
            select_row(app, "orders", key)
            await pilot.press("t")
            await until(lambda: retries == [(order_id,)], what="orders.retry called")
            await until(lambda: cell(app, "orders", key, "delivery") == "sent", 10)
            wait_until(lambda: codes_sent(env, codes) == [codes[0]])
            shown = cell(app, "orders", key, "units")
            assert shown.endswith(f"…({len(codes[0])})") and codes[0] not in shown  # masked
            await until(lambda: any("stock 'cards' is low" in n for n in notes))

            await pilot.press("e")
            await until(lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("y")
            await until(lambda: resends == [(order_id,)], what="orders.resend called")
            wait_until(lambda: codes_sent(env, codes) == [codes[0], codes[0]])  # the same code, never a new one

            await pilot.press("u")  # undelivered only: the delivered order leaves the list
            await until(lambda: rows(app, "orders") == [])
            assert all(code not in n for n in notes for code in codes)

    asyncio.run(drive())
