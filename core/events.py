"""Service events: frozen values that flow one way, from the core to its sinks.

The headless log and the TUI are two sinks. A sink's ``emit`` is called from service threads, so it
must not block (the TUI's sink only does ``post_message``); a sink that raises is logged and skipped,
never allowed to take an account down.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Protocol

log = logging.getLogger(__name__)

# Account states (design: at least these). Kept as plain strings so they print and persist as-is.
STARTING = "starting"
ONLINE = "online"
BACKOFF = "backoff"
NEEDS_VERIFICATION = "needs_verification"
LOGIN_REQUIRED = "login_required"
STOPPED = "stopped"
DISABLED = "disabled"
STATES = (STARTING, ONLINE, BACKOFF, NEEDS_VERIFICATION, LOGIN_REQUIRED, STOPPED, DISABLED)


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class Event:
    account_id: str
    at_ms: int = field(default_factory=now_ms, kw_only=True)


@dataclass(frozen=True)
class StateChanged(Event):
    state: str
    previous: str
    reason: str = ""


@dataclass(frozen=True)
class MessageReceived(Event):
    cid: str
    sender_id: str
    sender_nick: str
    text: str
    item_id: str | None
    message_id: str
    kind: str


@dataclass(frozen=True)
class MessageDecided(Event):
    """What the pipeline did with a buyer message that got no reply (debounced, paused, too old …)."""

    cid: str
    message_id: str
    decision: str


@dataclass(frozen=True)
class ReplySent(Event):
    cid: str
    to_id: str
    text: str
    rule: str
    latency_ms: int


@dataclass(frozen=True)
class ReplyFailed(Event):
    cid: str
    text: str
    rule: str
    error: str


@dataclass(frozen=True)
class ChatPaused(Event):
    cid: str
    until_ms: int
    reason: str


@dataclass(frozen=True)
class ChatResumed(Event):
    cid: str


@dataclass(frozen=True)
class OrderNotice(Event):
    cid: str
    order_id: str | None
    status: str | None
    item_id: str | None


@dataclass(frozen=True)
class VerificationChanged(Event):
    """A slider-verification job moved. ``phase``: queued (waiting for a browser slot; ``position`` in the
    FIFO) → running (``attempt`` n) → solved | failed (tries used up: manual path) | gave_up (waited longer
    than the slot timeout). ``url`` is the punish URL, which a seller may open by hand."""

    phase: str
    url: str
    position: int = 0
    attempt: int = 0
    detail: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class OrderChanged(Event):
    """An order's state moved forward (stale or out-of-order notices emit nothing)."""

    order_id: str
    status: str
    previous: str | None
    item_id: str | None
    buyer_nick: str


@dataclass(frozen=True)
class DeliveryChanged(Event):
    """One unit of an order's delivery moved: reserved | sent | failed | cancelled | retrying.
    ``code`` is always masked; the full code only ever goes to the buyer."""

    order_id: str
    unit: int
    state: str
    code: str = ""
    reason: str = ""


@dataclass(frozen=True)
class StockLow(Event):
    """A stock list fell to or below its threshold (once per crossing)."""

    stock: str
    left: int
    threshold: int


@dataclass(frozen=True)
class AccountError(Event):
    message: str


@dataclass(frozen=True)
class ConfigReloaded(Event):
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]


@dataclass(frozen=True)
class ConfigInvalid(Event):
    errors: tuple[str, ...]


class Sink(Protocol):
    def emit(self, event: Event) -> None: ...


class EventBus:
    """Fans events out to sinks. Thread-safe; sinks may be added and removed while running."""

    def __init__(self) -> None:
        self._sinks: tuple[Sink, ...] = ()
        self._lock = threading.Lock()

    def add(self, sink: Sink) -> None:
        with self._lock:
            self._sinks = (*self._sinks, sink)

    def remove(self, sink: Sink) -> None:
        with self._lock:
            self._sinks = tuple(s for s in self._sinks if s is not sink)

    def emit(self, event: Event) -> None:
        for sink in self._sinks:  # a tuple snapshot: no lock on the hot path
            try:
                sink.emit(event)
            except Exception:  # a broken sink must not break the account that emitted
                log.exception("event sink %r failed on %s", sink, type(event).__name__)
