"""The outbox's senders: one thread per channel takes that channel's due messages from the database and sends them
through apprise, within the channel's rate limit, retrying a failure with backoff and leaving a message ``dead``
(with a log line) after the policy's last try.

A channel that hangs or fails holds up only its own thread: sessions, replies, deliveries and the other channels
never wait for it. A sender first claims a message (pending → sending: a reload's new sender of the same channel
cannot send it too), and marks it sent after apprise said so; a process killed in between sends it again at the
next start, which puts what was ``sending`` back to pending (at least once: no webhook takes an idempotency key).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from core import events as ev
from core.clock import now_ms
from core.config.notify_schema import NotifySettings
from core.notify.channels import Channel
from core.notify.errors import NotifyError
from storage import NotifyMessage, Store

log = logging.getLogger(__name__)

IDLE_SECONDS = 5.0  # how long a sender sleeps with nothing due, unless woken by a new message


class RateLimit:
    """A token bucket: at most *per_minute* sends in any minute, bursts up to that many."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = per_minute / 60.0
        self._capacity = float(per_minute)
        self._tokens = float(per_minute)
        self._clock = clock
        self._at = clock()

    def wait_seconds(self) -> float:
        """0 when a send may go now (and takes its token), else how long until one may."""
        now = self._clock()
        self._tokens = min(self._capacity, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / self._rate


class Sender:
    def __init__(self, channel: Channel, store: Store, bus: ev.EventBus,
                 policy: Callable[[], NotifySettings]) -> None:
        self.channel = channel
        self._store = store
        self._bus = bus
        self._policy = policy
        self._limit = RateLimit(channel.config.rate_per_minute)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"notify-{channel.name}", daemon=True)

    def start(self) -> Sender:
        self._thread.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 0.0) -> None:
        self._stop.set()
        self._wake.set()
        if timeout:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                due = self._store.notices.due_messages(self.channel.name, now_ms())
                for message in due:
                    if self._stop.is_set() or not self._paced():
                        return
                    if message.id is not None and self._store.notices.claim_message(message.id):
                        self._send(message)  # a reload's new sender of this channel may have taken it
                if not due:
                    self._idle()
            except Exception:  # the database away for a moment: try again shortly, never end the thread
                log.exception("notifications to %s: the outbox could not be read; trying again", self.channel.name)
                self._stop.wait(IDLE_SECONDS)

    def _idle(self) -> None:
        upcoming = self._store.notices.next_due(self.channel.name)
        wait = IDLE_SECONDS if upcoming is None else min(IDLE_SECONDS, max(0.05, (upcoming - now_ms()) / 1000))
        self._wake.wait(wait)
        self._wake.clear()

    def _paced(self) -> bool:
        """Wait for the rate limit; False when stopped meanwhile."""
        while (wait := self._limit.wait_seconds()) > 0:
            if self._stop.wait(wait):
                return False
        return True

    def _send(self, message: NotifyMessage) -> None:
        assert message.id is not None
        try:
            tone = "recovered" if message.kind == "account_recovered" else message.severity  # green on the phone
            outcome = self.channel.send(message.title, message.body, tone)
            ok, detail = outcome.ok, outcome.detail
        except NotifyError as exc:
            ok, detail = False, str(exc)
        attempts = message.attempts + 1
        policy = self._policy()
        if ok:
            self._store.notices.change_message(message.id, state="sent", attempts=attempts, sent_at_ms=now_ms(),
                                               last_error="")
            self._said(message, "sent", "")
        elif attempts >= policy.attempts:
            self._store.notices.change_message(message.id, state="dead", attempts=attempts, last_error=detail)
            self._said(message, "dead", f"given up after {attempts} tries: {detail}")
        else:
            delay = policy.retry_delay(attempts)
            self._store.notices.change_message(message.id, state="pending", attempts=attempts, last_error=detail,
                                               next_at_ms=now_ms() + int(delay * 1000))
            self._said(message, "retrying", f"try {attempts} of {policy.attempts} failed, again in {delay:.0f} s: "
                                            f"{detail}")

    def _said(self, message: NotifyMessage, state: str, error: str) -> None:
        """The outcome as an event: the log line (LogSink: a warning per failed try, an error when dead)."""
        self._bus.emit(ev.NotificationChanged(message.accounts.split(",")[0] if message.accounts else "*",
                                              channel=self.channel.name, kind=message.kind, title=message.title,
                                              state=state, error=error))
