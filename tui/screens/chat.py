"""One chat's history from storage; reply by hand (a manual takeover: the bot pauses there), pause, resume."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import DataTable, Static

from tui.backend import HistoryEntry
from tui.format import cell_text, clip, clock, left
from tui.model import Conversation
from tui.screens.common import TableScreen, TextScreen

COLUMNS = (("at", "Time", 8), ("who", "Who", 12), ("text", "Message", 60), ("note", "Rule / status", 18))
PAUSE_MINUTES = 60.0  # a pause from the dashboard when the account has no takeover_minutes


class ChatScreen(TableScreen):
    NAME, TABLE_ID, COLUMNS = "Chat", "history", COLUMNS
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("r", "reply", "Reply by hand"),
        Binding("p", "pause", "Pause bot"),
        Binding("u", "resume", "Resume bot"),
    ]

    def __init__(self, conversation: Conversation) -> None:
        super().__init__()
        self.conversation = conversation
        self._seen: Conversation | None = None

    def above(self) -> Iterable[Widget]:
        yield Static(id="chat-head")

    def refresh_data(self) -> None:
        app: Any = self.app
        c = self.conversation
        latest = app.model.conversations.get(c.key, c)
        if latest is not self._seen:  # something happened in this chat: read its history again
            self._seen = latest
            app.call(app.backend.history, c.account_id, c.cid, then=self.show_history)
        until = app.model.pauses.get((c.account_id, c.cid))
        paused = until is not None and until > app.clock()
        self.query_one("#chat-head", Static).update(Text.assemble(
            ("chat ", "dim"), cell_text(c.cid), ("  account ", "dim"), c.account_id, ("  buyer ", "dim"),
            cell_text(c.buyer_nick or c.buyer_id), ("  item ", "dim"), cell_text(c.item_id or "—"), "  ",
            (f"bot paused, {left(app.clock(), until)} left", "bold magenta") if paused else ("bot answering", "green")))

    def show_history(self, lines: list[HistoryEntry]) -> None:
        self.rows.sync((h.key, (clock(h.at_ms), clip(h.who, 12),
                                (clip(h.text, 60), "" if h.direction == "in" else "cyan"),
                                clip(h.note, 18)))
                       for h in lines)
        table = self.query_one(DataTable)
        table.move_cursor(row=table.row_count - 1)

    def action_reply(self) -> None:
        c = self.conversation
        self.app.push_screen(TextScreen(f"Reply to {c.buyer_nick or c.buyer_id} (pauses the bot in this chat)"),
                             self.send)

    def send(self, text: str | None) -> None:
        if not text:
            return
        app: Any = self.app
        c = self.conversation

        def sent(ok: bool) -> None:
            if ok:
                app.notify("sent; the bot is paused in this chat", title="reply by hand", timeout=4)
                self._seen = None
            else:
                app.notify(f"{c.account_id} is not online: nothing was sent", severity="error")
        app.call(app.backend.send_manual, c.account_id, c.cid, c.buyer_id, text, then=sent)

    def action_pause(self) -> None:
        app: Any = self.app
        c = self.conversation
        account = next((a for a in app.backend.config().accounts if a.id == c.account_id), None)
        minutes = (account.effective.takeover_minutes if account else 0) or PAUSE_MINUTES
        app.call(app.backend.pause, c.account_id, c.cid, minutes, done=f"bot paused here for {minutes:g} min")

    def action_resume(self) -> None:
        app: Any = self.app
        c = self.conversation
        app.call(app.backend.resume, c.account_id, c.cid, done="bot answers this chat again")
