"""The dashboard's memory of what happened: conversations, today's counters, pauses, per-account history.

Plain Python, fed on the app's loop with the events drained from ``EventFeed``; the screens read it. The
service's snapshots say what *is* (state, heartbeat, token); this model remembers what *happened*, which
no snapshot carries. Everything is bounded, so a day of 500 messages/s costs the same memory as a minute.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from core import events as ev

CONVERSATIONS_KEPT = 500
HISTORY_KEPT = 30
LOG_KEPT = 5_000
REPLIED = "replied"
WAITING = "waiting"
FAILED = "failed"
DRAFT = "draft"
NEEDS_YOU = "needs you"
BY_HAND_RULES = frozenset({"manual", "ai"})  # replies the seller sent: by hand, or an AI draft approved


@dataclass(frozen=True)
class Conversation:
    """One chat as the Inbox shows it: the buyer's latest message and what became of it."""

    account_id: str
    cid: str
    buyer_id: str
    buyer_nick: str
    item_id: str | None
    text: str
    message_id: str
    at_ms: int
    status: str = WAITING  # replied | waiting | failed | a pipeline decision (paused, no_rule, too_old …)
    reply: str = ""
    rule: str = ""
    latency_ms: int | None = None

    @property
    def key(self) -> str:
        return conversation_key(self.account_id, self.cid)

    @property
    def unanswered(self) -> bool:
        return self.status != REPLIED


@dataclass(frozen=True)
class Suggestion:
    """An AI draft waiting for the seller (ai.mode: suggest): send it as is, edit it, or discard it."""

    draft_id: int
    account_id: str
    cid: str
    text: str
    decision: str = ""  # what the program decided, e.g. "counter 90 (round 2 of 3)"
    checks: str = ""  # what the reply checks changed in the model's draft
    at_ms: int = 0


@dataclass(frozen=True)
class Flag:
    """A chat flagged "needs you" (the buyer asked for a person) until the seller writes in it."""

    reason: str
    since_ms: int


def conversation_key(account_id: str, cid: str) -> str:
    return f"{account_id}\x1f{cid}"


@dataclass(frozen=True)
class HistoryLine:
    at_ms: int
    text: str
    error: bool


