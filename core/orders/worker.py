"""Orders: the state machine fed by trade notices, and the delivery worker that sends each unit exactly once.

    trade card / notice ──► on_notice ──► states.apply_notice (stale or out-of-order notices change nothing)
                                                   │ paid: delivery pending (at now + delay)
    worker (scan every second, or kicked) ◄────────┘
      claim the order (lease) → quantity → [confirm shipment] → for each unit: reserve code ─► send ─► ACK ─► sent
      → [confirm shipment] → release (closed/refunded meanwhile: unsent units cancelled, codes back in stock)

Exactly once, across threads, processes and kill -9 (see storage/orders.py for the transactions):
- a unit's code is reserved together with the unit's row, once; every later pass reuses that row and its text;
- a send is counted before it is made; a unit with a counted send asks the chat history before sending again,
  so a crash after the server took the message does not repeat it, and one before it does not lose it;
- one worker per order at a time: a lease, taken by compare-and-swap, stolen only when it expired or its
  holder's process is gone (same host, pid not running), which is what a restart after kill -9 finds.

Everything the worker does is driven by rows, so recovery after a restart is the normal scan, nothing else.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from core import events as ev
from core.backoff import Backoff
from core.catalog import Catalog
from core.clock import now_ms
from core.config import DeliveryRule, Settings
from core.errors import DeliveryFailed, OrderActionError, SendFailed
from core.goofish.errors import GoofishError
from core.goofish.messages import ImEvent
from core.orders.delivery import mask_code, rule_for, send_unit
from core.orders.states import ACTIVE, ENDED, DeliveryState, apply_notice, release
from core.orders.units import LEASE_MS, claim, new_owner, reserve
from core.session.history import already_sent
from core.session.loop import ImSession
from storage import DeliveryUnit, OrderRecord, Store

log = logging.getLogger(__name__)

SCAN_SECONDS = 1.0
OFFLINE_RETRY_MS = 1_000  # the account is not online (yet): look again soon, without spending a try
RETRY_CAP_SECONDS = 600.0
WORKERS = 4
STOP_WAIT_SECONDS = 3.0  # service stop must stay within the 5 s of docs/contracts.md §2

@dataclass(frozen=True)
class UnitView:
    unit: int
    state: str  # reserved | sent | cancelled
    code: str  # masked
    attempts: int
    sent_at_ms: int | None


@dataclass(frozen=True)
class OrderView:
    """One order as the dashboard shows it. ``units`` are the delivery's units (codes masked)."""

    account_id: str
    order_id: str
    buyer_nick: str
    item_id: str | None
    item_title: str
    status: str
    delivery_state: str  # none | pending | reserved | sent | failed | cancelled
    reason: str
    updated_at_ms: int
    units: tuple[UnitView, ...]
    agreed_price: str | None = None  # what bargaining agreed with this buyer for this item (yuan), if still remembered


