"""The seller's own messages: our echoes told apart from typing by hand, and the takeover pause that follows.

The platform pushes every message the account sends back to it as its own. One that matches a reply we sent
recently (same chat, same text, decided within `ECHO_WINDOW_MS` of the echo's platform time) is ours; a delivery's
echo is the orders capability's (asked through `is_delivery_echo`); anything else is the seller typing on the
phone: it is kept for the chat's history and the chat pauses for `takeover_minutes` (persisted, so it survives a
restart). A reply typed in the dashboard pauses the chat the same way (`Takeover.pause`).

A step of the wall clock (NTP, a hand-set clock, a VM's clock catching up) must neither end nor stretch a pause
within one run, nor make every message look old: `SteadyClock` keeps the stage's sense of time on the boot clock,
the wall clock being read once, as an anchor.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from core import events as ev
from core.clock import now_ms
from core.goofish.messages import ImEvent
from storage import ReplyStatus, Store

log = logging.getLogger(__name__)

MANUAL_RULE = "manual"  # the rule of a reply the seller typed (dashboard or phone)

# How long after its decision a pending or sent reply can still explain an echo. Echoes come within seconds of
# the send, but sends are retried with delays; a longer window would take more hand-typed repeats for echoes.
ECHO_WINDOW_MS = 2 * 60_000
ECHO_MEMORY = 20_000  # at most this many recent replies remembered for echo matching (a burst's bound)
# An entry older than this (by decision time) than the newest can explain no echo still to come: it is dropped,
# so the book holds minutes of replies, not the last 20,000 (which at a busy shop's pace is hours and megabytes).
ECHO_KEEP_MS = 2 * ECHO_WINDOW_MS
SEEN_TTL_MS = 7 * 24 * 3600 * 1000  # a message id is remembered a week (replays come within hours)

# Elapsed time that neither steps with the wall clock nor stops while the machine sleeps (Linux's boot clock).
_STEADY = getattr(time, "CLOCK_BOOTTIME", time.CLOCK_MONOTONIC)


def steady_ms() -> int:
    return time.clock_gettime_ns(_STEADY) // 1_000_000


class SteadyClock:
    """How old a message is, measured so that a step of the local wall clock does not count.

    A message's `created_at` is the platform's clock; the age test compares it with when we received it. The wall
    clock is read once (when the replies stage is built) and advanced by the boot clock from then on; a platform
    time seen later (a message's `created_at`, never ahead of our own wall clock) pulls that forward, as it does
    when the machine started with its clock behind. A receipt time is taken as the earlier of the wall clock and
    this steady one: a forward step of the wall clock (ours alone: the platform's did not move) does not age every
    message by the step, and a step back (a clock that was ahead being corrected) is followed, as before. Erring
    early only ever answers a replay that is a little old; erring late would leave every buyer unanswered."""

    def __init__(self) -> None:
        self._offset = now_ms() - steady_ms()  # steady epoch ms = steady_ms() + offset

    def saw(self, platform_ms: int | None) -> None:
        """The platform's clock read `platform_ms` a moment ago (a message's `created_at`)."""
        if platform_ms and platform_ms <= now_ms():  # never further than our own wall clock (a bogus stamp)
            self._offset = max(self._offset, platform_ms - steady_ms())  # a lost race only delays a raise

    def received(self, wall_ms: int) -> int:
        """When a message whose receipt the wall clock stamped `wall_ms` (a moment ago) arrived, for age tests."""
        return min(wall_ms, wall_ms + steady_ms() + self._offset - now_ms())


# One per process, as the platform's clock and the boot clock are one: the replies stage's age tests use it.
STEADY_CLOCK = SteadyClock()


class PauseBook:
    """Active chat pauses, in memory: asked for every buyer message, written only on pause/resume.

    The database stays the record; this mirror is loaded once for every account when the replies stage is built
    (one query, instead of one per account in the middle of its first buyer message), and this stage is the only
    writer, so the two never disagree within one process. The record's end is wall-clock (`until_ms`, what the
    next run reads); the mirror keeps it as a deadline on the steady clock (`steady_ms`), so a step of the wall
    clock neither ends nor stretches a pause within one run."""

    def __init__(self, store: Store, now: int) -> None:
        steady = steady_ms()
        self._deadline: dict[tuple[str, str], int] = {
            (pause.account_id, pause.cid): steady + pause.until_ms - now for pause in store.chats.pauses(now)}
        self._lock = threading.Lock()

    def paused(self, account_id: str, cid: str) -> bool:
        return self._deadline.get((account_id, cid), 0) > steady_ms()

    def set(self, account_id: str, cid: str, until_ms: int) -> None:
        """Pause until the wall clock reads `until_ms`, as it runs now."""
        with self._lock:
            self._deadline[(account_id, cid)] = steady_ms() + until_ms - now_ms()

    def clear(self, account_id: str, cid: str) -> None:
        with self._lock:
            self._deadline.pop((account_id, cid), None)


class EchoBook:
    """Replies this process sent recently, in memory, so telling an echo from the seller costs no query. The
    database (`store.replies.find_ours`) stays the answer after a restart or once an entry was pushed out."""

    def __init__(self, keep: int = ECHO_MEMORY) -> None:
        self._sent: OrderedDict[tuple[str, str, str], int] = OrderedDict()
        self._keep = keep
        self._lock = threading.Lock()

    def expect(self, account_id: str, cid: str, text: str, decided_ms: int) -> None:
        with self._lock:
            self._sent[(account_id, cid, text)] = decided_ms
            self._sent.move_to_end((account_id, cid, text))
            if len(self._sent) > self._keep:
                self._sent.popitem(last=False)
            # Oldest first (entries arrive in about decision order): drop those past any echo's reach.
            while self._sent:
                oldest = next(iter(self._sent.values()))
                if oldest >= decided_ms - ECHO_KEEP_MS:
                    break
                self._sent.popitem(last=False)

    def __len__(self) -> int:
        return len(self._sent)

    def forget(self, account_id: str, cid: str, text: str) -> None:
        with self._lock:
            self._sent.pop((account_id, cid, text), None)

    def ours(self, account_id: str, cid: str, text: str, echo_created_ms: int) -> bool:
        """The same test as `store.replies.find_ours`: this text, decided within the echo window."""
        decided = self._sent.get((account_id, cid, text))
        return decided is not None and decided >= echo_created_ms - ECHO_WINDOW_MS


class Takeover:
    def __init__(self, store: Store, bus: ev.EventBus, echoes: EchoBook,
                 takeover_minutes: Callable[[str], float],
                 is_delivery_echo: Callable[[str, ImEvent], bool]) -> None:
        self._store = store
        self._bus = bus
        self._echoes = echoes
        self._minutes = takeover_minutes
        self._is_delivery_echo = is_delivery_echo
        self.pauses = PauseBook(store, now_ms())

    def on_own_message(self, account_id: str, event: ImEvent, received_ms: int) -> None:
        # Ours? Matched around the echo's *platform* time, so an echo replayed after a restart is still
        # recognised (and the common case costs one read, no write).
        created = event.created_at or received_ms
        STEADY_CLOCK.saw(event.created_at)
        text = event.text or ""
        if self._echoes.ours(account_id, event.cid, text, created) or self._store.replies.find_ours(
                account_id, event.cid, text, not_before_ms=created - ECHO_WINDOW_MS) is not None:
            return
        if self._is_delivery_echo(account_id, event):
            return  # a delivery's echo: neither the seller typing nor words to keep (it holds the code)
        if event.message_id and not self._store.messages.mark_seen(account_id, event.message_id, SEEN_TTL_MS,
                                                                   received_ms):
            return
        self._store.replies.add(account_id=account_id, cid=event.cid, to_id="", rule=MANUAL_RULE, text=text,
                                decided_at_ms=created, status=ReplyStatus.MANUAL, sent_at_ms=created)
        minutes = self._minutes(account_id)
        # What is left of the pause the seller's message started, by its age (not by our wall clock alone).
        left = created + int(minutes * 60_000) - STEADY_CLOCK.received(received_ms)
        if minutes > 0 and left > 0:  # a takeover long over (a replay) pauses nothing
            self._pause_until(account_id, event.cid, received_ms + left, "seller replied by hand")

    def after_manual_reply(self, account_id: str, cid: str) -> None:
        """A reply typed in the dashboard went out: the chat pauses like any takeover."""
        minutes = self._minutes(account_id)
        if minutes > 0:
            self.pause(account_id, cid, minutes, "seller replied from the dashboard")

    def pause(self, account_id: str, cid: str, minutes: float, reason: str) -> None:
        self._pause_until(account_id, cid, now_ms() + int(minutes * 60_000), reason)

    def resume(self, account_id: str, cid: str) -> None:
        self._store.chats.resume(account_id, cid)
        self.pauses.clear(account_id, cid)
        self._bus.emit(ev.ChatResumed(account_id, cid=cid))

    def _pause_until(self, account_id: str, cid: str, until: int, reason: str) -> None:
        self._store.chats.pause(account_id, cid, until, reason)
        self.pauses.set(account_id, cid, until)
        self._bus.emit(ev.ChatPaused(account_id, cid=cid, until_ms=until, reason=reason))
