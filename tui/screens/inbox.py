"""Inbox: the live stream of conversations, one row per chat, across accounts or one; enter opens a chat.

Filters: ``/`` text (buyer message, buyer name, reply), ``u`` unanswered only, ``f`` only the highlighted
row's account (again: all accounts). Rows keep their key and place while their cells change.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import DataTable, Input

from tui.format import clip, clock, latency
from tui.model import DRAFT, NEEDS_YOU, REPLIED, WAITING, Conversation, Suggestion
from tui.screens.common import Cells, TableScreen

COLUMNS = (("at", "Time", 8), ("account", "Account", 14), ("buyer", "Buyer", 12), ("status", "Status", 12),
           ("text", "Buyer says", 30), ("reply", "Reply", 30), ("rule", "Rule", 14), ("latency", "Latency", 8))
STATUS_STYLES = {REPLIED: "green", WAITING: "yellow", "failed": "bold red", "paused": "magenta",
                 DRAFT: "bold cyan", NEEDS_YOU: "bold reverse red"}


@functools.lru_cache(maxsize=2048)
def conversation_cells(c: Conversation) -> Cells:
    """Cached per conversation value (a frozen dataclass): a tick computes only the chats that moved."""
    return (clock(c.at_ms), clip(c.account_id, 14), clip(c.buyer_nick or c.buyer_id, 12),
            (c.status, STATUS_STYLES.get(c.status, "dim")), clip(c.text, 30), clip(c.reply, 30),
            clip(c.rule, 14), latency(c.latency_ms))


@functools.lru_cache(maxsize=2048)
def marked_cells(c: Conversation, mark: str, draft: Suggestion | None) -> Cells:
    """A chat with an AI draft waiting says "draft" (and the draft where the reply goes); a chat whose buyer
    asked for a person says "needs you". Both in the Status column, the fourth: visible at any width."""
    cells = conversation_cells(c)
    if not mark:
        return cells
    reply = cells[5]
    if draft is not None and c.status != REPLIED:
        reply = (clip(draft.text, 30), "italic cyan")
    return (*cells[:3], (mark, STATUS_STYLES[mark]), cells[4], reply, *cells[6:])


class InboxScreen(TableScreen):
    NAME, TABLE_ID, COLUMNS = "Inbox", "inbox", COLUMNS
    BINDINGS = [
        Binding("enter", "open", "Open chat"),
        Binding("slash", "search", "Search"),
        Binding("u", "only", "Unanswered"),
        Binding("f", "account", "This account"),
        Binding("escape", "clear", "Clear filters"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.text = ""
        self._drawn: tuple = ()

    def above(self) -> Iterable[Widget]:
        yield Input(placeholder="/ search messages, buyers, replies", id="search")

    def filters(self) -> tuple:
        return self.account, self.text, self.only

    def refresh_data(self) -> None:
        app: Any = self.app
        wanted = getattr(app, "inbox_account", None)
        if wanted is not None:  # the Accounts screen asked for one account's chats
            self.account, app.inbox_account = wanted, None
        state = (app.model.version, self.filters())
        if state == self._drawn:
            return
        if self._drawn and self._drawn[1] != self.filters():
            self.rows.reset()
        self._drawn = state
        table = self.rows.table
        following = table.cursor_row >= table.row_count - 1  # on the newest chat: keep following the stream
        model = app.model
        self.rows.sync_visible(model.inbox(*self.filters()), lambda c: c.key,
                               lambda c: marked_cells(c, model.mark(c.key), model.draft_for(c.account_id, c.cid)))
        if following and table.row_count:
            table.move_cursor(row=table.row_count - 1)
        self.sub_title = self.describe_filters()
        self.query_one(DataTable).border_title = self.sub_title

    def describe_filters(self) -> str:
        parts = [f"account {self.account}" if self.account else "all accounts"]
        if self.only:
            parts.append("unanswered")
        if self.text:
            parts.append(f"“{self.text}”")
        return " · ".join(parts)

    def selected(self) -> Conversation | None:
        key = self.rows.selected_key()
        app: Any = self.app
        return app.model.conversations.get(key) if key else None

    def on_data_table_row_selected(self, message: DataTable.RowSelected) -> None:
        message.stop()
        self.action_open()

    def action_open(self) -> None:
        from tui.screens.chat import ChatScreen

        conversation = self.selected()
        if conversation is not None:
            self.app.push_screen(ChatScreen(conversation))

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    def on_input_changed(self, message: Input.Changed) -> None:
        self.text = message.value.strip()
        self.refresh_data()

    def on_input_submitted(self, message: Input.Submitted) -> None:
        self.query_one(DataTable).focus()

    def selected_account(self) -> str | None:
        conversation = self.selected()
        return conversation.account_id if conversation else None

    def action_clear(self) -> None:
        search = self.query_one("#search", Input)
        self.account, self.only = None, False
        search.value = ""
        self.query_one(DataTable).focus()
        self.refresh_data()
