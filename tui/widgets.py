"""``LiveTable``: a DataTable whose cells stay rendered until *they* change.

Textual's DataTable keys its cell render cache on a table-wide update counter, so writing one cell
re-renders every visible cell through Rich (≈ 60 ms of CPU for 46 rows × 11 columns; under a busy
service, with the GIL shared by hundreds of threads, well over a second of wall time). Here a cell's
render is keyed on the cell's value object instead — ``update_cell`` stores a new object, so a changed
cell misses and every other one hits. Everything else (row assembly, cursor, hover, styles) is
DataTable's own. This overrides a private method: textual is pinned exactly (requirements.txt) and the
snapshot tests render through it.
"""

from __future__ import annotations

from typing import Any

from rich.style import Style
from textual.widgets import DataTable

CACHE_LIMIT = 20_000


class LiveTable(DataTable):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cells_by_value: dict[tuple, tuple[Any, Any]] = {}

    def _render_cell(self, row_index: int, column_index: int, base_style: Style, width: int,
                     cursor: bool = False, hover: bool = False) -> Any:
        if row_index < 0 or column_index < 0:  # header and row labels: the table's own cache
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        value = self._data[row_key][column_key]
        key = (row_key, column_key, row_index, base_style, width, cursor, hover, self._show_hover_cursor,
               self._pseudo_class_state)
        cached = self._cells_by_value.get(key)
        if cached is not None and cached[0] is value:
            return cached[1]
        lines = super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        if len(self._cells_by_value) >= CACHE_LIMIT:
            self._cells_by_value.clear()
        self._cells_by_value[key] = (value, lines)
        return lines

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cells_by_value.clear()

    def _clear_caches(self) -> None:
        super()._clear_caches()
        self._cells_by_value.clear()
