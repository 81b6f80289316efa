"""Helpers for the pilot tests: a dashboard on a running Service, polling the loop, reading what is shown."""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from textual.notifications import Notify
from textual.widgets import DataTable, Static

from core.control import Control
from core.logsink import LogSink
from tui.app import XianyuApp
from tui.backend import ServiceBackend
from tui.feed import EventFeed, LogLines


def dashboard(service: Any, with_log: bool = False) -> XianyuApp:
    """The app exactly as ``run_dashboard`` builds it, on an already started service."""
    feed = EventFeed()
    service.bus.add(feed)
    lines = None
    if with_log:
        lines = LogLines()
        logging.getLogger().addHandler(lines)
        logging.getLogger("xianyu").setLevel(logging.INFO)
        service.bus.add(LogSink())
    return XianyuApp(ServiceBackend(Control(service)), feed, lines)


def notification_hook() -> tuple[list[str], Callable[[Any], None]]:
    """A ``run_test(message_hook=…)`` that keeps every notification as "title\nmessage"."""
    notes: list[str] = []

    def hook(message: Any) -> None:
        if isinstance(message, Notify):
            notes.append(f"{message.notification.title}\n{message.notification.message}")
    return notes, hook


def detach_log(app: XianyuApp) -> None:
    if app.log_lines is not None:
        logging.getLogger().removeHandler(app.log_lines)


async def until(predicate: Callable[[], Any], timeout: float = 8.0, what: str = "") -> Any:
    """Let the app run (ticks, workers) until ``predicate()`` is truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f}s: {what or predicate}; last={value!r}")
        await asyncio.sleep(0.05)


def cell(app: XianyuApp, table_id: str, row: str, column: str) -> str:
    table = app.screen.query_one(f"#{table_id}", DataTable)
    try:
        return str(table.get_cell(row, column))
    except Exception:  # noqa: BLE001 - no such row (yet)
        return ""


def rows(app: XianyuApp, table_id: str) -> list[str]:
    table = app.screen.query_one(f"#{table_id}", DataTable)
    return [key.value for key in table.rows]


def text_of(app: XianyuApp, selector: str) -> str:
    """What a Static shows, as plain text (rich renderables rendered 160 columns wide)."""
    console = Console(width=160, file=io.StringIO(), record=True, color_system=None)
    console.print(app.screen.query_one(selector, Static).content)
    return console.export_text()


def select_row(app: XianyuApp, table_id: str, key: str) -> None:
    table = app.screen.query_one(f"#{table_id}", DataTable)
    table.move_cursor(row=table.get_row_index(key))
