"""The QR login screen: "add account" (``a``) and "log in again" (``l``) on the Accounts screen and in the command
palette.

The login itself runs in the service (``Control.start_login``); this screen only reads its progress, four times
a second, from memory: the code (drawn in half blocks, black on bright white, which a phone camera reads in
16 colours too), its live status, and the phone-check page when the platform asks for one. A confirmed login
closes the screen by itself; escape closes it and stops the login.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from core.credentials.qrimage import half_blocks
from core.inert import inert

POLL_SECONDS = 0.25
CODE_STYLE = "black on bright_white"
STATUS_STYLE = {"SCANED": "bold yellow", "done": "bold green", "failed": "bold red", "EXPIRED": "yellow",
                "CANCELED": "red"}


class LoginScreen(ModalScreen[bool]):
    """Dismissed with True once the login was saved, False when closed before."""

    BINDINGS = [Binding("escape", "close", "Close"), Binding("c", "copy_check", "Copy phone-check URL")]

    def __init__(self, account_id: str) -> None:
        super().__init__()
        self.account_id = account_id
        self._drawn = ""  # the code on screen, redrawn only when the passport replaced it

    def compose(self) -> ComposeResult:
        with Horizontal(id="login"):
            yield Static(id="login-code")
            with Vertical(id="login-side"):
                yield Static(Text(f"Log in {self.account_id}", style="bold"), id="login-title")
                yield Static("Open the Xianyu app, tap scan, and point it at the code.", id="login-how")
                yield Static(id="login-status")
                yield Static(id="login-check")
                yield Static(Text("esc close (stops the login)", style="dim"), id="login-keys")

    def on_mount(self) -> None:
        self.poll()
        self.set_interval(POLL_SECONDS, self.poll)

    def poll(self) -> None:
        app: Any = self.app
        progress = app.backend.login_progress(self.account_id)
        if progress is None or not self.is_current:  # closing: a last tick must not dismiss it twice
            return
        if progress.code != self._drawn:
            self._drawn = progress.code
            self.query_one("#login-code", Static).update(
                Text("\n".join(half_blocks(progress.code)), style=CODE_STYLE) if progress.code else "")
        which = f"code {progress.number} of {progress.of}: " if progress.number > 1 else ""
        # The passport's words and the seller's nick come from outside: shown inert, never as markup.
        self.query_one("#login-status", Static).update(Text(
            which + inert(progress.message, one_line=False), style=STATUS_STYLE.get(progress.status, "")))
        check = progress.check_url
        self.query_one("#login-check", Static).update(
            Text.assemble(("Phone check: ", "bold"), inert(check), ("\nc copies it", "dim")) if check else "")
        if progress.finished and progress.ok:
            app.notify(inert(progress.message), title=f"{self.account_id}: logged in", markup=False)
            self.dismiss(True)

    def action_copy_check(self) -> None:
        app: Any = self.app
        progress = app.backend.login_progress(self.account_id)
        if progress is not None and progress.check_url:
            app.copy_to_clipboard(progress.check_url)
            app.notify("phone-check URL copied", timeout=4)

    def action_close(self) -> None:
        app: Any = self.app
        progress = app.backend.login_progress(self.account_id)
        if progress is not None and not progress.finished:
            app.call(app.backend.cancel_login, self.account_id)
        self.dismiss(False)
