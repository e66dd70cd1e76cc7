"""``EventTable``: a program's events as a sortable, filterable, virtualised table.

A Line API widget: ``render_line`` formats only the rows on screen, so drawing costs the same
with ten events or ten thousand. Which rows, in which order, a ``runtime.query.RowView`` keeps
up to date, merging in only what arrived since the last refresh.
"""

from __future__ import annotations

from time import perf_counter
from typing import Any, ClassVar

from rich.segment import Segment
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..runtime.lazy import np
from ..runtime.stream.query import Filter, RowSource, RowView, Sort, select, sortable
from ..runtime.stream.store import EventStore, FrozenRows
from ..tui.formatting import Column, columns

GAP = 2
MAX_TEXT_WIDTH = 40
SORT_MARKS = {False: " ▲", True: " ▼"}

# The keys of every virtual table (events, wasm rows): one set of ids, so a keymap remaps both.
TABLE_BINDINGS: list[BindingType] = [
    Binding("s", "sort", "Sort", id="events.sort"),
    Binding("S", "unsort", "Arrival order", show=False, id="events.unsort"),
    Binding("space", "toggle_pause", "Pause", id="events.pause"),
    Binding("f", "follow", "Follow", id="events.follow"),
    Binding("up", "cursor(-1)", "Up", show=False, id="events.up"),
    Binding("down", "cursor(1)", "Down", show=False, id="events.down"),
    Binding("pageup", "page(-1)", "Page up", show=False, id="events.page_up"),
    Binding("pagedown", "page(1)", "Page down", show=False, id="events.page_down"),
    Binding("home", "first", "First", show=False, id="events.first"),
    Binding("end", "follow", "Last", show=False, id="events.last"),
    Binding("left", "column(-1)", "Column left", show=False, id="events.left"),
    Binding("right", "column(1)", "Column right", show=False, id="events.right"),
]


