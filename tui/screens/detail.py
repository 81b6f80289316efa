"""Account detail: settings in effect (secrets masked), scheduler jobs and their next runs, recent errors
and state changes, paused chats, the reply rules with how often each one answered, and the AI replies: their
settings (the API key only masked, or where it comes from) and the model calls, tokens and cost per day."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from tui.backend import AccountDetail
from tui.format import cell_text, clock, date_time, left
from tui.screens.common import SummaryBar, titled_table


def login_line(snap: Any, now: int) -> tuple[tuple[str, str], ...]:
    """``login valid until 2027-01-05 12:00 (29d)  healthy``: the long login's end, as its cookies say."""
    until = snap.login_until_ms
    valid = f"valid until {date_time(until)} ({left(now, until)})" if until else "end unknown"
    style = "bold yellow" if snap.login_state == "login_expiring" else ""
    return ("\nlogin ", "dim"), (valid, style), ("  ", ""), (snap.login_state.replace("_", " "), style)


def ai_part(detail: AccountDetail) -> list[Any]:
    """The AI settings in effect and the usage per day (newest first); nothing for an account without AI."""
    if not detail.ai:
        return []
    if dict(detail.ai).get("enabled") == "false" and not any(day.calls for day in detail.usage):
        return [Text.assemble(("AI replies", "bold"), ("  off (ai.enabled in accounts.yml)", "dim")), Text("")]
    settings = titled_table("AI replies", "key", "value")
    for key, value in detail.ai:
        settings.add_row(key, cell_text(value))
    usage = titled_table("AI usage per day", "day", "calls", "tokens", "in / out", "failures", "cost")
    for day in detail.usage:
        usage.add_row(day.day, str(day.calls), f"{day.tokens:,}", f"{day.prompt_tokens:,} / {day.completion_tokens:,}",
                      cell_text(str(day.failures), "red" if day.failures else ""), f"{day.cost:.2f}")
    if not usage.row_count:
        usage.add_row("no model calls yet", "", "", "", "", "")
    return [settings, Text(""), usage, Text("")]


class DetailScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("s", "control('start')", "Start"),
        Binding("x", "control('stop')", "Stop"),
        Binding("r", "control('restart')", "Restart"),
        Binding("m", "messages", "Chats"),
    ]

    def __init__(self, account_id: str) -> None:
        super().__init__()
        self.account_id = account_id
        self.detail: AccountDetail | None = None
        self._drawn: tuple = ()

    def compose(self) -> ComposeResult:
        yield SummaryBar(f"Account {self.account_id}")
        with VerticalScroll(id="detail"):
            yield Static(id="live")
            yield Static("loading…", id="static")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.load()
        self.ready = True
        self.refresh_data()

    def load(self) -> None:
        app: Any = self.app
        app.call(app.backend.detail, self.account_id, then=self.show_detail)

    def show_detail(self, detail: AccountDetail) -> None:
        self.detail = detail
        now = self.app.clock()  # type: ignore[attr-defined]
        settings = titled_table("Settings in effect", "key", "value")
        for key, value in detail.settings:
            settings.add_row(key, value)
        jobs = titled_table("Scheduler jobs", "job", "next run", "in")
        for job_id, next_ms in detail.jobs:
            jobs.add_row(job_id, clock(next_ms) if next_ms else "paused", left(now, next_ms))
        rules = titled_table("Reply rules (first hit wins)", "rule", "what", "replies sent")
        for rule in detail.rules:
            rules.add_row(rule.rule_id, cell_text(rule.description), str(rule.hits))
        self.query_one("#static", Static).update(Group(rules, Text(""), jobs, Text(""), *ai_part(detail),
                                                       settings))

    def refresh_data(self) -> None:
        app: Any = self.app
        model = app.model
        snap = next((s for s in app.snapshots if s.account_id == self.account_id), None)
        state = (model.version, snap, app.clock() // 1000)
        if state == self._drawn:
            return
        self._drawn = state
        now = app.clock()
        head = Text.assemble((self.account_id, "bold"), "  ", (snap.alias if snap else "", ""), "  ",
                             (snap.state if snap else "not configured", "bold"),
                             *login_line(snap, now) if snap else ())
        history = titled_table("Recent state changes and errors", "at", "what")
        for line in list(model.history.get(self.account_id, ()))[-12:]:
            history.add_row(clock(line.at_ms), cell_text(line.text, "red" if line.error else ""))
        pauses = titled_table("Paused chats", "chat", "bot back in")
        for _, cid, until in model.paused_chats(self.account_id):
            pauses.add_row(cell_text(cid), left(now, until))  # the platform's chat id: no markup, inert
        if not pauses.row_count:
            pauses.add_row("none", "")
        self.query_one("#live", Static).update(Group(head, Text(""), history, Text(""), pauses, Text("")))

    def action_control(self, verb: str) -> None:
        app: Any = self.app
        app.call(getattr(app.backend, verb), self.account_id, done=f"{self.account_id}: {verb} done",
                 then=lambda _: self.load())

    def action_messages(self) -> None:
        app: Any = self.app
        app.inbox_account = self.account_id
        app.pop_screen()
        app.switch_mode("inbox")
