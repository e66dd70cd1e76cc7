"""``MapTable``: a sampled map of counters (``default_kv``: syscount, xdpstat) as a table, as
bcc's syscount prints one: ``SYSCALL COUNT ERRORS TIME MAX``.

Key columns first, then value columns, each formatted by its meaning (``format.roles``): a
syscall number by name, a duration as ``1.2 ms``, bytes with a unit. Rows sort by a column
(the first counter, largest first, to begin with) and show either what the last interval
counted or everything so far. ``MapRows`` is the model (the ``TableModel`` protocol, so a
``VirtualTable`` could show it too); the widget draws it in a ``DataTable``, whose few rows (one
per syscall at most) are simply re-added at each snapshot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Static

from ..runtime.format.layout import Field, FieldKind
from ..runtime.format.roles import SIZE_UNITS, TIME_UNITS, Meaning, Role, meanings, unit_suffix
from ..runtime.lazy import np
from ..runtime.stream.meaning import format_base, to_base, value_strings
from ..runtime.stream.query import Filter, Sort
from ..runtime.stream.store import HistogramEntry, SnapshotStore
from ..runtime.stream.store.snapshots import extreme
from ..tui.table_models import ColumnSpec

_PADDING = frozenset({"pad", "padding", "reserved", "unused"})
_TOTAL_STEMS = frozenset({"total", "sum", "time"})
_INTEGER_KINDS = frozenset({FieldKind.INT, FieldKind.ENUM, FieldKind.PTR})
_NAMED = frozenset({Role.SYSCALL, Role.ENUM, Role.SIGNAL, Role.ERRNO, Role.FLAGS, Role.TEXT})


@dataclass(frozen=True, slots=True)
class MapColumn:
    """One column: where its values come from (a key field, the label, a value field)."""

    name: str
    part: str  # "key" | "label" | "value"
    field: Field | None
    meaning: Meaning
    numeric: bool
    """Holds numbers (formatted by meaning)."""
    right: bool = True
    """Aligned right, as numbers are (not when shown by name)."""

    def raw(self, entry: HistogramEntry) -> Any:
        if self.part == "label":
            return entry.label
        source = entry.key if self.part == "key" else entry.values
        return source.get(self.field.name) if self.field is not None else None

    def texts(self, entries: Sequence[HistogramEntry]) -> list[str]:
        return cell_strings(self, [self.raw(e) for e in entries])


def header(f: Field, meaning: Meaning, part: str, single_key: bool) -> str:
    """``SYSCALL`` for syscount's key (named after its type, ``__u32``), ``TIME`` for a summed
    duration (``total_ns``), ``MAX`` for ``max_ns``: bcc's words; else the name upper-cased."""
    if part == "key" and single_key and f.name.startswith("__"):
        return "SYSCALL" if meaning.role == Role.SYSCALL else "KEY"
    stem = f.name
    if unit_suffix(stem):
        stem = stem.rsplit("_", 1)[0] if "_" in stem else stem
    if meaning.role == Role.DURATION and stem.lower() in _TOTAL_STEMS:
        return "TIME"
    return stem.upper()


def map_columns(store: SnapshotStore, program: str = "", map_name: str = "") -> list[MapColumn]:
    """Key columns, the label (a comm), then value columns; padding and arrays left out."""
    keys = meanings(store.key_layout, program=program, map_name=map_name, part="key")
    values = meanings(store.value_layout, program=program, map_name=map_name, part="value")
    key_fields = [f for f in store.key_layout.fields if f.name.lower() not in _PADDING]
    single = len(store.key_layout.fields) == 1
    out = [
        MapColumn(
            header(f, keys[f.name], "key", single),
            "key",
            f,
            keys[f.name],
            _numeric(f),
            _aligned_right(f, keys[f.name]),
        )
        for f in key_fields
        if f.kind != FieldKind.ARRAY
    ]
    if store.label is not None:
        out.append(MapColumn("COMM", "label", store.label, Meaning(Role.TEXT), False, False))
    skip = {store.hist.name if store.hist else "", store.label.name if store.label else ""}
    for f in store.value_layout.fields:
        if f.name in skip or f.name.lower() in _PADDING or f.kind == FieldKind.ARRAY:
            continue
        m = values[f.name]
        name = header(f, m, "value", single)
        out.append(MapColumn(name, "value", f, m, _numeric(f), _aligned_right(f, m)))
    return out


