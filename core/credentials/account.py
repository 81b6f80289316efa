"""`AccountCredentials`: one running account's credentials: cookie jar, device id and IM access token, kept in storage.

The device id is generated once and kept (the upstream bots regenerate it every start, which looks
like a new device to risk control). The access token is persisted with its expiry and reused across
restarts while it is valid, so a restart does not hit the token API (a common RGV587 trigger). Within one run
its time left is counted on the boot clock, not the wall clock: a step of the wall clock (an hour forward) makes
no token look expired, so it sends no account to the token API.
Every ``Set-Cookie`` the platform sends is merged into the jar and persisted at once.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass

import requests

from core.clock import now_ms
from core.config import AccountConfig
from core.credentials.renewal import CredentialState, long_login_until, revive
from core.goofish import ids
from core.goofish.cookies import CookieJar
from core.goofish.endpoints import DEFAULT_UA, Endpoints
from core.goofish.mtop import MtopClient, TokenInfo
from storage import Store

# A token this close to expiry is refreshed before use rather than handed to /reg.
TOKEN_MARGIN_MS = 5 * 60 * 1000
# Elapsed time that does not step with the wall clock (and goes on while the machine sleeps).
_STEADY = getattr(time, "CLOCK_BOOTTIME", time.CLOCK_MONOTONIC)


def cookie_fingerprint(cookie: str) -> str:
    """Identifies which configured cookie a persisted jar grew from, without storing it twice."""
    return hashlib.sha256(cookie.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class LoginHealth:
    """What the account's login is worth, as the last renewal or gateway answer showed; replaced whole."""

    state: CredentialState = CredentialState.HEALTHY
    failures: int = 0              # renewal rounds failed in a row
    detail: str = ""


@dataclass(frozen=True)
class CredentialSettings:
    user_agent: str
    http_timeout: float
    proxy: str | None

    @classmethod
    def of(cls, account: AccountConfig) -> CredentialSettings:
        return cls(account.user_agent or DEFAULT_UA, account.effective.http_timeout, account.proxy)


class AccountCredentials:
    def __init__(self, account_id: str, cookie: str, store: Store, endpoints: Endpoints,
                 settings: CredentialSettings, http: requests.Session | None = None) -> None:
        self.account_id = account_id
        self._store = store
        self._lock = threading.Lock()  # guards the token: the session and the refresh job both use it
        # Jars are written whole: the one written last must be the newest (two threads' Set-Cookie merges).
        self._persist_lock = threading.Lock()
        self.health = LoginHealth()
        state = store.accounts.get(account_id)
        fingerprint = cookie_fingerprint(cookie)
        # The persisted jar holds newer cookies (Set-Cookie merges) than the config, unless the user
        # pasted a new cookie since: then the config wins and the stale jar and token are dropped.
        persisted = persisted_jar(state, fingerprint)
        if persisted is not None:
            self.jar = persisted
            self._token = _stored_token(state)
        else:
            self.jar = CookieJar.parse(cookie)
            self._token = None
        self._token_deadline = _deadline(self._token)  # steady ms: when the kept token lapses
        self.unb = self.jar.get("unb") or ""
        self.device_id = (state.device_id if state is not None and state.device_id else
                          ids.device_id(self.unb))
        self.mtop = MtopClient(self.jar, endpoints, session=http, user_agent=settings.user_agent,
                               timeout=settings.http_timeout, proxy=settings.proxy,
                               on_cookies_changed=self._persist_jar)
        store.accounts.update(account_id, now_ms(), cookie_jar=self.jar.to_header(), cookie_source=fingerprint,
                                   device_id=self.device_id,
                                   access_token=self._token.access_token if self._token else None,
                                   token_expires_at_ms=self._token.expires_at_ms if self._token else None)

    @property
    def login_until_ms(self) -> int | None:
        """When the long login ends, as its cookies say (None when they do not)."""
        return long_login_until(self.jar)

    def revive(self) -> bool:
        """hasLogin said the session is gone: a new one from the long login, if ``sdkSilent`` allows it now."""
        return revive(self.mtop, self.jar, now_ms())

    @property
    def token_expires_at_ms(self) -> int | None:
        token = self._token
        return token.expires_at_ms if token else None

    def token(self) -> TokenInfo:
        """A valid access token: the kept one while it has time left, else a fresh one."""
        with self._lock:
            token = self._token
            if token is not None and self._token_left_ms() > TOKEN_MARGIN_MS:
                return token
        return self.refresh()

    def refresh(self) -> TokenInfo:
        """Fetch a new token (raises RiskControl / SessionExpired / TransportError as they come)."""
        token = self.mtop.login_token(self.device_id)
        with self._lock:
            self._token, self._token_deadline = token, _deadline(token)
        self._store.accounts.update(self.account_id, now_ms(), access_token=token.access_token,
                                         token_expires_at_ms=token.expires_at_ms)
        return token

    def refresh_if_expiring(self, horizon_seconds: float) -> bool:
        """Scheduler job: renew ahead of expiry — only if the token would lapse within the horizon
        (the next run plus a margin). Needless refreshes are what trips the platform's risk control."""
        if self._token is not None and self._token_left_ms() > horizon_seconds * 1000 + TOKEN_MARGIN_MS:
            return False
        self.refresh()
        return True

    def forget_token(self) -> None:
        """The server rejected the token (401 on /reg): never offer it again."""
        with self._lock:
            self._token, self._token_deadline = None, None
        self._store.accounts.update(self.account_id, now_ms(), access_token=None, token_expires_at_ms=None)

    def _token_left_ms(self) -> int:
        deadline = self._token_deadline
        return 0 if deadline is None else deadline - _steady_ms()

    def keepalive(self) -> None:
        """hasLogin: keeps the web login warm; its Set-Cookie lands in the jar via the callback."""
        self.mtop.has_login()

    def merge_cookies(self, cookies: dict[str, str]) -> None:
        """New cookies from outside (a solved slider's x5sec, a pasted cookie) join the jar."""
        self.jar.merge(cookies)
        self._persist_jar(self.jar)

    def _persist_jar(self, jar: CookieJar) -> None:
        with self._persist_lock:  # serialised inside the lock: never an older jar written after a newer one
            self._store.accounts.update(self.account_id, now_ms(), cookie_jar=jar.to_header())


def persisted_jar(state, fingerprint: str) -> CookieJar | None:
    """The persisted jar, if it grew from the configured cookie (else the user pasted a new one into the config
    since, which wins)."""
    if state is not None and state.cookie_source == fingerprint and state.cookie_jar:
        return CookieJar.parse(state.cookie_jar)
    return None


def _steady_ms() -> int:
    return time.clock_gettime_ns(_STEADY) // 1_000_000


def _deadline(token: TokenInfo | None) -> int | None:
    """The token's wall-clock expiry (stored, and what the next run reads) as a steady deadline, from now on."""
    return None if token is None else _steady_ms() + token.expires_at_ms - now_ms()


def _stored_token(state) -> TokenInfo | None:
    if not state.access_token or not state.token_expires_at_ms:
        return None
    return TokenInfo(access_token=state.access_token, expires_at_ms=state.token_expires_at_ms,
                     refresh_token="")

