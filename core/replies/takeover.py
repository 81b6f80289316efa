"""The seller's own messages: our echoes told apart from typing by hand, and the takeover pause that follows.

The platform pushes every message the account sends back to it as its own. One that matches a reply we sent
recently (same chat, same text, decided within `ECHO_WINDOW_MS` of the echo's platform time) is ours; a delivery's
echo is the orders capability's (asked through `is_delivery_echo`); anything else is the seller typing on the
phone: it is kept for the chat's history and the chat pauses for `takeover_minutes` (persisted, so it survives a
restart). A reply typed in the dashboard pauses the chat the same way (`Takeover.pause`).
"""

from __future__ import annotations

import logging
import threading
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
ECHO_MEMORY = 20_000  # recent replies remembered for echo matching (about 2 MB)
SEEN_TTL_MS = 7 * 24 * 3600 * 1000  # a message id is remembered a week (replays come within hours)


class PauseBook:
    """Active chat pauses, in memory: asked for every buyer message, written only on pause/resume.

    The database stays the record; this mirror is loaded once for every account when the replies stage is built
    (one query, instead of one per account in the middle of its first buyer message), and this stage is the only
    writer, so the two never disagree within one process."""

    def __init__(self, store: Store, now: int) -> None:
        self._until: dict[tuple[str, str], int] = {
            (pause.account_id, pause.cid): pause.until_ms for pause in store.chats.pauses(now)}
        self._lock = threading.Lock()

    def paused(self, account_id: str, cid: str, now: int) -> bool:
        return self._until.get((account_id, cid), 0) > now

    def set(self, account_id: str, cid: str, until_ms: int) -> None:
        with self._lock:
            self._until[(account_id, cid)] = until_ms

    def clear(self, account_id: str, cid: str) -> None:
        with self._lock:
            self._until.pop((account_id, cid), None)


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
        until = created + int(minutes * 60_000)
        if minutes > 0 and until > received_ms:  # a takeover long over (a replay) pauses nothing
            self._pause_until(account_id, event.cid, until, "seller replied by hand")

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
