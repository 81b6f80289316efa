"""What the dashboard asks of the service, as one narrow surface.

``ServiceBackend`` wraps a running ``core.service.Service``. The screens only ever talk to a backend, so
the snapshot tests can hand them a fixed one (fixed snapshots and rows, a frozen clock) and get the same
picture every run. Methods marked *blocking* touch the network, the database or an account's lock: the
app calls them from worker threads only. ``snapshots`` and ``config`` read memory and are loop-safe.
"""

from __future__ import annotations

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


def describe_rule(rule: Any) -> str:
    keyword = getattr(rule, "keyword", None)
    if keyword is not None:
        where = f" (item {keyword.item})" if keyword.item else ""
        return f"{keyword.kind} {keyword.pattern!r}{where} → {keyword.reply!r}"
    if hasattr(rule, "item_id"):
        return f"item {rule.item_id} → {rule.reply!r}"
    once = " (once per chat)" if getattr(rule, "once", False) else ""
    return f"anything else → {rule.reply!r}{once}"
