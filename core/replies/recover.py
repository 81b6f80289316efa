"""`Recovery`: finish what an earlier run (stopped, or killed at any point) left of an account's replies.

- Buyer messages recorded but never decided on: the process died between recording and deciding, or the
  handlers were full when a previous pass ran. The platform's sync replay would not bring them back (they were
  ACKed and marked seen). They are answered now, within `max_message_age`.
- Replies decided but never confirmed sent (still *pending*: the run died before the first try, with a try in
  flight, waiting to retry, or after the server took it but before the row said so). Each is resumed through the
  outbox, which asks the chat's history first, so it reaches the buyer exactly once. One older than
  `max_message_age` is marked *expired* with the reason instead — visible in the chat's history, never dropped
  silently. Replies this run decided are its own outbox's to finish; only those from before its start are taken.

Runs when an account gets online (from its socket thread, so it only `offer`s and stops at the first refusal) and,
for accounts whose pass stopped early, from a scheduler job (`retry_unfinished`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from core import events as ev
from core.clock import now_ms
from core.goofish.messages import ImEvent
from core.replies.answer import AccountRules, Answerer, InFlight
from core.replies.dispatch import ChatDispatcher
from core.replies.outbox import Outbox, PendingReply
from core.replies.takeover import MANUAL_RULE
from core.session.loop import ImSession
from storage import Reply, ReplyStatus, StorageError, Store

log = logging.getLogger(__name__)

# A recorded message is marked in flight by its handler within milliseconds; a retried pass leaves younger rows
# alone so it never takes one that is still on its first way through.
RECOVER_SETTLED_MS = 2_000


class Recovery:
    def __init__(self, store: Store, bus: ev.EventBus, answerer: Answerer, outbox: Outbox,
                 dispatcher: ChatDispatcher, inflight: InFlight, rules_for: Callable[[str], AccountRules | None],
                 session_for: Callable[[str], ImSession | None],
                 after_manual_reply: Callable[[str, str], None]) -> None:
        self._store = store
        self._after_manual_reply = after_manual_reply  # a resumed dashboard reply pauses its chat like any
        self._bus = bus
        self._outbox = outbox
        self._started_ms = now_ms()  # replies decided from here on are this run's own
        self._answerer = answerer
        self._dispatcher = dispatcher
        self._inflight = inflight
        self._rules_for = rules_for
        self._session_for = session_for
        self._unfinished: set[str] = set()  # accounts whose pass stopped early
        self._lock = threading.Lock()

    def recover(self, session: ImSession, settled_ms: int = 0) -> None:
        """Resume the replies an earlier run left unsent, then offer every undecided buyer message of the account
        within `max_message_age` to the handlers, oldest first; rows younger than `settled_ms` are left alone."""
        with self._lock:
            self._unfinished.discard(session.account_id)
        try:
            self._recover(session, settled_ms)
        except StorageError as exc:  # the database is failing: retry_unfinished comes back (reported elsewhere)
            log.debug("%s: recover pass waits for the database: %s", session.account_id, exc)
            self.come_back(session.account_id)

    def _recover(self, session: ImSession, settled_ms: int) -> None:
        rules = self._rules_for(session.account_id)
        if rules is None:
            return
        now = now_ms()
        since = now - int(rules.config.effective.max_message_age * 1000)
        if not self._resume_unsent(session, since):
            return
        for row in self._store.messages.undecided(session.account_id, "chat", since):
            if row.received_at_ms > now - settled_ms:
                break  # oldest first: the rest are younger still
            assert row.id is not None
            if not self._inflight.take(row.id):
                continue  # still on its way through this process (debounce, queue, slow rule)
            event = ImEvent(kind="chat", cid=row.cid, sender_id=row.sender_id, sender_nick=row.sender_nick,
                            text=row.text, item_id=row.item_id, message_id=row.message_id,
                            created_at=row.created_at_ms)
            if not self._dispatcher.offer((session.account_id, row.cid), self._answer_job(session, event, row.id,
                                                                                          row.received_at_ms)):
                self._inflight.settle(row.id)
                with self._lock:
                    self._unfinished.add(session.account_id)  # full: retry_unfinished comes back for it
                return

    def _resume_unsent(self, session: ImSession, since_ms: int) -> bool:
        """Offer the earlier runs' unsent replies to the handlers; False when the handlers were full."""
        account_id = session.account_id
        for reply in self._store.replies.unsent(account_id, decided_before_ms=self._started_ms):
            assert reply.id is not None
            if reply.decided_at_ms < since_ms:
                self._expire(reply)
                continue
            pending = PendingReply(reply.id, account_id, reply.cid, reply.to_id, reply.text, reply.rule,
                                   reply.decided_at_ms, started_ms=reply.decided_at_ms)
            if not self._dispatcher.offer((account_id, reply.cid), lambda p=pending: self._outbox.resume(
                    p, self._on_manual_done(p) if p.rule == MANUAL_RULE else None)):
                with self._lock:
                    self._unfinished.add(account_id)
                return False
        return True

    def _on_manual_done(self, reply: PendingReply) -> Callable[[bool], None]:
        def done(sent: bool) -> None:
            if sent:
                self._after_manual_reply(reply.account_id, reply.cid)
        return done

    def _expire(self, reply: Reply) -> None:
        assert reply.id is not None
        error = "left unsent by an earlier run and older than max_message_age when this one started"
        self._store.replies.mark(reply.id, ReplyStatus.EXPIRED, attempts=reply.attempts, error=error)
        log.warning("%s: chat %s: a reply an earlier run left unsent is too old to send now; marked expired",
                    reply.account_id, reply.cid)
        self._bus.emit(ev.ReplyFailed(reply.account_id, cid=reply.cid, text=reply.text, rule=reply.rule, error=error))

    def come_back(self, account_id: str) -> None:
        """Another pass for this account from the next `retry_unfinished` (a write failed: what it left undecided
        is answered once storage works again)."""
        with self._lock:
            self._unfinished.add(account_id)

    def retry_unfinished(self) -> None:
        """Scheduler job: `recover` again for accounts whose last pass found the handlers full or the database
        failing (which keeps them on the list: the job comes back every few seconds, one line per outage)."""
        with self._lock:
            account_ids = list(self._unfinished)
        for account_id in account_ids:
            session = self._session_for(account_id)
            if session is not None and session.state == ev.AccountState.ONLINE:
                self.recover(session, settled_ms=RECOVER_SETTLED_MS)

    def _answer_job(self, session: ImSession, event: ImEvent, inbound_id: int, received_ms: int) -> Callable[[], None]:
        def job() -> None:
            try:
                self._answerer.answer(session, event, received_ms, inbound_id)
            except StorageError:
                self.come_back(session.account_id)
            finally:
                self._inflight.settle(inbound_id)
        return job