def _numeric(f: Field) -> bool:
    return f.kind in (*_INTEGER_KINDS, FieldKind.FLOAT)


def _aligned_right(f: Field, meaning: Meaning) -> bool:
    """Numbers align right; numbers shown as names (``openat``, ``IPv4``) read as words."""
    return _numeric(f) and meaning.role not in _NAMED


def cell_strings(column: MapColumn, values: list[Any]) -> list[str]:
    """Values as their meaning shows them; counts whole with thousands separators (as bcc
    prints them: a count is never abbreviated in a table of counts)."""
    f, m = column.field, column.meaning
    if f is None or not column.numeric or any(not isinstance(v, int | float) for v in values):
        return ["" if v is None else str(v) for v in values]
    if m.role in (Role.COUNTER, Role.GAUGE, Role.DURATION) and (
        m.unit in SIZE_UNITS or m.unit in TIME_UNITS
    ):
        base = to_base(m, np.asarray(values, dtype=np.float64))
        return [format_base(m, float(v)) for v in base.tolist()]
    if column.part == "value" and m.role in (Role.COUNTER, Role.GAUGE, Role.PLAIN):
        return [f"{v:,}" for v in values]
    dtype = f"{'i' if f.signed else 'u'}{f.size}" if f.kind in _INTEGER_KINDS else "f8"
    return value_strings(f, m, np.asarray(values, dtype=dtype))


def default_sort(columns: Sequence[MapColumn]) -> Sort:
    """The first counter, largest first (syscount: by COUNT, as bcc sorts); else key order."""
    for c in columns:
        total = c.field is not None and not extreme(c.field.name)
        if c.part == "value" and c.meaning.role == Role.COUNTER and total:
            return Sort(c.name, reverse=True)
    return Sort(None)


class MapRows:
    """A sampled map's keys as rows: per interval (the default) or cumulative."""

    def __init__(self, store: SnapshotStore, program: str = "", map_name: str = "") -> None:
        self.store = store
        self.formats = map_columns(store, program, map_name)
        self._by_name = {c.name: c for c in self.formats}
        self._specs = [ColumnSpec(c.name, c.right, max(len(c.name) + 2, 8)) for c in self.formats]
        self.interval = True
        self._toggles = 0
        self._frozen: list[HistogramEntry] | None = None
        self._view: list[HistogramEntry] = []

    @property
    def generation(self) -> int:
        # Both only grow: their sum changes whenever either does.
        return -2 if self._frozen is not None else self.store.generation + self._toggles

    def set_interval(self, interval: bool) -> None:
        if interval != self.interval:
            self.interval = interval
            self._toggles += 1

    def columns(self) -> Sequence[ColumnSpec]:
        return self._specs

    def entries(self) -> list[HistogramEntry]:
        if self._frozen is not None:
            return self._frozen
        store = self.store
        return store.interval_entries if self.interval else store.cumulative_entries

    def query(self, sort: Sort, where: Filter) -> int:
        # ``where`` is not used: a map has tens of keys, not a stream of events to narrow.
        rows = list(self.entries())
        column = self._by_name.get(sort.field) if sort.field is not None else None
        if column is not None:
            rows.sort(key=lambda e: _sort_key(column.raw(e)), reverse=sort.reverse)
        self._view = rows
        return len(rows)

    def freeze(self, frozen: bool) -> None:
        self._frozen = list(self.entries()) if frozen else None

    def texts(self, start: int, end: int) -> list[list[str]]:
        rows = self._view[start:end]
        cells = [c.texts(rows) for c in self.formats]
        return [list(row) for row in zip(*cells, strict=True)] if cells else []

    def identities(self, start: int, end: int) -> list[tuple[Any, ...]]:
        return [e.identity for e in self._view[start:end]]

    def empty_note(self, where: Filter, frozen: bool) -> str:
        if not self.store.snapshots:
            return "waiting for the first snapshot…"
        return "the map is empty (nothing counted yet)"


def _sort_key(value: Any) -> tuple[int, Any]:
    """Numbers before text, each in its own order (a key may hold either)."""
    return (0, value) if isinstance(value, int | float) else (1, str(value))


