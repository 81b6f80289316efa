"""`LiveTable` overrides DataTable internals (tui/widgets.py): when a textual upgrade renames or reshapes them, these
tests name what moved instead of the dashboard silently falling back to a full re-render (or crashing)."""

from __future__ import annotations

import asyncio
import inspect

from textual.app import App, ComposeResult
from textual.widgets import DataTable

from tui.widgets import LiveTable

# What LiveTable relies on: the overridden methods (with their parameters) and the private state it reads.
OVERRIDDEN = {
    "_render_cell": ["self", "row_index", "column_index", "base_style", "width", "cursor", "hover"],
    "_clear_caches": ["self"],
    "notify_style_update": ["self"],
}
READ_ATTRIBUTES = ("_row_locations", "_column_locations", "_data", "_show_hover_cursor", "_pseudo_class_state")


def test_the_datatable_methods_livetable_overrides_still_exist_with_their_parameters() -> None:
    for name, parameters in OVERRIDDEN.items():
        method = getattr(DataTable, name, None)
        assert method is not None, f"textual's DataTable has no {name}() any more: tui/widgets.py overrides it"
        found = list(inspect.signature(method).parameters)
        assert found == parameters, f"DataTable.{name}{tuple(found)} changed; tui/widgets.py expects {parameters}"


class _Table(App[None]):
    def compose(self) -> ComposeResult:
        table = LiveTable(id="t")
        yield table

    def on_mount(self) -> None:
        table = self.query_one(LiveTable)
        table.add_columns("a", "b")
        for n in range(5):
            table.add_row(f"a{n}", f"b{n}", key=f"r{n}")


def test_one_changed_cell_renders_again_and_the_others_come_from_the_cache() -> None:
    app = _Table()
    rendered: list[tuple[int, int]] = []
    original = DataTable._render_cell

    def counting(self, row_index, column_index, *args, **kwargs):  # type: ignore[no-untyped-def]
        rendered.append((row_index, column_index))
        return original(self, row_index, column_index, *args, **kwargs)

    async def drive() -> None:
        async with app.run_test(size=(40, 10)) as pilot:
            table = app.query_one(LiveTable)
            for name in READ_ATTRIBUTES:
                assert hasattr(table, name), f"DataTable instances have no {name} any more: tui/widgets.py reads it"
            await pilot.pause()
            DataTable._render_cell = counting  # type: ignore[method-assign]
            try:
                table.update_cell("r2", table.ordered_columns[1].key, "zz")
                await pilot.pause()
                await pilot.pause()
            finally:
                DataTable._render_cell = original  # type: ignore[method-assign]
            body = [cell for cell in rendered if cell[0] >= 0 and cell[1] >= 0]
            assert body == [(2, 1)] * len(body) and body, rendered
            assert table.get_cell("r2", table.ordered_columns[1].key) == "zz"
            assert "a2  zz" in "".join(str(strip.text) for strip in table.render_lines(table.region))

    asyncio.run(drive())