class EventTable(ScrollView, can_focus=True):
    """Rows of one program's store: columns from its layout, newest at the bottom."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *TABLE_BINDINGS,
        Binding("enter", "choose", "Pick key", show=False, id="events.pick"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "event-table--header",
        "event-table--header-cursor",
        "event-table--cursor",
        "event-table--note",
    }

    DEFAULT_CSS = """
    EventTable {
        height: 1fr;
        background: $surface;
        scrollbar-size-vertical: 1;
        & > .event-table--header { background: $panel; color: $text; text-style: bold; }
        & > .event-table--header-cursor { background: $panel; color: $accent; text-style: bold; }
        & > .event-table--cursor { background: $boost; }
        &:focus > .event-table--cursor { background: $primary 35%; }
        & > .event-table--note { color: $text-muted; text-style: italic; }
    }
    """

    paused: reactive[bool] = reactive(False, init=False)
    following: reactive[bool] = reactive(True, init=False)

    class StateChanged(Message):
        """Sort, filter, pause or follow changed (the status bar shows them)."""

        def __init__(self, table: EventTable) -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> EventTable:
            return self.table

    class RowChosen(Message):
        """The user picked a row (Enter): ``values`` maps field names to shown text."""

        def __init__(self, table: EventTable, values: dict[str, Any]) -> None:
            super().__init__()
            self.table = table
            self.values = values

        @property
        def control(self) -> EventTable:
            return self.table

    def __init__(
        self,
        store: EventStore,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.store = store
        self.columns: list[Column] = columns(store.layout)
        self.widths = [c.width for c in self.columns]
        self.sort = Sort()
        self.where = Filter()
        self.cursor_row = 0
        self.cursor_column = 0
        self._frozen: FrozenRows | None = None
        self._live: RowView | None = None
        self._view = np.arange(0)
        self._seen_generation = -1
        self._cells: dict[int, list[str]] = {}
        self._header: Strip | None = None
        self.header_drawn_at: float = 0.0
        """perf_counter() when the header was last drawn anew (after a sort: the load benchmark
        times key presses with it)."""

    # -- data ----------------------------------------------------------------------------------

    @property
    def source(self) -> RowSource:
        return self._frozen if self._frozen is not None else self.store

    @property
    def row_count(self) -> int:
        return len(self._view)

    def on_mount(self) -> None:
        self.refresh_rows(force=True)

    def refresh_rows(self, force: bool = False, requery: bool = True) -> None:
        """Bring the view up to date if the rows changed; cheap when nothing did. A paused
        view is queried again only when asked (``requery``: its sort or filter changed)."""
        generation = -2 if self._frozen is not None else self.store.generation
        if not force and generation == self._seen_generation:
            return
        self._seen_generation = generation
        if self._frozen is not None:
            if requery:
                self._view = select(self._frozen, self.sort, self.where)
        else:
            live = self._live
            if live is None or (live.sort, live.where) != (self.sort, self.where):
                live = self._live = RowView(self.store, self.sort, self.where)
            self._view = live.update()
        self._cells.clear()
        self._update_virtual_size()
        if self.following:
            self._move_cursor(self.row_count - 1)
        else:
            self.cursor_row = min(self.cursor_row, max(self.row_count - 1, 0))
        self.refresh()

    def set_filter(self, where: Filter) -> None:
        self.where = where
        self.refresh_rows(force=True)
        self.post_message(self.StateChanged(self))

    def set_sort(self, sort: Sort) -> None:
        """Order the rows; a sorted table shows its first rows (following is for arrival order)."""
        self.sort = sort
        self._header = None
        if sort.field is not None:
            self.following = False
        self.refresh_rows(force=True)
        if sort.field is not None:
            self._move_cursor(0)
        self.post_message(self.StateChanged(self))

    def row_values(self, position: int) -> dict[str, Any]:
        """The shown text of each field of the row at ``position`` in the view."""
        rows = self.source.rows[self._view[position : position + 1]]
        return {c.name: c.format(rows[c.name])[0] for c in self.columns}

    def visible_values(self) -> list[dict[str, Any]]:
        """The rows currently on screen, as field -> text (for tests and debugging)."""
        start = int(self.scroll_offset.y)
        end = min(start + max(self.size.height - 1, 0), self.row_count)
        return [self.row_values(p) for p in range(start, end)]

    # -- watchers ------------------------------------------------------------------------------

    def watch_paused(self, paused: bool) -> None:
        # Paused: a copy of the rows with the slots they had, so the view (brought up to date
        # first) stays right for it.
        if paused and self._frozen is None and self._live is not None:
            self._view = self._live.update()
        self._frozen = self.store.freeze() if paused else None
        if paused:
            self.following = False
        self.refresh_rows(force=True, requery=False)
        self.post_message(self.StateChanged(self))

    def watch_following(self, following: bool) -> None:
        if following:
            self._move_cursor(self.row_count - 1)
        self.post_message(self.StateChanged(self))

    # -- actions -------------------------------------------------------------------------------

    def action_sort(self) -> None:
        """Sort by the column under the column cursor; again to reverse."""
        self.sort_by(self.columns[self.cursor_column].name)

    def sort_by(self, name: str) -> None:
        index = next(i for i, c in enumerate(self.columns) if c.name == name)
        if not sortable(self.columns[index].field):
            self.notify(f"{name} cannot be sorted", severity="warning")
            return
        self.cursor_column = index
        reverse = not self.sort.reverse if self.sort.field == name else False
        self.set_sort(Sort(name, reverse))

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
        self.cursor_column = max(0, min(self.cursor_column + delta, len(self.columns) - 1))
        self._header = None
        self._scroll_to_column()
        self.refresh()

    def action_choose(self) -> None:
        if self.row_count:
            self.post_message(self.RowChosen(self, self.row_values(self.cursor_row)))

    # -- mouse ---------------------------------------------------------------------------------

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            if (index := self._column_at(offset.x + int(self.scroll_offset.x))) is not None:
                self.sort_by(self.columns[index].name)
            return
        position = int(self.scroll_offset.y) + offset.y - 1
        if position < self.row_count:
            self.following = False
            self._move_cursor(position)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self.following = False  # reading back through history: stop jumping to the newest

    def _column_at(self, x: int) -> int | None:
        left = 1
        for i, width in enumerate(self.widths):
            if left <= x < left + width + GAP:
                return i
            left += width + GAP
        return None

    # -- geometry ------------------------------------------------------------------------------

    @property
    def total_width(self) -> int:
        return 1 + sum(w + GAP for w in self.widths)

    def _update_virtual_size(self) -> None:
        self.virtual_size = Size(self.total_width, self.row_count + 1)

    def _move_cursor(self, position: int) -> None:
        position = max(0, min(position, self.row_count - 1))
        if position != self.cursor_row:
            self.cursor_row = position
            self.refresh()
        if not self.row_count:
            return
        if self.following:
            # Now, and again once the layout is known (the viewport may not have a size yet).
            self.scroll_end(animate=False, immediate=True, force=True)
            self.scroll_end(animate=False, force=True)
        else:
            self._scroll_to_row(position)

    def watch_show_vertical_scrollbar(self, shown: bool) -> None:
        # A scroll made before the scrollbar existed did not move its thumb.
        if shown:
            self.vertical_scrollbar.position = self.scroll_y

    def on_resize(self) -> None:
        self._header = None
        if self.following:
            self.scroll_end(animate=False, immediate=True, force=True)
        elif self.row_count:
            self._scroll_to_row(self.cursor_row)

    def _scroll_to_row(self, position: int) -> None:
        visible = max(self.scrollable_content_region.height - 1, 1)
        top = int(self.scroll_offset.y)
        if position < top:
            self.scroll_to(y=position, animate=False, immediate=True, force=True)
        elif position >= top + visible:
            self.scroll_to(y=position - visible + 1, animate=False, immediate=True, force=True)

    def _scroll_to_column(self) -> None:
        left = 1 + sum(w + GAP for w in self.widths[: self.cursor_column])
        right = left + self.widths[self.cursor_column]
        view = self.scrollable_content_region.width
        x = int(self.scroll_offset.x)
        if left < x:
            self.scroll_to(x=left - 1, animate=False, immediate=True, force=True)
        elif right > x + view:
            self.scroll_to(x=right - view + 1, animate=False, immediate=True, force=True)

    # -- drawing -------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        scroll_x, scroll_y = int(self.scroll_offset.x), int(self.scroll_offset.y)
        if y == 0:
            strip = self._header_strip()
        else:
            position = scroll_y + y - 1
            if position >= self.row_count:
                strip = self._note_strip() if position == 0 else Strip.blank(0)
            else:
                strip = self._row_strip(position)
        base = self.rich_style
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def _header_strip(self) -> Strip:
        if self._header is not None:
            return self._header
        self.header_drawn_at = perf_counter()
        plain = self.get_component_rich_style("event-table--header")
        cursor = self.get_component_rich_style("event-table--header-cursor")
        segments = [Segment(" ", plain)]
        for i, (column, width) in enumerate(zip(self.columns, self.widths, strict=True)):
            title = column.name + (
                SORT_MARKS[self.sort.reverse] if self.sort.field == column.name else ""
            )
            text = title.rjust(width) if column.numeric else title.ljust(width)
            segments.append(Segment(text[:width], cursor if i == self.cursor_column else plain))
            segments.append(Segment(" " * GAP, plain))
        strip = Strip(segments).extend_cell_length(max(self.total_width, self.size.width), plain)
        self._header = strip
        return strip

    def _note_strip(self) -> Strip:
        if self.where and len(self.source.arrival()):
            text = f" no events match {self.where.text!r}"
        elif self.paused:
            text = " paused (no events yet)"
        else:
            text = " waiting for events…"
        return Strip([Segment(text, self.get_component_rich_style("event-table--note"))])

    def _row_strip(self, position: int) -> Strip:
        cells = self._cells.get(position)
        if cells is None:
            self._format_window(position)
            cells = self._cells[position]
        parts = [" "]
        for column, width, text in zip(self.columns, self.widths, cells, strict=True):
            if len(text) > width:
                text = text[: width - 1] + "…"
            parts.append(text.rjust(width) if column.numeric else text.ljust(width))
            parts.append(" " * GAP)
        style = (
            self.get_component_rich_style("event-table--cursor")
            if position == self.cursor_row
            else self.rich_style
        )
        # One segment per row: drawing cost is per visible line, not per cell.
        line = "".join(parts).ljust(max(self.total_width, self.size.width))
        return Strip([Segment(line, style)], len(line))

    def _format_window(self, position: int) -> None:
        """Format every row on screen around ``position`` in one pass per column."""
        height = max(self.size.height, 1)
        start = max(min(position, int(self.scroll_offset.y)), 0)
        end = min(max(position + 1, start + height), self.row_count)
        rows = self.source.rows[self._view[start:end]]
        texts = [c.format(rows[c.name]) for c in self.columns]
        widened = False
        for i, column_texts in enumerate(texts):
            longest = min(max((len(t) for t in column_texts), default=0), MAX_TEXT_WIDTH)
            if longest > self.widths[i]:
                self.widths[i] = longest
                widened = True
        for offset, cells in enumerate(zip(*texts, strict=True)):
            self._cells[start + offset] = list(cells)
        if widened:
            self._header = None
            self._update_virtual_size()
            self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._header = None
        self._cells.clear()