class Dashboard:
    """Applies service events; answers the screens' questions without touching the service."""

    def __init__(self, clock: Callable[[], int] = ev.now_ms) -> None:
        self.clock = clock
        self.conversations: OrderedDict[str, Conversation] = OrderedDict()  # oldest first
        self.counters: dict[str, list[int]] = {}  # account → [messages in, replies out] today
        self.pauses: dict[tuple[str, str], int] = {}  # (account, cid) → until ms
        self.history: dict[str, deque[HistoryLine]] = {}
        self.log: deque[str] = deque(maxlen=LOG_KEPT)
        self.log_total = 0  # lines ever added: the Log screen appends the ones it has not shown
        self.verification: dict[str, ev.VerificationChanged] = {}  # latest phase per account
        self.version = 0  # bumped on every change, so a screen can skip a redraw when nothing moved
        self.orders_version = 0  # bumped by order and delivery events: the Orders screen reads them again
        # AI: the drafts waiting per chat (newest first) and the chats that need the seller, as the service last
        # said (``load_ai``) plus what events said since; ``ai_stale`` asks the app to read them again.
        self.drafts: dict[str, tuple[Suggestion, ...]] = {}
        self.needs_you: dict[str, Flag] = {}
        self.ai_stale = False
        self.day_start_ms = 0

    # ---- loading and feeding ---------------------------------------------------------------------------

    def load_counters(self, counts: dict[str, tuple[int, int]], day_start_ms: int) -> None:
        self.counters = {account: [received, sent] for account, (received, sent) in counts.items()}
        self.day_start_ms = day_start_ms
        self.version += 1

    def load_pauses(self, pauses: Iterable[tuple[str, str, int]]) -> None:
        for account_id, cid, until_ms in pauses:
            self.pauses[(account_id, cid)] = until_ms
        self.version += 1

    def load_conversations(self, conversations: Iterable[Conversation]) -> None:
        """Rows read from storage at start, oldest first. A chat that live events already brought in keeps its
        newer live row, and stays after the loaded ones."""
        live = self.conversations
        self.conversations = OrderedDict((c.key, c) for c in conversations if c.key not in live)
        for key, conversation in live.items():
            self.conversations[key] = conversation
        while len(self.conversations) > CONVERSATIONS_KEPT:
            self.conversations.popitem(last=False)
        self.version += 1

    def load_ai(self, drafts: Iterable[Suggestion], flags: Iterable[tuple[str, str, str, int]]) -> None:
        """What the service says now: every waiting draft (newest first) and every flagged chat."""
        by_chat: dict[str, list[Suggestion]] = {}
        for draft in drafts:
            by_chat.setdefault(conversation_key(draft.account_id, draft.cid), []).append(draft)
        self.drafts = {key: tuple(found) for key, found in by_chat.items()}
        self.needs_you = {conversation_key(a, cid): Flag(reason, since) for a, cid, reason, since in flags}
        self.version += 1

    def drop_draft(self, draft_id: int) -> None:
        """A draft was sent or discarded from here: its mark goes now, before the service is read again."""
        for key, drafts in list(self.drafts.items()):
            kept = tuple(d for d in drafts if d.draft_id != draft_id)
            if len(kept) != len(drafts):
                if kept:
                    self.drafts[key] = kept
                else:
                    del self.drafts[key]
                self.version += 1

    def clear_flag(self, account_id: str, cid: str) -> None:
        if self.needs_you.pop(conversation_key(account_id, cid), None) is not None:
            self.version += 1

    def draft_for(self, account_id: str, cid: str) -> Suggestion | None:
        """The newest draft waiting in this chat."""
        drafts = self.drafts.get(conversation_key(account_id, cid))
        return drafts[0] if drafts else None

    def mark(self, key: str) -> str:
        """The Inbox's mark for a chat: "needs you", "draft" or ""."""
        if key in self.needs_you:
            return NEEDS_YOU
        return DRAFT if key in self.drafts else ""

    def add_log(self, lines: list[str]) -> None:
        if lines:
            self.log.extend(lines)
            self.log_total += len(lines)
            self.version += 1

    def apply(self, events: Iterable[ev.Event]) -> None:
        for event in events:
            self._apply(event)
            self.version += 1

    def _apply(self, event: ev.Event) -> None:  # noqa: C901 - one case per event type reads best
        who = event.account_id
        match event:
            case ev.MessageReceived():
                self._count(who, 0)
                self._put(Conversation(who, event.cid, event.sender_id, event.sender_nick, event.item_id,
                                       event.text, event.message_id, event.at_ms))
            case ev.ReplySent():
                self._count(who, 1)
                self._update(who, event.cid, status=REPLIED, reply=event.text, rule=event.rule,
                             latency_ms=event.latency_ms)
                key = conversation_key(who, event.cid)
                if event.rule in BY_HAND_RULES and (key in self.needs_you or key in self.drafts):
                    self.ai_stale = True  # the seller wrote there: the flag (or the draft) may be gone
            case ev.ReplyFailed():
                self._update(who, event.cid, status=FAILED, reply=event.text, rule=event.rule)
                self._remember(who, event.at_ms, f"reply to chat {event.cid} failed: {event.error}", True)
            case ev.MessageDecided():
                current = self.conversations.get(conversation_key(who, event.cid))
                if current is not None and current.message_id == event.message_id:
                    self._update(who, event.cid, status=event.decision)
            case ev.ChatPaused():
                self.pauses[(who, event.cid)] = event.until_ms
            case ev.ChatResumed():
                self.pauses.pop((who, event.cid), None)
            case ev.StateChanged():
                reason = f" ({event.reason})" if event.reason else ""
                self._remember(who, event.at_ms, f"{event.previous} → {event.state}{reason}",
                               event.state in ev.TROUBLED)
            case ev.AccountError():
                self._remember(who, event.at_ms, event.message, True)
            case ev.VerificationChanged():
                self.verification[who] = event
            case ev.OrderChanged() | ev.DeliveryChanged() | ev.OrderNotice():
                self.orders_version += 1
            case ev.DraftSuggested():
                key = conversation_key(who, event.cid)
                waiting = tuple(d for d in self.drafts.get(key, ()) if d.draft_id != event.draft_id)
                self.drafts[key] = (Suggestion(event.draft_id, who, event.cid, event.text, event.decision,
                                               at_ms=event.at_ms), *waiting)
                self.ai_stale = True  # the stored draft also says what the checks changed
            case ev.NeedsYou():
                self.needs_you[conversation_key(who, event.cid)] = Flag(event.reason, event.at_ms)
                self.ai_stale = True

    def _count(self, account_id: str, column: int) -> None:
        today = self.clock()
        if today - self.day_start_ms >= 86_400_000:  # past midnight: a new day's counters
            self.counters, self.day_start_ms = {}, day_start(today)
        self.counters.setdefault(account_id, [0, 0])[column] += 1

    def _put(self, conversation: Conversation) -> None:
        key = conversation.key
        self.conversations.pop(key, None)
        self.conversations[key] = conversation
        while len(self.conversations) > CONVERSATIONS_KEPT:
            self.conversations.popitem(last=False)

    def _update(self, account_id: str, cid: str, **changes: object) -> None:
        key = conversation_key(account_id, cid)
        current = self.conversations.get(key)
        if current is not None:  # a reply in a chat that scrolled out of memory changes nothing shown
            self.conversations[key] = replace(current, **changes)  # type: ignore[arg-type]

    def _remember(self, account_id: str, at_ms: int, text: str, error: bool) -> None:
        lines = self.history.get(account_id)
        if lines is None:
            lines = self.history[account_id] = deque(maxlen=HISTORY_KEPT)
        lines.append(HistoryLine(at_ms, text, error))

    # ---- what the screens ask -------------------------------------------------------------------------

    def today(self, account_id: str) -> tuple[int, int]:
        received, sent = self.counters.get(account_id, (0, 0))
        return received, sent

    def paused_chats(self, account_id: str | None = None) -> list[tuple[str, str, int]]:
        now = self.clock()
        return sorted((a, cid, until) for (a, cid), until in self.pauses.items()
                      if until > now and (account_id is None or a == account_id))

    def paused_counts(self) -> dict[str, int]:
        now = self.clock()
        counts: dict[str, int] = {}
        for (account_id, _), until in self.pauses.items():
            if until > now:
                counts[account_id] = counts.get(account_id, 0) + 1
        return counts

    def inbox(self, account_id: str | None = None, text: str = "",
              unanswered: bool = False) -> list[Conversation]:
        """Conversations, oldest first, matching every filter given (``unanswered``: or waiting for the seller)."""
        needle = text.casefold()
        return [c for c in self.conversations.values()
                if (account_id is None or c.account_id == account_id)
                and (not unanswered or c.unanswered or c.key in self.needs_you or c.key in self.drafts)
                and (not needle or needle in c.text.casefold() or needle in c.buyer_nick.casefold()
                     or needle in c.reply.casefold())]


def day_start(now_ms: int) -> int:
    """Local midnight before ``now_ms``: "today" is the seller's day, not UTC's."""
    local = time.localtime(now_ms / 1000)
    return int(time.mktime((local.tm_year, local.tm_mon, local.tm_mday, 0, 0, 0, 0, 0, -1)) * 1000)
