"""One account's logins: the short web sessions (`cookie2`) and the long login behind them (`havana_lgc2_77`).

The platform's web client stays logged in for weeks like this (issue 13 §2, goofish-protocol.md §1.3, §2.3):

- a session (`cookie2`) lives `session_ttl_ms` (24 h); every mtop call needs a live one, and hasLogin with a
  live one answers a fresh session (the point of the 20-minute keep-alive);
- the long login (`havana_lgc2_77`, its expiry in `havana_lgc_exp` and `cookie3_bak_exp`, epoch ms) lives
  `long_login_ttl_ms` (30 days); silentHasLogin turns a live long login into a new session, setLoginSettings
  (`status=0`) issues a new long login;
- silent renewal is rate-limited: after one, none may follow for `silent_fatigue_ms` (24 h); the answer says
  until when in the `sdkSilent` cookie. A call inside that window is a fatigue violation, counted, refused.

Older sessions and long logins stay valid until their own expiry (other devices keep theirs); expired ones are
forgotten whenever a new one is issued. Not thread-safe: only used inside a state transaction.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sim.ids import Ids

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
SESSION_TTL_MS = DAY_MS
LONG_LOGIN_TTL_MS = 30 * DAY_MS
SILENT_FATIGUE_MS = DAY_MS
RENEWAL_CALLS = ("has_login", "silent_has_login", "set_login_settings")


@dataclass(frozen=True)
class LoginPolicy:
    session_ttl_ms: int = SESSION_TTL_MS
    long_login_ttl_ms: int = LONG_LOGIN_TTL_MS
    silent_fatigue_ms: int = SILENT_FATIGUE_MS


POLICY = LoginPolicy()


def _live(issued: dict[str, int], value: str, now_ms: int) -> bool:
    return bool(value) and issued.get(value, 0) > now_ms


def _issue(issued: dict[str, int], value: str, expires_ms: int, now_ms: int) -> None:
    for stale in [k for k, expiry in issued.items() if expiry <= now_ms]:
        del issued[stale]
    issued[value] = expires_ms


@dataclass(eq=False)
class Logins:
    policy: LoginPolicy = POLICY
    sessions: dict[str, int] = field(default_factory=dict)       # cookie2 → expiry ms
    long_logins: dict[str, int] = field(default_factory=dict)    # havana_lgc2_77 → expiry ms
    silent_until_ms: int = 0                                     # no silent renewal before this (server side)
    session_expires_at_ms: int | None = None                     # of the newest session
    long_login_expires_at_ms: int | None = None                  # of the newest long login
    renewals: Counter[str] = field(default_factory=Counter)      # successful answers per call
    fatigue_violations: int = 0

    def session_live(self, cookie2: str, now_ms: int) -> bool:
        return _live(self.sessions, cookie2, now_ms)

    def long_login_live(self, token: str, now_ms: int) -> bool:
        return _live(self.long_logins, token, now_ms)

    def new_session(self, ids: Ids, now_ms: int) -> dict[str, str]:
        """A fresh session: the cookies to set (`sgcookie` is re-issued with every session, as hasLogin does)."""
        cookie2 = ids.hex(32)
        self.session_expires_at_ms = now_ms + self.policy.session_ttl_ms
        _issue(self.sessions, cookie2, self.session_expires_at_ms, now_ms)
        return {"cookie2": cookie2, "sgcookie": "E100" + ids.opaque(88)}

    def new_long_login(self, ids: Ids, now_ms: int) -> dict[str, str]:
        token = ids.opaque(96)
        expiry = now_ms + self.policy.long_login_ttl_ms
        self.long_login_expires_at_ms = expiry
        _issue(self.long_logins, token, expiry, now_ms)
        # `_hvn_lgc_` 0 is what the captured jar holds; the expiry is given twice, as the platform does.
        return {"havana_lgc2_77": token, "_hvn_lgc_": "0", "havana_lgc_exp": str(expiry),
                "cookie3_bak_exp": str(expiry)}

    def fatigue_until(self, sdk_silent_cookie: str) -> int:
        """Until when (epoch ms) silent renewal must not be repeated: the client's `sdkSilent` cookie or our own
        record, whichever is later (a time in the past: it may)."""
        try:
            client_until = int(sdk_silent_cookie)
        except ValueError:
            client_until = 0
        return max(client_until, self.silent_until_ms)

    def silenced(self, now_ms: int) -> dict[str, str]:
        """A silent renewal happened: the fatigue window starts; the `sdkSilent` cookie that says so."""
        self.silent_until_ms = now_ms + self.policy.silent_fatigue_ms
        return {"sdkSilent": str(self.silent_until_ms)}

    def report(self) -> dict[str, Any]:
        return {"session_expires_at_ms": self.session_expires_at_ms,
                "long_login_expires_at_ms": self.long_login_expires_at_ms,
                "renewals": {call: self.renewals[call] for call in RENEWAL_CALLS},
                "fatigue_violations": self.fatigue_violations}
