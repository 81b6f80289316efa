"""Inbound message → dedupe → takeover pause → debounce → reply chain → send.

Runs on the shared handler pool through ``ChatDispatcher`` (bounded, in order per chat). Every inbound
message and every reply is stored with its timings (received, decided, sent) and the rule that fired.

* Dedupe is by the platform message id, persisted (``Store.mark_seen``), so a re-pushed or replayed
  message is never answered twice, also across a restart.
* Our own sends come back as own echoes; a pending reply row with the same text identifies ours. Any
  other own message is the seller typing by hand: the chat pauses for ``takeover_minutes`` (persisted).
* A burst in one chat within ``debounce_seconds`` gets one reply, to the newest message.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from core import events as ev
from core.config import AccountConfig, render_template
from core.dispatch import ChatDispatcher, Debouncer
from core.errors import SendFailed
from core.goofish.messages import Event as ImEvent
from core.rules import ReplyContext, ReplyDecision, Rule, decide
from core.session import Session
from core.writebehind import WriteBehind
from storage import ECHO_WINDOW_MS, Decided, Store, Verdict

log = logging.getLogger(__name__)

SEEN_TTL_MS = 7 * 24 * 3600 * 1000     # a message id is remembered a week (replays come within hours)
ITEM_CACHE_MS = 24 * 3600 * 1000
SEND_TRIES = 3
SEND_RETRY_DELAY = 2.0
HISTORY_SLACK_MS = 5_000   # server and local clocks may differ a little
# A recorded message is marked in flight by its handler within milliseconds; a retried recover pass leaves
# younger rows alone so it never takes one that is still on its first way through.
RECOVER_SETTLED_MS = 2_000
ECHO_MEMORY = 20_000  # recent replies remembered for echo matching (about 2 MB)
SENT_MARK_SECONDS = 0.05  # how long a reply's "sent" mark may wait to share a transaction
_ITEM_FIELDS = re.compile(r"\{item_(title|price)\}")


class PauseBook:
    """Active chat pauses, in memory: asked for every buyer message, written only on pause/resume.

    The database stays the record (pauses survive restarts); this mirror is loaded once, for every
    account, when the pipeline is built — one query, instead of one per account in the middle of its first
    buyer message — and the pipeline is the only writer, so the two never disagree within one process."""

    def __init__(self, store: Store, now_ms: int) -> None:
        self._until: dict[tuple[str, str], int] = {
            (pause.account_id, pause.cid): pause.until_ms for pause in store.list_pauses(now_ms)}
        self._lock = threading.Lock()

    def paused(self, account_id: str, cid: str, now_ms: int) -> bool:
        return self._until.get((account_id, cid), 0) > now_ms

    def set(self, account_id: str, cid: str, until_ms: int) -> None:
        with self._lock:
            self._until[(account_id, cid)] = until_ms

    def clear(self, account_id: str, cid: str) -> None:
        with self._lock:
            self._until.pop((account_id, cid), None)


class EchoBook:
    """Replies this process sent recently, in memory: the platform pushes every reply back to us as our own
    message, and telling that echo from a seller typing by hand is asked once per reply. The database
    (``find_pending_reply``) stays the answer after a restart or once an entry has been pushed out."""

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
        """The same test as ``find_pending_reply``: this text, decided within the echo window."""
        decided = self._sent.get((account_id, cid, text))
        return decided is not None and decided >= echo_created_ms - ECHO_WINDOW_MS


@dataclass(frozen=True)
class AccountRules:
    config: AccountConfig
    chain: tuple[Rule, ...]


class Pipeline:
    def __init__(self, store: Store, bus: ev.EventBus, dispatcher: ChatDispatcher, debouncer: Debouncer,
                 rules_for: Callable[[str], AccountRules | None],
                 session_for: Callable[[str], Session | None]) -> None:
        self._store = store
        self._bus = bus
        self._dispatcher = dispatcher
        self._debouncer = debouncer
        self._rules_for = rules_for
        # Replies go out on the account's *current* session: a restart during a debounce window must not
        # send on the stopped one.
        self._session_for = session_for
        self._pauses = PauseBook(store, ev.now_ms())
        self._inflight: set[int] = set()  # recorded buyer messages not yet decided, in this process
        self._inflight_lock = threading.Lock()
        self._bursts: dict[tuple[str, str], list[int]] = {}
        self._bursts_lock = threading.Lock()
        self.order_handler: Callable[[Session, ImEvent], None] | None = None
        self._unfinished: set[str] = set()  # accounts whose recover pass stopped early (guarded by _inflight_lock)
        self._echoes = EchoBook()
        self._sent_marks: WriteBehind[tuple[int, int, int]] = WriteBehind(
            store.mark_replies_sent, SENT_MARK_SECONDS, "sent-marks")
        # Says whether an own message is one the service sent outside the reply chain (a delivery).
        self.own_send_filter: Callable[[str, ImEvent], bool] | None = None

    def close(self, drain_seconds: float) -> None:
        """At shutdown, after the sessions stopped: let the handlers record what is still queued (with the
        sessions stopping they only record it, undecided, for the next start's recover pass), then commit
        the queued bookkeeping. Called before the store closes."""
        left = self._dispatcher.wait_idle(drain_seconds)
        if left:
            log.warning("shutdown: %d queued messages were not recorded in time; the platform's replay "
                        "brings back those after the last saved sync position", left)
        self._sent_marks.close()

    # Called on the session's socket thread: only hand the work over, never wait (see dispatch.py).
    def on_message(self, session: Session, event: ImEvent) -> bool:
        """False when the handlers are full: the session keeps the event and offers it again."""
        received_ms = ev.now_ms()
        key = (session.account_id, event.cid or "")
        if event.kind == "chat" and self._dispatcher.idle(key) and self._answer_inline(session, event, received_ms):
            return True
        return self._dispatcher.offer(key, lambda: self._handle(session, event, received_ms))

    def _answer_inline(self, session: Session, event: ImEvent, received_ms: int) -> bool:
        """A plain reply on the socket thread itself, as a bare client would: decide, one short transaction,
        send, and take the server's answer when it arrives — no hand-off to a handler and no thread waiting
        (the reply's latency tail was the GIL hand-offs among a thousand threads). False (nothing done)
        when the message needs a handler: a debounce, or a template that may fetch an item over HTTP.
        Called only while the chat has nothing queued for a handler, so its messages keep their order."""
        rules = self._rules_for(session.account_id)
        if rules is None or session.stopping:
            return False
        settings = rules.config.effective
        too_old = bool(event.created_at) and received_ms - event.created_at > settings.max_message_age * 1000
        decision = None if too_old else self._decision(session, rules, event)
        if not too_old and (settings.debounce_seconds > 0 or _may_fetch(decision, event)):
            return False
        try:
            verdict = Verdict("too_old", ev.now_ms()) if too_old else self._verdict(session, event, decision)
            accepted = self._accept(session, event, verdict, received_ms)
            if accepted is None:
                return True  # replayed or re-pushed: answered (or deliberately not) the first time
            if accepted.reply_id is None:
                self._carry_out(session, event, accepted, verdict, received_ms)
                return True
            assert verdict.reply_text is not None and verdict.rule is not None  # a reply row comes from one
            self._send_inline(session, accepted.reply_id, event.cid, verdict, received_ms)
        except Exception:  # the socket thread must go on reading whatever went wrong with one message
            log.exception("%s: handling a message in chat %s failed", session.account_id, event.cid)
        return True

    def _send_inline(self, session: Session, reply_id: int, cid: str, verdict: Verdict, received_ms: int) -> None:
        account_id, to_id, text, rule = session.account_id, verdict.to_id, verdict.reply_text or "", verdict.rule or ""
        self._echoes.expect(account_id, cid, text, verdict.decided_at_ms)

        def answered(failure: SendFailed | None) -> None:  # on the socket thread
            try:
                if failure is None:
                    self._sent(session, reply_id, cid, to_id, text, rule, received_ms, attempt=1)
                else:
                    self._retry_later(session, reply_id, cid, to_id, text, rule, received_ms, failure)
            except Exception:
                log.exception("%s: recording the answer to a send in chat %s failed", account_id, cid)

        try:
            session.send_text_nowait(cid, to_id, text, answered)
        except SendFailed as exc:
            self._retry_later(session, reply_id, cid, to_id, text, rule, received_ms, exc)

    def _retry_later(self, session: Session, reply_id: int, cid: str, to_id: str, text: str, rule: str,
                     started_ms: int, failure: SendFailed) -> None:
        """The first try of an inline send failed: a handler goes on with the second, after the usual delay."""
        log.warning("%s: send to chat %s failed (try 1 of %d): %s", session.account_id, cid, SEND_TRIES, failure)
        key = (session.account_id, cid)
        retry = partial(self._deliver, session, reply_id, cid, to_id, text, rule, started_ms,
                        first_attempt=2, error=str(failure), ambiguous=failure.maybe_delivered)
        self._debouncer.schedule(("resend", reply_id), SEND_RETRY_DELAY,
                                 lambda: self._dispatcher.submit(key, retry))

    def _handle(self, session: Session, event: ImEvent, received_ms: int) -> None:
        if event.kind == "chat":
            self._on_chat(session, event, received_ms)
        elif event.kind == "own_echo":
            self._on_own_message(session, event, received_ms)
        else:
            self._record_only(session, event, received_ms)

    # ---- buyer messages -----------------------------------------------------------------------

    def _on_chat(self, session: Session, event: ImEvent, received_ms: int) -> None:
        account_id = session.account_id
        rules = self._rules_for(account_id)
        if rules is None:  # the account was removed while this message was queued
            return
        settings = rules.config.effective
        too_old = bool(event.created_at) and received_ms - event.created_at > settings.max_message_age * 1000
        if too_old or settings.debounce_seconds <= 0:
            self._answer_now(session, rules, event, received_ms, too_old)
            return
        inbound_id = self._record(account_id, event, received_ms)
        if inbound_id is None:
            return  # replayed or re-pushed: answered (or deliberately not) the first time
        with self._inflight_lock:
            self._inflight.add(inbound_id)
        self._received(session, event, received_ms)
        key = (account_id, event.cid)
        with self._bursts_lock:
            self._bursts.setdefault(key, []).append(inbound_id)
        self._debouncer.schedule(key, settings.debounce_seconds, lambda: self._dispatcher.submit(
            key, lambda: self._end_burst(session, event, inbound_id, received_ms)))

    def _answer_now(self, session: Session, rules: AccountRules, event: ImEvent, received_ms: int,
                    too_old: bool) -> None:
        """No debounce: decide first, then dedupe, record, decide and record the reply in one transaction
        (one turn at the database's write lock per message), then send."""
        current = self._session_for(session.account_id) or session
        verdict: Verdict | None = None
        if not current.stopping:
            verdict = Verdict("too_old", ev.now_ms()) if too_old else self._verdict(
                current, event, self._decision(current, rules, event))
        if current.stopping:  # stopped before, or while rendering (an item fetch)
            verdict = None
        accepted = self._accept(session, event, verdict, received_ms)
        # No verdict: stopping with this message queued. It stays undecided: the next start answers it.
        if accepted is not None and verdict is not None:
            self._carry_out(current, event, accepted, verdict, received_ms)

    def _accept(self, session: Session, event: ImEvent, verdict: Verdict | None, received_ms: int) -> Decided | None:
        """Dedupe, record and (given a verdict) decide in one transaction; None for a replay or re-push,
        answered (or deliberately not) the first time."""
        accepted = self._store.accept_inbound(ttl_ms=SEEN_TTL_MS, verdict=verdict,
                                              **self._inbound_fields(session.account_id, event, received_ms))
        if accepted is not None:
            self._received(session, event, received_ms)
        return accepted

    def _received(self, session: Session, event: ImEvent, received_ms: int) -> None:
        session.messages_in += 1
        self._bus.emit(ev.MessageReceived(session.account_id, cid=event.cid, sender_id=event.sender_id or "",
                                          sender_nick=event.sender_nick or "", text=event.text or "",
                                          item_id=event.item_id, message_id=event.message_id or "",
                                          kind=event.kind, at_ms=received_ms))

    def _end_burst(self, session: Session, event: ImEvent, inbound_id: int, received_ms: int) -> None:
        with self._bursts_lock:
            burst = self._bursts.pop((session.account_id, event.cid), [])
        for earlier in burst:
            if earlier != inbound_id:
                self._store.set_decision(earlier, "debounced", None, ev.now_ms())
                self._settled(earlier)
        self._answer(session, event, inbound_id, received_ms)

    def recover(self, session: Session, settled_ms: int = 0) -> None:
        """Answer buyer messages this account recorded but never decided on: the process stopped (or
        crashed) between recording and replying, or the handlers were full when a previous pass ran. Sync
        replay would not bring them back: they were ACKed and marked seen.

        Runs on connect (from the socket thread, so it only ``offer``s and stops at the first refusal) and
        from ``retry_unfinished`` with ``settled_ms`` > 0, which leaves alone rows younger than that: a row
        that new may be between being recorded and being marked in flight by its own handler."""
        rules = self._rules_for(session.account_id)
        with self._inflight_lock:
            self._unfinished.discard(session.account_id)
        if rules is None:
            return
        now = ev.now_ms()
        since = now - int(rules.config.effective.max_message_age * 1000)
        for row in self._store.undecided_chats(session.account_id, since):
            if row.received_at_ms > now - settled_ms:
                break  # oldest first: the rest are younger still
            with self._inflight_lock:
                if row.id in self._inflight:
                    continue  # still on its way through this process (debounce, queue)
                self._inflight.add(row.id)
            event = ImEvent(kind="chat", cid=row.cid, sender_id=row.sender_id, sender_nick=row.sender_nick,
                            text=row.text, item_id=row.item_id, message_id=row.message_id,
                            created_at=row.created_at_ms)
            if not self._dispatcher.offer((session.account_id, row.cid), lambda e=event, i=row.id, r=row:
                                          self._answer(session, e, i, r.received_at_ms)):
                with self._inflight_lock:
                    self._inflight.discard(row.id)
                    self._unfinished.add(session.account_id)  # full: retry_unfinished comes back for it
                return

    def retry_unfinished(self) -> None:
        """Scheduler job: run ``recover`` again for accounts whose last pass found the handlers full."""
        with self._inflight_lock:
            account_ids = list(self._unfinished)
        for account_id in account_ids:
            session = self._session_for(account_id)
            if session is not None and session.state == ev.ONLINE:
                self.recover(session, settled_ms=RECOVER_SETTLED_MS)

    def _answer(self, session: Session, event: ImEvent, inbound_id: int, received_ms: int) -> None:
        """Decide on a message recorded earlier (the end of a burst, or a recover pass)."""
        try:
            current = self._session_for(session.account_id) or session
            rules = self._rules_for(session.account_id)
            if current.stopping or rules is None:
                # Shutting down (or the account was stopped) with this message still queued: leave it
                # undecided, so the next start's recover pass answers it instead of a failed send here.
                return
            verdict = self._verdict(current, event, self._decision(current, rules, event))
            if current.stopping:
                return  # stopped while rendering (an item fetch): undecided, the next start answers it
            accepted = self._store.decide(inbound_id, session.account_id, event.cid, verdict)
            self._carry_out(current, event, accepted, verdict, received_ms)
        finally:
            self._settled(inbound_id)

    def _settled(self, inbound_id: int) -> None:
        with self._inflight_lock:
            self._inflight.discard(inbound_id)

    @staticmethod
    def _decision(session: Session, rules: AccountRules, event: ImEvent) -> ReplyDecision | None:
        return decide(rules.chain, ReplyContext(session.account_id, event.cid, event.text or "", event.item_id))

    def _verdict(self, session: Session, event: ImEvent, decision: ReplyDecision | None) -> Verdict:
        """What to do with a buyer message: a paused chat stays quiet, anything else gets the reply chain's
        ``decision``."""
        if self._pauses.paused(session.account_id, event.cid, ev.now_ms()):
            return Verdict("paused", ev.now_ms())
        if decision is None:
            return Verdict("no_rule", ev.now_ms())
        if not decision.template:
            return Verdict("silent", ev.now_ms(), decision.rule_id, once=decision.once)
        text = render_template(decision.template, self._template_values(session, event, decision))
        return Verdict("replied", ev.now_ms(), decision.rule_id, reply_text=text, to_id=event.sender_id or "",
                       once=decision.once)

    def _carry_out(self, session: Session, event: ImEvent, accepted: Decided, verdict: Verdict,
                   received_ms: int) -> None:
        if accepted.reply_id is None:
            self._bus.emit(ev.MessageDecided(session.account_id, cid=event.cid, message_id=event.message_id or "",
                                             decision=accepted.decision or ""))
            return
        assert verdict.reply_text is not None and verdict.rule is not None  # a reply row comes from one
        self._deliver(session, accepted.reply_id, event.cid, verdict.to_id, verdict.reply_text, verdict.rule,
                      received_ms)

    def send(self, session: Session, cid: str, to_id: str, text: str, rule: str, started_ms: int) -> bool:
        """Send a reply that answers no recorded message (the seller's, from the dashboard), with retries."""
        reply_id = self._store.add_reply(account_id=session.account_id, cid=cid, to_id=to_id, rule=rule, text=text,
                                         decided_at_ms=ev.now_ms())
        return self._deliver(session, reply_id, cid, to_id, text, rule, started_ms)

    def _deliver(self, session: Session, reply_id: int, cid: str, to_id: str, text: str, rule: str,
                 started_ms: int, first_attempt: int = 1, error: str = "", ambiguous: bool = False) -> bool:
        """Send a recorded (pending) reply with retries; the row exists before the send so its echo is ours.
        ``first_attempt`` > 1 goes on after an inline first try failed with ``error``."""
        account_id = session.account_id
        decided_ms = ev.now_ms()
        self._echoes.expect(account_id, cid, text, decided_ms)
        for attempt in range(first_attempt, SEND_TRIES + 1):
            session = self._session_for(account_id) or session  # a reconnect may have replaced it
            try:
                if ambiguous and self._already_delivered(session, cid, text, decided_ms):
                    log.info("%s: chat %s: the server had the reply after all; not sending it twice",
                             account_id, cid)
                else:
                    session.send_text(cid, to_id, text)
            except SendFailed as exc:
                error, ambiguous = str(exc), ambiguous or exc.maybe_delivered
                log.warning("%s: send to chat %s failed (try %d of %d): %s", account_id, cid, attempt,
                            SEND_TRIES, error)
                if attempt < SEND_TRIES and not session.stopping:
                    time.sleep(SEND_RETRY_DELAY * attempt)
                continue
            self._sent(session, reply_id, cid, to_id, text, rule, started_ms, attempt)
            return True
        self._store.mark_reply(reply_id, "failed", error=error, attempts=SEND_TRIES)
        self._echoes.forget(account_id, cid, text)
        self._bus.emit(ev.ReplyFailed(account_id, cid=cid, text=text, rule=rule, error=error))
        return False

    def _sent(self, session: Session, reply_id: int, cid: str, to_id: str, text: str, rule: str, started_ms: int,
              attempt: int) -> None:
        sent = ev.now_ms()
        self._sent_marks.put((reply_id, sent, attempt))
        session.replies_out += 1
        self._bus.emit(ev.ReplySent(session.account_id, cid=cid, to_id=to_id, text=text, rule=rule,
                                    latency_ms=sent - started_ms, at_ms=sent))

    @staticmethod
    def _already_delivered(session: Session, cid: str, text: str, since_ms: int) -> bool:
        """After a send whose answer was lost: wait for the connection, then look at the chat's history."""
        if not session.wait_online(SEND_RETRY_DELAY * SEND_TRIES * 2):
            raise SendFailed("account did not come back online", maybe_delivered=True)
        return session.was_delivered(cid, text, since_ms - HISTORY_SLACK_MS)

    def _template_values(self, session: Session, event: ImEvent, decision: ReplyDecision) -> dict[str, str]:
        values = {"buyer_nick": event.sender_nick or "", "text": event.text or "",
                  "item_title": "", "item_price": ""}
        if event.item_id and _ITEM_FIELDS.search(decision.template):
            title, price = self._item_info(session, event.item_id)
            values.update(item_title=title, item_price=price)
        return values

    def _item_info(self, session: Session, item_id: str) -> tuple[str, str]:
        cached = self._store.get_item(item_id)
        if cached is not None and ev.now_ms() - cached.fetched_at_ms < ITEM_CACHE_MS:
            return cached.title, cached.price
        try:
            item = session.auth.mtop.item_detail(item_id)
        except Exception as exc:  # a template with a blank title beats no reply at all
            log.warning("%s: item %s detail failed: %s", session.account_id, item_id, exc)
            return (cached.title, cached.price) if cached else ("", "")
        self._store.put_item(item_id=item_id, title=item.title, price=item.price, desc=item.desc,
                             quantity=item.quantity, fetched_at_ms=ev.now_ms())
        return item.title, item.price

    # ---- own messages and the rest ----------------------------------------------------------------

    def _on_own_message(self, session: Session, event: ImEvent, received_ms: int) -> None:
        account_id = session.account_id
        # Our own reply? Matched by text around the echo's *platform* time, so an echo replayed after a
        # restart is still recognised (and the common case costs one read, no write).
        created = event.created_at or received_ms
        if self._echoes.ours(account_id, event.cid, event.text or "", created) or self._store.find_pending_reply(
                account_id, event.cid, event.text or "", now_ms=created) is not None:
            return
        if self.own_send_filter is not None and self.own_send_filter(account_id, event):
            return  # a delivery's echo: neither the seller typing nor words to keep (it holds the code)
        if event.message_id and not self._store.mark_seen(account_id, event.message_id, SEEN_TTL_MS,
                                                          received_ms):
            return
        rules = self._rules_for(account_id)
        minutes = rules.config.effective.takeover_minutes if rules else 0
        self._store.record_manual_reply(account_id=account_id, cid=event.cid, text=event.text or "",
                                        at_ms=created)
        until = created + int(minutes * 60_000)
        if minutes > 0 and until > received_ms:  # a takeover long over (a replay) pauses nothing
            self._pause_until(account_id, event.cid, until, "seller replied by hand")

    def pause(self, account_id: str, cid: str, minutes: float, reason: str) -> None:
        self._pause_until(account_id, cid, ev.now_ms() + int(minutes * 60_000), reason)

    def _pause_until(self, account_id: str, cid: str, until: int, reason: str) -> None:
        self._store.pause_chat(account_id, cid, until, reason)
        self._pauses.set(account_id, cid, until)
        self._bus.emit(ev.ChatPaused(account_id, cid=cid, until_ms=until, reason=reason))

    def resume(self, account_id: str, cid: str) -> None:
        self._store.resume_chat(account_id, cid)
        self._pauses.clear(account_id, cid)
        self._bus.emit(ev.ChatResumed(account_id, cid=cid))

    def _record_only(self, session: Session, event: ImEvent, received_ms: int) -> None:
        if event.kind == "arouse":
            return  # a session hint re-sent on every connect, not a message: nothing to keep
        # Notices and order cards carry their own message id and are re-pushed like chat messages;
        # read receipts and session events point at *other* messages' ids, so they are not deduped.
        dedupe = event.kind in ("system", "order")
        inbound_id = self._record(session.account_id, event, received_ms, dedupe)
        if inbound_id is None:
            # A repeat still goes to the order handler (which ignores repeats itself): the process may have
            # died between recording the first copy and handling it, and this replay is the only other chance.
            if event.kind == "order" and event.order_id and self.order_handler is not None:
                self.order_handler(session, event)
            return
        self._store.set_decision(inbound_id, event.kind, None, received_ms)
        if event.kind == "order" and event.order_id:  # a red-reminder without an id only echoes the card
            self._bus.emit(ev.OrderNotice(session.account_id, cid=event.cid or "", order_id=event.order_id,
                                          status=event.order_status, item_id=event.item_id))
            if self.order_handler is not None:
                self.order_handler(session, event)

    def _record(self, account_id: str, event: ImEvent, received_ms: int, dedupe: bool = True) -> int | None:
        """Dedupe and store, undecided, in one transaction; None for a message id seen before."""
        accepted = self._store.accept_inbound(ttl_ms=SEEN_TTL_MS,
                                              **self._inbound_fields(account_id, event, received_ms, dedupe))
        return None if accepted is None else accepted.inbound_id

    @staticmethod
    def _inbound_fields(account_id: str, event: ImEvent, received_ms: int, dedupe: bool = True) -> dict[str, Any]:
        return dict(account_id=account_id, cid=event.cid or "", message_id=(event.message_id or "") if dedupe else "",
                    kind=event.kind, sender_id=event.sender_id, sender_nick=event.sender_nick, item_id=event.item_id,
                    text=event.text or "", created_at_ms=event.created_at or received_ms, received_at_ms=received_ms)


def _may_fetch(decision: ReplyDecision | None, event: ImEvent) -> bool:
    """The reply's template asks for the item's title or price, which may take an HTTP fetch."""
    return bool(decision and event.item_id and _ITEM_FIELDS.search(decision.template))
