"""Accounts (home): one row per account, cells updated in place; start / stop / restart the selected one."""

from __future__ import annotations

import functools
from typing import Any

from textual.binding import Binding
from textual.widgets import DataTable

from core import events as ev
from core.session.loop import Snapshot
from tui.format import LOGIN_EXPIRING, age, clip, left, masked_id, state_cell
from tui.screens.common import Cells, TableScreen, TextScreen

COLUMNS = (("account", "Account", 16), ("name", "Name", 12), ("user", "User", 9), ("state", "State", 18),
           ("since", "In state", 8), ("heartbeat", "Beat", 6), ("token", "Token", 7), ("in", "In", 5),
           ("out", "Out", 5), ("paused", "Paused", 6), ("error", "Last error", 48))


def shown_state(snap: Snapshot, now_ms: int) -> str:
    """The session's state; an online one on a login that ends soon says so, with the time left."""
    if snap.state == ev.AccountState.ONLINE and snap.login_state == LOGIN_EXPIRING:
        return f"{LOGIN_EXPIRING} {left(now_ms, snap.login_until_ms)}" if snap.login_until_ms else LOGIN_EXPIRING
    return snap.state


@functools.lru_cache(maxsize=8192)
def _fixed_cells(account_id: str, alias: str, unb: str, state: str, error: str) -> Cells:
    """The cells that change only with the account's state (a thousand rows a tick: computed once each)."""
    return (clip(account_id, 16), clip(alias, 12), masked_id(unb), state_cell(state),
            (clip(error, 48), "red") if error else "")


def account_cells(snap: Snapshot, now_ms: int, today: tuple[int, int], paused: int) -> Cells:
    name, alias, user, state, error = _fixed_cells(snap.account_id, snap.alias, snap.unb, shown_state(snap, now_ms),
                                                   snap.last_error)
    received, sent = today
    return (name, alias, user, state, age(now_ms, snap.since_ms), age(now_ms, snap.last_heartbeat_ms),
            left(now_ms, snap.token_expires_at_ms), str(received), str(sent), str(paused or ""), error)


class AccountsScreen(TableScreen):
    NAME, TABLE_ID, COLUMNS = "Accounts", "accounts", COLUMNS

    BINDINGS = [
        Binding("d,enter", "detail", "Detail"),
        Binding("s", "control('start')", "Start"),
        Binding("x", "control('stop')", "Stop"),
        Binding("r", "control('restart')", "Restart"),
        Binding("m", "messages", "Chats"),
        Binding("a", "add_account", "Add account (QR login)", show=False),
        Binding("l", "login", "Log in again (QR login)", show=False),
    ]

    def refresh_data(self) -> None:
        app: Any = self.app
        now = app.clock()
        model = app.model
        paused = model.paused_counts()
        self.rows.sync_visible(app.snapshots, lambda s: s.account_id, lambda s: account_cells(
            s, now, model.today(s.account_id), paused.get(s.account_id, 0)))

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

    def action_add_account(self) -> None:
        app: Any = self.app
        self.app.push_screen(TextScreen("New account id (letters, digits, _ . -), e.g. shop-b"),
                             lambda account_id: app.open_login(account_id) if account_id else None)

    def action_login(self) -> None:
        account_id = self.selected()
        if account_id is not None:
            app: Any = self.app
            app.open_login(account_id)

    def action_messages(self) -> None:
        account_id = self.selected()
        if account_id is None:
            return
        app: Any = self.app
        app.inbox_account = account_id
        app.switch_mode("inbox")