class MapTable(Vertical, can_focus=False):
    """A caption (interval or total, the sort) over a ``DataTable`` of the map's keys."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="maps.down"),
        Binding("k", "cursor_up", "Up", show=False, id="maps.up"),
        Binding("i", "toggle_interval", "Interval/total", id="maps.interval"),
        Binding("s", "next_sort", "Sort", id="maps.sort"),
        Binding("S", "reverse_sort", "Reverse sort", show=False, id="maps.reverse"),
    ]

    DEFAULT_CSS = """
    MapTable {
        height: 1fr;
        & > #map-caption { height: 1; padding: 0 1; color: $text-muted; background: $panel; }
        & > DataTable { height: 1fr; }
    }
    """

    def __init__(
        self,
        store: SnapshotStore,
        *,
        program: str = "",
        map_name: str = "",
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.model = MapRows(store, program, map_name)
        self.sort = default_sort(self.model.formats)
        self.caption = Static(id="map-caption")
        self.table: DataTable[Text] = DataTable(cursor_type="row", zebra_stripes=True)
        self._seen = -1

    def compose(self) -> ComposeResult:
        yield self.caption
        yield self.table

    def on_mount(self) -> None:
        self.refresh_rows(force=True)

    def focus(self, scroll_visible: bool = True) -> MapTable:
        self.table.focus(scroll_visible)
        return self

    def action_cursor_down(self) -> None:
        self.table.action_cursor_down()

    def action_cursor_up(self) -> None:
        self.table.action_cursor_up()

    @property
    def up_to_date(self) -> bool:
        return self._seen == self.model.generation

    @property
    def interval(self) -> bool:
        return self.model.interval

    def refresh_rows(self, force: bool = False) -> None:
        model = self.model
        if not force and model.generation == self._seen:
            return
        self._seen = model.generation
        count = model.query(self.sort, Filter())
        table = self.table
        # Keep the cursor on the key it was on, wherever the new order puts it.
        cursor = table.cursor_row
        held = None
        if table.row_count and 0 <= cursor < table.row_count:
            held = table.coordinate_to_cell_key(Coordinate(cursor, 0)).row_key.value
        table.clear(columns=True)
        texts = model.texts(0, count)
        for i, spec in enumerate(model.columns()):
            label = self._label(spec)
            # Widths said, not left to DataTable's auto width, which can lay a column out for
            # earlier, narrower rows and cut a number's unit ("79" for "79 µs").
            width = max([label.cell_len, *(len(row[i]) for row in texts)])
            table.add_column(label, key=spec.name, width=width)
        ids = model.identities(0, count)
        for row, identity in zip(texts, ids, strict=True):
            cells = [
                Text(text, justify="right" if spec.numeric else "left")
                for text, spec in zip(row, model.columns(), strict=True)
            ]
            table.add_row(*cells, key=repr(identity))
        if held is not None and held in {repr(i) for i in ids}:
            table.move_cursor(row=table.get_row_index(held), animate=False)
        self.caption.update(self.caption_text(count))

    def _label(self, spec: ColumnSpec) -> Text:
        arrow = ""
        if spec.name == self.sort.field:
            arrow = " ▼" if self.sort.reverse else " ▲"
        return Text(spec.name + arrow, justify="right" if spec.numeric else "left")

    def caption_text(self, count: int) -> str:
        store = self.model.store
        if not count:
            return self.model.empty_note(Filter(), False)
        seconds = store.interval_seconds
        if not self.interval:
            what = "totals since the start"
        elif seconds is None:
            what = "first snapshot (everything so far)"
        else:
            what = f"last interval ({seconds:g} s)"
        by = f"sorted by {self.sort.field}" if self.sort.field else "in key order"
        return f"{what} · {count} keys · {by}"

    def action_toggle_interval(self) -> None:
        self.model.set_interval(not self.model.interval)
        self.refresh_rows()

    def action_next_sort(self) -> None:
        """The next column; values start largest first, keys in order."""
        names = [c.name for c in self.model.formats]
        at = names.index(self.sort.field) if self.sort.field in names else -1
        column = self.model.formats[(at + 1) % len(names)]
        self.sort = Sort(column.name, reverse=column.part == "value")
        self.refresh_rows(force=True)

    def action_reverse_sort(self) -> None:
        if self.sort.field is not None:
            self.sort = Sort(self.sort.field, not self.sort.reverse)
            self.refresh_rows(force=True)
