"""What the dashboard asks of the service, as one narrow surface.

``ServiceBackend`` wraps a running ``core.service.Service``. The screens only ever talk to a backend, so
the snapshot tests can hand them a fixed one (fixed snapshots and rows, a frozen clock) and get the same
picture every run. Methods marked *blocking* touch the network, the database or an account's lock: the
app calls them from worker threads only. ``snapshots`` and ``config`` read memory and are loop-safe.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any, Protocol

from core.config import Config
from core.control import Control
from core.goofish.cookies import mask
from core.session.loop import Snapshot
from tui.model import REPLIED, WAITING, Conversation


@dataclass(frozen=True)
class RuleHits:
    rule_id: str
    description: str
    hits: int


@dataclass(frozen=True)
class AccountDetail:
    """Account detail screen: settings in effect (secrets masked), scheduler jobs, the reply rules."""

    account_id: str
    settings: tuple[tuple[str, str], ...]
    jobs: tuple[tuple[str, int | None], ...]
    rules: tuple[RuleHits, ...]
    ai: tuple[tuple[str, str], ...] = ()  # the AI settings in effect (the key only masked or as "from $ENV")
    usage: tuple[Any, ...] = ()  # core.ai.usage.DayUsage per day, newest first


@dataclass(frozen=True)
class HistoryEntry:
    key: str  # stable across reads: "in:<row id>" / "out:<row id>"
    at_ms: int
    direction: str  # in | out
    who: str
    text: str
    note: str  # rule / decision / status


class Backend(Protocol):
    def config(self) -> Config: ...
    def snapshots(self) -> list[Snapshot]: ...
    # blocking:
    def start(self, account_id: str) -> None: ...
    def stop(self, account_id: str) -> None: ...
    def restart(self, account_id: str) -> None: ...
    def pause(self, account_id: str, cid: str, minutes: float) -> None: ...
    def resume(self, account_id: str, cid: str) -> None: ...
    def send_manual(self, account_id: str, cid: str, to_id: str, text: str) -> bool: ...
    def reload(self) -> Config: ...
    def counters(self, since_ms: int) -> dict[str, tuple[int, int]]: ...
    def pauses(self, now_ms: int) -> list[tuple[str, str, int]]: ...
    def conversations(self, limit: int) -> list[Conversation]: ...
    def history(self, account_id: str, cid: str) -> list[HistoryEntry]: ...
    def detail(self, account_id: str) -> AccountDetail: ...
    # verification (issue 5): memory reads, loop-safe …
    def slider_status(self) -> Any: ...
    def pending_verification(self, account_id: str) -> str | None: ...
    # … and blocking: raises core.errors.CookieRejected with a message safe to show
    def set_cookie(self, account_id: str, cookie: str) -> None: ...
    # QR login (issue 13): start_login raises core.errors.LoginFailed for an unusable id; progress reads memory
    def start_login(self, account_id: str) -> None: ...
    def login_progress(self, account_id: str) -> Any: ...
    def cancel_login(self, account_id: str) -> None: ...
    # orders (issue 6), blocking; refusals raise core.errors.OrderActionError
    def orders(self, limit: int) -> list[Any]: ...
    def retry_delivery(self, order_id: str) -> None: ...
    def resend_delivery(self, order_id: str) -> None: ...
    # AI replies, blocking; send/discard refusals raise core.ai.errors.SuggestionRefused (a message to show)
    def suggestions(self, account_id: str | None = None) -> list[Any]: ...
    def send_suggestion(self, draft_id: int, text: str | None = None) -> bool: ...
    def discard_suggestion(self, draft_id: int) -> None: ...
    def needs_you(self) -> list[tuple[str, str, str, int]]: ...
    def clear_needs_you(self, account_id: str, cid: str) -> None: ...
    def ai_usage(self, account_id: str, days: int = 7) -> list[Any]: ...
    # notifications to the seller's phone (issue 15), blocking: storage.NotifyMessage rows, newest first
    def notifications(self, limit: int = 100) -> list[Any]: ...


class ServiceBackend:
    """The live backend: `core.control.Control` over a running service, in the dashboard's own row types."""

    def __init__(self, control: Control) -> None:
        self.control = control

    def config(self) -> Config:
        return self.control.config()

    def snapshots(self) -> list[Snapshot]:
        return self.control.snapshots()

    def start(self, account_id: str) -> None:
        self.control.start(account_id)

    def stop(self, account_id: str) -> None:
        self.control.stop(account_id)

    def restart(self, account_id: str) -> None:
        self.control.restart(account_id)

    def pause(self, account_id: str, cid: str, minutes: float) -> None:
        self.control.pause(account_id, cid, minutes)

    def resume(self, account_id: str, cid: str) -> None:
        self.control.resume(account_id, cid)

    def send_manual(self, account_id: str, cid: str, to_id: str, text: str) -> bool:
        return self.control.send_manual(account_id, cid, to_id, text)

    def reload(self) -> Config:
        return self.control.reload()

    def counters(self, since_ms: int) -> dict[str, tuple[int, int]]:
        return self.control.counters(since_ms)

    def pauses(self, now_ms: int) -> list[tuple[str, str, int]]:
        return self.control.pauses(now_ms)

    def conversations(self, limit: int) -> list[Conversation]:
        """The latest message of each recent chat, oldest first (the Inbox's order)."""
        latest: dict[tuple[str, str], Conversation] = {}
        for message, reply in self.control.inbox(limit):
            key = (message.account_id, message.cid)
            if key not in latest:  # newest first: the first row of a chat is its latest message
                latest[key] = conversation_from_rows(message, reply)
        return sorted(latest.values(), key=lambda c: c.at_ms)

    def history(self, account_id: str, cid: str) -> list[HistoryEntry]:
        return [HistoryEntry(f"{line.direction}:{line.row_id}", line.at_ms, line.direction,
                             (line.sender_nick or line.sender_id or "") if line.direction == "in" else "me",
                             line.text, " ".join(filter(None, (line.rule, line.status))))
                for line in self.control.history(account_id, cid)]

    def detail(self, account_id: str) -> AccountDetail:
        account = self.control.config().account(account_id)
        hits = self.control.rule_hits(account_id)
        return AccountDetail(
            account_id,
            settings=tuple(settings_rows(account)),
            jobs=tuple(self.control.next_runs(account_id)),
            rules=tuple(RuleHits(rule.rule_id, describe_rule(rule), hits.get(rule.rule_id, 0))
                        for rule in self.control.rules(account_id)),
            ai=tuple(ai_rows(account)),
            usage=tuple(self.control.ai_usage(account_id)),
        )

    def slider_status(self) -> Any:
        return self.control.slider_status()

    def pending_verification(self, account_id: str) -> str | None:
        return self.control.pending_verification(account_id)

    def set_cookie(self, account_id: str, cookie: str) -> None:
        self.control.set_cookie(account_id, cookie)

    def start_login(self, account_id: str) -> None:
        self.control.start_login(account_id)

    def login_progress(self, account_id: str) -> Any:
        return self.control.login_progress(account_id)

    def cancel_login(self, account_id: str) -> None:
        self.control.cancel_login(account_id)

    def orders(self, limit: int) -> list[Any]:
        return self.control.orders(limit)

    def retry_delivery(self, order_id: str) -> None:
        self.control.retry_delivery(order_id)

    def resend_delivery(self, order_id: str) -> None:
        self.control.resend_delivery(order_id)

    def suggestions(self, account_id: str | None = None) -> list[Any]:
        return self.control.suggestions(account_id)

    def send_suggestion(self, draft_id: int, text: str | None = None) -> bool:
        return self.control.send_suggestion(draft_id, text)

    def discard_suggestion(self, draft_id: int) -> None:
        self.control.discard_suggestion(draft_id)

    def needs_you(self) -> list[tuple[str, str, str, int]]:
        return self.control.needs_you()

    def clear_needs_you(self, account_id: str, cid: str) -> None:
        self.control.clear_needs_you(account_id, cid)

    def ai_usage(self, account_id: str, days: int = 7) -> list[Any]:
        return self.control.ai_usage(account_id, days)

    def notifications(self, limit: int = 100) -> list[Any]:
        return self.control.notifications(limit)


