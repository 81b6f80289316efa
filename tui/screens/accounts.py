"""Accounts (home): one row per account, cells updated in place; start / stop / restart the selected one."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer

from core.session import Snapshot
from tui.format import age, clip, left, masked_id, state_text
from tui.screens.common import Cells, RowSync, SummaryBar, add_columns

COLUMNS = (("account", "Account", 16), ("name", "Name", 12), ("user", "User", 9), ("state", "State", 18),
           ("since", "In state", 8), ("heartbeat", "Beat", 6), ("token", "Token", 7), ("in", "In", 5),
           ("out", "Out", 5), ("paused", "Paused", 6), ("error", "Last error", 48))


def account_cells(snap: Snapshot, now_ms: int, today: tuple[int, int], paused: int) -> Cells:
    received, sent = today
    return (clip(snap.account_id, 16), clip(snap.alias, 12), masked_id(snap.unb), state_text(snap.state),
            age(now_ms, snap.since_ms), age(now_ms, snap.last_heartbeat_ms),
            left(now_ms, snap.token_expires_at_ms), str(received), str(sent), str(paused or ""),
            Text(clip(snap.last_error, 48), style="red") if snap.last_error else "")


class AccountsScreen(Screen):
    BINDINGS = [
        Binding("d,enter", "detail", "Detail"),
        Binding("s", "control('start')", "Start"),
        Binding("x", "control('stop')", "Stop"),
        Binding("r", "control('restart')", "Restart"),
        Binding("m", "messages", "Its chats"),
    ]

    def compose(self) -> ComposeResult:
        yield SummaryBar("Accounts")
        yield DataTable(id="accounts", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        self.rows = RowSync(table, add_columns(table, COLUMNS))
        self.refresh_data()

    def refresh_data(self) -> None:
        app: Any = self.app
        now = app.clock()
        model = app.model
        paused = model.paused_counts()
        self.rows.sync((s.account_id, account_cells(s, now, model.today(s.account_id), paused.get(s.account_id, 0)))
                       for s in app.snapshots)

    def selected(self) -> str | None:
        return self.rows.selected_key()

    def on_data_table_row_selected(self, message: DataTable.RowSelected) -> None:
        message.stop()
        self.action_detail()

    def action_detail(self) -> None:
        from tui.screens.detail import DetailScreen

        account_id = self.selected()
        if account_id is not None:
            self.app.push_screen(DetailScreen(account_id))

    def action_control(self, verb: str) -> None:
        account_id = self.selected()
        if account_id is None:
            return
        app: Any = self.app
        app.call(getattr(app.backend, verb), account_id, done=f"{account_id}: {verb} done")

    def action_messages(self) -> None:
        account_id = self.selected()
        if account_id is None:
            return
        app: Any = self.app
        app.inbox_account = account_id
        app.switch_mode("inbox")
