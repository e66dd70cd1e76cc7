"""``EventTable``: a program's events as a ``VirtualTable`` over its store, filterable."""

from __future__ import annotations

from ..runtime.stream.query import Filter
from ..runtime.stream.store import EventStore
from ..tui.table_models import StoreRows
from .virtual_table import VirtualTable


class EventTable(VirtualTable):
    """Rows of one program's store: columns from its layout, newest at the bottom; Enter
    picks the row's key (a pid) for the panels."""

    def __init__(
        self,
        store: EventStore,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(StoreRows(store), name=name, id=id, classes=classes)
        self.store = store

    def set_filter(self, where: Filter) -> None:
        self.where = where
        self.refresh_rows(force=True)
        self.post_message(self.StateChanged(self))
