"""``VirtualTable``: rows of a ``TableModel`` as a sortable, pausable, virtualised table.

A Line API widget: ``render_line`` formats only the rows on screen (a window at a time, a
column at a time), so drawing costs the same with ten rows or a million. The model keeps the
rows in order; the table keeps what the user did to it: sort, pause, follow, cursor.
``EventTable`` (a program's events, with a filter) and a wasm app's table are both this.
"""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter
from typing import ClassVar

from rich.segment import Segment
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..runtime.stream.query import Filter, Sort
from ..runtime.untrusted import printable, printable_all
from ..tui.table_models import TableModel

GAP = 2
MAX_TEXT_WIDTH = 40
SORT_MARKS = {False: " ▲", True: " ▼"}


class TableMessage(Message):
    """Something happened to a table."""

    def __init__(self, table: VirtualTable) -> None:
        super().__init__()
        self.table = table

    @property
    def control(self) -> VirtualTable:
        return self.table


class VirtualTable(ScrollView, can_focus=True):
    """Rows newest at the bottom (following them as they come) until sorted or paused."""

    # One set of ids for every table, so a keymap remaps them all.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "sort", "Sort", id="events.sort"),
        Binding("S", "unsort", "Arrival order", show=False, id="events.unsort"),
        Binding("space", "toggle_pause", "Pause", id="events.pause"),
        Binding("f", "follow", "Follow", id="events.follow"),
        Binding("up,k", "cursor(-1)", "Up", show=False, id="events.up"),
        Binding("down,j", "cursor(1)", "Down", show=False, id="events.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="events.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="events.page_down"),
        Binding("home", "first", "First", show=False, id="events.first"),
        Binding("end", "follow", "Last", show=False, id="events.last"),
        Binding("left", "column(-1)", "Column left", show=False, id="events.left"),
        Binding("right", "column(1)", "Column right", show=False, id="events.right"),
        Binding("enter", "choose", "Pick key", show=False, id="events.pick"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "virtual-table--header",
        "virtual-table--header-cursor",
        "virtual-table--cursor",
        "virtual-table--note",
    }

    DEFAULT_CSS = """
    VirtualTable {
        height: 1fr;
        background: $surface;
        scrollbar-size-vertical: 1;
        & > .virtual-table--header { background: $panel; color: $text; text-style: bold; }
        & > .virtual-table--header-cursor { background: $panel; color: $accent; text-style: bold; }
        & > .virtual-table--cursor { background: $boost; }
        &:focus > .virtual-table--cursor { background: $primary 35%; }
        & > .virtual-table--note { color: $text-muted; text-style: italic; }
    }
    """

    paused: reactive[bool] = reactive(False, init=False)
    following: reactive[bool] = reactive(True, init=False)

    class StateChanged(TableMessage):
        """Sort, filter, pause or follow changed (the status bar shows them)."""

    class RowChosen(TableMessage):
        """The user picked a row (Enter): ``values`` maps column names to shown text."""

        def __init__(self, table: VirtualTable, values: dict[str, str]) -> None:
            super().__init__(table)
            self.values = values

    def __init__(
        self,
        model: TableModel,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.model = model
        self.sort = Sort()
        self.where = Filter()
        self.cursor_row = 0
        self.cursor_column = 0
        self.row_count = 0
        self.widths: list[int] = []
        self._seen_generation = -1
        self._cells: dict[int, list[str]] = {}
        self._header: Strip | None = None
        self.pause_instead: Callable[[], None] | None = None
        """What ``space`` does instead of holding the rows still (a replay pauses its
        playback: one pause, not two)."""
        self.header_drawn_at: float = 0.0
        """perf_counter() when the header was last drawn anew (after a sort: the load benchmark
        times key presses with it)."""

    # -- data ----------------------------------------------------------------------------------

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.model.columns()]

    @property
    def up_to_date(self) -> bool:
        """It shows the rows as the model has them now (a refresh would change nothing)."""
        return self._seen_generation == self.model.generation

    @property
    def header_text(self) -> str:
        """The column titles as shown, sort mark included."""
        return self._header_strip().text

    def on_mount(self) -> None:
        self.refresh_rows(force=True)

    def refresh_rows(self, force: bool = False) -> None:
        """Bring the view up to date if the rows changed; cheap when nothing did."""
        generation = self.model.generation
        if not force and generation == self._seen_generation:
            return
        self._seen_generation = generation
        specs = self.model.columns()
        if len(specs) != len(self.widths):
            self.widths += [c.width for c in specs[len(self.widths) :]]
            self._header = None
        self.row_count = self.model.query(self.sort, self.where)
        self._cells.clear()
        self._update_virtual_size()
        if self.following:
            self._move_cursor(self.row_count - 1)
        else:
            self.cursor_row = min(self.cursor_row, max(self.row_count - 1, 0))
        self.refresh()

    def columns_changed(self) -> None:
        """The model shows other columns now (a chooser's pick): lay them out anew."""
        self.widths = [c.width for c in self.model.columns()]
        self.cursor_column = min(self.cursor_column, max(len(self.widths) - 1, 0))
        self._header = None
        self._cells.clear()
        self._update_virtual_size()
        self.refresh_rows(force=True)

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

    def sort_by(self, name: str) -> None:
        specs = self.model.columns()
        index = next(i for i, c in enumerate(specs) if c.name == name)
        if not specs[index].sortable:
            self.notify(f"{printable(name)} cannot be sorted", severity="warning", markup=False)
            return
        self.cursor_column = index
        reverse = not self.sort.reverse if self.sort.field == name else False
        self.set_sort(Sort(name, reverse))

    def row_values(self, position: int) -> dict[str, str]:
        """The shown text of each column of the row at ``position`` in the view."""
        cells = self.model.texts(position, position + 1)[0]
        return dict(zip(self.column_names, cells, strict=True))

    def visible_values(self) -> list[dict[str, str]]:
        """The rows currently on screen, as column -> text (for tests and debugging)."""
        start = int(self.scroll_offset.y)
        end = min(start + max(self.size.height - 1, 0), self.row_count)
        return [self.row_values(p) for p in range(start, end)]

    # -- watchers ------------------------------------------------------------------------------

    def watch_paused(self, paused: bool) -> None:
        self.model.freeze(paused)
        if paused:
            self.following = False
        self.refresh_rows(force=True)
        self.post_message(self.StateChanged(self))

    def watch_following(self, following: bool) -> None:
        if following:
            self._move_cursor(self.row_count - 1)
        self.post_message(self.StateChanged(self))

    # -- actions -------------------------------------------------------------------------------

    def action_sort(self) -> None:
        """Sort by the column under the column cursor; again to reverse."""
        if self.widths:
            self.sort_by(self.column_names[self.cursor_column])

    def action_unsort(self) -> None:
        self.set_sort(Sort())

    def action_toggle_pause(self) -> None:
        if self.pause_instead is not None:
            self.pause_instead()
        else:
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

    def action_choose(self) -> None:
        if self.row_count:
            self.post_message(self.RowChosen(self, self.row_values(self.cursor_row)))

    def action_column(self, delta: int) -> None:
        if not self.widths:
            return
        self.cursor_column = max(0, min(self.cursor_column + delta, len(self.widths) - 1))
        self._header = None
        self._scroll_to_column()
        self.refresh()

    # -- mouse ---------------------------------------------------------------------------------

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            if (index := self._column_at(offset.x + int(self.scroll_offset.x))) is not None:
                self.sort_by(self.column_names[index])
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
                return strip.crop_extend(scroll_x, scroll_x + width, self.rich_style)
            strip = self._row_strip(position)
        return self._whole_columns(strip, scroll_x, width)

    def _whole_columns(self, strip: Strip, scroll_x: int, width: int) -> Strip:
        """The part of a row or the header in view, without cut numbers: a number column that
        an edge of the view would cut is left blank (a cut number reads as a smaller one,
        ``11680`` for ``116804``) and ``›``/``‹`` say more columns are that way; a text column at
        the right edge shows what fits, ending in ``…`` when its text goes on."""
        view_right = scroll_x + width
        start, end, text_column = self._visible_span(scroll_x, view_right)
        parts = [Strip.blank(start - scroll_x, self.rich_style), strip.crop(start, end)]
        if text_column is not None:
            left, right = text_column
            cell = strip.crop(left, view_right)
            if len(strip.text[left:right].rstrip()) > view_right - left:
                cell = Strip.join([cell.crop(0, view_right - left - 1), Strip([Segment("…")])])
            parts += [Strip.blank(left - end, self.rich_style), cell]
            end = view_right
        line = Strip.join(parts).crop_extend(0, width, self.rich_style)
        # a mark goes only where a column was left out, never over a shown character
        if scroll_x > 0 and start > scroll_x:
            line = Strip.join([Strip([Segment("‹", self.rich_style)]), line.crop(1, width)])
        if end < self.total_width - GAP and end < view_right and width > 1:
            line = Strip.join([line.crop(0, width - 1), Strip([Segment("›", self.rich_style)])])
        return line

    def _visible_span(
        self, view_left: int, view_right: int
    ) -> tuple[int, int, tuple[int, int] | None]:
        """[start, end) in table cells from the first column that begins in view to the end of
        the last one that ends in view (the leading space counts as in view), and the text
        column the right edge cuts, if any: (its left, its right)."""
        specs = self.model.columns()
        start = end = view_left
        first = True
        text_column = None
        left = 1
        for i, width in enumerate(self.widths):
            right = left + width
            if left >= view_left and right <= view_right:
                if first:
                    start, first = (0 if view_left == 0 else left), False
                end = right
            elif left >= view_left and left < view_right and right > view_right:
                numeric = i < len(specs) and specs[i].numeric
                if not numeric and not first:
                    text_column = (left, right)
                break
            left = right + GAP
        if first:  # no whole column in view (a very narrow terminal): show what there is
            return view_left, view_right, None
        return start, end, text_column

    def _header_strip(self) -> Strip:
        if self._header is not None:
            return self._header
        self.header_drawn_at = perf_counter()
        plain = self.get_component_rich_style("virtual-table--header")
        cursor = self.get_component_rich_style("virtual-table--header-cursor")
        segments = [Segment(" ", plain)]
        specs = self.model.columns()
        for i, (column, width) in enumerate(zip(specs, self.widths, strict=False)):
            mark = SORT_MARKS[self.sort.reverse] if self.sort.field == column.name else ""
            title = printable(column.name) + mark
            text = title.rjust(width) if column.numeric else title.ljust(width)
            segments.append(Segment(text[:width], cursor if i == self.cursor_column else plain))
            segments.append(Segment(" " * GAP, plain))
        strip = Strip(segments).extend_cell_length(max(self.total_width, self.size.width), plain)
        self._header = strip
        return strip

    def _note_strip(self) -> Strip:
        text = " " + self.model.empty_note(self.where, self.paused)
        return Strip([Segment(text, self.get_component_rich_style("virtual-table--note"))])

    def _row_strip(self, position: int) -> Strip:
        cells = self._cells.get(position)
        if cells is None:
            self._format_window(position)
            cells = self._cells[position]
        parts = [" "]
        specs = self.model.columns()
        for column, width, text in zip(specs, self.widths, cells, strict=False):
            if len(text) > width:
                text = text[: width - 1] + "…"
            parts.append(text.rjust(width) if column.numeric else text.ljust(width))
            parts.append(" " * GAP)
        style = (
            self.get_component_rich_style("virtual-table--cursor")
            if position == self.cursor_row
            else self.rich_style
        )
        # One segment per row: drawing cost is per visible line, not per cell.
        line = "".join(parts).ljust(max(self.total_width, self.size.width))
        return Strip([Segment(line, style)], len(line))

    def _format_window(self, position: int) -> None:
        """Format every row on screen around ``position`` in one pass per column, widening
        the columns whose texts need it (up to ``MAX_TEXT_WIDTH``)."""
        height = max(self.size.height, 1)
        start = max(min(position, int(self.scroll_offset.y)), 0)
        end = min(max(position + 1, start + height), self.row_count)
        # what events and packages say is data: no escape sequence reaches the terminal
        rows = [printable_all(row) for row in self.model.texts(start, end)]
        widened = False
        for i in range(len(self.widths)):
            longest = min(max((len(r[i]) for r in rows), default=0), MAX_TEXT_WIDTH)
            if longest > self.widths[i]:
                self.widths[i] = longest
                widened = True
        for offset, cells in enumerate(rows):
            self._cells[start + offset] = cells
        if widened:
            self._header = None
            self._update_virtual_size()
            self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._header = None
        self._cells.clear()
