"""Orders: recent orders across accounts with their delivery; retry a failed delivery, resend the codes.

Rows are read from storage (``service.orders.recent``) in a worker when order or delivery events arrive,
at most once a second. Codes are only ever shown masked. ``Agreed`` is the price bargaining agreed with the
buyer for the item (when the AI bargained): what the order should have been paid at. ``t`` retries a failed or waiting delivery with a
fresh budget; ``e`` sends the *same* codes again (after a confirmation), never new ones.
"""

from __future__ import annotations

from typing import Any

from textual.binding import Binding

from tui.format import clip, clock
from tui.screens.common import Cell, Cells, ConfirmScreen, PacedReads, TableScreen

COLUMNS = (("at", "Updated", 8), ("account", "Account", 14), ("order", "Order", 20), ("buyer", "Buyer", 12),
           ("item", "Item", 20), ("agreed", "Agreed", 10), ("status", "Status", 9), ("delivery", "Delivery", 9),
           ("units", "Codes", 16), ("reason", "Reason", 40))
STATUS_STYLES = {"paid": "bold", "shipped": "cyan", "completed": "green", "refund": "magenta", "closed": "dim"}
DELIVERY_STYLES = {"sent": "green", "failed": "bold red", "pending": "yellow", "reserved": "yellow",
                   "cancelled": "dim", "none": "dim"}
ORDERS_SHOWN = 200
RELOAD_SECONDS = 1.0


def order_key(order: Any) -> str:
    return f"{order.account_id}\x1f{order.order_id}"


def order_cells(order: Any) -> Cells:
    codes = ", ".join(unit.code for unit in order.units)
    return (clock(order.updated_at_ms), clip(order.account_id, 14), order.order_id, clip(order.buyer_nick, 12),
            clip(order.item_title or order.item_id or "", 20), agreed_cell(order),
            (order.status, STATUS_STYLES.get(order.status, "")),
            (order.delivery_state, DELIVERY_STYLES.get(order.delivery_state, "")), clip(codes, 16),
            clip(order.reason, 40))


def agreed_cell(order: Any) -> Cell:
    price = getattr(order, "agreed_price", None)
    return (clip(f"{price}元", 10), "bold") if price else ("—", "dim")


class OrdersScreen(TableScreen):
    NAME, TABLE_ID, COLUMNS = "Orders", "orders", COLUMNS
    BINDINGS = [
        Binding("t", "retry", "Retry delivery"),
        Binding("e", "resend", "Resend codes"),
        Binding("u", "only", "Undelivered"),
        Binding("f", "account", "This account"),
        Binding("escape", "clear", "Clear filters"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.orders: list[Any] = []
        self._loaded = -1
        self.reads = PacedReads(RELOAD_SECONDS)
        self._drawn: tuple = ()

    def refresh_data(self) -> None:
        app: Any = self.app
        version = app.model.orders_version
        if version != self._loaded and self.reads.due():
            self.reads.start(app, app.backend.orders, ORDERS_SHOWN,
                             then=lambda orders, v=version: self.show(orders, v))
        self.draw()

    def show(self, orders: list[Any] | None, version: int) -> None:
        self._loaded = version
        self.orders = list(reversed(orders or []))  # oldest first: new orders arrive at the bottom
        self.draw()

    def draw(self) -> None:
        state = (id(self.orders), self.account, self.only)
        if state == self._drawn:
            return
        if self._drawn and self._drawn[1:] != state[1:]:
            self.rows.reset()
        self._drawn = state
        shown = [o for o in self.orders if (self.account is None or o.account_id == self.account)
                 and (not self.only or o.delivery_state not in ("sent", "none"))]
        self.rows.sync((order_key(o), order_cells(o)) for o in shown)

    def selected(self) -> Any | None:
        key = self.rows.selected_key()
        return next((o for o in self.orders if order_key(o) == key), None)

    def action_retry(self) -> None:
        order = self.selected()
        if order is not None:
            app: Any = self.app
            app.call(app.backend.retry_delivery, order.order_id, done=f"order {order.order_id}: delivery retried")

    def action_resend(self) -> None:
        order = self.selected()
        if order is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                app: Any = self.app
                app.call(app.backend.resend_delivery, order.order_id,
                         done=f"order {order.order_id}: the same codes are being sent again")
        self.app.push_screen(ConfirmScreen(f"Send order {order.order_id}'s codes to {order.buyer_nick} again?"),
                             answered)

    def selected_account(self) -> str | None:
        order = self.selected()
        return order.account_id if order else None

    def action_clear(self) -> None:
        self.account, self.only = None, False
        self.draw()
