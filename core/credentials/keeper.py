"""`LoginKeeper`: the fleet's login renewal (renewal.py) at a gentle cadence.

Each online account is renewed about every ``policy.every_seconds`` (± ``jitter``), one account at a time across
the whole fleet: the job renews at most one due account per tick. After a start, first rounds are spread at random
over one cadence, so a restart of a hundred accounts is never a hundred passport calls at once (the "storm"
risk control answers). An account whose long login nears its end (``warn_before_days``), or whose renewal failed
``warn_after_failures`` rounds in a row, shows ``login_expiring`` with the time left, said once per crossing (a
``LoginExpiring`` event and a warning line naming the QR login that fixes it).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterable
from typing import Any

from core import events as ev
from core.clock import now_ms
from core.credentials.account import LoginHealth
from core.credentials.renewal import (
    DAY_MS,
    DEFAULT_RENEWAL,
    CredentialState,
    Renewal,
    RenewalPolicy,
    renew,
    shown_time,
)
from core.goofish.errors import GoofishError

log = logging.getLogger(__name__)
_DEAD = frozenset({CredentialState.SESSION_EXPIRED, CredentialState.LONG_LOGIN_EXPIRED})


def time_left(left_ms: int) -> str:
    days, hours = divmod(max(0, left_ms) // 3_600_000, 24)
    return f"{days}d{hours:02d}h" if days else f"{hours}h"


class LoginKeeper:
    def __init__(self, sessions: Callable[[], Iterable[Any]], bus: ev.EventBus,
                 policy: RenewalPolicy = DEFAULT_RENEWAL, clock: Callable[[], int] = now_ms,
                 rng: random.Random | None = None) -> None:
        self._sessions = sessions
        self._bus = bus
        self.policy = policy
        self._clock = clock
        self._rng = rng or random.Random()
        self._due: dict[str, int] = {}
        self._lock = threading.Lock()  # one renewal at a time, whoever asks (the job, a test, the dashboard)

    def tick(self, now: int | None = None) -> str | None:
        """The scheduler's job: renew the one online account most overdue, if any is; its id."""
        now = self._clock() if now is None else now
        online = {s.account_id: s for s in self._sessions() if s.state == ev.AccountState.ONLINE}
        every_ms = self.policy.every_seconds * 1000
        for account_id in online:
            self._due.setdefault(account_id, now + int(self._rng.uniform(0, every_ms)))
        due = sorted((at, account_id) for account_id, at in self._due.items() if account_id in online and at <= now)
        if not due:
            return None
        account_id = due[0][1]
        self.renew(online[account_id], now)
        return account_id

    def renew(self, session: Any, now: int | None = None) -> Renewal | None:
        """One round for one session now; the next one is a jittered cadence away. None when it failed to talk
        to the passport at all (counted as a failed round)."""
        now = self._clock() if now is None else now
        every = self.policy.every_seconds * 1000
        self._due[session.account_id] = now + int(every * (1 + self._rng.uniform(-1, 1) * self.policy.jitter))
        credentials = session.credentials
        with self._lock:
            try:
                result = renew(credentials.mtop, credentials.jar, now, self.policy)
            except GoofishError as exc:
                self._record(session, None, now, f"renewal failed: {exc}")
                return None
        self._record(session, result, now, "; ".join(result.steps))
        return result

    def _record(self, session: Any, result: Renewal | None, now: int, detail: str) -> None:
        credentials = session.credentials
        before: LoginHealth = credentials.health
        failures = 0 if result is not None and result.ok else before.failures + 1
        state = result.state if result is not None else before.state
        if session.state == ev.AccountState.ONLINE and state in _DEAD:
            state = CredentialState.HEALTHY  # it still works: the session loop says so when it stops working
        until = credentials.login_until_ms
        left = until - now if until is not None else None
        soon = left is not None and left < self.policy.warn_before_days * DAY_MS
        if state == CredentialState.HEALTHY and (soon or failures >= self.policy.warn_after_failures):
            state = CredentialState.LOGIN_EXPIRING
        credentials.health = LoginHealth(state, failures, detail)
        account_id = session.account_id
        valid = f"; login valid until {shown_time(until)}" if until is not None else ""
        if result is not None and result.ok:
            log.info("%s: login renewed (%s)%s", account_id, detail, valid)
        else:
            log.info("%s: login renewal failed %d time(s) in a row (%s)%s", account_id, failures, detail, valid)
        if state == CredentialState.LOGIN_EXPIRING and before.state != CredentialState.LOGIN_EXPIRING:
            why = (f"the login ends in {time_left(left)}" if soon and left is not None
                   else f"renewing the login failed {failures} times in a row")
            log.warning("%s: login expiring: %s; scan a QR code to log in again (l on the dashboard's Accounts "
                        "screen, or python xianyu.py login %s)", account_id, why, account_id)
            self._bus.emit(ev.LoginExpiring(account_id, left_ms=left, reason=why))
