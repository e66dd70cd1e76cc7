"""``RowTable``: a wasm app's JSON rows as a sortable, virtualised table.

The same keys as ``EventTable`` (and the same binding ids, so a keymap remaps both), over a
``RowStore`` of Python dicts instead of a numpy ring: columns are the keys in first-seen order,
and only the rows on screen are formatted.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.segment import Segment
from textual import events
from textual.binding import BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..runtime.stream.query import Sort
from ..runtime.stream.rows import RowStore, cell_text, sort_key
from .event_table import GAP, SORT_MARKS, TABLE_BINDINGS

MAX_WIDTH = 40


class RowTable(ScrollView, can_focus=True):
    """Rows of a ``RowStore``, newest at the bottom; ``s`` sorts by the column under the cursor."""

    BINDINGS: ClassVar[list[BindingType]] = TABLE_BINDINGS

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "row-table--header",
        "row-table--header-cursor",
        "row-table--cursor",
        "row-table--note",
    }

    DEFAULT_CSS = """
    RowTable {
        height: 1fr;
        background: $surface;
        scrollbar-size-vertical: 1;
        & > .row-table--header { background: $panel; color: $text; text-style: bold; }
        & > .row-table--header-cursor { background: $panel; color: $accent; text-style: bold; }
        & > .row-table--cursor { background: $boost; }
        &:focus > .row-table--cursor { background: $primary 35%; }
        & > .row-table--note { color: $text-muted; text-style: italic; }
    }
    """

    paused: reactive[bool] = reactive(False, init=False)
    following: reactive[bool] = reactive(True, init=False)

    class StateChanged(Message):
        """Sort, pause or follow changed (the status bar shows them)."""

        def __init__(self, table: RowTable) -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> RowTable:
            return self.table

    def __init__(self, store: RowStore, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.store = store
        self.sort = Sort()
        self.where = None  # no filter for JSON rows (the status bar asks)
        self.cursor_row = 0
        self.cursor_column = 0
        self.columns: list[str] = []
        self.widths: list[int] = []
        self.view: list[dict[str, Any]] = []
        self._frozen: list[dict[str, Any]] | None = None
        self._seen_generation = -1

    # -- data ----------------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self.view)

    def on_mount(self) -> None:
        self.refresh_rows(force=True)

    def refresh_rows(self, force: bool = False) -> None:
        generation = -2 if self._frozen is not None else self.store.generation
        if not force and generation == self._seen_generation:
            return
        self._seen_generation = generation
        for name in self.store.columns[len(self.columns) :]:
            self.columns.append(name)
            self.widths.append(len(name) + 2)
        rows = self._frozen if self._frozen is not None else list(self.store.rows)
        if self.sort.field is not None:
            rows = sorted(rows, key=sort_key(self.sort.field), reverse=self.sort.reverse)
        self.view = rows
        self.virtual_size = Size(self.total_width, self.row_count + 1)
        if self.following:
            self._move_cursor(self.row_count - 1)
        else:
            self.cursor_row = min(self.cursor_row, max(self.row_count - 1, 0))
        self.refresh()

    def row_values(self, position: int) -> dict[str, str]:
        """The shown text of each column of the row at ``position``."""
        row = self.view[position]
        return {c: cell_text(row.get(c)) for c in self.columns}

    def set_sort(self, sort: Sort) -> None:
        self.sort = sort
        if sort.field is not None:
            self.following = False
        self.refresh_rows(force=True)
        if sort.field is not None:
            self._move_cursor(0)
        self.post_message(self.StateChanged(self))

    def sort_by(self, name: str) -> None:
        self.cursor_column = self.columns.index(name)
        reverse = not self.sort.reverse if self.sort.field == name else False
        self.set_sort(Sort(name, reverse))

    # -- watchers and actions ------------------------------------------------------------------

    def watch_paused(self, paused: bool) -> None:
        self._frozen = list(self.store.rows) if paused else None
        if paused:
            self.following = False
        self.refresh_rows(force=True)
        self.post_message(self.StateChanged(self))

    def watch_following(self, following: bool) -> None:
        if following:
            self._move_cursor(self.row_count - 1)
        self.post_message(self.StateChanged(self))

    def action_sort(self) -> None:
        if self.columns:
            self.sort_by(self.columns[self.cursor_column])

    def action_unsort(self) -> None:
        self.set_sort(Sort())

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused

    def action_follow(self) -> None:
        if self.paused:
            self.paused = False
        self.following = True
        self._move_cursor(self.row_count - 1)

    def action_cursor(self, delta: int) -> None:
        if delta < 0:
            self.following = False
        self._move_cursor(self.cursor_row + delta)

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(self.size.height - 2, 1))

    def action_first(self) -> None:
        self.following = False
        self._move_cursor(0)

    def action_column(self, delta: int) -> None:
        if self.columns:
            self.cursor_column = max(0, min(self.cursor_column + delta, len(self.columns) - 1))
            self.refresh()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            x, left = offset.x + int(self.scroll_offset.x), 1
            for name, width in zip(self.columns, self.widths, strict=True):
                if left <= x < left + width + GAP:
                    self.sort_by(name)
                    return
                left += width + GAP
            return
        position = int(self.scroll_offset.y) + offset.y - 1
        if position < self.row_count:
            self.following = False
            self._move_cursor(position)

    # -- geometry and drawing ------------------------------------------------------------------

    @property
    def total_width(self) -> int:
        return 1 + sum(w + GAP for w in self.widths)

    def _move_cursor(self, position: int) -> None:
        position = max(0, min(position, self.row_count - 1))
        if position != self.cursor_row:
            self.cursor_row = position
            self.refresh()
        if not self.row_count:
            return
        if self.following:
            self.scroll_end(animate=False, immediate=True, force=True)
            self.scroll_end(animate=False, force=True)
            return
        visible = max(self.scrollable_content_region.height - 1, 1)
        top = int(self.scroll_offset.y)
        if position < top:
            self.scroll_to(y=position, animate=False, immediate=True, force=True)
        elif position >= top + visible:
            self.scroll_to(y=position - visible + 1, animate=False, immediate=True, force=True)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        scroll_x, scroll_y = int(self.scroll_offset.x), int(self.scroll_offset.y)
        if y == 0:
            strip = self._header_strip()
        else:
            position = scroll_y + y - 1
            if position < self.row_count:
                strip = self._row_strip(position)
            elif position == 0:
                note = " paused (no rows yet)" if self.paused else " waiting for output…"
                style = self.get_component_rich_style("row-table--note")
                strip = Strip([Segment(note, style)])
            else:
                strip = Strip.blank(0)
        return strip.crop_extend(scroll_x, scroll_x + width, self.rich_style)

    def _header_strip(self) -> Strip:
        plain = self.get_component_rich_style("row-table--header")
        cursor = self.get_component_rich_style("row-table--header-cursor")
        segments = [Segment(" ", plain)]
        for i, (name, width) in enumerate(zip(self.columns, self.widths, strict=True)):
            title = name + (SORT_MARKS[self.sort.reverse] if self.sort.field == name else "")
            style = cursor if i == self.cursor_column else plain
            title = title[:width]
            text = title.rjust(width) if self.store.numeric.get(name) else title.ljust(width)
            segments.append(Segment(text, style))
            segments.append(Segment(" " * GAP, plain))
        width = max(self.total_width, self.size.width)
        return Strip(segments).extend_cell_length(width, plain)

    def _row_strip(self, position: int) -> Strip:
        row = self.view[position]
        parts = [" "]
        for i, name in enumerate(self.columns):
            value = row.get(name)
            text = cell_text(value)
            if len(text) > self.widths[i]:
                if len(text) <= MAX_WIDTH:
                    self.widths[i] = len(text)  # widen (the header follows on the next draw)
                    self.virtual_size = Size(self.total_width, self.row_count + 1)
                    self.refresh()
                else:
                    text = text[: self.widths[i] - 1] + "…"
            width = self.widths[i]
            parts.append(text.rjust(width) if self.store.numeric.get(name) else text.ljust(width))
            parts.append(" " * GAP)
        style = (
            self.get_component_rich_style("row-table--cursor")
            if position == self.cursor_row
            else self.rich_style
        )
        line = "".join(parts).ljust(max(self.total_width, self.size.width))
        return Strip([Segment(line, style)], len(line))

    def visible_values(self) -> list[dict[str, str]]:
        start = int(self.scroll_offset.y)
        end = min(start + max(self.size.height - 1, 0), self.row_count)
        return [self.row_values(p) for p in range(start, end)]
