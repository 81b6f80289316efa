"""A QR login from first code to stored cookies, for the command line and the dashboard alike.

``qr_login`` shows a code (through the caller's ``LoginView``), polls the passport about once a second through
NEW → SCANED → CONFIRMED, replaces a code that expired (up to ``max_codes`` in all), and gives up on a cancel.
A CONFIRMED that wants a phone check first shows the check's URL once and waits for the check to end on the
same code (never generating new ones in a loop, which is what gets accounts flagged), up to ``check_wait``.
The cookies it ends with are the passport's Set-Cookie headers; ``Credentials.adopt_login`` stores them as the
account's jar.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import unquote

from core.config import AccountConfig
from core.errors import LoginFailed
from core.goofish.cookies import CookieJar
from core.goofish.endpoints import DEFAULT_UA, Endpoints
from core.goofish.errors import GoofishError
from core.goofish.passport import IdentityCheck, PassportQr, QrCode, QrStatus


@dataclass(frozen=True)
class LoginPolicy:
    poll_seconds: float = 1.0      # the web page polls at about this pace
    max_codes: int = 3             # codes shown in all: the first and the ones replacing expired ones
    check_wait: float = 300.0      # how long a phone check may take before the login gives up
    code_wait: float = 600.0       # no code lives this long unanswered; a passport that never says: give up


DEFAULT_POLICY = LoginPolicy()
log = logging.getLogger(__name__)
# Each status the passport reports, as the seller reads it (FACE_*: the identity check's second code).
STATUS_TEXT = {"NEW": "waiting for the scan", "SCANED": "scanned: confirm the login in the Xianyu app",
               "CONFIRMED": "confirmed", "EXPIRED": "the code expired", "CANCELED": "cancelled in the app",
               "FACE_NEW": "face check: scan the second code with the Xianyu app",
               "FACE_SCANED": "face check: follow the steps on the phone", "FACE_CONFIRMED": "face check passed"}


def login_nick(jar: CookieJar) -> str:
    """The seller's nick the login brought (``tracknick``), as the app shows it ("" when absent)."""
    return unquote(jar.get("tracknick") or "").strip()


def passport_for(endpoints: Endpoints, account: AccountConfig) -> PassportQr:
    """The passport conversation of one login, as the account's own browser would hold it (its UA, its proxy)."""
    return PassportQr(endpoints, user_agent=account.user_agent or DEFAULT_UA,
                      timeout=account.effective.http_timeout, proxy=account.proxy)


class LoginView(Protocol):
    """What the seller sees: the code to scan, each change of its status, the phone check's page."""

    def show_code(self, code: QrCode, number: int, of: int) -> None: ...

    def status(self, status: str, message: str) -> None: ...

    def phone_check(self, url: str) -> None: ...

    def face_code(self, content: str) -> None: ...


def qr_login(client: PassportQr, view: LoginView, policy: LoginPolicy = DEFAULT_POLICY,
             cancelled: Callable[[], bool] = lambda: False,
             shown: Callable[[QrCode], None] = lambda code: None) -> CookieJar:
    """The login's cookies once a code was confirmed (``unb`` among them), or LoginFailed saying why.
    ``shown(code)`` is told each code once it is on screen (the platform's phone, in the demo)."""
    for number in range(1, policy.max_codes + 1):
        code = client.generate()
        view.show_code(code, number, policy.max_codes)
        shown(code)
        outcome = _follow(client, code, view, policy, cancelled)
        if outcome == "EXPIRED":
            continue
        jar = client.jar
        if not jar.unb:
            raise LoginFailed("the passport confirmed the login but set no unb cookie")
        return jar
    raise LoginFailed(f"the QR code expired {policy.max_codes} time(s) without being scanned")


def _follow(client: PassportQr, code: QrCode, view: LoginView, policy: LoginPolicy,
            cancelled: Callable[[], bool]) -> str:
    """Poll one code to its end: "CONFIRMED" (with the cookies in the client's jar) or "EXPIRED"; else raise."""
    shown: tuple[str, str] | None = None
    check_since: float | None = None
    began = time.monotonic()
    while True:
        if cancelled():
            raise LoginFailed("stopped before the code was confirmed")
        answer: QrStatus = client.query(code)
        if (answer.status, answer.message) != shown:
            shown = (answer.status, answer.message)
            view.status(answer.status, answer.message)
        if answer.status == "CONFIRMED" and answer.check_url is None:
            return "CONFIRMED"
        if answer.status == "CONFIRMED":  # a phone check first: shown once, then waited for on this code
            if check_since is None:
                check_since = time.monotonic()
                view.phone_check(answer.check_url or "")
                check = _identity_check(client, answer.check_url or "")
                if check is not None:  # the check page's second code, for the face check on the phone
                    view.face_code(check.content)
                    return _follow_check(client, check, view, policy, cancelled)
            elif time.monotonic() - check_since > policy.check_wait:
                raise LoginFailed(f"the phone check was not completed within {policy.check_wait:g} s")
        elif answer.status == "EXPIRED":
            return "EXPIRED"
        elif answer.status == "CANCELED":
            raise LoginFailed("the login was cancelled in the app")
        elif answer.status == "ERROR":
            raise LoginFailed(f"the passport refused the code: {answer.message}")
        if time.monotonic() - began > policy.code_wait:
            raise LoginFailed(f"no answer to the code within {policy.code_wait:g} s")
        time.sleep(policy.poll_seconds)


def _identity_check(client: PassportQr, url: str) -> IdentityCheck | None:
    """The check page's second code; None (the seller finishes the check on the phone, and the code is waited on)
    when the page has none or cannot be read."""
    try:
        return client.identity_check(url)
    except GoofishError as exc:
        log.info("the identity check page could not be read (%s); waiting for the check on the phone", exc)
        return None


def _follow_check(client: PassportQr, check: IdentityCheck, view: LoginView, policy: LoginPolicy,
                  cancelled: Callable[[], bool]) -> str:
    """Poll the identity check to its end: "CONFIRMED" (the cookies in the client's jar), else raise. It is never
    bypassed or restarted: a check that ends without a confirm ends the login."""
    shown = ""
    began = time.monotonic()
    while True:
        if cancelled():
            raise LoginFailed("stopped before the face check was completed")
        status = client.check_status(check)
        if status != shown:
            shown = status
            view.status(f"FACE_{status}", "")
        if status == "CONFIRMED":
            return "CONFIRMED"
        if status in ("EXPIRED", "CANCELED", "ERROR"):
            said = {"EXPIRED": "expired", "CANCELED": "was cancelled in the app"}.get(status, "was refused")
            raise LoginFailed(f"the face check {said}: log in again to get a new code")
        if time.monotonic() - began > policy.check_wait:
            raise LoginFailed(f"the face check was not completed within {policy.check_wait:g} s")
        time.sleep(policy.poll_seconds)
