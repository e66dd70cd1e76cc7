"""``TopKeysTable``: the keys (pids) with the largest latest value of one field."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable

from ..runtime.stream.store import KeyedSeries
from ..tui.formatting import human

ALL_KEYS = "all"


class TopKeysTable(DataTable[str]):
    """At most ``limit`` rows (plus "all"), rebuilt each refresh: never one row per event."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Show key", show=False, id="panel.pick_key"),
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
        self.rank_field = keyed.names[0] if keyed.names else ""
        self.chosen: int | None = None
        self._shown: list[str] = []

    def on_mount(self) -> None:
        self._set_columns()
        self.refresh_keys()

    def _set_columns(self) -> None:
        self.clear(columns=True)
        label = self.keyed.label.name if self.keyed.label is not None else "label"
        self.add_column(self.keyed.key.name, key="key", width=7)
        self.add_column(label, key="label", width=12)
        self.add_column(self.rank_field + " ▼", key="value", width=7)
        self.add_column("events", key="events", width=6)

    def rank_by(self, name: str) -> None:
        if name in self.keyed.names and name != self.rank_field:
            self.rank_field = name
            self._set_columns()
            self._shown = []
            self.refresh_keys()

    def refresh_keys(self) -> None:
        stats = self.keyed.top(self.rank_field, self.limit) if self.rank_field else []
        rows = [(ALL_KEYS, ("all", f"{len(self.keyed)} keys", "", ""))]
        rows += [
            (str(s.key), (str(s.key), s.label, human(s.value), human(s.events))) for s in stats
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
