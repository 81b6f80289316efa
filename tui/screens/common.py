"""What the screens share: the summary bar, in-place DataTable syncing, paced storage reads, the detail tables,
the confirm and text dialogs."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from rich import box
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Input, Label

from core.inert import inert
from tui.format import cell_text, clock
from tui.widgets import LiveTable

T = TypeVar("T")
# A cell is a plain string or (text, style): cheap to build and to compare for a thousand rows a tick;
# it becomes a rich Text only when it is written to the table.
Cell = str | tuple[str, str]
Cells = tuple[Cell, ...]


def renderable(cell: Cell) -> Text:
    # Always Text: a plain str cell would be parsed as console markup, and a buyer typing "[b]" is no markup.
    # And inert: a cell built without `clip` must not carry a control sequence to the terminal either.
    text, style = cell if isinstance(cell, tuple) else (cell, "")
    return cell_text(text, style)


class SummaryBar(Widget):
    """The header: ``xianyu · online 47 · backoff 2 · needs verification 1`` and the screen's name.

    A one-line widget that renders its text (not a Static): an update repaints one line instead of
    asking for a new layout of the whole screen, four times a second."""

    def __init__(self, screen_name: str) -> None:
        super().__init__(id="summary")
        self.screen_name = screen_name
        self.text = Text(screen_name)

    def show(self, app: Any) -> None:
        text = Text.assemble(("xianyu ", "bold"), (f" {self.screen_name} ", "bold reverse"), "  ",
                             app.header_summary(), ("  " + clock(app.clock()), "dim"))
        if text != self.text:
            self.text = text
            self.refresh()

    def render(self) -> Text:
        return self.text


class RowSync:
    """Keeps a DataTable equal to a list of (row key, cells): new keys are appended, gone keys removed, and
    only cells whose value changed are written (``update_cell``). Row keys and order stay stable."""

    def __init__(self, table: DataTable, columns: Sequence[str]) -> None:
        self.table = table
        self.columns = tuple(columns)
        self.shown: dict[str, Cells] = {}

    def sync(self, rows: Iterable[tuple[str, Cells]]) -> None:
        wanted: dict[str, Cells] = dict(rows)
        self._drop_missing(wanted)
        for key, cells in wanted.items():
            self._put(key, cells)

    def sync_ordered(self, rows: Iterable[tuple[str, Cells]]) -> None:
        """Like ``sync``, for a table whose rows keep the given order though new ones come first (newest first):
        a new row that belongs above a shown one rebuilds the table once, the cursor staying on its row."""
        wanted: dict[str, Cells] = dict(rows)
        kept = [key for key in self.shown if key in wanted]
        if kept != list(wanted)[:len(kept)]:  # appending would put a new row below older ones
            selected = self.selected_key()
            self.reset()
            self.sync(wanted.items())
            if selected in wanted:
                self.table.move_cursor(row=self.table.get_row_index(selected))
            return
        self.sync(wanted.items())

    def sync_visible(self, items: Sequence[T], key: Callable[[T], str], cells: Callable[[T], Cells]) -> None:
        """For big tables: every row exists, but only the rows on screen get their cells recomputed (a
        thousand rows of ages and counters would cost milliseconds of GIL a redraw for nothing); a row
        scrolled into view is brought up to date on the next redraw."""
        keys = [key(item) for item in items]
        self._drop_missing(dict.fromkeys(keys))
        table = self.table
        top = int(table.scroll_y)
        visible = range(top, top + table.size.height + 1)
        for k, item in zip(keys, items, strict=True):
            if k not in self.shown or table.get_row_index(k) in visible:
                self._put(k, cells(item))

    def _drop_missing(self, wanted: Mapping[str, object]) -> None:
        for key in [k for k in self.shown if k not in wanted]:
            self.table.remove_row(key)
            del self.shown[key]

    def _put(self, key: str, cells: Cells) -> None:
        before = self.shown.get(key)
        if before is None:
            self.table.add_row(*map(renderable, cells), key=key)
        elif before != cells:
            for column, old, new in zip(self.columns, before, cells, strict=True):
                if old != new:
                    self.table.update_cell(key, column, renderable(new))
        self.shown[key] = cells

    def reset(self) -> None:
        self.table.clear()
        self.shown.clear()

    def selected_key(self) -> str | None:
        table = self.table
        if not table.row_count:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return row_key.value


class PacedReads:
    """One storage read at a time, in a worker, at most every ``every`` seconds: a screen asks on each of the
    app's redraws (about a second apart) and gets the rows back on the loop."""

    SLACK = 0.25  # redraws come a tick early or late: a read due every 2 s must not wait for the third second
    STUCK = 10.0  # a failed read was reported by ``app.call``, which then never calls back: try again after this

    def __init__(self, every: float) -> None:
        self.every = every
        self._started = -math.inf
        self._busy = False

    def due(self) -> bool:
        elapsed = time.monotonic() - self._started
        return elapsed >= self.every - self.SLACK and (not self._busy or elapsed > self.STUCK)

    def start(self, app: Any, fn: Callable[..., Any], *args: Any, then: Callable[[Any], None]) -> None:
        self._busy, self._started = True, time.monotonic()

        def done(result: Any) -> None:
            self._busy = False
            then(result)
        app.call(fn, *args, then=done)


