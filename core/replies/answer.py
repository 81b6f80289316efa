"""`Answerer`: the one way a buyer message is answered — on the socket thread, on a handler, at the end of a
debounce window, in a recover pass or after a slow rule.

    decide (pause? chain) ─► render the template ─► record the verdict (one transaction) ─► outbox.send

Where it runs changes only what it may wait on. On the socket thread it never waits: a message whose answer needs
an HTTP call (a template with the item's title or price not cached) is left to a handler (it answers False,
nothing done). A slow rule holds neither the socket thread nor a handler: the message is recorded undecided, its
chat is parked (its later messages wait in order), and the rule runs on the slow-rule pool; when that pool is full
or the rule fails, the chain goes on with the next rule. A stopping account's message stays undecided, so the
next start's recover pass answers it.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from core import events as ev
from core.catalog import Catalog, Item
from core.clock import now_ms
from core.config import AccountConfig, render_template
from core.errors import SendFailed
from core.goofish.messages import ImEvent
from core.replies.dispatch import ChatDispatcher
from core.replies.outbox import Outbox, PendingReply
from core.replies.rules import Message, Outcome, Rule
from core.replies.takeover import SEEN_TTL_MS, STEADY_CLOCK, PauseBook
from core.replies.verdict import Decision, Verdict, too_old
from core.session.history import HISTORY_SLACK_MS, seller_wrote_after
from core.session.loop import ImSession
from storage import Inbound, Recorded, Store

log = logging.getLogger(__name__)

_ITEM_FIELDS = re.compile(r"\{item_(title|price)\}")
SLOW_RULE_THREADS = 4  # slow rules (a model call) running at once, across accounts (settings.ai_concurrency)
SLOW_RULE_QUEUE = 64  # … and waiting; past that the chain skips slow rules


class CheckedText(Protocol):
    text: str
    blocked: str | None


class ReplyChecks(Protocol):
    """What every reply passes before it is recorded (core/ai/checks.py): rewritten, or blocked (then the chain
    asks the next rule)."""

    def prices_apply(self, account: AccountConfig, item_id: str | None, ai: bool) -> bool: ...

    def check(self, account: AccountConfig, buyer_id: str, item: Item | None, text: str) -> CheckedText: ...


@dataclass(frozen=True)
class AccountRules:
    config: AccountConfig
    chain: tuple[Rule, ...]


class InFlight:
    """Recorded buyer messages not yet decided in this process (in a debounce window, a queue, a slow rule): the
    recover pass leaves them alone. Counted, because a message can be held twice at once (a recover job that
    handed it to a slow rule)."""

    def __init__(self) -> None:
        self._held: dict[int, int] = {}
        self._lock = threading.Lock()

    def take(self, inbound_id: int) -> bool:
        """Hold the message unless something already does."""
        with self._lock:
            if inbound_id in self._held:
                return False
            self._held[inbound_id] = 1
            return True

    def hold(self, inbound_id: int) -> None:
        with self._lock:
            self._held[inbound_id] = self._held.get(inbound_id, 0) + 1

    def settle(self, inbound_id: int) -> None:
        with self._lock:
            left = self._held.get(inbound_id, 0) - 1
            if left > 0:
                self._held[inbound_id] = left
            else:
                self._held.pop(inbound_id, None)


def to_inbound(account_id: str, event: ImEvent, received_ms: int, dedupe: bool = True) -> Inbound:
    return Inbound(account_id=account_id, cid=event.cid or "", message_id=(event.message_id or "") if dedupe else "",
                   kind=event.kind, created_at_ms=event.created_at or received_ms, received_at_ms=received_ms,
                   text=event.text or "", sender_id=event.sender_id, sender_nick=event.sender_nick,
                   item_id=event.item_id)


class Answerer:
    def __init__(self, store: Store, bus: ev.EventBus, catalog: Catalog, outbox: Outbox, pauses: PauseBook,
                 dispatcher: ChatDispatcher, inflight: InFlight,
                 rules_for: Callable[[str], AccountRules | None],
                 session_for: Callable[[str], ImSession | None], checks: ReplyChecks | None = None,
                 slow_threads: int = SLOW_RULE_THREADS) -> None:
        self._store = store
        self._bus = bus
        self._catalog = catalog
        self._outbox = outbox
        self._pauses = pauses
        self._dispatcher = dispatcher
        self._inflight = inflight
        self._rules_for = rules_for
        self._session_for = session_for
        self._checks = checks
        self._slow = ThreadPoolExecutor(slow_threads, thread_name_prefix="slow-rule")
        self._slow_room = threading.BoundedSemaphore(SLOW_RULE_QUEUE)

    def close(self) -> None:
        self._slow.shutdown(wait=False, cancel_futures=True)

    def answer(self, session: ImSession, event: ImEvent, received_ms: int, inbound_id: int | None = None,
               on_socket: bool = False) -> bool:
        """Decide on a buyer message and carry it out. `inbound_id`: the message was recorded before (a burst's
        end, a recover pass); None: record it now, with its verdict, in the same transaction. False only
        `on_socket`, when the message needs a handler (nothing was done)."""
        account_id = session.account_id
        session = self._session_for(account_id) or session  # a restart may have replaced it
        rules = self._rules_for(account_id)
        if rules is None or session.stopping:
            return self._leave_undecided(session, event, received_ms, inbound_id, on_socket)
        arrived = received_ms
        if inbound_id is None:
            # Its age: the platform's `created_at` against a receipt time a step of our wall clock alone does not
            # move (an hour forward must not make every new message look an hour old).
            STEADY_CLOCK.saw(event.created_at)
            arrived = STEADY_CLOCK.received(received_ms)
            if too_old(event, arrived, rules.config.effective):
                return self._record(session, event, received_ms, None, Verdict(Decision.TOO_OLD, now_ms()))
        message = _message(account_id, event, received_ms)
        step = _walk(rules.chain, message, 0, _STOP_AT_SLOW)
        if on_socket and (self._needs_fetch(step.outcome, event, rules.config)
                          or (inbound_id is None and _is_replay(event, arrived))):
            return False
        if step.slow:
            # Parked right where it is, the socket thread included (recording it is one short write, as for a
            # plain reply): a hop through a handler first cost a turn of the GIL among a thousand threads.
            assert step.at is not None
            if self._park_for_slow(session, event, received_ms, inbound_id, rules, step.at):
                return True
            if on_socket:
                return False  # the next rule may need an item fetch: a handler asks it
            step = _walk(rules.chain, message, step.at, _SKIP_SLOW)
        verdict = self._verdict(session, event, rules, message, step, _SKIP_SLOW, on_socket)
        if verdict is None:
            return False  # a reply the checks blocked: the next rule is asked on a handler
        if inbound_id is None and verdict.decision == Decision.REPLIED and self._answered_before(session, event,
                                                                                                 received_ms):
            verdict = Verdict(Decision.ANSWERED_BEFORE, now_ms(), verdict.rule)
        if session.stopping:  # stopped while rendering (an item fetch)
            return self._leave_undecided(session, event, received_ms, inbound_id, on_socket=False)
        return self._record(session, event, received_ms, inbound_id, verdict)

    # -- slow rules ---------------------------------------------------------------------------------------------

    def _park_for_slow(self, session: ImSession, event: ImEvent, received_ms: int, inbound_id: int | None,
                       rules: AccountRules, slow_at: int) -> bool:
        """Hand the rest of the chain to the slow-rule pool; False when it is full (the caller skips slow rules)."""
        if not self._slow_room.acquire(blocking=False):
            log.warning("%s: slow rules are all busy: chat %s is answered by the next rule", session.account_id,
                        event.cid)
            return False
        if inbound_id is None:
            recorded = self._store.messages.accept(to_inbound(session.account_id, event, received_ms),
                                                   ttl_ms=SEEN_TTL_MS)
            if recorded is None:
                self._slow_room.release()
                return True  # a replay: answered the first time
            self._received(session, event, received_ms)
            inbound_id = recorded.inbound_id
        self._inflight.hold(inbound_id)
        key = (session.account_id, event.cid)
        self._dispatcher.park(key)
        self._slow.submit(self._run_slow, session, event, received_ms, inbound_id, rules, slow_at, key, now_ms())
        return True

    def _run_slow(self, session: ImSession, event: ImEvent, received_ms: int, inbound_id: int,
                  rules: AccountRules, slow_at: int, key: tuple[str, str], queued_ms: int) -> None:
        self._slow_room.release()
        try:
            # The rule sees when the message joined its queue: one that waited too long there passes (a message
            # a recover pass answers after a restart was received long ago, and has waited only now).
            message = _message(session.account_id, event, queued_ms)
            step = _walk(rules.chain, message, slow_at, _RUN_SLOW)
            current = self._session_for(session.account_id) or session
            if current.stopping:
                return  # undecided: the next start answers it
            verdict = self._verdict(current, event, rules, message, step, _RUN_SLOW, on_socket=False)
            assert verdict is not None  # only a socket thread's verdict is left to a handler
            self._record(current, event, received_ms, inbound_id, verdict)
            outcome = step.outcome
            if outcome is not None and outcome.then is not None and verdict.rule == outcome.rule_id:
                outcome.then()
        except Exception:
            log.exception("%s: answering chat %s after a slow rule failed", session.account_id, event.cid)
        finally:
            self._inflight.settle(inbound_id)
            self._dispatcher.resume(key)

    # -- the steps ----------------------------------------------------------------------------------------------

    def _verdict(self, session: ImSession, event: ImEvent, rules: AccountRules, message: Message, step: _Step,
                 slow: str, on_socket: bool) -> Verdict | None:
        """A paused chat stays quiet; anything else gets the chain's outcome, rendered and checked. A reply the
        checks block is replaced by the next rule's (None on a socket thread: a handler asks it)."""
        while True:
            now = now_ms()
            outcome = step.outcome
            if self._pauses.paused(session.account_id, event.cid):
                return Verdict(Decision.PAUSED, now)
            if outcome is None:
                return Verdict(Decision.NO_RULE, now)
            if outcome.suggest:
                return Verdict(Decision.SUGGESTED, now, outcome.rule_id)
            if not outcome.template:
                return Verdict(Decision.SILENT, now, outcome.rule_id, once=outcome.once)
            text = (outcome.template if outcome.literal
                    else render_template(outcome.template, self._template_values(session, event, outcome)))
            checked = self._check(session, event, rules.config, outcome, text)
            if checked is not None and checked.blocked:
                if on_socket:
                    return None
                log.warning("%s: chat %s: the reply of rule %s was blocked (%s); asking the next rule",
                            session.account_id, event.cid, outcome.rule_id, checked.blocked)
                assert step.at is not None
                step = _walk(rules.chain, message, step.at + 1, slow if slow != _STOP_AT_SLOW else _SKIP_SLOW)
                continue
            return Verdict(Decision.REPLIED, now_ms(), outcome.rule_id,
                           reply_text=checked.text if checked is not None else text, to_id=event.sender_id or "",
                           once=outcome.once)

    def _check(self, session: ImSession, event: ImEvent, account: AccountConfig, outcome: Outcome,
               text: str) -> CheckedText | None:
        if self._checks is None or outcome.checked:
            return None
        item = None
        if self._checks.prices_apply(account, event.item_id, ai=False) and event.item_id:
            item = self._catalog.item(session.credentials.mtop, event.item_id, session.account_id)
        return self._checks.check(account, event.sender_id or "", item, text)

    def _record(self, session: ImSession, event: ImEvent, received_ms: int, inbound_id: int | None,
                verdict: Verdict) -> bool:
        """Record the verdict (with the message when it is new: dedupe, message, decision and pending reply in ONE
        transaction), then carry it out."""
        if inbound_id is None:
            recorded = self._store.messages.accept(to_inbound(session.account_id, event, received_ms),
                                                   ttl_ms=SEEN_TTL_MS, verdict=verdict)
            if recorded is None:
                return True  # replayed or re-pushed: answered (or deliberately not) the first time
            self._received(session, event, received_ms)
        else:
            recorded = self._store.messages.decide(inbound_id, session.account_id, event.cid, verdict)
        self._carry_out(session, event, recorded, verdict, received_ms)
        return True

    def _carry_out(self, session: ImSession, event: ImEvent, recorded: Recorded, verdict: Verdict,
                   received_ms: int) -> None:
        if recorded.reply_id is None:
            self._bus.emit(ev.MessageDecided(session.account_id, cid=event.cid, message_id=event.message_id or "",
                                             decision=recorded.decision or ""))
            return
        assert verdict.reply_text is not None and verdict.rule is not None  # a reply row comes from one
        self._outbox.send(session, PendingReply(recorded.reply_id, session.account_id, event.cid, verdict.to_id,
                                                verdict.reply_text, verdict.rule, verdict.decided_at_ms,
                                                received_ms))

    def _leave_undecided(self, session: ImSession, event: ImEvent, received_ms: int, inbound_id: int | None,
                         on_socket: bool) -> bool:
        """The account is stopping (or was removed) with this message on its way: record it undecided, so the next
        start's recover pass answers it instead of a failed send now."""
        if on_socket:
            return False
        if inbound_id is None and self._store.messages.accept(to_inbound(session.account_id, event, received_ms),
                                                              ttl_ms=SEEN_TTL_MS) is not None:
            self._received(session, event, received_ms)
        return True

    def received(self, session: ImSession, event: ImEvent, received_ms: int) -> None:
        self._received(session, event, received_ms)

    def _received(self, session: ImSession, event: ImEvent, received_ms: int) -> None:
        session.messages_in += 1
        self._bus.emit(ev.MessageReceived(session.account_id, cid=event.cid, sender_id=event.sender_id or "",
                                          sender_nick=event.sender_nick or "", text=event.text or "",
                                          item_id=event.item_id, message_id=event.message_id or "",
                                          kind=event.kind, at_ms=received_ms))

    def _answered_before(self, session: ImSession, event: ImEvent, received_ms: int) -> bool:
        """On a handler, for a message new to this database: is it a replay whose chat the seller has written in
        since? A message this database knows is deduped anyway; one that cannot be checked is answered (the
        check guards against lost records, and silence would lose the buyer)."""
        if not _is_replay(event, STEADY_CLOCK.received(received_ms)) or not event.created_at:
            return False
        if event.message_id and self._store.messages.seen(session.account_id, event.message_id, received_ms):
            return False
        try:
            written = seller_wrote_after(session, event.cid, event.created_at, REPLAY_CHECK_WAIT)
        except SendFailed as exc:
            log.info("%s: chat %s: could not ask the server whether a replayed message was answered (%s); "
                     "answering it", session.account_id, event.cid, exc)
            return False
        # What this database sent itself (an earlier message of the same replay, answered a moment ago) is no
        # sign of an answer to this one; anything else the seller wrote after it is.
        answered = any(self._store.replies.find_ours(session.account_id, event.cid, line.text,
                                                     event.created_at - HISTORY_SLACK_MS) is None
                       for line in written)
        if answered:
            log.info("%s: chat %s: a replayed message from %.0f s ago already has an answer in the chat; not "
                     "answering it again", session.account_id, event.cid, (received_ms - event.created_at) / 1000)
        return answered

    def _needs_fetch(self, outcome: Outcome | None, event: ImEvent, account: AccountConfig) -> bool:
        """The template asks for the item's title or price, or the price check needs the listed price, and the
        cache has no fresh copy: an HTTP call."""
        if not (outcome and event.item_id and outcome.template) or self._catalog.cached(event.item_id) is not None:
            return False
        return bool(_ITEM_FIELDS.search(outcome.template)) or bool(
            self._checks and self._checks.prices_apply(account, event.item_id, ai=False))

    def _template_values(self, session: ImSession, event: ImEvent, outcome: Outcome) -> dict[str, str]:
        values = {"buyer_nick": event.sender_nick or "", "text": event.text or "", "item_title": "", "item_price": ""}
        if event.item_id and _ITEM_FIELDS.search(outcome.template):
            item = self._catalog.item(session.credentials.mtop, event.item_id, session.account_id)
            values.update(item_title=item.title, item_price=item.price)
        return values


