"""`Recovery`: answer buyer messages an account recorded but never decided on.

The process stopped (or crashed) between recording and replying, or the handlers were full when a previous pass
ran. The platform's sync replay would not bring them back: they were ACKed and marked seen. Runs when an account
gets online (from its socket thread, so it only `offer`s and stops at the first refusal) and, for accounts whose
pass stopped early, from a scheduler job (`retry_unfinished`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from core import events as ev
from core.clock import now_ms
from core.goofish.messages import ImEvent
from core.replies.answer import AccountRules, Answerer, InFlight
from core.replies.dispatch import ChatDispatcher
from core.session.loop import ImSession
from storage import Store

# A recorded message is marked in flight by its handler within milliseconds; a retried pass leaves younger rows
# alone so it never takes one that is still on its first way through.
RECOVER_SETTLED_MS = 2_000


class Recovery:
    def __init__(self, store: Store, answerer: Answerer, dispatcher: ChatDispatcher, inflight: InFlight,
                 rules_for: Callable[[str], AccountRules | None],
                 session_for: Callable[[str], ImSession | None]) -> None:
        self._store = store
        self._answerer = answerer
        self._dispatcher = dispatcher
        self._inflight = inflight
        self._rules_for = rules_for
        self._session_for = session_for
        self._unfinished: set[str] = set()  # accounts whose pass stopped early
        self._lock = threading.Lock()

    def recover(self, session: ImSession, settled_ms: int = 0) -> None:
        """Offer every undecided buyer message of the account within `max_message_age` to the handlers, oldest
        first; rows younger than `settled_ms` are left alone."""
        with self._lock:
            self._unfinished.discard(session.account_id)
        rules = self._rules_for(session.account_id)
        if rules is None:
            return
        now = now_ms()
        since = now - int(rules.config.effective.max_message_age * 1000)
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

    def retry_unfinished(self) -> None:
        """Scheduler job: `recover` again for accounts whose last pass found the handlers full."""
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
            finally:
                self._inflight.settle(inbound_id)
        return job
