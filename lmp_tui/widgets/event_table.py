"""``EventTable``: a program's events as a ``VirtualTable`` over its store, filterable, with
the columns the user chose (``c``), remembered per program in the config file.
``ProcessTable``: the same for events that report state (procstat), one row per process as
top and htop list them, with their keys: Enter watches a process, ``H`` shows threads, ``M``
sorts by memory."""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from textual.binding import Binding, BindingType

from ..runtime.config import Config, save_columns
from ..runtime.stream.query import Filter, Sort
from ..runtime.stream.store import EventStore
from ..tui.column_sets import with_choice
from ..tui.table_models import KeyRows, StoreRows
from .virtual_table import VirtualTable


class EventTable(VirtualTable):
    """Rows of one program's store: columns from its layout, newest at the bottom; Enter
    picks the row's key (a pid) for the panels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "choose_columns", "Columns", id="events.columns"),
    ]

    model: StoreRows

    def __init__(
        self,
        store: EventStore,
        *,
        program: str | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(self.model_for(store), name=name, id=id, classes=classes)
        self.store = store
        self.program = program
        """Whose events (None: the view around it says, once mounted)."""

    @staticmethod
    def model_for(store: EventStore) -> StoreRows:
        return StoreRows(store)

    def on_mount(self) -> None:
        # Before the table's first draw (VirtualTable.on_mount runs after this one).
        program = self.program if self.program is not None else self._program_of_view()
        self.program = program
        self.model.use_program(program, self._config().tui.columns.get(program))
        self.columns_changed()

    def _program_of_view(self) -> str:
        """The program of the run this table belongs to (a ``ProgramView``'s ``run``)."""
        for node in self.ancestors:
            run = getattr(node, "run", None)
            session = getattr(run, "session", None)
            if session is not None:
                return str(getattr(session, "name", "") or getattr(run, "name", ""))
        return ""

    def _config(self) -> Config:
        config = getattr(self.app, "config", None)
        return config if isinstance(config, Config) else Config()

    def set_filter(self, where: Filter) -> None:
        self.where = where
        self.refresh_rows(force=True)
        self.post_message(self.StateChanged(self))

    def row_values(self, position: int) -> dict[str, str]:
        # Every column, shown or not: picking a row's pid works with the pid column hidden.
        return self.model.values(position)

    # -- columns -------------------------------------------------------------------------------

    def action_choose_columns(self) -> None:
        from ..tui.screens import ColumnChooser  # screens import much; only needed on `c`

        names = [c.name for c in self.model.available]
        self.app.push_screen(
            ColumnChooser(self.program or "", names, self.model.shown, self.choose)
        )

    def choose(self, checked: list[str]) -> None:
        """Show the ``checked`` columns now and remember them for this program."""
        names = [c.name for c in self.model.available]
        shown = with_choice(self.model.shown, checked, names)
        if not shown:
            self.notify("at least one column stays shown", severity="warning")
            return
        self.model.show(shown)
        self.columns_changed()
        self._remember(shown)

    def _remember(self, shown: list[str]) -> None:
        config = self._config()
        program = self.program or ""
        chosen = {**config.tui.columns, program: shown}
        if shown == self.model.default:
            del chosen[program]  # the default again: nothing to remember
        updated = replace(config, tui=replace(config.tui, columns=chosen))
        if hasattr(self.app, "config"):
            self.app.config = updated
        if config.path is None:
            return  # settings that came from no file stay in memory
        try:
            save_columns(config.path, chosen)
        except (OSError, ValueError) as exc:
            self.notify(f"columns not saved: {exc}", severity="warning", markup=False)


class ProcessTable(EventTable):
    """One row per process (per thread with ``H``), its latest state; opens sorted as the
    program says (procstat: by resident memory, largest first)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "choose", "Watch", id="events.pick"),
        Binding("H", "toggle_threads", "Threads", id="events.threads"),
        Binding("M", "sort_memory", "Sort RSS", id="events.sort_memory"),
        Binding("N", "sort_key", "Sort PID", show=False, id="events.sort_key"),
        Binding("I", "invert_sort", "Invert sort", show=False, id="events.invert"),
    ]

    model: KeyRows

    @staticmethod
    def model_for(store: EventStore) -> StoreRows:
        return KeyRows(store)

    def on_mount(self) -> None:
        super().on_mount()
        self.following = False
        self.set_sort(self.model.sort)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "toggle_threads":
            return self.model.has_threads
        return True

    def action_toggle_threads(self) -> None:
        self.model.show_threads(not self.model.threads)
        self.columns_changed()
        self.post_message(self.StateChanged(self))

    def action_sort_memory(self) -> None:
        sort = self.model.sort
        if sort.field is not None:
            self.set_sort(Sort(sort.field, reverse=True))

    def action_sort_key(self) -> None:
        self.set_sort(Sort(self.model.latest.key))

    def action_invert_sort(self) -> None:
        self.set_sort(Sort(self.sort.field, not self.sort.reverse))
