"""`Outbox`: the one way a reply leaves — an automatic one, a retried one, one typed in the dashboard.

    send ─► session.send_text_nowait ─► (socket thread) server said yes ─► sent (mark written behind)
                    │ refused / lost / timed out
                    ▼
            timer (2 s, 4 s) ─► handler: [answer was lost? ask the chat's history] ─► send again … ─► failed

The reply's row is written *pending* before the first try (by the caller, with the message's decision), so its
echo is recognised as ours whatever happens next, and a run killed before the row says "sent" leaves it pending:
the next run `resume`s it (core/replies/recover.py) — history first, since the server may have it — so a reply
decided is sent exactly once across crashes. No try blocks a thread while the server answers: the answer
comes back on the socket thread. Only the history check, which waits for the account to come back online and
asks the server, runs on a handler. A retry goes out on the account's *current* session (a reconnect may have
replaced it).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from core import events as ev
from core.clock import now_ms
from core.errors import SendFailed
from core.replies.dispatch import ChatDispatcher
from core.replies.takeover import EchoBook
from core.replies.timers import Timers
from core.replies.writebehind import WriteBehind
from core.session.history import already_sent
from core.session.loop import ImSession
from storage import ReplyStatus, Store

log = logging.getLogger(__name__)

SEND_TRIES = 3
SEND_RETRY_DELAY = 2.0  # before try n+1: n × this
SENT_MARK_SECONDS = 0.05  # how long a reply's "sent" mark may wait to share a transaction

Done = Callable[[bool], None]


@dataclass(frozen=True, slots=True)
class PendingReply:
    """A reply row written pending, and what the send needs."""

    reply_id: int
    account_id: str
    cid: str
    to_id: str
    text: str
    rule: str
    decided_at_ms: int
    started_ms: int  # when the message it answers arrived (for the latency the log and dashboard show)


class Outbox:
    def __init__(self, store: Store, bus: ev.EventBus, echoes: EchoBook, dispatcher: ChatDispatcher, timers: Timers,
                 session_for: Callable[[str], ImSession | None]) -> None:
        self._store = store
        self._bus = bus
        self._echoes = echoes
        self._dispatcher = dispatcher
        self._timers = timers
        self._session_for = session_for
        self._sent_marks: WriteBehind[tuple[int, int, int]] = WriteBehind(
            store.replies.mark_sent, SENT_MARK_SECONDS, "sent-marks")
        self._active: set[int] = set()  # reply ids between their first try and their outcome
        self._active_lock = threading.Lock()

    def close(self) -> None:
        self._sent_marks.close()

    def send(self, session: ImSession, reply: PendingReply, on_done: Done | None = None) -> None:
        """First try now, without waiting for the server; `on_done(sent)` once the reply is sent or has failed."""
        self._begin(reply)
        self._try(session, reply, 1, ambiguous=False, on_done=on_done)

    def resume(self, reply: PendingReply, on_done: Done | None = None) -> None:
        """On a handler: a reply an earlier run left pending. It may have reached the server before that run died,
        so the chat's history is asked first; then it is sent like any other. A reply already on its way here is
        left to that."""
        with self._active_lock:
            if reply.reply_id in self._active:
                return
        log.info("%s: chat %s: resuming a reply an earlier run left unsent", reply.account_id, reply.cid)
        self._begin(reply)
        self._retry(reply, 1, ambiguous=True, error="left unsent by an earlier run", on_done=on_done)

    def _begin(self, reply: PendingReply) -> None:
        with self._active_lock:
            self._active.add(reply.reply_id)
        self._echoes.expect(reply.account_id, reply.cid, reply.text, reply.decided_at_ms)

    def _end(self, reply: PendingReply) -> None:
        with self._active_lock:
            self._active.discard(reply.reply_id)

    def _try(self, session: ImSession, reply: PendingReply, attempt: int, ambiguous: bool,
             on_done: Done | None) -> None:
        def answered(failure: SendFailed | None) -> None:  # on the socket thread
            try:
                if failure is None:
                    self._sent(session, reply, attempt, on_done)
                else:
                    self._failed_try(reply, attempt, failure, ambiguous, on_done)
            except Exception:
                log.exception("%s: recording the answer to a send in chat %s failed", reply.account_id, reply.cid)

        try:
            session.send_text_nowait(reply.cid, reply.to_id, reply.text, answered)
        except SendFailed as exc:
            self._failed_try(reply, attempt, exc, ambiguous, on_done)

    def _failed_try(self, reply: PendingReply, attempt: int, failure: SendFailed, ambiguous: bool,
                    on_done: Done | None) -> None:
        log.warning("%s: send to chat %s failed (try %d of %d): %s", reply.account_id, reply.cid, attempt,
                    SEND_TRIES, failure)
        ambiguous = ambiguous or failure.maybe_delivered
        if attempt >= SEND_TRIES:
            self._give_up(reply, str(failure), on_done)
            return
        retry = lambda: self._retry(reply, attempt + 1, ambiguous, str(failure), on_done)  # noqa: E731
        self._timers.schedule(("resend", reply.reply_id), SEND_RETRY_DELAY * attempt,
                              lambda: self._dispatcher.submit((reply.account_id, reply.cid), retry))

    def _retry(self, reply: PendingReply, attempt: int, ambiguous: bool, error: str, on_done: Done | None) -> None:
        """On a handler: the history check a lost answer needs, then the next try."""
        session = self._session_for(reply.account_id)
        if session is None:
            self._give_up(reply, f"{error}; the account stopped", on_done)
            return
        if ambiguous:
            try:
                if already_sent(session, reply.cid, reply.text, reply.decided_at_ms,
                                wait_online=SEND_RETRY_DELAY * SEND_TRIES * 2):
                    log.info("%s: chat %s: the server had the reply after all; not sending it twice",
                             reply.account_id, reply.cid)
                    self._sent(session, reply, attempt, on_done)
                    return
            except SendFailed as exc:
                self._failed_try(reply, attempt, exc, ambiguous, on_done)
                return
        self._try(session, reply, attempt, ambiguous=ambiguous, on_done=on_done)

    def _sent(self, session: ImSession, reply: PendingReply, attempt: int, on_done: Done | None) -> None:
        sent = now_ms()
        self._sent_marks.put((reply.reply_id, sent, attempt))
        self._end(reply)
        session.replies_out += 1
        self._bus.emit(ev.ReplySent(reply.account_id, cid=reply.cid, to_id=reply.to_id, text=reply.text,
                                    rule=reply.rule, latency_ms=sent - reply.started_ms, at_ms=sent))
        if on_done is not None:
            on_done(True)

    def _give_up(self, reply: PendingReply, error: str, on_done: Done | None) -> None:
        self._store.replies.mark(reply.reply_id, ReplyStatus.FAILED, attempts=SEND_TRIES, error=error)
        self._end(reply)
        self._echoes.forget(reply.account_id, reply.cid, reply.text)
        self._bus.emit(ev.ReplyFailed(reply.account_id, cid=reply.cid, text=reply.text, rule=reply.rule,
                                      error=error))
        if on_done is not None:
            on_done(False)
