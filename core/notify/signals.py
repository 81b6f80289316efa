"""Service events → incident signals: which events open or close which incident. Pure; no state, no clock.

A state that is final at once opens its incident immediately (the automatic slider solve gave up, the login is
dead, a paid order could not be delivered); a flapping one (disconnects) is not here: ``Flaps`` (flaps.py) opens
``offline`` only after a grace period or K failures. An account online again closes its stateful incidents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core import events as ev

# Incidents that stay open until the account recovers, reminded while open, closed by a follow-up.
STATEFUL = frozenset({"needs_verification", "login_required", "offline", "delivery_failed"})
# The others are said once per cause and hold period (ms): a second event within it says nothing.
HOLD_MS = {"login_expiring": 86_400_000, "low_stock": 86_400_000, "needs_you": 3_600_000,
           "order_paid": 30 * 86_400_000}
SEVERITY = {"needs_verification": "error", "login_required": "error", "delivery_failed": "error",
            "offline": "warning", "login_expiring": "warning", "low_stock": "warning", "needs_you": "warning",
            "order_paid": "info", "daily_summary": "info"}
# What an account back online closes (delivery_failed closes per order, offline by Flaps once stable).
CLOSED_BY_ONLINE = ("needs_verification", "login_required")
# The events a Notifier looks at: checked on the emitting thread, so everything else costs one set lookup.
WATCHED = frozenset({ev.StateChanged, ev.VerificationChanged, ev.LoginExpiring, ev.DeliveryChanged, ev.StockLow,
                     ev.NeedsYou, ev.DraftSuggested, ev.OrderChanged})


@dataclass(frozen=True)
class Signal:
    account_id: str
    kind: str
    cause: str  # kind, or kind:<order | stock list | chat> for the kinds that are per thing
    opens: bool  # False: the incident recovered
    detail: dict[str, Any] = field(default_factory=dict)


def signals(event: ev.Event) -> list[Signal]:
    who = event.account_id
    match event:
        case ev.VerificationChanged(phase="failed" | "gave_up"):
            reason = event.detail or ("waited too long for a browser" if event.phase == "gave_up" else "failed")
            return [Signal(who, "needs_verification", "needs_verification", True, {"url": event.url,
                                                                                   "reason": reason})]
        case ev.StateChanged(state=ev.AccountState.LOGIN_REQUIRED):
            return [Signal(who, "login_required", "login_required", True, {"reason": event.reason})]
        case ev.StateChanged(state=ev.AccountState.ONLINE):
            return [Signal(who, kind, kind, False) for kind in CLOSED_BY_ONLINE]
        case ev.LoginExpiring():
            return [Signal(who, "login_expiring", "login_expiring", True, {"reason": event.reason,
                                                                           "left_ms": event.left_ms})]
        case ev.DeliveryChanged(state="failed", unit=0):
            return [Signal(who, "delivery_failed", f"delivery_failed:{event.order_id}", True,
                           {"order": event.order_id, "reason": event.reason})]
        case ev.DeliveryChanged(state="sent"):
            return [Signal(who, "delivery_failed", f"delivery_failed:{event.order_id}", False)]
        case ev.StockLow():
            return [Signal(who, "low_stock", f"low_stock:{event.stock}", True,
                           {"stock": event.stock, "left": event.left, "threshold": event.threshold})]
        case ev.NeedsYou():
            return [Signal(who, "needs_you", f"needs_you:{event.cid}", True,
                           {"cid": event.cid, "reason": event.reason, "text": event.text})]
        case ev.DraftSuggested():
            return [Signal(who, "needs_you", f"needs_you:{event.cid}", True,
                           {"cid": event.cid, "reason": "an AI draft waits for you to send, edit or discard it",
                            "text": event.text})]
        case ev.OrderChanged(status="paid"):
            return [Signal(who, "order_paid", f"order_paid:{event.order_id}", True,
                           {"order": event.order_id, "item": event.item_id, "buyer": event.buyer_nick})]
    return []
