"""Verification: accounts held by risk control, browser slot use, the last outcomes; the manual path.

``c`` copies the selected account's punish URL (to the terminal's clipboard, OSC 52, and shows it, for a
solve by hand in any browser); ``k`` pastes a fresh cookie for it (validated by the service, never shown,
masked in every message), which restarts only that account.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from core import events as ev
from core.inert import inert
from tui.format import age, clip, clock, state_cell
from tui.screens.common import Cells, RowSync, SummaryBar, TextScreen, add_columns
from tui.widgets import LiveTable

WAITING = (("account", "Account", 16), ("name", "Name", 12), ("state", "State", 18), ("slot", "Slot", 10),
           ("phase", "Last step", 22), ("since", "Waiting", 8), ("url", "Punish URL", 60))
OUTCOMES = (("at", "Time", 8), ("account", "Account", 16), ("result", "Result", 8), ("seconds", "Took", 7),
            ("detail", "Detail", 70))


def phase_text(event: ev.VerificationChanged | None) -> str:
    if event is None:
        return ""
    if event.phase == "queued":
        return f"queued (#{event.position})"
    if event.phase == "running":
        return f"running, attempt {event.attempt}"
    return f"{event.phase} {clip(event.detail, 14)}".strip()


class VerificationScreen(Screen):
    BINDINGS = [
        Binding("c", "copy_url", "Copy punish URL"),
        Binding("k", "paste_cookie", "Paste cookie"),
    ]

    def compose(self) -> ComposeResult:
        yield SummaryBar("Verification")
        yield Static(id="slots")
        yield LiveTable(id="waiting", cursor_type="row")
        yield Static(Text("Last outcomes", style="bold"), id="outcomes-title")
        yield LiveTable(id="outcomes", cursor_type="row")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        waiting = self.query_one("#waiting", DataTable)
        outcomes = self.query_one("#outcomes", DataTable)
        self.waiting = RowSync(waiting, add_columns(waiting, WAITING))
        self.outcomes = RowSync(outcomes, add_columns(outcomes, OUTCOMES))
        waiting.focus()
        self.ready = True
        self.refresh_data()

    def refresh_data(self) -> None:
        app: Any = self.app
        status = app.backend.slider_status()
        now = app.clock()
        queued = {account: n for n, account in enumerate(status.queued, 1)}
        held = [s for s in app.snapshots
                if s.state == ev.AccountState.NEEDS_VERIFICATION or s.account_id in status.busy or s.account_id in queued]
        self.query_one("#slots", Static).update(Text.assemble(
            ("browser slots ", "dim"), (f"{len(status.busy)}/{status.limit} busy", "bold"),
            (f", {len(status.queued)} queued", "bold" if status.queued else ""),
            ("   c copy the punish URL · k paste a fresh cookie for the selected account", "dim")))
        self.waiting.sync((s.account_id, self.waiting_cells(s, status.busy, queued, now)) for s in held)
        self.outcomes.sync((f"{o.account_id}@{o.at_ms}", (
            clock(o.at_ms), clip(o.account_id, 16), ("solved", "green") if o.ok else ("failed", "red"),
            f"{o.seconds:.1f} s", clip(o.detail, 70))) for o in status.recent)

    def waiting_cells(self, snap: Any, busy: tuple[str, ...], queued: dict[str, int], now: int) -> Cells:
        app: Any = self.app
        slot = "browser" if snap.account_id in busy else f"queue #{queued[snap.account_id]}" \
            if snap.account_id in queued else "manual"
        url = app.backend.pending_verification(snap.account_id) or ""
        return (clip(snap.account_id, 16), clip(snap.alias, 12), state_cell(snap.state), slot,
                phase_text(app.model.verification.get(snap.account_id)), age(now, snap.since_ms), clip(url, 60))

    def selected(self) -> str | None:
        return self.waiting.selected_key()

    def action_copy_url(self) -> None:
        app: Any = self.app
        account_id = self.selected()
        url = app.backend.pending_verification(account_id) if account_id else None
        if not url:
            app.notify("select an account that waits for verification", severity="warning")
            return
        app.copy_to_clipboard(url)
        # The URL is the platform's: shown inert and as typed (markup=False); the clipboard gets it exactly.
        app.notify(inert(url), title=f"{account_id}: punish URL copied (open it in a browser with this account's UA)",
                   timeout=30, markup=False)

    def action_paste_cookie(self) -> None:
        account_id = self.selected()
        if account_id is None:
            return
        self.app.push_screen(TextScreen(f"Paste a fresh Cookie header for {account_id} (it stays hidden)",
                                        password=True), lambda cookie: self.set_cookie(account_id, cookie))

    def set_cookie(self, account_id: str, cookie: str | None) -> None:
        if not cookie:
            return
        app: Any = self.app
        app.call(app.backend.set_cookie, account_id, cookie,
                 done=f"{account_id}: cookie accepted and saved; the account restarts")