class Orders:
    """The service's orders: `service.orders`. Thread-safe; the TUI calls recent/retry/resend."""

    def __init__(self, store: Store, bus: ev.EventBus, sessions: Any,
                 rules_for: Callable[[str], tuple[DeliveryRule, ...] | None], settings: Callable[[], Settings]) -> None:
        self._store = store
        self._db = store.orders
        self._catalog = Catalog(store)
        self._bus = bus
        self._rules_for = rules_for
        self._session_for = sessions.get
        self._settings = settings
        self._stop = threading.Event()
        self._kick = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="delivery")
        self._inflight: set[tuple[str, str]] = set()
        self._inflight_lock = threading.Lock()
        self._scanner: threading.Thread | None = None

    # ---- lifecycle ------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the scan. Its first round is the recovery: deliveries a stopped (or killed) process left
        pending or reserved are due at once."""
        unfinished = self._db.due(now_ms() + LEASE_MS, ACTIVE)
        if unfinished:
            log.info("resuming %d unfinished deliveries (reserved codes are sent again, never replaced)",
                     len(unfinished))
        self._scanner = threading.Thread(target=self._scan_loop, name="delivery-scan", daemon=True)
        self._scanner.start()

    def stop(self) -> None:
        """Stop scanning; give deliveries in progress up to STOP_WAIT_SECONDS to finish the unit they are on.
        One still running after that is cut off by the shutdown, which is a crash like any other: its lease
        and its reserved unit make the next start resume it."""
        self._stop.set()
        self._kick.set()
        if self._scanner is not None:
            self._scanner.join(timeout=STOP_WAIT_SECONDS)
        self._pool.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + STOP_WAIT_SECONDS
        while time.monotonic() < deadline:
            with self._inflight_lock:
                if not self._inflight:
                    return
            time.sleep(0.05)

    def kick(self) -> None:
        self._kick.set()

    # ---- the pipeline's hook --------------------------------------------------------------------------------

    def on_notice(self, session: ImSession, event: ImEvent) -> None:
        """A trade card or notice (on a handler thread). Idempotent: a repeat changes nothing."""
        if not event.order_id or not event.order_status:
            return
        account_id = session.account_id
        if event.sender_id and event.sender_id == session.credentials.unb:
            return  # this account is the buyer of that order: the seller's account delivers, not us
        rule = rule_for(self._rules_for(account_id) or (), event.item_id)
        now = now_ms()
        known = {"cid": event.cid or "", "buyer_id": event.sender_id or "", "item_id": event.item_id,
                 "buyer_nick": event.sender_nick or self._buyer_nick(account_id, event.cid)}
        with self._db.edit(account_id, event.order_id) as tx:
            change = apply_notice(tx, event.order_status, now, None if rule is None else now + int(rule.delay * 1000),
                                  "no delivery rule for this item", event.message_id or "", known)
        order = change.order
        if change.applied:
            self._bus.emit(ev.OrderChanged(account_id, order_id=order.order_id, status=order.status,
                                           previous=change.previous, item_id=order.item_id,
                                           buyer_nick=order.buyer_nick))
        self._emit_cancelled(order, change.cancelled)
        if order.delivery_state in ACTIVE:
            self.kick()

    def is_delivery_echo(self, account_id: str, event: ImEvent) -> bool:
        """The pipeline's own-send filter: the echo of one of our delivery messages."""
        if not event.cid:
            return False
        return self._db.is_delivery(account_id, event.cid, event.text or "", event.image_url)

    def _buyer_nick(self, account_id: str, cid: str | None) -> str:
        """Cards carry no buyer nick; the buyer's own messages in the chat do."""
        if not cid:
            return ""
        rows = self._store.messages.recent(account_id, cid, limit=20)
        return next((m.sender_nick for m in rows if m.kind == "chat" and m.sender_nick), "")

    # ---- what the dashboard calls ------------------------------------------------------------------------------

    def recent(self, account_id: str | None = None, limit: int = 200) -> list[OrderView]:
        orders = self._db.recent(account_id, limit)
        by_account: dict[str, list[str]] = {}
        for order in orders:
            by_account.setdefault(order.account_id, []).append(order.order_id)
        units: dict[tuple[str, str], list[DeliveryUnit]] = {}
        for account, order_ids in by_account.items():
            for unit in self._db.units(account, order_ids):
                units.setdefault((account, unit.order_id), []).append(unit)
        agreed = {(order.account_id, order.buyer_id): self._store.ai.agreed_prices(order.account_id, order.buyer_id,
                                                                                  now_ms())
                  for order in orders if order.buyer_id and order.item_id}
        return [_view(order, units.get((order.account_id, order.order_id), []),
                      agreed.get((order.account_id, order.buyer_id), {}).get(order.item_id or ""))
                for order in orders]

    def retry(self, order_id: str) -> None:
        """A failed (or waiting) delivery tries again now, with a fresh budget of tries. A paid order that had no
        delivery rule is tried too (the seller may have added one since)."""
        order = self._one(order_id)
        never_started = order.delivery_state == DeliveryState.NONE and order.status == "paid"
        if order.delivery_state not in (DeliveryState.FAILED, *ACTIVE) and not never_started:
            raise OrderActionError(f"order {order_id}: delivery is {order.delivery_state}, nothing to retry")
        self._db.update(order.account_id, order.order_id, delivery_state=DeliveryState.PENDING.value,
                        attempts=0, next_try_at_ms=0, reason="retry requested", updated_at_ms=now_ms())
        self._bus.emit(ev.DeliveryChanged(order.account_id, order_id=order_id, unit=0, state="retrying",
                                          reason="retry requested"))
        self.kick()

    def resend(self, order_id: str) -> None:
        """Send the order's reserved/sent units again — the SAME codes, never a new one. Returns at once; the
        outcome arrives as DeliveryChanged events."""
        order = self._one(order_id)
        units = [u for u in self._db.units(order.account_id, [order_id])
                 if u.state in (DeliveryState.SENT, DeliveryState.RESERVED) and u.code]
        if not units:
            raise OrderActionError(f"order {order_id}: no reserved or sent code to resend")
        self._pool.submit(self._resend, order, units)

    def _resend(self, order: OrderRecord, units: list[DeliveryUnit]) -> None:
        session = self._session_for(order.account_id)
        for unit in units:
            try:
                if session is None:
                    raise SendFailed("account is not running")
                send_unit(session, order.cid, order.buyer_id, unit.kind, unit.code or "", unit.text)
                if unit.state == DeliveryState.RESERVED:
                    self._db.mark_unit_sent(order.account_id, order.order_id, unit.unit, now_ms(),
                                        from_state=DeliveryState.RESERVED, to_state=DeliveryState.SENT)
                self._unit_event(order, unit, "sent", "resent by the seller")
            except SendFailed as exc:
                self._unit_event(order, unit, "failed", f"resend failed: {exc}")

    def _one(self, order_id: str) -> OrderRecord:
        found = self._db.find(order_id)
        if not found:
            raise OrderActionError(f"no order {order_id}")
        return found[0]

    # ---- the worker -------------------------------------------------------------------------------------------

    def _scan_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._scan()
            except Exception:  # a database hiccup must not end deliveries for good
                log.exception("delivery scan failed; trying again")
            self._kick.wait(SCAN_SECONDS)
            self._kick.clear()

    def _scan(self) -> None:
        for key in self._db.due(now_ms(), ACTIVE):
            with self._inflight_lock:
                if key in self._inflight:
                    continue
                self._inflight.add(key)
            try:
                self._pool.submit(self._deliver_guarded, *key)
            except RuntimeError:  # the pool shut down: the service is stopping
                self._settle(key)
                return

    def _deliver_guarded(self, account_id: str, order_id: str) -> None:
        try:
            self.deliver(account_id, order_id)
        except Exception:
            log.exception("%s: delivery of order %s failed unexpectedly", account_id, order_id)
        finally:
            self._settle((account_id, order_id))

    def _settle(self, key: tuple[str, str]) -> None:
        with self._inflight_lock:
            self._inflight.discard(key)

    def deliver(self, account_id: str, order_id: str) -> None:
        """One pass over an order's delivery, as its only worker (or nothing, when another worker has it)."""
        owner = new_owner()
        order = claim(self._db, account_id, order_id, owner, now_ms())
        if order is None:
            return
        try:
            changes = self._pass(order, owner)
        except DeliveryFailed as exc:
            changes = self._failed_try(order, exc.reason)
        except (GoofishError, SendFailed) as exc:
            changes = self._failed_try(order, str(exc))
        except Exception as exc:
            log.exception("%s: order %s: delivery pass crashed", account_id, order_id)
            changes = self._failed_try(order, f"internal error: {type(exc).__name__}")
        with self._db.edit(account_id, order_id) as tx:
            cancelled = release(tx, owner, now_ms(), changes)
            released = tx.order
        assert released is not None
        if "attempts" in changes:  # a failed try: said once the row says so (the dashboard reads the row)
            failed = released.delivery_state == DeliveryState.FAILED
            self._bus.emit(ev.DeliveryChanged(account_id, order_id=order_id, unit=0,
                                              state="failed" if failed else "retrying", reason=changes["reason"]))
        self._emit_cancelled(released, cancelled)

    def _pass(self, order: OrderRecord, owner: str) -> dict[str, Any]:
        if order.status in ENDED:
            return {}  # release cancels what is unsent
        session = self._session_for(order.account_id)
        if session is None or session.state != ev.AccountState.ONLINE:
            return {"next_try_at_ms": now_ms() + OFFLINE_RETRY_MS, "reason": "waiting for the account to be online"}
        if not order.cid or not order.buyer_id:  # known only from a trade card; a red reminder lacks them
            return {"next_try_at_ms": now_ms() + OFFLINE_RETRY_MS, "reason": "waiting for the order's trade card"}
        rule = rule_for(self._rules_for(order.account_id) or (), order.item_id)
        if rule is None:
            return {"delivery_state": DeliveryState.NONE.value, "reason": "no delivery rule for this item"}
        order = self._details(session, order)
        if rule.confirm == "before":
            order = self._confirm(session, order)
        for unit_no in range(1, (order.quantity or 1) + 1):
            # Each unit may take a while (API tries, send timeouts): keep the lease ahead of the work, and stop
            # if another worker took it over meanwhile.
            if self._stop.is_set():  # the service is stopping: the next start carries on from here
                return {"reason": "service stopped during delivery", "next_try_at_ms": 0}
            if not self._db.renew_lease(order.account_id, order.order_id, owner, now_ms() + LEASE_MS):
                raise DeliveryFailed("another worker took this delivery over")
            unit = self._reserve(order, rule, unit_no)
            if unit.state == DeliveryState.RESERVED:
                self._send(session, order, unit)
        if rule.confirm == "after":
            order = self._confirm(session, order)
        return {"delivery_state": DeliveryState.SENT.value, "reason": "", "next_try_at_ms": 0}

    def _details(self, session: ImSession, order: OrderRecord) -> OrderRecord:
        """Quantity (and seller check) from the order detail, the item's title for templates; asked once."""
        if order.quantity is not None:
            return order
        info = session.credentials.mtop.order_detail(order.order_id)
        seller = _seller_of(info.raw)
        if seller and seller != session.credentials.unb:
            raise DeliveryFailed("the order's item belongs to another seller")
        title = order.item_title or self._item_title(session, order.item_id)
        updated = self._db.update(order.account_id, order.order_id, quantity=max(info.quantity or 1, 1),
                                        item_title=title)
        assert updated is not None
        return updated

    def _item_title(self, session: ImSession, item_id: str | None) -> str:
        return self._catalog.item(session.credentials.mtop, item_id, session.account_id).title if item_id else ""

    def _confirm(self, session: ImSession, order: OrderRecord) -> OrderRecord:
        if order.shipment_confirmed:
            return order
        try:
            session.credentials.mtop.confirm_shipment(order.order_id)
        except GoofishError as exc:
            raise DeliveryFailed(f"confirm shipment failed: {exc}") from exc
        updated = self._db.update(order.account_id, order.order_id, shipment_confirmed=True)
        assert updated is not None
        return updated

    def _reserve(self, order: OrderRecord, rule: DeliveryRule, unit_no: int) -> DeliveryUnit:
        unit, reserved_now = reserve(self._db, order, rule, unit_no, now_ms())
        if not reserved_now:
            return unit
        if rule.kind == "stock":
            self._check_stock(order.account_id, rule)
        if order.delivery_state == DeliveryState.PENDING:
            self._db.update(order.account_id, order.order_id, delivery_state=DeliveryState.RESERVED.value)
        self._unit_event(order, unit, "reserved", "")
        return unit

    def _send(self, session: ImSession, order: OrderRecord, unit: DeliveryUnit) -> None:
        if unit.attempts > 0 and already_sent(session, order.cid, unit.text, unit.reserved_at_ms, wait_online=0):
            log.info("%s: order %s unit %d was delivered before the restart; not sending it twice",
                     order.account_id, order.order_id, unit.unit)
        else:
            self._db.note_attempt(order.account_id, order.order_id, unit.unit, now_ms())
            send_unit(session, order.cid, order.buyer_id, unit.kind, unit.code or "", unit.text)
        if self._db.mark_unit_sent(order.account_id, order.order_id, unit.unit, now_ms(),
                                        from_state=DeliveryState.RESERVED, to_state=DeliveryState.SENT):
            self._unit_event(order, unit, "sent", "")

    def _check_stock(self, account_id: str, rule: DeliveryRule) -> None:
        if rule.low_stock <= 0:
            return
        left = self._store.stock.available(rule.source)
        low = left <= rule.low_stock
        if self._store.stock.set_low(rule.source, low) and low:
            self._bus.emit(ev.StockLow(account_id, stock=rule.source, left=left, threshold=rule.low_stock))

    def _failed_try(self, order: OrderRecord, reason: str) -> dict[str, Any]:
        """The row changes of a failed try: another try after a backoff, or `failed` when tries are used up."""
        settings = self._settings()
        attempts = order.attempts + 1
        if attempts >= settings.delivery_attempts:
            return {"delivery_state": DeliveryState.FAILED.value, "reason": reason, "attempts": attempts}
        backoff = Backoff(settings.delivery_retry_seconds, max(RETRY_CAP_SECONDS, settings.delivery_retry_seconds))
        delay_ms = int(backoff.next_delay(attempts) * 1000)
        return {"reason": reason, "attempts": attempts, "next_try_at_ms": now_ms() + delay_ms}

    # ---- events -------------------------------------------------------------------------------------------------

    def _unit_event(self, order: OrderRecord, unit: DeliveryUnit, state: str, reason: str) -> None:
        self._bus.emit(ev.DeliveryChanged(order.account_id, order_id=order.order_id, unit=unit.unit, state=state,
                                          code=mask_code(unit.code), reason=reason))

    def _emit_cancelled(self, order: OrderRecord, units: tuple[DeliveryUnit, ...]) -> None:
        for unit in units:
            self._unit_event(order, unit, "cancelled", f"order {order.status}: code returned to stock")


def _view(order: OrderRecord, units: list[DeliveryUnit], agreed_price: str | None) -> OrderView:
    return OrderView(
        account_id=order.account_id, order_id=order.order_id, buyer_nick=order.buyer_nick or order.buyer_id,
        item_id=order.item_id, item_title=order.item_title, status=order.status,
        delivery_state=order.delivery_state, reason=order.reason, updated_at_ms=order.updated_at_ms,
        units=tuple(UnitView(u.unit, u.state, mask_code(u.code), u.attempts, u.sent_at_ms) for u in units),
        agreed_price=agreed_price)


def _seller_of(detail: Any) -> str | None:
    """The seller id an order detail names (orderInfoVO.orderInfo.sellerId), when it names one."""
    components = detail.get("components") if isinstance(detail, dict) else None
    for component in components if isinstance(components, list) else []:
        if isinstance(component, dict) and component.get("render") == "orderInfoVO":
            seller = ((component.get("data") or {}).get("orderInfo") or {}).get("sellerId")
            return str(seller) if seller else None
    return None
