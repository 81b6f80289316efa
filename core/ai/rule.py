"""`AiReply`, the AI rule of the reply chain (rank 30: after the keyword rules, before the defaults), and
`Assistant`, what it runs on: the model client, bargaining, the checks, usage and drafts.

The rule is slow (core/replies/rules.py): the replies stage runs it on its own pool (`ai_concurrency`
threads), never on a socket thread nor inside the messages-in-flight slots. It passes — and the next rule
answers, the buyer is answered either way — when it must not speak (below) or when the model fails, stalls
past ``timeout`` or answers nothing; the log says which. It does not speak:

* outside ``ai.hours``, past the daily token cap, or after waiting in line longer than ``timeout``;
* in a paused chat, or one where an order is paid (the delivery speaks there);
* in a chat whose buyer asked for a person (``ai.handoff`` words): the chat is flagged "needs you" until the
  seller writes in it.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from core import events as ev
from core.ai.checks import Checked, ReplyChecks
from core.ai.errors import ModelFailed
from core.ai.model import Completion, ModelClient, parse_structured
from core.ai.pricing import PriceTalk, Talk, list_price_of
from core.ai.prompt import build_messages, price_words
from core.ai.usage import Usage
from core.catalog import Catalog, Item
from core.clock import now_ms
from core.config import AccountConfig
from core.config.ai_schema import AiSettings
from core.replies.rules import Message, Outcome, Rule, RuleKind
from core.replies.takeover import MANUAL_RULE
from core.session.loop import ImSession
from storage import Store

log = logging.getLogger(__name__)

AI_RULE = "ai"
AI_RANK = 30
PAID = frozenset({"paid", "shipped", "completed"})  # orders past payment: the delivery rule speaks in the chat
HANDOFF_REASON = "the buyer asked for a person"


@dataclass(frozen=True)
class AiReply:
    account: AccountConfig
    assistant: Assistant
    rule_id: str = AI_RULE
    slow: bool = True

    def decide(self, message: Message) -> Outcome | None:
        return self.assistant.answer(self.account, message)


class Assistant:
    def __init__(self, store: Store, bus: ev.EventBus, catalog: Catalog,
                 session_for: Callable[[str], ImSession | None], paused: Callable[[str, str], bool],
                 model: ModelClient | None = None, default_base_url: str | None = None) -> None:
        """``default_base_url``: the endpoint for accounts whose ``ai.base_url`` is not set (the platform's own
        model, in the demo); None: the openai package's default."""
        self._store = store
        self._bus = bus
        self._catalog = catalog
        self._session_for = session_for
        self._paused = paused
        self.model = model or ModelClient()
        self._default_base_url = default_base_url
        self.prices = PriceTalk(store)
        self.checks = ReplyChecks(self.prices)
        self.usage = Usage(store)
        self._flagged: set[tuple[str, str]] | None = None  # chats flagged needs-you, mirrored from the store
        self._flag_lock = threading.Lock()

    def kind(self) -> RuleKind:
        """The rule kind to build chains with (one per service: its rules answer through this assistant)."""
        return RuleKind(AI_RULE, AI_RANK, self._rules_for)

    def _rules_for(self, account: AccountConfig) -> list[Rule]:
        return [AiReply(account, self)] if account.ai.ai.enabled else []

    def warm(self, accounts: Sequence[AccountConfig]) -> None:
        """Ready the clients of the accounts that use AI (see ModelClient.warm)."""
        for account in accounts:
            if account.ai.ai.enabled:
                self.model.warm(self._settings(account))

    def _settings(self, account: AccountConfig) -> AiSettings:
        settings = account.ai.ai
        if settings.base_url is None and self._default_base_url:
            return dataclasses.replace(settings, base_url=self._default_base_url)
        return settings

    def close(self) -> None:
        self.model.close()

    # -- the rule ------------------------------------------------------------------------------------------------

    def answer(self, account: AccountConfig, message: Message) -> Outcome | None:
        settings = self._settings(account)
        if not settings.on(message.item_id):
            return None
        why = self._silent_because(account, message)
        if why:
            log.info("%s: chat %s: the AI rule passes: %s", account.id, message.cid, why)
            return None
        item = self.item(account.id, message.item_id)
        list_price = list_price_of(item.price) if item is not None else None
        talk = (self.prices.talk(account.id, message.sender_id, item.item_id, account.ai.terms_for(item.item_id),
                                 list_price, message.text)
                if item is not None and list_price is not None and message.sender_id else None)
        decision = talk.decision if talk else None
        history = self._store.chats.history(account.id, message.cid, limit=settings.history + 1)
        prompt = build_messages(settings, item, history, message.text, decision, list_price)
        started = time.monotonic()
        try:
            completion = self.model.complete(settings, prompt)
        except ModelFailed as exc:
            self.usage.record(account.id, 0, 0, failed=True)
            log.warning("%s: chat %s: the model failed after %.1f s (%s); the next rule answers", account.id,
                        message.cid, time.monotonic() - started, exc.reason)
            return None
        return self._outcome(account, message, item, talk, completion)

    def _outcome(self, account: AccountConfig, message: Message, item: Item | None, talk: Talk | None,
                 completion: Completion) -> Outcome | None:
        draft = completion.text
        reply = parse_structured(draft)[0] if completion.structured else draft.strip()
        if not reply:
            self.usage.record(account.id, completion.prompt_tokens, completion.completion_tokens, failed=True)
            log.warning("%s: chat %s: the model answered nothing usable; the next rule answers", account.id,
                        message.cid)
            return None
        decided = talk.decision.price if talk and talk.decision else None
        checked = self.checks.check(account, message.sender_id, item, reply, ai=True, decided=decided,
                                    state=talk.state if talk else None)
        suggest = account.ai.ai.mode == "suggest"
        status = "blocked" if checked.blocked else ("suggested" if suggest else "sent")
        decision_text = _decision_text(talk)
        keep = functools.partial(self._keep_draft, account, message, item, completion, checked, decision_text, status)
        if checked.blocked:
            log.warning("%s: chat %s: AI draft #%d blocked (%s); the next rule answers", account.id, message.cid,
                        keep(), checked.blocked)
            return None
        if checked.changes:
            log.info("%s: chat %s: AI draft rewritten: %s", account.id, message.cid, "; ".join(checked.changes))
        if talk is not None and talk.changed and item is not None:
            self.prices.keep(account.id, message.sender_id, item.item_id, account.ai.terms_for(item.item_id),
                             talk.state)
        if not suggest:
            # The record of a draft that is sent is written after the reply, not before it (`then`): the reply row
            # is what makes the answer crash-safe, the draft only says how it came about.
            return Outcome(AI_RULE, checked.text, literal=True, checked=True, then=keep)
        else:
            draft_id = keep()
            # One draft waits per chat: the buyer's newest message is the one to answer.
            self._store.ai.replace_drafts(account.id, message.cid, "suggested", draft_id, "replaced", now_ms())
            self._bus.emit(ev.DraftSuggested(account.id, cid=message.cid, draft_id=draft_id, text=checked.text,
                                             decision=decision_text))
        return Outcome(AI_RULE, checked.text, literal=True, checked=True, suggest=suggest)

    # -- when the AI keeps quiet ---------------------------------------------------------------------------------

    def _silent_because(self, account: AccountConfig, message: Message) -> str | None:
        settings = account.ai.ai
        waited = now_ms() - message.received_ms if message.received_ms else 0
        if waited > settings.timeout * 1000:
            return f"waited {waited / 1000:.1f} s in line, longer than ai.timeout"
        local = time.localtime()
        if not settings.open_at(local.tm_hour * 60 + local.tm_min):
            return "outside ai.hours"
        if self._paused(account.id, message.cid):
            return "the chat is paused"
        if self.needs_you(account.id, message.cid):
            return "the chat waits for the seller (the buyer asked for a person)"
        words = [word for word in settings.handoff if word.casefold() in message.text.casefold()]
        if words:
            self._store.ai.flag(account.id, message.cid, f"{HANDOFF_REASON} ({words[0]})", now_ms())
            self._flags().add((account.id, message.cid))
            self._bus.emit(ev.NeedsYou(account.id, cid=message.cid, reason=HANDOFF_REASON, text=message.text))
            return f"the buyer asked for a person ({words[0]}): the chat is flagged needs you"
        if self._store.orders.statuses_in_chat(account.id, message.cid) & PAID:
            return "an order in this chat is paid (the delivery answers)"
        if self.usage.over_cap(account.id, settings):
            return f"today's ai.daily_tokens ({settings.daily_tokens}) are used up"
        return None

    def needs_you(self, account_id: str, cid: str) -> bool:
        """Flagged, and the seller has not written in the chat since (writing clears the flag)."""
        if (account_id, cid) not in self._flags():
            return False  # the common case, answered from memory
        flag = self._store.ai.flag_of(account_id, cid)
        by_hand = self._store.replies.last_by_hand_ms(account_id, cid, MANUAL_RULE) if flag else None
        if flag is None or (by_hand is not None and by_hand >= flag.at_ms):
            self.clear_needs_you(account_id, cid)
            return False
        return True

    def clear_needs_you(self, account_id: str, cid: str) -> None:
        self._store.ai.unflag(account_id, cid)
        self._flags().discard((account_id, cid))

    def _flags(self) -> set[tuple[str, str]]:
        with self._flag_lock:
            if self._flagged is None:
                self._flagged = {(f.account_id, f.cid) for f in self._store.ai.flags()}
            return self._flagged

    # -- helpers -------------------------------------------------------------------------------------------------

    def item(self, account_id: str, item_id: str | None) -> Item | None:
        """The item's details (an HTTP call when the cache is cold: callers are off the socket thread)."""
        if not item_id:
            return None
        session = self._session_for(account_id)
        if session is None:
            return self._catalog.cached(item_id)
        return self._catalog.item(session.credentials.mtop, item_id, account_id)

    def _keep_draft(self, account: AccountConfig, message: Message, item: Item | None, completion: Completion,
                    checked: Checked, decision: str, status: str) -> int:
        now = now_ms()
        # One transaction for the draft and the day's usage: each write on the reply's path is a wait.
        return self._store.ai.add_draft(usage=self.usage.row(account.id, completion), account_id=account.id,
                                        cid=message.cid, to_id=message.sender_id,
                                        item_id=item.item_id if item else None, draft=completion.text,
                                        text=checked.text,
                                        decision=decision, checks="; ".join(
                                            (checked.blocked,) if checked.blocked else checked.changes),
                                        status=status, created_at_ms=now, updated_at_ms=now)


def _decision_text(talk: Talk | None) -> str:
    if talk is None or talk.decision is None or talk.decision.price is None:
        return ""
    decision = talk.decision
    return f"{decision.action} {price_words(Decimal(decision.price))} (round {decision.round})"
