"""A QR login running inside the service, for a front end to watch: the dashboard's "add account" and "log in
again" (the command line's ``xianyu.py login`` runs the same ``qr_login`` in its own process).

``LoginRun`` follows one code on its own thread and keeps what a screen shows as an immutable
``LoginProgress``, replaced whole on every change, so the dashboard's loop reads it without a lock or a wait.
What a confirmed login does with its cookies is the caller's ``on_login`` (the service stores them and
restarts only that account); its return value is the line the screen ends on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

from core.credentials.login import DEFAULT_POLICY, LoginPolicy, qr_login
from core.credentials.login import STATUS_TEXT as LOGIN_STATUS_TEXT
from core.errors import CoreError
from core.goofish.cookies import CookieJar
from core.goofish.errors import GoofishError
from core.goofish.passport import PassportQr, QrCode

log = logging.getLogger(__name__)

# What the screen says for each status the passport reports (the command line's words, and "saving" while it does).
STATUS_TEXT = {**LOGIN_STATUS_TEXT, "CONFIRMED": "confirmed: saving the login"}


@dataclass(frozen=True)
class LoginProgress:
    account_id: str
    code: str = ""                 # what the QR code encodes ("" until the passport handed one out)
    number: int = 0                # which code of ``of`` is shown (an expired one is replaced)
    of: int = 0
    status: str = "starting"       # the passport's word (NEW, SCANED …), then "done" or "failed"
    message: str = "asking the passport for a code"
    check_url: str | None = None   # the platform wants a check on the phone first: this page
    finished: bool = False
    ok: bool = False


class LoginRun:
    def __init__(self, account_id: str, client: PassportQr, on_login: Callable[[CookieJar], str],
                 policy: LoginPolicy = DEFAULT_POLICY, shown: Callable[[QrCode], None] = lambda code: None) -> None:
        self.account_id = account_id
        self._client = client
        self._shown = shown
        self._on_login = on_login
        self._policy = policy
        self._cancelled = threading.Event()
        self._progress = LoginProgress(account_id)
        self._thread = threading.Thread(target=self._run, name=f"login-{account_id}", daemon=True)

    def start(self) -> LoginRun:
        self._thread.start()
        return self

    def progress(self) -> LoginProgress:
        return self._progress

    def cancel(self) -> None:
        """Stop polling (the seller closed the screen); a login being saved still finishes."""
        self._cancelled.set()

    # -- the thread -----------------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            jar = qr_login(self._client, self, self._policy, cancelled=self._cancelled.is_set, shown=self._shown)
            self._set(status="CONFIRMED", message=STATUS_TEXT["CONFIRMED"], check_url=None)
            self._set(status="done", message=self._on_login(jar), finished=True, ok=True)
        except (CoreError, GoofishError) as exc:  # written to be shown: never a cookie in them
            log.info("%s: QR login ended: %s", self.account_id, exc)
            self._set(status="failed", message=str(exc), finished=True)
        except Exception:  # noqa: BLE001 - a login's bug must end the screen with a reason, not hang it
            log.exception("%s: QR login failed", self.account_id)
            self._set(status="failed", message="the login failed unexpectedly (see the log)", finished=True)
        finally:
            self._client.close()

    def _set(self, **changes: object) -> None:
        self._progress = replace(self._progress, **changes)  # type: ignore[arg-type]

    # -- LoginView: what qr_login reports ---------------------------------------------------------------------

    def show_code(self, code: QrCode, number: int, of: int) -> None:
        self._set(code=code.content, number=number, of=of, status="NEW", message=STATUS_TEXT["NEW"],
                  check_url=None)

    def status(self, status: str, message: str) -> None:
        text = STATUS_TEXT.get(status, status)
        self._set(status=status, message=f"{text} ({message})" if message else text)

    def phone_check(self, url: str) -> None:
        self._set(check_url=url, message="the platform wants a check on the phone first: open the page below on "
                                         "the phone logged in to the account; waiting")

    def face_code(self, content: str) -> None:
        self._set(code=content, number=0, status="FACE_NEW", message=STATUS_TEXT["FACE_NEW"])