def conversation_from_rows(message: Any, reply: Any) -> Conversation:
    status = message.decision or WAITING
    if reply is not None and reply.status == "sent":
        status = REPLIED
    elif reply is not None and reply.status == "failed":
        status = "failed"
    latency = (reply.sent_at_ms - message.received_at_ms) if reply is not None and reply.sent_at_ms else None
    return Conversation(message.account_id, message.cid, message.sender_id or "", message.sender_nick or "",
                        message.item_id, message.text, message.message_id, message.received_at_ms, status,
                        reply.text if reply is not None else "", message.rule or "", latency)


def settings_rows(account: Any) -> Iterable[tuple[str, str]]:
    """The account's settings in effect; the cookie and proxy only ever as masked descriptions."""
    yield "alias", account.alias or account.id
    yield "enabled", str(account.enabled).lower()
    yield "cookie", account.masked() if not account.cookie_env else f"from ${account.cookie_env}"
    yield "proxy", mask(account.proxy) if account.proxy else "none"
    yield "user_agent", account.user_agent or "built-in"
    for f in fields(account.effective):
        yield f.name, f"{getattr(account.effective, f.name)}"


def ai_rows(account: Any) -> Iterable[tuple[str, str]]:
    """The account's AI settings in effect. The API key is never shown: masked, or where it comes from."""
    ai = account.ai.ai
    yield "enabled", str(ai.enabled).lower()
    yield "mode", ai.mode + (" (drafts wait for you)" if ai.mode == "suggest" else "")
    yield "model", ai.model or "endpoint default"
    yield "endpoint", ai.base_url or "api.openai.com (default)"
    yield "key", describe_key(ai)
    yield "hours", describe_hours(ai.hours)
    yield "daily cap", f"{ai.daily_tokens:,} tokens" if ai.daily_tokens else "no cap"
    yield "timeout", f"{ai.timeout:g}s"
    terms = account.ai.bargain
    yield "bargain", (f"floor {terms.floor}, {terms.max_rounds} round(s)" if terms.floor is not None
                      else "no discount")
    if account.ai.items:
        yield "items", ", ".join(f"{t.item_id}: floor {t.bargain.floor or 'none'}" for t in account.ai.items)