def titled_table(title: str, *columns: str) -> Table:
    """A detail screen's section: a bold title over borderless columns that fold long values."""
    table = Table(title=title, title_justify="left", title_style="bold", expand=True, box=box.SIMPLE_HEAD,
                  show_edge=False, pad_edge=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def add_columns(table: DataTable, columns: Sequence[tuple[str, str, int | None]]) -> list[str]:
    """Columns as (key, label, width); fixed widths keep a wide-character cell from shifting the others."""
    for key, label, width in columns:
        table.add_column(label, key=key, width=width)
    return [key for key, _, _ in columns]


class TableScreen(Screen):
    """A screen around one live table: the summary bar, ``above()`` widgets, the table, the footer.

    ``account`` and ``only`` are the usual filters (``f`` the highlighted row's account, ``u`` the rows
    that need the seller); a screen that uses them binds the actions and reads them when it draws."""

    NAME = ""
    TABLE_ID = ""
    COLUMNS: Sequence[tuple[str, str, int | None]] = ()

    def __init__(self) -> None:
        super().__init__()
        self.account: str | None = None
        self.only = False
        self.ready = False

    def above(self) -> Iterable[Widget]:
        return ()

    def below(self) -> Iterable[Widget]:
        return ()

    def compose(self) -> ComposeResult:
        yield SummaryBar(self.NAME)
        yield from self.above()
        yield LiveTable(id=self.TABLE_ID, cursor_type="row")
        yield from self.below()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(f"#{self.TABLE_ID}", DataTable)
        self.rows = RowSync(table, add_columns(table, self.COLUMNS))
        table.focus()
        self.ready = True
        self.refresh_data()

    def refresh_data(self) -> None:
        """Called by the app's redraw (and after a filter changed)."""

    def selected_account(self) -> str | None:
        return None

    def action_account(self) -> None:
        account = self.selected_account()
        self.account = None if self.account or account is None else account
        self.refresh_data()

    def action_only(self) -> None:
        self.only = not self.only
        self.refresh_data()


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question; y/enter confirm, n/escape cancel."""

    BINDINGS = [Binding("y,enter", "answer(True)", "Yes"), Binding("n,escape", "answer(False)", "No")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(inert(self.question), id="question", markup=False)  # it may name a buyer: as typed
            yield Label("[b]y[/b] yes    [b]n[/b] no", id="choices")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class TextScreen(ModalScreen[str | None]):
    """One line of input (a reply by hand, a cookie): enter submits, escape cancels. ``password`` hides it."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, prompt: str, password: bool = False) -> None:
        super().__init__()
        self.prompt = prompt
        self.password = password

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            # The prompt may name a buyer ("Reply to <nick>"): shown as typed, never as markup, on one line.
            yield Label(inert(self.prompt), id="question", markup=False)
            yield Input(password=self.password, id="text")
            yield Label("[b]enter[/b] submit    [b]escape[/b] cancel", id="choices")

    def on_input_submitted(self, message: Input.Submitted) -> None:
        message.stop()
        self.dismiss(message.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
