"""Notifications: what the seller's phone was told (issue 15), a row per message and channel, newest first.

The rows are the notification outbox (``Control.notifications``), read in a worker every 2 s while the screen is
shown. A message is ``sent``, ``queued`` (not tried yet), ``waiting 2/8 03:21`` (2 of 8 tries failed, the next
one at 03:21) or ``FAILED`` (every try failed: the phone never got it). Enter shows one message in full.
Titles and bodies quote platform text (a buyer's message, an item title): every value is shown inert.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Static

from core.inert import inert
from tui.format import cell_text, clip, clock, date_time, span, when
from tui.screens.common import Cell, Cells, PacedReads, SummaryBar, TableScreen, renderable, titled_table

COLUMNS = (("at", "Time", 10), ("state", "State", 17), ("channel", "Channel", 10), ("accounts", "Accounts", 12),
           ("title", "Title", 40), ("error", "Last error", 60))
SHOWN = 100
RELOAD_SECONDS = 2.0
EMPTY = "No notifications yet — configure notify: in accounts.yml, then try python xianyu.py notify test"
SEVERITY_STYLES = {"error": "bold red", "warning": "bold yellow"}


def state_words(message: Any, attempts: int) -> Cell:
    """The outbox state as a seller reads it; ``attempts`` is the tries a message gets (settings.notify)."""
    if message.state == "sent":
        return "sent", "green"
    if message.state == "dead":
        return "FAILED", "bold red"
    if message.state == "pending" and message.attempts:
        return f"waiting {message.attempts}/{attempts} {clock(message.next_at_ms, seconds=False)}", "yellow"
    if message.state == "pending":
        return "queued", "yellow"
    if message.state == "sending":
        return "sending", "yellow"
    return clip(message.state, 17), ""


def accounts_text(message: Any) -> str:
    return ", ".join(filter(None, message.accounts.split(",")))


def message_cells(message: Any, now_ms: int, attempts: int) -> Cells:
    error = (clip(message.last_error, 60), "red") if message.last_error else ""
    return (when(now_ms, message.created_at_ms), state_words(message, attempts), clip(message.channel, 10),
            clip(accounts_text(message), 12), clip(message.title, 40), error)


def counts_line(messages: Sequence[Any]) -> Text:
    """``latest 5: sent 2 · pending 2 · failed 1``, or what to do when there is nothing yet."""
    if not messages:
        return Text(EMPTY)
    counts = Counter(m.state for m in messages)
    pending, dead = counts["pending"] + counts["sending"], counts["dead"]
    return Text.assemble((f"latest {len(messages)}: ", "dim"), (f"sent {counts['sent']}", "green"), " · ",
                         (f"pending {pending}", "yellow" if pending else ""), " · ",
                         (f"failed {dead}", "bold red" if dead else ""), ("   enter shows a message in full", "dim"))


def message_detail(message: Any, now_ms: int, attempts: int) -> Group:
    """The whole message (the body on its own lines, inert), then where it went and how its delivery stands."""
    facts = titled_table("Delivery", "what", "value")
    facts.show_header = False
    facts.add_row("state", renderable(state_words(message, attempts)))
    facts.add_row("channel", cell_text(message.channel))
    facts.add_row("accounts", cell_text(accounts_text(message) or "—"))
    facts.add_row("kind", f"{message.kind.replace('_', ' ')} ({message.severity})")
    facts.add_row("created", date_time(message.created_at_ms))
    if message.sent_at_ms:
        facts.add_row("sent", date_time(message.sent_at_ms))
    elif message.state == "pending":
        due = message.next_at_ms
        facts.add_row("next try", f"{clock(due)} ({'due now' if due <= now_ms else 'in ' + span(due - now_ms)})")
    facts.add_row("attempts", f"{message.attempts} of {attempts}")
    facts.add_row("last error", cell_text(message.last_error or "none", "red" if message.last_error else ""))
    return Group(cell_text(message.title, SEVERITY_STYLES.get(message.severity, "bold")), Text(""),
                 Text(inert(message.body, one_line=False)), Text(""), facts)


class NotificationsScreen(TableScreen):
    NAME, TABLE_ID, COLUMNS = "Notifications", "notifications", COLUMNS
    BINDINGS = [Binding("enter", "open", "Details")]

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[Any] = []
        self.reads = PacedReads(RELOAD_SECONDS)
        self._counts = Text()

    def above(self) -> Iterable[Widget]:
        yield Static("reading the notifications…", id="notify-counts")

    def attempts(self) -> int:
        app: Any = self.app
        return app.backend.config().notify.settings.attempts

    def refresh_data(self) -> None:
        if self.reads.due():
            app: Any = self.app
            self.reads.start(app, app.backend.notifications, SHOWN, then=self.show)

    def show(self, messages: list[Any]) -> None:
        app: Any = self.app
        self.messages = list(messages)
        now, attempts = app.clock(), self.attempts()
        self.rows.sync_ordered((str(m.id), message_cells(m, now, attempts)) for m in self.messages)
        counts = counts_line(self.messages)
        if counts != self._counts:  # a Static's update asks for a new layout: only when the line changed
            self._counts = counts
            self.query_one("#notify-counts", Static).update(counts)

    def selected(self) -> Any | None:
        key = self.rows.selected_key()
        return next((m for m in self.messages if str(m.id) == key), None)

    def on_data_table_row_selected(self, message: DataTable.RowSelected) -> None:
        message.stop()
        self.action_open()

    def action_open(self) -> None:
        message = self.selected()
        if message is not None:
            self.app.push_screen(NotificationScreen(message, self.attempts()))


class NotificationScreen(Screen):
    """One message in full, as it was read when it was opened; escape goes back to the list."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self, message: Any, attempts: int) -> None:
        super().__init__()
        self.message = message
        self.attempts = attempts

    def compose(self) -> ComposeResult:
        app: Any = self.app
        yield SummaryBar(f"Notification #{self.message.id}")
        with VerticalScroll(id="detail"):
            yield Static(message_detail(self.message, app.clock(), self.attempts), id="notification")
        yield Footer(compact=True)