def describe_key(ai: Any) -> str:
    """Where the key comes from, in core.ai.model.api_key's order (the file's key wins); never the key."""
    if ai.api_key:
        return f"{mask(ai.api_key)} (written in accounts.yml)"
    if ai.api_key_env:
        state = "set" if os.environ.get(ai.api_key_env, "").strip() else "NOT SET"
        return f"from ${ai.api_key_env} ({state})"
    return "none"


def describe_hours(hours: Iterable[tuple[int, int]]) -> str:
    windows = [f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}" for start, end in hours]
    return ", ".join(windows) or "always"


def describe_rule(rule: Any) -> str:
    ai = getattr(getattr(getattr(rule, "account", None), "ai", None), "ai", None)
    if getattr(rule, "rule_id", None) == "ai" and ai is not None:
        return f"AI ({ai.model or 'endpoint default'}, {ai.mode})"
    keyword = getattr(rule, "keyword", None)
    if keyword is not None:
        where = f" (item {keyword.item})" if keyword.item else ""
        return f"{keyword.kind} {keyword.pattern!r}{where} → {keyword.reply!r}"
    if hasattr(rule, "item_id"):
        return f"item {rule.item_id} → {rule.reply!r}"
    once = " (once per chat)" if getattr(rule, "once", False) else ""
    return f"anything else → {rule.reply!r}{once}"
