"""``WasmView``: a wasm app's output as a table (its JSON lines as rows), and how it ended."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from ..runtime.wasm.run import WasmRun
from ..tui.table_models import DictRows
from .run_view import RunView
from .virtual_table import VirtualTable


class WasmView(RunView):
    """One wasm app: a line about it, then its JSON lines as rows."""

    DEFAULT_CSS = """
    WasmView {
        height: 1fr;
        & #wasm-info { height: 1; padding: 0 1; background: $boost; color: $text-muted; }
    }
    """

    run: WasmRun

    def __init__(self, run: WasmRun, *, id: str | None = None) -> None:
        super().__init__(run, id=id)
        self.table = VirtualTable(DictRows(run.store), id="rows")
        self.info = Static("", id="wasm-info", markup=False)

    def compose(self) -> ComposeResult:
        yield self.info
        yield self.table

    @property
    def shown_table(self) -> VirtualTable:
        return self.table

    def focus_main(self) -> None:
        self.table.focus()

    def refresh_data(self) -> None:
        self.table.refresh_rows()
        self.info.update(self.describe())
        super().refresh_data()

    def describe(self) -> str:
        run = self.run
        args = " ".join([str(run.path), *run.argv])
        if run.state == "running":
            state = "running: each JSON line it prints is a row"
        elif run.error:
            state = f"failed: {run.error}"
        else:
            code = f" (exit status {run.exit_code})" if run.exit_code is not None else ""
            state = f"ended{code}"
        return f"wasm {args} — {state}"