_STOP_AT_SLOW, _SKIP_SLOW, _RUN_SLOW = "stop", "skip", "run"

# A buyer message the platform delivers this long after writing it is a replay (a reconnect's sync, a restart):
# before it is answered, the chat's history is asked whether the seller wrote since (Answerer._answered_before).
REPLAY_CHECK_MS = 10_000
REPLAY_CHECK_WAIT = 5.0  # seconds to wait for the account to be online for that


def _is_replay(event: ImEvent, received_ms: int) -> bool:
    return bool(event.created_at) and received_ms - event.created_at > REPLAY_CHECK_MS


def _message(account_id: str, event: ImEvent, received_ms: int) -> Message:
    return Message(account_id, event.cid, event.text or "", event.item_id, event.sender_nick or "",
                   event.sender_id or "", received_ms)


@dataclass(frozen=True, slots=True)
class _Step:
    """Where a walk of the chain ended: the outcome and the index of the rule that gave it (to go on after it
    when its reply is blocked), or, `slow`, the index of the slow rule the walk stopped at."""

    outcome: Outcome | None
    at: int | None = None
    slow: bool = False


def _walk(chain: tuple[Rule, ...], message: Message, start: int, slow: str) -> _Step:
    """The chain's first outcome from rule `start` on. Slow rules are asked (`_RUN_SLOW`: a slow rule that fails
    passes, logged), skipped (`_SKIP_SLOW`), or stop the walk (`_STOP_AT_SLOW`)."""
    for index in range(start, len(chain)):
        rule = chain[index]
        if rule.slow and slow != _RUN_SLOW:
            if slow == _STOP_AT_SLOW:
                return _Step(None, index, slow=True)
            continue
        try:
            outcome = rule.decide(message)
        except Exception:
            if not rule.slow:
                raise
            log.exception("%s: rule %s failed on chat %s; asking the next rule", message.account_id, rule.rule_id,
                          message.cid)
            continue
        if outcome is not None:
            return _Step(outcome, index)
    return _Step(None)
