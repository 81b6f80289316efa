"""Incidents, not events: one per account and cause, kept in the database, and what is to be said about them.

An incident is opened by a signal (or by ``Flaps`` for ``offline``) with ``due = open`` a grouping window ahead;
``flush`` then writes ONE message per channel for every incident of that kind waiting to say the same thing
("3 accounts need a QR scan: a, b, c") and, in the same transaction, what each incident says next: a reminder
at the policy's growing intervals while a stateful one stays open, nothing for the others. A recovery closes it
with ``due = recovered``; one that recovers before it was ever announced closes silently (no "slider failed"
followed by "slider solved"). The messages' idempotency keys are made of the incidents' ids and the phase, so a
crash between writing and committing writes them again, never twice.

Runs on the notifier's thread only; the database is the truth, ``_open`` its cache of the open ones.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from core.config.notify_schema import NotifyChannel, NotifySettings, rank
from core.notify.signals import HOLD_MS, SEVERITY, STATEFUL, Signal
from core.notify.wording import compose
from storage import NotifyIncident, Store

log = logging.getLogger(__name__)

Alias = Callable[[str], str]
# A parked account's other incidents say why it is down: no "offline" on top of them.
_SUPERSEDE_OFFLINE = ("needs_verification", "login_required")


class Incidents:
    def __init__(self, store: Store, policy: Callable[[], NotifySettings],
                 channels: Callable[[], Sequence[NotifyChannel]], alias: Alias) -> None:
        self._store = store
        self._policy = policy
        self._channels = channels
        self._alias = alias
        self._open: dict[tuple[str, str], NotifyIncident] = {
            (i.account_id, i.cause): i for i in store.notices.open_incidents()}

    # -- opening and closing -----------------------------------------------------------------------------------

    def apply(self, signal: Signal, now_ms: int) -> None:
        if signal.opens:
            self.open(signal.account_id, signal.kind, signal.cause, signal.detail, now_ms)
        else:
            self.close(signal.account_id, signal.cause, now_ms)

    def open(self, account_id: str, kind: str, cause: str, detail: dict[str, Any], now_ms: int) -> bool:
        if (account_id, cause) in self._open:
            return False  # one incident per account and cause: a repeat or a replay says nothing
        if kind in _SUPERSEDE_OFFLINE:
            self.close(account_id, "offline", now_ms, silently=True)  # not "back online": parked instead
        elif kind == "offline" and any((account_id, k) in self._open for k in _SUPERSEDE_OFFLINE):
            return False
        hold = HOLD_MS.get(kind)
        incident = NotifyIncident(
            account_id=account_id, cause=cause, kind=kind, severity=SEVERITY[kind], detail=json.dumps(detail,
                                                                                                     default=str),
            opened_at_ms=now_ms, due="open", due_at_ms=now_ms + int(self._policy().group_seconds * 1000),
            expires_at_ms=now_ms + hold if hold else None)
        incident_id = self._store.notices.open_incident(incident)
        if incident_id is None:  # open in the database already (another path wrote it): adopt it
            self._open.update({(i.account_id, i.cause): i for i in self._store.notices.open_incidents(account_id)})
            return False
        incident.id, incident.open_cause = incident_id, cause
        self._open[(account_id, cause)] = incident
        log.info("%s: incident opened: %s", account_id, cause)
        return True

    def close(self, account_id: str, cause: str, now_ms: int, *, silently: bool = False) -> None:
        incident = self._open.pop((account_id, cause), None)
        if incident is None or incident.id is None:
            return
        said = incident.announced_at_ms is not None and incident.kind in STATEFUL and not silently
        changes = {"closed_at_ms": now_ms, "due": "recovered" if said else "",
                   "due_at_ms": now_ms + int(self._policy().group_seconds * 1000)}
        self._store.notices.change_incident(incident.id, **changes)
        log.info("%s: incident closed: %s%s", account_id, cause, "" if said else " (before it was announced)")

    def is_open(self, account_id: str, cause: str) -> bool:
        return (account_id, cause) in self._open

    def open_causes(self) -> list[tuple[str, str]]:
        return list(self._open)

    def expire(self, now_ms: int, known: Callable[[str], bool]) -> None:
        """Close silently what is past its hold period, and what belongs to accounts no longer configured."""
        for (account_id, cause), incident in list(self._open.items()):
            expired = incident.expires_at_ms is not None and incident.expires_at_ms <= now_ms
            if expired or not known(account_id):
                self._open.pop((account_id, cause))
                assert incident.id is not None
                self._store.notices.change_incident(incident.id, closed_at_ms=now_ms, due="")

    # -- saying it -----------------------------------------------------------------------------------------------

    def flush(self, now_ms: int) -> int:
        """Write the messages that are due; returns how many were written (the senders are then woken)."""
        written = 0
        done: set[tuple[str, str]] = set()
        for incident in self._store.notices.due_incidents(now_ms):
            group = (incident.kind, incident.due)
            if group in done:
                continue
            done.add(group)
            horizon = now_ms + int(self._policy().group_seconds * 1000)
            members = [m for m in self._store.notices.waiting(*group) if m.due_at_ms <= horizon]
            written += self._announce(incident.kind, incident.due, members, now_ms)
        return written

    def _announce(self, kind: str, phase: str, members: list[NotifyIncident], now_ms: int) -> int:
        policy = self._policy()
        messages = []
        for channel in self._channels():
            heard = [m for m in members if _wants(channel, m, phase)]
            if not heard:
                continue
            title, body = compose(kind, phase, heard, self._alias, now_ms)
            severity = max((m.severity for m in heard), key=rank)
            ids = ",".join(str(m.id) for m in heard)
            reminder = f"#{heard[0].reminders + 1}" if phase == "reminder" else ""
            messages.append({
                "channel": channel.name, "key": f"{phase}{reminder}:{kind}:{ids}",
                "kind": "account_recovered" if phase == "recovered" else kind, "severity": severity,
                "accounts": ",".join(dict.fromkeys(m.account_id for m in heard)), "title": title, "body": body,
                "state": "pending", "next_at_ms": held_until(policy, severity, now_ms), "created_at_ms": now_ms})
        changes = [(m.id, self._after(m, phase, policy, now_ms)) for m in members if m.id is not None]
        for incident_id, values in changes:
            cached = next((i for i in self._open.values() if i.id == incident_id), None)
            if cached is not None:
                for name, value in values.items():
                    setattr(cached, name, value)
        return self._store.notices.announce(messages, changes)

    @staticmethod
    def _after(incident: NotifyIncident, phase: str, policy: NotifySettings, now_ms: int) -> dict[str, Any]:
        """What an incident says next, once *phase* was said."""
        if phase == "recovered":
            return {"due": ""}
        announced = incident.announced_at_ms or now_ms
        sent = incident.reminders + (1 if phase == "reminder" else 0)
        after = policy.reminder_after(sent) if incident.kind in STATEFUL else None
        return {"announced_at_ms": announced, "reminders": sent, "due": "reminder" if after is not None else "",
                "due_at_ms": announced + int(after * 60_000) if after is not None else 0}


def _wants(channel: NotifyChannel, incident: NotifyIncident, phase: str) -> bool:
    """A recovery goes where the incident went, to channels that also take account_recovered."""
    if phase == "recovered" and "account_recovered" not in channel.events:
        return False
    return channel.wants(incident.kind, incident.severity, incident.account_id)


def held_until(policy: NotifySettings, severity: str, now_ms: int) -> int:
    """When a message of *severity* written at *now_ms* may go: now, or the end of the quiet hours."""
    local = time.localtime(now_ms / 1000)
    minutes = policy.quiet_until(local.tm_hour * 60 + local.tm_min, severity)
    if minutes is None:
        return now_ms
    return now_ms + (minutes * 60 - local.tm_sec) * 1000
