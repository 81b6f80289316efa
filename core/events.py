"""Service events: frozen values that flow one way, from the core to its sinks, and the bus that carries them.

The log (core/logsink.py) and the dashboard (tui/feed.py) are two sinks; notifications and metrics are added the
same way, by `bus.add(sink)`, never by a call from the pipeline. Emitting never blocks the emitting thread (a
socket thread, a handler): by default a sink gets its own thread and a bounded queue, so a slow one (a log file
on a full disk, a webhook) falls behind — and past `SINK_QUEUE` queued events drops the newest and says so —
instead of holding up a reply. A sink that only touches memory (the dashboard's `post_message`, a test's list)
sets `inline = True` and is called on the emitting thread. A sink that raises is logged and skipped.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from core.clock import now_ms

log = logging.getLogger(__name__)

# Events a threaded sink may fall behind by before it drops (about a minute of a busy service).
SINK_QUEUE = 10_000


class AccountState(StrEnum):
    """An account's state, as the session loop sets it (StrEnum: prints and persists as the plain string)."""

    STARTING = "starting"
    ONLINE = "online"
    BACKOFF = "backoff"
    NEEDS_VERIFICATION = "needs_verification"
    LOGIN_REQUIRED = "login_required"
    STOPPED = "stopped"
    DISABLED = "disabled"


# States in which the account needs attention (logged as warnings, shown red).
TROUBLED = frozenset({AccountState.BACKOFF, AccountState.NEEDS_VERIFICATION, AccountState.LOGIN_REQUIRED})


@dataclass(frozen=True)
class Event:
    account_id: str
    at_ms: int = field(default_factory=now_ms, kw_only=True)


@dataclass(frozen=True)
class StateChanged(Event):
    state: AccountState
    previous: AccountState
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
class NeedsYou(Event):
    """A chat the bot keeps out of until the seller answers: the buyer asked for a person."""

    cid: str
    reason: str
    text: str = ""


@dataclass(frozen=True)
class DraftSuggested(Event):
    """An AI draft waits for the seller (ai.mode: suggest): send it, edit it, or discard it."""

    cid: str
    draft_id: int
    text: str
    decision: str = ""


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
class LoginExpiring(Event):
    """The long login ends soon, or renewing it keeps failing: a QR login now saves an outage later."""

    left_ms: int | None
    reason: str


@dataclass(frozen=True)
class NotificationChanged(Event):
    """A notification to one channel was sent, failed a try (``retrying``) or was given up (``dead``)."""

    channel: str
    kind: str
    title: str
    state: str
    error: str = ""


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


class _Threaded:
    """A sink behind its own thread and bounded queue (see the module docstring)."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self._queue: queue.Queue[Event | None] = queue.Queue(SINK_QUEUE)
        self._dropped = 0
        self._thread = threading.Thread(target=self._run, name=f"sink-{type(sink).__name__}", daemon=True)
        self._thread.start()

    def emit(self, event: Event) -> None:
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self._dropped += 1
            if self._dropped in (1, 100, 10_000) or self._dropped % 100_000 == 0:
                log.warning("event sink %s is %d events behind: %d dropped so far", type(self.sink).__name__,
                            SINK_QUEUE, self._dropped)

    def close(self, timeout: float) -> None:
        """Deliver what is queued (up to `timeout` seconds), then end the thread."""
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            return
        self._thread.join(timeout)

    def _run(self) -> None:
        while (event := self._queue.get()) is not None:
            _deliver(self.sink, event)


def _deliver(sink: Sink, event: Event) -> None:
    try:
        sink.emit(event)
    except Exception:  # a broken sink must not break the account that emitted
        log.exception("event sink %r failed on %s", sink, type(event).__name__)


class EventBus:
    """Fans events out to sinks. Thread-safe; sinks may be added and removed while running."""

    def __init__(self) -> None:
        self._sinks: tuple[Sink, ...] = ()  # inline sinks as given, the others wrapped in _Threaded
        self._lock = threading.Lock()

    def add(self, sink: Sink) -> None:
        wrapped: Sink = sink if getattr(sink, "inline", False) else _Threaded(sink)
        with self._lock:
            self._sinks = (*self._sinks, wrapped)

    def remove(self, sink: Sink, timeout: float = 1.0) -> None:
        with self._lock:
            gone = [s for s in self._sinks if s is sink or getattr(s, "sink", None) is sink]
            self._sinks = tuple(s for s in self._sinks if s not in gone)
        for wrapped in gone:
            if isinstance(wrapped, _Threaded):
                wrapped.close(timeout)

    def close(self, timeout: float = 1.0) -> None:
        """At shutdown: let the threaded sinks write what they were given."""
        for sink in self._sinks:
            if isinstance(sink, _Threaded):
                sink.close(timeout)

    def emit(self, event: Event) -> None:
        for sink in self._sinks:  # a tuple snapshot: no lock on the hot path
            _deliver(sink, event)
