"""`Replies`: where every pushed message enters the replies stage, and the stage's parts wired together.

    socket thread ─► on_message ─┬─ buyer message, chat idle, no debounce ─► Answerer.answer (right there)
                                 └─ anything else ─► ChatDispatcher (a handler, in order per chat)
                                      ├─ buyer message ─► [debounce window: Timers] ─► Answerer.answer
                                      ├─ own message ─► Takeover (our echo? a delivery's? the seller typing)
                                      └─ notice / trade card ─► recorded ─► on_order_notice (core/orders)

Every buyer message is stored with its timings and decision; dedupe is by the platform's message id, persisted,
so a re-pushed or replayed message is never answered twice, also across a restart. A burst in one chat within
`debounce_seconds` gets one reply, to its newest message.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from core import events as ev
from core.catalog import Catalog
from core.clock import now_ms
from core.goofish.messages import ImEvent
from core.replies.answer import SLOW_RULE_THREADS, AccountRules, Answerer, InFlight, ReplyChecks, to_inbound
from core.replies.dispatch import ChatDispatcher
from core.replies.outage import StorageOutage
from core.replies.outbox import Outbox, PendingReply
from core.replies.recover import Recovery
from core.replies.takeover import MANUAL_RULE, SEEN_TTL_MS, STEADY_CLOCK, EchoBook, Takeover
from core.replies.timers import Timers
from core.replies.verdict import Decision, too_old
from core.session.loop import ImSession
from core.session.receipts import Stored
from storage import StorageError, Store

log = logging.getLogger(__name__)

OrderNotice = Callable[[ImSession, ImEvent], None]


class Replies:
    def __init__(self, store: Store, bus: ev.EventBus, dispatcher: ChatDispatcher,
                 rules_for: Callable[[str], AccountRules | None], session_for: Callable[[str], ImSession | None],
                 on_order_notice: OrderNotice, is_delivery_echo: Callable[[str, ImEvent], bool],
                 checks: ReplyChecks | None = None, slow_threads: int = SLOW_RULE_THREADS) -> None:
        self._store = store
        self._bus = bus
        self._dispatcher = dispatcher
        self._rules_for = rules_for
        self._session_for = session_for
        self._on_order_notice = on_order_notice
        self.timers = Timers()
        echoes = EchoBook()
        self.takeover = Takeover(store, bus, echoes, self._takeover_minutes, is_delivery_echo)
        self.outbox = Outbox(store, bus, echoes, dispatcher, self.timers, session_for)
        self._inflight = InFlight()
        self._answerer = Answerer(store, bus, Catalog(store), self.outbox, self.takeover.pauses, dispatcher,
                                  self._inflight, rules_for, session_for, checks, slow_threads)
        self.recovery = Recovery(store, bus, self._answerer, self.outbox, dispatcher, self._inflight, rules_for,
                                 session_for, self.takeover.after_manual_reply)
        self.outage = StorageOutage()
        self._bursts: dict[tuple[str, str], list[int]] = {}
        self._bursts_lock = threading.Lock()

    def close(self, drain_seconds: float) -> None:
        """At shutdown, after the sessions stopped: let the handlers record what is still queued (with the sessions
        stopping they only record it, undecided, for the next start's recover pass), then commit the queued
        bookkeeping. Called before the store closes."""
        self.timers.stop()
        left = self._dispatcher.wait_idle(drain_seconds)
        if left:
            log.warning("shutdown: %d queued messages were not recorded in time; the platform's replay "
                        "brings back those after the last saved sync position", left)
        self._answerer.close()
        self.outbox.close()

    # Called on the session's socket thread: answer right there or hand over, never wait (see dispatch.py).
    def on_message(self, session: ImSession, event: ImEvent, stored: Stored) -> bool:
        """False when the handlers are full: the session keeps the event and offers it again. Otherwise
        `stored(True)` once the event is recorded (then the push may be ACKed), `stored(False)` when it could
        not be (the session offers it again later; nothing was answered)."""
        received_ms = now_ms()
        key = (session.account_id, event.cid or "")
        if event.kind == "chat" and self._dispatcher.idle(key) and not self._debounces(session.account_id):
            answered = self._recorded(session, event, stored,
                                      lambda: self._answerer.answer(session, event, received_ms, on_socket=True))
            if answered is not False:
                return True
        return self._dispatcher.offer(key, lambda: self._recorded(
            session, event, stored, lambda: self._handle(session, event, received_ms)))

    def _recorded(self, session: ImSession, event: ImEvent, stored: Stored,
                  work: Callable[[], bool | None]) -> bool | None:
        """Run `work` and answer `stored`: False for a storage failure (reported once per outage), True
        otherwise — also for a bug, logged: the message may be recorded, and a copy is deduped. Returns what
        `work` did (False: left to a handler, nothing done and nothing answered), None when it raised."""
        try:
            done = work()
        except StorageError as exc:
            self.outage.failed(session.account_id, exc)
            self.recovery.come_back(session.account_id)  # a message recorded undecided is answered then
            stored(False)
            return None
        except Exception:  # the socket thread must go on reading whatever went wrong with one message
            log.exception("%s: handling a message in chat %s failed", session.account_id, event.cid)
            stored(True)
            return None
        if done is not False:
            self.outage.recorded()
            stored(True)
        return done

    def send_manual(self, session: ImSession, cid: str, to_id: str, text: str,
                    on_done: Callable[[bool], None], rule: str = MANUAL_RULE, pause: bool = True) -> None:
        """A reply the seller sends from the dashboard (typed, or an AI suggestion: `rule`): recorded, sent like any
        reply, and, `pause`, the chat paused like any takeover once it went out."""
        started = now_ms()
        reply_id = self._store.replies.add(account_id=session.account_id, cid=cid, to_id=to_id, rule=rule,
                                           text=text, decided_at_ms=started)

        def done(sent: bool) -> None:
            if sent and pause:
                self.takeover.after_manual_reply(session.account_id, cid)
            on_done(sent)

        self.outbox.send(session, PendingReply(reply_id, session.account_id, cid, to_id, text, rule, started,
                                               started), done)

    # -- on a handler --------------------------------------------------------------------------------------------

    def _handle(self, session: ImSession, event: ImEvent, received_ms: int) -> None:
        if event.kind == "chat":
            self._on_chat(session, event, received_ms)
        elif event.kind == "own_echo":
            self.takeover.on_own_message(session.account_id, event, received_ms)
        else:
            self._on_notice(session, event, received_ms)

    def _on_chat(self, session: ImSession, event: ImEvent, received_ms: int) -> None:
        rules = self._rules_for(session.account_id)
        window = rules.config.effective.debounce_seconds if rules is not None else 0
        if window <= 0 or too_old(event, STEADY_CLOCK.received(received_ms), rules.config.effective):
            self._answerer.answer(session, event, received_ms)
            return
        recorded = self._store.messages.accept(to_inbound(session.account_id, event, received_ms),
                                               ttl_ms=SEEN_TTL_MS)
        if recorded is None:
            return  # replayed or re-pushed: answered (or deliberately not) the first time
        inbound_id = recorded.inbound_id
        self._inflight.take(inbound_id)
        self._answerer.received(session, event, received_ms)
        key = (session.account_id, event.cid)
        with self._bursts_lock:
            self._bursts.setdefault(key, []).append(inbound_id)
        self.timers.schedule(key, window, lambda: self._dispatcher.submit(
            key, lambda: self._end_burst(session, event, inbound_id, received_ms)))

    def _end_burst(self, session: ImSession, event: ImEvent, inbound_id: int, received_ms: int) -> None:
        with self._bursts_lock:
            burst = self._bursts.pop((session.account_id, event.cid), [])
        for earlier in burst:
            if earlier != inbound_id:
                self._store.messages.set_decision(earlier, Decision.DEBOUNCED, None, now_ms())
                self._inflight.settle(earlier)
        try:
            self._answerer.answer(session, event, received_ms, inbound_id)
        finally:
            self._inflight.settle(inbound_id)

    def _on_notice(self, session: ImSession, event: ImEvent, received_ms: int) -> None:
        if event.kind == "arouse":
            return  # a session hint re-sent on every connect, not a message: nothing to keep
        # Notices and order cards carry their own message id and are re-pushed like chat messages; read receipts
        # and session events point at *other* messages' ids, so they are not deduped.
        dedupe = event.kind in ("system", "order")
        recorded = self._store.messages.accept(to_inbound(session.account_id, event, received_ms, dedupe),
                                               ttl_ms=SEEN_TTL_MS)
        is_order = event.kind == "order" and bool(event.order_id)  # a red-reminder without an id echoes the card
        if recorded is None:
            # A repeat still goes to the orders (which ignore repeats themselves): the process may have died
            # between recording the first copy and handling it, and this replay is the only other chance.
            if is_order:
                self._on_order_notice(session, event)
            return
        self._store.messages.set_decision(recorded.inbound_id, event.kind, None, received_ms)
        if event.kind == "system":  # never silently: the seller can see what was taken for the platform's words
            log.info("%s: chat %s: not answered, a platform notice (content type %s): %.80s", session.account_id,
                     event.cid, event.content_type, event.text or "")
        if is_order:
            self._bus.emit(ev.OrderNotice(session.account_id, cid=event.cid or "", order_id=event.order_id,
                                          status=event.order_status, item_id=event.item_id))
            self._on_order_notice(session, event)

    def _debounces(self, account_id: str) -> bool:
        rules = self._rules_for(account_id)
        return rules is not None and rules.config.effective.debounce_seconds > 0

    def _takeover_minutes(self, account_id: str) -> float:
        """The one lookup of an account's takeover pause length (0 when the account is gone)."""
        rules = self._rules_for(account_id)
        return rules.config.effective.takeover_minutes if rules is not None else 0
