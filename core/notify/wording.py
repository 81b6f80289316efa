"""What a notification says: a title and a body a seller reads on a phone lock screen, with the exact fix.

Pure functions of the incidents (their kind and ``detail``) and the accounts' display names. One incident reads
"shop-b needs a slider check"; several of one kind read "3 accounts need a slider check: a, b, c", each with
its own fix below. Whatever the platform wrote (a buyer's message, an error body) is clipped and made inert.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from core.inert import inert
from storage import NotifyIncident

Alias = Callable[[str], str]

_CLIP = 120
# kind → (one account, several accounts): what happened, as a title.
_TITLES: dict[str, tuple[str, str]] = {
    "needs_verification": ("{who} needs a slider check", "{n} accounts need a slider check: {names}"),
    "login_required": ("{who} is logged out: scan a QR code", "{n} accounts need a QR scan: {names}"),
    "login_expiring": ("{who}'s login ends soon", "{n} accounts' logins end soon: {names}"),
    "offline": ("{who} is offline", "{n} accounts are offline: {names}"),
    "delivery_failed": ("{who}: an order could not be delivered", "{n} orders could not be delivered: {names}"),
    "low_stock": ("{who}: stock is running low", "{n} stock lists are running low: {names}"),
    "needs_you": ("{who}: a buyer needs you", "{n} chats need you: {names}"),
    "order_paid": ("{who}: an order was paid", "{n} orders were paid: {names}"),
}


def detail_of(incident: NotifyIncident) -> dict[str, Any]:
    try:
        value = json.loads(incident.detail or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def compose(kind: str, phase: str, members: Sequence[NotifyIncident], alias: Alias, now_ms: int) -> tuple[str, str]:
    """(title, body) of one message about *members* (incidents of *kind*) in *phase*: open | reminder | recovered."""
    names = ", ".join(dict.fromkeys(alias(m.account_id) for m in members))
    if phase == "recovered":
        return _recovered(kind, members, alias, names)
    single, several = _TITLES[kind]
    title = (single.format(who=alias(members[0].account_id)) if len(members) == 1
             else several.format(n=len(members), names=names))
    if phase == "reminder":
        title = f"Still open ({_age(now_ms - members[0].opened_at_ms)}): {title}"
    body = "\n\n".join(_line(kind, m, alias) for m in members)
    return title, body


def _recovered(kind: str, members: Sequence[NotifyIncident], alias: Alias, names: str) -> tuple[str, str]:
    what = _WAS[kind]
    lines = [f"{alias(m.account_id)}: {_recovery(kind, m)} after {_age((m.closed_at_ms or 0) - m.opened_at_ms)} "
             f"(was: {what})" for m in members]
    if len(members) == 1:
        return lines[0].split(" (was:")[0], lines[0]
    return f"{len(members)} recovered: {names}", "\n".join(lines)


_WAS = {"needs_verification": "slider check", "login_required": "logged out", "offline": "offline",
        "delivery_failed": "delivery failed"}


def _recovery(kind: str, incident: NotifyIncident) -> str:
    if kind == "delivery_failed":
        return f"order {detail_of(incident).get('order', '?')} delivered"
    return "back online"


def _line(kind: str, incident: NotifyIncident, alias: Alias) -> str:
    """One incident: who, what happened, and the exact fix."""
    who, account, d = alias(incident.account_id), incident.account_id, detail_of(incident)
    match kind:
        case "needs_verification":
            return (f"{who}: the platform's risk control asked for a slider check and the automatic solve gave up "
                    f"({_clip(d.get('reason', ''))}). Fix: open {d.get('url', '(see the dashboard)')} in a browser "
                    f"logged in as this account and drag the slider, or run: python xianyu.py verify {account}")
        case "login_required":
            return (f"{who}: the login has ended ({_clip(d.get('reason', ''))}); the account waits. Fix: python "
                    f"xianyu.py login {account} (or press l on the dashboard) and scan the code with the Xianyu app")
        case "login_expiring":
            return (f"{who}: {_clip(d.get('reason', 'the login ends soon'))}. Fix, before it ends: python xianyu.py "
                    f"login {account}")
        case "offline":
            return f"{who}: {_clip(d.get('reason', 'offline'))}. It keeps reconnecting by itself; check its network " \
                   f"or proxy, and the Log screen (5) for the error"
        case "delivery_failed":
            return (f"{who}: order {d.get('order', '?')} (item {d.get('item') or '?'}) was not delivered: "
                    f"{_clip(d.get('reason', ''))}. Fix the cause, then retry: Orders screen (4), select the "
                    f"order, press t (retry key order:{d.get('order', '?')})")
        case "low_stock":
            return (f"{who}: stock list '{_clip(d.get('stock', '?'))}' has {d.get('left', '?')} codes left "
                    f"(threshold {d.get('threshold', '?')}). Fix: python xianyu.py stock import "
                    f"{d.get('stock', 'NAME')} FILE")
        case "needs_you":
            return (f"{who}: {_clip(d.get('reason', 'a buyer asked for a person'))} in chat {d.get('cid', '?')}: "
                    f"“{_clip(d.get('text', ''))}”. Answer in the Xianyu app or the dashboard's chat; the bot "
                    f"stays out of that chat")
        case "order_paid":
            return f"{who}: order {d.get('order', '?')} paid (item {d.get('item') or '?'}, buyer " \
                   f"{_clip(d.get('buyer') or '?')})"
    return f"{who}: {kind}"


def summary(day: str, counts: dict[str, dict[str, int]], alias: Alias) -> tuple[str, str]:
    """The daily summary: per account messages, replies, orders, deliveries and failures."""
    keys = ("messages", "replies", "orders", "deliveries", "failed_replies", "failed_deliveries")
    total = {key: sum(c.get(key, 0) for c in counts.values()) for key in keys}
    title = (f"{day}: {total['messages']} messages, {total['replies']} replies, {total['orders']} orders, "
             f"{total['deliveries']} delivered")
    lines = [f"{alias(account)}: {c.get('messages', 0)} messages, {c.get('replies', 0)} replies, "
             f"{c.get('orders', 0)} orders, {c.get('deliveries', 0)} delivered, "
             f"{c.get('failed_replies', 0) + c.get('failed_deliveries', 0)} failures"
             for account, c in sorted(counts.items())]
    return title, "\n".join(lines) or "No activity."


def _age(ms: int) -> str:
    seconds = max(0, ms) // 1000
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def _clip(value: Any) -> str:
    text = " ".join(inert(str(value)).split())
    return text if len(text) <= _CLIP else text[: _CLIP - 1] + "…"
