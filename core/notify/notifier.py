"""`Notifier`: the event sink that turns what the service reports into notifications on the seller's phone.

Added to the bus like any sink (``bus.add(notifier)``), never called by the pipeline. ``emit`` runs on the emitting
thread (a socket thread, a handler) and only puts the few event types it watches on a bounded queue; everything
else happens on its own thread, ``notify``: signals open and close incidents, once a second ``tick`` opens the
offline incidents of accounts down past the grace period, closes what expired or recovered for good, writes the
due messages to the outbox and wakes the channels' senders (outbox.py), and writes the daily summary.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from core import events as ev
from core.clock import now_ms
from core.config import Config
from core.config.notify_schema import NotifyChannel, NotifySettings
from core.notify.channels import Channel
from core.notify.flaps import Flaps
from core.notify.incidents import Incidents, held_until
from core.notify.outbox import Sender
from core.notify.signals import WATCHED, signals
from core.notify.wording import summary
from storage import Store

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
QUEUE_SIZE = 10_000


class Notifier:
    inline = True  # emit only queues; the work is on this notifier's own thread

    def __init__(self, store: Store, bus: ev.EventBus, config: Callable[[], Config]) -> None:
        self._store = store
        self._bus = bus
        self._config = config
        self._flaps = Flaps(self._policy)
        self.incidents = Incidents(store, self._policy, self._channel_configs, self._alias)
        self._queue: queue.Queue[ev.Event] = queue.Queue(QUEUE_SIZE)
        self._dropped = 0
        self._senders: dict[str, Sender] = {}
        self._stop = threading.Event()
        self._summary_day = ""
        self._thread = threading.Thread(target=self._run, name="notify", daemon=True)

    # -- the sink ------------------------------------------------------------------------------------------------

    def emit(self, event: ev.Event) -> None:
        if type(event) not in WATCHED:
            return
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self._dropped += 1
            if self._dropped in (1, 100) or self._dropped % 10_000 == 0:
                log.warning("notifications are %d events behind: %d dropped", QUEUE_SIZE, self._dropped)

    def start(self) -> Notifier:
        reset = self._store.notices.unclaim_all()
        if reset:
            log.info("notifications: %d message(s) a stopped run was sending will be sent again", reset)
        self._senders_for(self._channel_configs())
        self._thread.start()
        return self

    def close(self, timeout: float = 1.0) -> None:
        """Stop the thread and the senders; what is unsent stays in the outbox for the next start."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        for sender in self._senders.values():
            sender.stop()

    # -- the notifier's thread -----------------------------------------------------------------------------------

    def _run(self) -> None:
        next_tick = 0.0
        while not self._stop.is_set() or not self._queue.empty():  # at a stop: what was queued, then one tick
            try:
                event = self._queue.get(timeout=max(0.0, next_tick - time.monotonic()))
                self.observe(event)
            except queue.Empty:
                pass
            except Exception:
                log.exception("notifications: an event could not be handled")
            if time.monotonic() >= next_tick or (self._stop.is_set() and self._queue.empty()):
                next_tick = time.monotonic() + TICK_SECONDS
                try:
                    self.tick(now_ms())
                except Exception:  # the database away for a moment: the next tick tries again
                    log.exception("notifications: the incidents could not be updated; trying again")

    def observe(self, event: ev.Event) -> None:
        """One watched event (on this notifier's thread; tests call it directly)."""
        if isinstance(event, ev.StateChanged):
            self._flaps.observe(event)
        for signal in signals(event):
            if signal.kind == "delivery_failed" and signal.opens:
                signal.detail.update(self._order_facts(signal.account_id, signal.detail["order"]))
            self.incidents.apply(signal, event.at_ms)

    def _order_facts(self, account_id: str, order_id: str) -> dict[str, str]:
        """The item and buyer of a failed order, for the message (the event carries only the order id)."""
        order = self._store.orders.get(account_id, order_id)
        if order is None:
            return {}
        return {"item": order.item_title or order.item_id or "", "buyer": order.buyer_nick}

    def tick(self, now: int) -> None:
        channels = self._channel_configs()
        self._senders_for(channels)
        self._offline(now)
        self.incidents.expire(now, lambda account_id: self._config().find(account_id) is not None)
        written = self.incidents.flush(now)
        written += self._daily_summary(channels, now)
        if written:
            for sender in self._senders.values():
                sender.wake()

    def _offline(self, now: int) -> None:
        down = self._flaps.offline(now)
        for account_id, why in down.items():
            self.incidents.open(account_id, "offline", "offline", {"reason": why}, now)
        for account_id, cause in self.incidents.open_causes():
            if cause == "offline" and account_id not in down and self._flaps.stable(account_id, now):
                self.incidents.close(account_id, "offline", now)

    def _daily_summary(self, channels: tuple[NotifyChannel, ...], now: int) -> int:
        wanting = [c for c in channels if "daily_summary" in c.events]
        local = time.localtime(now / 1000)
        day = time.strftime("%Y-%m-%d", local)
        if not wanting or day == self._summary_day or local.tm_hour * 60 + local.tm_min < self._policy().summary_at:
            return 0
        self._summary_day = day
        midnight = int(time.mktime(time.strptime(day, "%Y-%m-%d")) * 1000)
        counts = self._store.notices.day_counts(midnight, now)
        messages = []
        for channel in wanting:
            mine = {a: c for a, c in counts.items() if channel.account in (None, a)}
            title, body = summary(day, mine, self._alias)
            messages.append({"channel": channel.name, "key": f"daily_summary:{day}", "kind": "daily_summary",
                             "severity": "info", "accounts": ",".join(sorted(mine)), "title": title, "body": body,
                             "state": "pending", "created_at_ms": now,
                             "next_at_ms": held_until(self._policy(), "info", now)})
        return self._store.notices.announce(messages, [])

    # -- channels ------------------------------------------------------------------------------------------------

    def _policy(self) -> NotifySettings:
        return self._config().notify.settings  # read each time: a reload applies at once

    def _channel_configs(self) -> tuple[NotifyChannel, ...]:
        return self._config().channels()

    def _senders_for(self, channels: tuple[NotifyChannel, ...]) -> None:
        """One sender per configured channel; a reload that adds, removes or changes one is applied here."""
        wanted = {c.name: c for c in channels}
        for name in [n for n, s in self._senders.items() if wanted.get(n) != s.channel.config]:
            self._senders.pop(name).stop()
        for name, config in wanted.items():
            if name not in self._senders:
                self._senders[name] = Sender(Channel(config), self._store, self._bus, self._policy).start()

    def _alias(self, account_id: str) -> str:
        account = self._config().find(account_id)
        return account.alias if account is not None and account.alias else account_id
