"""Log: the lines ``--no-tui`` prints (same format, secrets masked), newest at the bottom; ``/`` searches."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Input, Log

from tui.screens.common import SummaryBar


class LogScreen(Screen):
    BINDINGS = [Binding("slash", "search", "Search"), Binding("escape", "clear", "Clear search")]

    def __init__(self) -> None:
        super().__init__()
        self.needle = ""
        self.shown_total = 0

    def compose(self) -> ComposeResult:
        yield SummaryBar("Log")
        yield Input(placeholder="/ search the log", id="search")
        yield Log(id="log", max_lines=5_000)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(Log).focus()
        self.ready = True
        self.refresh_data()

    def refresh_data(self) -> None:
        model: Any = self.app.model  # type: ignore[attr-defined]
        new = min(model.log_total - self.shown_total, len(model.log))
        if new <= 0:
            return
        self.shown_total = model.log_total
        lines = list(model.log)[-new:]
        self.query_one(Log).write_lines(self._matching(lines))

    def _matching(self, lines: list[str]) -> list[str]:
        needle = self.needle.casefold()
        return [line for line in lines if needle in line.casefold()] if needle else lines

    def redraw(self) -> None:
        model: Any = self.app.model  # type: ignore[attr-defined]
        log = self.query_one(Log)
        log.clear()
        log.write_lines(self._matching(list(model.log)))
        self.shown_total = model.log_total

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    def on_input_changed(self, message: Input.Changed) -> None:
        self.needle = message.value.strip()
        self.redraw()

    def on_input_submitted(self, message: Input.Submitted) -> None:
        self.query_one(Log).focus()

    def action_clear(self) -> None:
        self.query_one("#search", Input).value = ""
        self.query_one(Log).focus()
