"""Keeping a web login alive for weeks, the way the platform's own web client does (issue 13 §2).

A Goofish login is two logins: the session (``cookie2``, about a day, kept warm by ``hasLogin``) and the long
login behind it (``havana_lgc2_77``, about 30 days, its end in ``havana_lgc_exp`` / ``cookie3_bak_exp``). The web
SDK renews them without a browser:

1. ``hasLogin.do``: is the session alive (its answer's Set-Cookie extends it)?
2. if not, ``silentHasLogin.do``: a new session from the long login;
3. when the long login nears its end, ``setLoginSettings.do`` (``status=0``): a new long login.

Steps 2 and 3 set ``sdkSilent``, a time before which the SDK must not try them again; a client that does is what
the platform's security checks catch (the "renewed too eagerly, then a face check after every scan" reports), so
while it lies ahead they are not called at all. ``renew`` is one round for one account; the fleet's cadence is
``LoginKeeper`` (keeper.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from core.goofish.cookies import CookieJar
from core.goofish.errors import SessionExpired

DAY_MS = 86_400_000
LONG_LOGIN_COOKIES = ("havana_lgc_exp", "cookie3_bak_exp")  # the long login's end, the first one present wins
FATIGUE_COOKIE = "sdkSilent"
_MS_FROM = 10**11  # an epoch stamp below this is in seconds (ms stamps passed it in 1973)


class CredentialState(StrEnum):
    """What the account's login is worth now, from the passport's and the gateway's answers."""

    HEALTHY = "healthy"
    LOGIN_EXPIRING = "login_expiring"            # works, but the long login ends soon or renewing keeps failing
    TOKEN_EXPIRED = "token_expired"
    SESSION_EXPIRED = "session_expired"          # hasLogin says no and the silent login may not be tried yet
    VERIFICATION_REQUIRED = "verification_required"
    LONG_LOGIN_EXPIRED = "long_login_expired"    # nothing left to renew from: a new QR login is needed


@dataclass(frozen=True)
class RenewalPolicy:
    every_seconds: float = 6 * 3600.0   # one account's renewal cadence
    jitter: float = 0.25                # ± this fraction of it: a fleet never renews in step
    renew_before_days: float = 10.0     # re-issue the long login once fewer days than this are left
    warn_before_days: float = 3.0       # login_expiring this many days ahead of the long login's end
    warn_after_failures: int = 3        # … or after this many failed rounds in a row


DEFAULT_RENEWAL = RenewalPolicy()


class Passport(Protocol):
    """The three calls (``MtopClient`` has them); each merges its Set-Cookie into the account's jar."""

    def has_login(self) -> bool: ...

    def silent_has_login(self) -> bool: ...

    def set_login_settings(self) -> bool: ...


@dataclass(frozen=True)
class Renewal:
    ok: bool                       # the round did all it had to (a refused long-login renewal is not ok)
    alive: bool                    # the session works after the round
    state: CredentialState
    valid_until_ms: int | None     # the long login's end, when the cookies say
    steps: tuple[str, ...]         # what was done, for the log line


def stamp_ms(value: str | None) -> int | None:
    """An epoch timestamp cookie as ms (it may be written in seconds); None when absent or not a number."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number * 1000 if 0 < number < _MS_FROM else number if number > 0 else None


def long_login_until(jar: CookieJar) -> int | None:
    for name in LONG_LOGIN_COOKIES:
        until = stamp_ms(jar.get(name))
        if until is not None:
            return until
    return None


def fatigued_until(jar: CookieJar, now_ms: int) -> int | None:
    """When ``sdkSilent`` lies ahead: the time before which neither silent call may be made."""
    until = stamp_ms(jar.get(FATIGUE_COOKIE))
    return until if until is not None and until > now_ms else None


def shown_time(at_ms: int) -> str:
    return datetime.fromtimestamp(at_ms / 1000).strftime("%Y-%m-%d %H:%M")


def revive(passport: Passport, jar: CookieJar, now_ms: int) -> bool:
    """The session is gone: a new one from the long login, unless ``sdkSilent`` says not yet."""
    return fatigued_until(jar, now_ms) is None and passport.silent_has_login()


def renew(passport: Passport, jar: CookieJar, now_ms: int, policy: RenewalPolicy = DEFAULT_RENEWAL) -> Renewal:
    """One renewal round (TransportError propagates: the caller counts it as a failed round)."""
    steps: list[str] = []
    try:
        passport.has_login()
        steps.append("hasLogin: alive")
    except SessionExpired:
        steps.append("hasLogin: session gone")
        tired = fatigued_until(jar, now_ms)
        if tired is not None:
            steps.append(f"silentHasLogin not tried before {shown_time(tired)} (sdkSilent)")
            return Renewal(False, False, CredentialState.SESSION_EXPIRED, long_login_until(jar), tuple(steps))
        if not passport.silent_has_login():
            steps.append("silentHasLogin: refused")
            return Renewal(False, False, CredentialState.LONG_LOGIN_EXPIRED, long_login_until(jar), tuple(steps))
        steps.append("silentHasLogin: new session")
    until = long_login_until(jar)
    if until is not None and until - now_ms < policy.renew_before_days * DAY_MS:
        tired = fatigued_until(jar, now_ms)
        if tired is not None:
            steps.append(f"setLoginSettings waits for {shown_time(tired)} (sdkSilent)")
        elif passport.set_login_settings():
            until = long_login_until(jar)
            steps.append("setLoginSettings: long login renewed")
        else:
            steps.append("setLoginSettings: refused")
            return Renewal(False, True, CredentialState.HEALTHY, until, tuple(steps))
    return Renewal(True, True, CredentialState.HEALTHY, until, tuple(steps))
