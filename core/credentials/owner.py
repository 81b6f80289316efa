"""`Credentials`: the one owner of every account's login — where its cookie jar comes from, what a pasted cookie
does to it, and whether it changed outside this process. Encryption at rest is storage's (AccountStore seals on write and opens on
read), so nothing here sees a sealed value.

A running account's jar, device id and token are its `AccountCredentials` (account.py), opened here; while the
account is stopped, this owner edits the stored jar directly (a pasted cookie), so no running session writes an
old jar over it.
"""

from __future__ import annotations

from collections.abc import Callable

from core.clock import now_ms
from core.config import AccountConfig
from core.credentials.account import AccountCredentials, CredentialSettings, cookie_fingerprint, persisted_jar
from core.errors import CookieRejected, LoginFailed
from core.goofish.cookies import CookieJar, mask
from core.platform import Platform
from storage import Store


class Credentials:
    def __init__(self, store: Store, platform: Platform) -> None:
        self._store = store
        self._platform = platform

    def open(self, account: AccountConfig, settings: CredentialSettings) -> AccountCredentials:
        return AccountCredentials(account.id, self._platform.cookie_for(account), self._store,
                                  self._platform.endpoints, settings)

    def stored_unb(self, account_id: str) -> str | None:
        state = self._store.accounts.get(account_id)
        return CookieJar.parse(state.cookie_jar).unb if state is not None and state.cookie_jar else None

    def paste(self, account: AccountConfig, cookie: str, known_unb: str | None, stop: Callable[[], None]) -> int:
        """Merge a pasted cookie into the account's stored jar; the number of cookies taken. An unusable cookie
        raises CookieRejected (never quoting it) and changes nothing: the account keeps running as it was. A
        usable one first calls `stop` (the running session must not write its old jar over the merge)."""
        cookies = pasted_cookies(cookie, known_unb or self.stored_unb(account.id) or account.unb)
        stop()
        base = self._platform.cookie_for(account)
        fingerprint = cookie_fingerprint(base)
        jar = persisted_jar(self._store.accounts.get(account.id), fingerprint) or CookieJar.parse(base)
        jar.merge(cookies)
        self._store.accounts.update(account.id, now_ms(), cookie_jar=jar.to_header(), cookie_source=fingerprint)
        return len(cookies)

    def adopt_login(self, account: AccountConfig, jar: CookieJar) -> None:
        """A QR login's cookies become the account's jar, replacing the old login (and the token that went with
        it). The login must be this account's when its user id is known; else LoginFailed, nothing changed."""
        self.check_login(account, jar)
        fingerprint = cookie_fingerprint(self._platform.cookie_for(account))
        self._store.accounts.update(account.id, now_ms(), cookie_jar=jar.to_header(), cookie_source=fingerprint,
                                    access_token=None, token_expires_at_ms=None)

    def check_login(self, account: AccountConfig, jar: CookieJar) -> None:
        """LoginFailed when the login is another account's than the one ``account`` is known to be."""
        expected = self.stored_unb(account.id) or account.unb
        if expected and jar.unb != expected:
            raise LoginFailed(f"the code was confirmed by another account (unb {mask(jar.unb)}, {account.id} is "
                              f"{mask(expected)}): scan it with {account.id}'s Xianyu app")

    def store_login(self, account: AccountConfig, jar: CookieJar) -> None:
        """``adopt_login``, then the mtop token when the login did not bring one (the first signed call's answer
        sets it), so the account starts with a usable jar. The account must not be running."""
        self.adopt_login(account, jar)
        if not jar.get("_m_h5_tk"):
            self.open(account, CredentialSettings.of(account)).refresh()

    def changed_outside(self, account_id: str, running_jar: str) -> bool:
        """Did another process (``xianyu.py verify``) save a different jar for this account?"""
        state = self._store.accounts.get(account_id)
        return state is not None and bool(state.cookie_jar) and state.cookie_jar != running_jar


def pasted_cookies(cookie: str, expected_unb: str | None) -> dict[str, str]:
    """A cookie a seller pasted (TUI, ``xianyu.py verify``) as name → value, or CookieRejected saying why.

    It must be a logged-in one (``unb`` and the mtop token ``_m_h5_tk``) and, when the account's user id is known,
    that account's. Messages name what is missing, never a value."""
    text = cookie.strip()
    if text.lower().startswith("cookie:"):
        text = text[len("cookie:"):]
    jar = CookieJar.parse(text)
    if not len(jar):
        raise CookieRejected("that is not a cookie: expected name=value pairs separated by '; '")
    missing = [name for name in ("unb", "_m_h5_tk") if not jar.get(name)]
    if missing:
        raise CookieRejected(f"the cookie has no {' and no '.join(missing)}: copy the whole Cookie header of a "
                             "logged-in goofish.com tab")
    if expected_unb and jar.unb != expected_unb:
        raise CookieRejected(f"the cookie belongs to another account (unb {mask(jar.unb)}, this account is "
                             f"{mask(expected_unb)})")
    return dict(jar.items())
