"""What a ``VirtualTable`` shows, behind one protocol: rows it can order, filter, hold still and
format a window at a time. ``StoreRows`` adapts a program's numpy ``EventStore``, ``DictRows`` a
wasm app's ``RowStore`` of JSON objects; the table itself knows neither.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..runtime.format.roles import Meaning, Role
from ..runtime.lazy import np
from ..runtime.stream.query import Filter, RowView, Sort, select
from ..runtime.stream.rows import RowStore, cell_text, sort_key
from ..runtime.stream.store import EventStore, FrozenRows, LatestRows
from .column_sets import default_columns, usable
from .formatting import Column, columns, joined_fields, time_column

LABELS = ("comm", "task", "name")
STATE = "state"
"""The column that marks a row whose key ended (``exited``), in a ``KeyRows`` table."""
SORTED_BY: dict[str, str] = {"procstat": "size"}
"""What a state table opens sorted by, largest first, when not its first shown gauge."""


def state_column(exit: str) -> Column:
    """``exited`` for a row whose last report said so, else blank."""

    def format(rows: np.ndarray) -> list[str]:
        return np.where(rows[exit].astype(bool), "exited", "").tolist()

    return Column(STATE, len("exited"), False, format)


def opening_sort(program: str, meanings: Mapping[str, Meaning], shown: Sequence[str]) -> Sort:
    """The order a state table opens in: the program's choice, else its first shown gauge
    (as top opens by CPU and htop users press M for memory), largest first."""
    name = SORTED_BY.get(program)
    if name not in shown:
        name = next((n for n in shown if n in meanings and meanings[n].role == Role.GAUGE), None)
    return Sort(name, reverse=True) if name is not None else Sort()


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    name: str
    numeric: bool
    """Right-aligned, as numbers are."""
    width: int
    """Where it starts (it widens to fit what it shows, up to a limit)."""
    sortable: bool = True


class TableModel(Protocol):
    @property
    def generation(self) -> int:
        """Changes whenever the rows do (cheap to read: a view asks every refresh)."""

    def columns(self) -> Sequence[ColumnSpec]:
        """In display order; the list may grow (a wasm app's rows show new keys)."""

    def query(self, sort: Sort, where: Filter) -> int:
        """Bring the view up to date with the rows (of the frozen copy while frozen), in
        ``sort`` order, those that pass ``where``; the number of rows in the view."""

    def freeze(self, frozen: bool) -> None:
        """Hold a copy of the rows as they are (the view keeps its order), or let go of it."""

    def texts(self, start: int, end: int) -> list[list[str]]:
        """The cells of view rows ``start`` to ``end``, as shown."""

    def total(self) -> int:
        """Rows before the filter (the ``of N`` in ``3 of 1,417 shown``)."""

    def empty_note(self, where: Filter, frozen: bool) -> str:
        """What an empty view says."""


class StoreRows:
    """A program's events: an ``EventStore`` ring, kept in order by a ``RowView`` that merges
    in only what arrived since the last query.

    It offers every column (``available``: arrival time, each field, addresses joined with
    their ports) and shows some of them (``shown``): the program's default set until the user
    picks (``show``)."""

    def __init__(
        self, store: EventStore, program: str = "", shown: Sequence[str] | None = None
    ) -> None:
        self.store = store
        self._frozen: FrozenRows | None = None
        self._frozen_times: np.ndarray | None = None
        self._live: RowView | None = None
        self._view = np.arange(0)
        self.use_program(program, shown)

    def use_program(self, program: str, shown: Sequence[str] | None = None) -> None:
        """Format as ``program``'s fields mean (a struct alone can be ambiguous) and show
        ``shown``, or its default columns when None (or when none of ``shown`` exists)."""
        self.program = program
        layout = self.store.layout
        clock = time_column(layout)
        self.available: list[Column] = [clock, *columns(layout, program)]
        names = [c.name for c in self.available]
        self.default = default_columns(program, names, joined_fields(layout, program), clock.name)
        picked = usable(shown or (), names)
        self.show(picked or self.default)

    def show(self, names: Sequence[str]) -> None:
        """Show these columns, in this order (names it does not offer are skipped)."""
        by_name = {c.name: c for c in self.available}
        self.formats = [by_name[n] for n in usable(names, list(by_name))]
        self._specs = [ColumnSpec(c.name, c.numeric, c.width, c.sortable) for c in self.formats]

    @property
    def shown(self) -> list[str]:
        return [c.name for c in self.formats]

    @property
    def generation(self) -> int:
        return -2 if self._frozen is not None else self.store.generation

    def columns(self) -> Sequence[ColumnSpec]:
        return self._specs

    def query(self, sort: Sort, where: Filter) -> int:
        if self._frozen is not None:
            self._view = select(self._frozen, sort, where)
        else:
            live = self._live
            if live is None or (live.sort, live.where) != (sort, where):
                live = self._live = RowView(self.store, sort, where)
            self._view = live.update()
        return len(self._view)

    def freeze(self, frozen: bool) -> None:
        # The copy keeps the store's slots: the view, brought up to date first, stays right.
        if frozen and self._frozen is None and self._live is not None:
            self._view = self._live.update()
        self._frozen = self.store.freeze() if frozen else None
        # with the rows, their times: new rows overwrite the live ones slot by slot
        self._frozen_times = self.store.times.copy() if frozen else None

    def texts(self, start: int, end: int) -> list[list[str]]:
        return self._texts(self.formats, self._view[start:end])

    def total(self) -> int:
        return len(self._frozen.order) if self._frozen is not None else len(self.store)

    def values(self, position: int) -> dict[str, str]:
        """Every column's text (shown or not) of the row at ``position`` in the view."""
        cells = self._texts(self.available, self._view[position : position + 1])[0]
        return dict(zip((c.name for c in self.available), cells, strict=True))

    def _texts(self, formats: Sequence[Column], slots: np.ndarray) -> list[list[str]]:
        rows, times = self._rows[slots], self._times[slots]
        cells = [c.texts(times if c.times else rows) for c in formats]
        return [list(row) for row in zip(*cells, strict=True)] if cells else []

    @property
    def _rows(self) -> np.ndarray:
        return self._frozen.rows if self._frozen is not None else self.store.rows

    @property
    def _times(self) -> np.ndarray:
        return self._frozen_times if self._frozen_times is not None else self.store.times

    def empty_note(self, where: Filter, frozen: bool) -> str:
        source = self._frozen if self._frozen is not None else self.store
        if where and len(source.arrival()):
            return f"no events match {where.text!r}"
        return "paused (no events yet)" if frozen else "waiting for events…"


class KeyRows(StoreRows):
    """Events that report state (procstat: a process's memory) as top lists them: one row per
    key with its latest values, marked once it ended, threads instead of processes on demand
    (``show_threads``). The time column says when a row was last reported."""

    def __init__(
        self, store: EventStore, program: str = "", shown: Sequence[str] | None = None
    ) -> None:
        assert store.latest is not None, "KeyRows needs a store that keeps latest rows"
        self.latest: LatestRows = store.latest
        self.threads = False
        self.sort = Sort()
        super().__init__(store, program, shown)

    @property
    def has_threads(self) -> bool:
        return self.store.latest_threads is not None

    def use_program(self, program: str, shown: Sequence[str] | None = None) -> None:
        self.program = program
        layout, exit = self.store.layout, self.store.exit
        clock = time_column(layout)
        fields = [c for c in columns(layout, program) if c.name != exit]
        marks = [state_column(exit)] if exit is not None else []
        self.available = [*fields, *marks, clock]
        names = [c.name for c in self.available]
        # The program's columns less the time (when a process was last reported says little
        # about it; it stays in the chooser), the state after the label.
        joined = joined_fields(layout, program)
        wanted = default_columns(program, names, joined, clock.name)[1:]
        if marks:
            label = next((i for i, n in enumerate(wanted) if n in LABELS), 0)
            wanted.insert(label + 1, STATE)
        self.default = wanted
        self.show(usable(shown or (), names) or self.default)
        self.sort = opening_sort(program, self.store.meanings, self.shown)
        """The order the table opens in."""

    def show_threads(self, threads: bool) -> None:
        """List threads (True) or processes; the shown columns gain or lose the thread id
        (after the process's)."""
        source = self.store.latest_threads
        process = self.store.latest
        if source is None or process is None or threads == self.threads:
            return
        self.threads = threads
        self.latest = source if threads else process
        names = [n for n in self.shown if n != source.key]
        if threads:
            at = names.index(process.key) + 1 if process.key in names else 0
            names.insert(at, source.key)
        self.show(names)

    @property
    def generation(self) -> int:
        return -2 if self._frozen is not None else self.latest.generation

    def query(self, sort: Sort, where: Filter) -> int:
        source = self._frozen if self._frozen is not None else self.latest
        self._view = select(source, sort, where)
        return len(self._view)

    def total(self) -> int:
        return len(self._frozen.order) if self._frozen is not None else len(self.latest)

    def freeze(self, frozen: bool) -> None:
        self._frozen = self.latest.freeze() if frozen else None
        self._frozen_times = self.latest.last.copy() if frozen else None

    @property
    def _rows(self) -> np.ndarray:
        return self._frozen.rows if self._frozen is not None else self.latest.rows

    @property
    def _times(self) -> np.ndarray:
        return self._frozen_times if self._frozen_times is not None else self.latest.last

    def empty_note(self, where: Filter, frozen: bool) -> str:
        if where and len(self.latest):
            return f"nothing matches {where.text!r}"
        what = "threads" if self.threads else "processes"
        return f"paused (no {what} yet)" if frozen else f"waiting for {what}…"


class DictRows:
    """A wasm app's JSON rows: columns are their keys, in the order first seen."""

    def __init__(self, store: RowStore) -> None:
        self.store = store
        self._frozen: list[dict[str, object]] | None = None
        self._view: list[dict[str, object]] = []
        self._specs: list[ColumnSpec] = []

    @property
    def generation(self) -> int:
        return -2 if self._frozen is not None else self.store.generation

    def columns(self) -> Sequence[ColumnSpec]:
        for name in self.store.columns[len(self._specs) :]:
            self._specs.append(ColumnSpec(name, bool(self.store.numeric.get(name)), len(name) + 2))
        return self._specs

    def query(self, sort: Sort, where: Filter) -> int:
        rows = self._frozen if self._frozen is not None else list(self.store.rows)
        if sort.field is not None:
            rows = sorted(rows, key=sort_key(sort.field), reverse=sort.reverse)
        self._view = rows
        return len(rows)

    def total(self) -> int:
        return len(self._frozen) if self._frozen is not None else len(self.store.rows)

    def freeze(self, frozen: bool) -> None:
        self._frozen = list(self.store.rows) if frozen else None

    def texts(self, start: int, end: int) -> list[list[str]]:
        names = [c.name for c in self.columns()]
        return [[cell_text(row.get(n)) for n in names] for row in self._view[start:end]]

    def empty_note(self, where: Filter, frozen: bool) -> str:
        return "paused (no rows yet)" if frozen else "waiting for output…"
