"""``TopKeysTable``: the keys (pids) with the most events, or the largest latest value of a gauge.

Keys are names, shown whole (``16123``, never ``16.1k``); a gauge's value in its unit
(``1.5 GiB``). Ids, counters and timestamps rank nothing: the largest pid says nothing.
"""

from __future__ import annotations

import math
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable

from ..runtime.format.roles import PLAIN
from ..runtime.lazy import np
from ..runtime.stream.meaning import format_base, format_count, to_base
from ..runtime.stream.store import KeyedSeries

ALL_KEYS = "all"
EVENTS = ""
"""``rank_field`` when keys rank by their events."""
KEY_WIDTH = 7
"""The largest pid (``pid_max`` is at most 4194304) in full."""


class TopKeysTable(DataTable[str]):
    """At most ``limit`` rows (plus "all"), rebuilt each refresh: never one row per event."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Show key", show=False, id="panel.pick_key"),
        Binding("j", "cursor_down", "Down", show=False, id="keys.down"),
        Binding("k", "cursor_up", "Up", show=False, id="keys.up"),
    ]

    DEFAULT_CSS = """
    TopKeysTable { height: auto; max-height: 14; background: $surface; }
    """

    class KeyChosen(Message):
        """A key was picked; None means all keys together."""

        def __init__(self, table: TopKeysTable, key: int | None) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> TopKeysTable:
            return self.table

    def __init__(
        self,
        keyed: KeyedSeries,
        limit: int = 10,
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, id=id, classes=classes)
        self.keyed = keyed
        self.limit = limit
        self.rank_field = EVENTS
        """The gauge keys rank by, or ``EVENTS``."""
        self.chosen: int | None = None
        self._shown: list[str] = []

    def on_mount(self) -> None:
        self._set_columns()
        self.refresh_keys()

    def _set_columns(self) -> None:
        self.clear(columns=True)
        label = self.keyed.label.name if self.keyed.label is not None else "label"
        self.add_column(self.keyed.key.name, key="key", width=KEY_WIDTH)
        self.add_column(label, key="label", width=11)
        # Values carry their unit (``1.5 GiB``); 9 cells hold the widest (``999.9 MiB``).
        if self.rank_field:
            self.add_column(self.rank_field + " ▼", key="value", width=9)
            self.add_column("events", key="events", width=8)
        else:
            self.add_column("ev/s", key="value", width=9)
            self.add_column("events ▼", key="events", width=8)

    def rank_by(self, name: str) -> None:
        """Rank by gauge ``name``; by events for anything else (the event rate, a counter's
        rate, a duration): those say how busy a key is, which its events already tell."""
        field = name if name in self.keyed.gauges else EVENTS
        if field != self.rank_field:
            self.rank_field = field
            self._set_columns()
            self._shown = []
            self.refresh_keys()

    def _value(self, value: float, rate: float) -> str:
        if not self.rank_field:
            return format_count(rate) + "/s"
        if math.isnan(value):
            return ""
        meaning = self.keyed.meaning.get(self.rank_field, PLAIN)
        return format_base(meaning, float(to_base(meaning, np.asarray(value))))

    def refresh_keys(self) -> None:
        stats = self.keyed.top(self.rank_field or None, self.limit)
        rows = [(ALL_KEYS, ("all", f"{len(self.keyed)} keys", "", ""))]
        rows += [
            (
                str(s.key),
                (str(s.key), s.label, self._value(s.value, s.rate), format_count(s.events)),
            )
            for s in stats
        ]
        if [key for key, _ in rows] == self._shown:
            for key, cells in rows:
                for column, cell in zip(("key", "label", "value", "events"), cells, strict=True):
                    self.update_cell(key, column, cell)
            return
        chosen = ALL_KEYS if self.chosen is None else str(self.chosen)
        self.clear()
        for key, cells in rows:
            self.add_row(*cells, key=key)
        self._shown = [key for key, _ in rows]
        if chosen in self._shown:
            self.move_cursor(row=self._shown.index(chosen), animate=False)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        key = event.row_key.value
        self.chosen = None if key in (None, ALL_KEYS) else int(key)
        self.post_message(self.KeyChosen(self, self.chosen))
