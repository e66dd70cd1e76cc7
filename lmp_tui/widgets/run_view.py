"""``RunView``: what every run's view does, a program's (``ProgramView``) or a wasm app's.

It redraws on each ``BatchDecoded`` only while shown; a hidden view is marked stale and catches
up when shown again, so hidden views cost nothing per tick and a switch is instant. And it says
what the status bar should show about its run: ``status`` is a reactive the view keeps current
(on each redraw, on every change of its table, replay or recording, and once a second for the
rates), and ``StatusChanged`` tells the app, which shows the current view's.
"""

from __future__ import annotations

import time
from pathlib import Path

from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive

from ..runtime.runs.manager import Run, SessionRun
from ..runtime.stream.replay import ReplaySource
from ..tui.formatting import duration, grouped, human, human_bytes
from ..tui.messages import BatchDecoded
from ..tui.replay import speed_label
from .status import Status
from .virtual_table import VirtualTable

STATUS_INTERVAL = 1.0
"""Seconds between status updates when nothing else happens (rates change with time)."""


class RunView(Vertical):
    status: reactive[Status] = reactive(Status, init=False)

    class StatusChanged(Message):
        """What the status bar says about this view's run changed."""

        def __init__(self, view: RunView) -> None:
            super().__init__()
            self.view = view

    def __init__(self, run: Run, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.run = run
        self._stale = False

    def on_mount(self) -> None:
        self.refresh_data()
        self.set_interval(STATUS_INTERVAL, self.update_status)

    def on_batch_decoded(self, message: BatchDecoded) -> None:
        if self.display:
            self.refresh_data()
        else:
            self._stale = True

    def on_show(self) -> None:
        if self._stale:
            self.refresh_data()

    def refresh_data(self) -> None:
        """Redraw from the run's store (each view draws its own), then say so."""
        self._stale = False
        self.update_status()

    def focus_main(self) -> None:  # pragma: no cover - defined by each view
        raise NotImplementedError

    # -- status ----------------------------------------------------------------------------------

    @property
    def shown_table(self) -> VirtualTable | None:
        """The table whose state (paused, sort, filter) the status bar shows, if any."""
        return None

    def update_status(self) -> None:
        self.status = self.current_status()

    def watch_status(self) -> None:
        self.post_message(self.StatusChanged(self))

    def on_virtual_table_state_changed(self, event: VirtualTable.StateChanged) -> None:
        self.update_status()

    def current_status(self) -> Status:
        run = self.run
        store = getattr(run, "store", None)
        if store is None:
            return Status(program=run.name, state=run.state)
        recording, active = recording_state(run)
        table = self.shown_table
        return Status(
            program=run.name,
            state="" if run.state == "running" else run.state,
            events_per_second=store.events_per_second(),
            total=store.total,
            drops=store.drops,
            shed=store.shed,
            view=table_state(table) if table is not None else "",
            recording=recording,
            recording_active=active,
            made_up=isinstance(run, SessionRun) and run.made_up,
            hosts=host_rates(run),
        )


def host_rates(run: object) -> str:
    """``web1 1.2k/s · web2 850/s`` for a view of several hosts, else ""."""
    fleet = run.session.fleet if isinstance(run, SessionRun) else None
    if fleet is None:
        return ""
    return " · ".join(f"{host} {human(rate)}/s" for host, rate in fleet.host_rates().items())


def table_state(table: VirtualTable) -> str:
    """What the user changed about the table (nothing when it simply follows the events):
    ``PAUSED · sort size ▼ · filter comm~bash · 3 of 1,417``."""
    parts = ["PAUSED"] if table.paused else []
    if table.sort.field:
        parts.append(f"sort {table.sort.field} {'▼' if table.sort.reverse else '▲'}")
    if table.where:
        parts.append(f"filter {table.where.text} · {grouped(table.row_count)} of")
        parts[-1] += f" {grouped(table.model.total())}"
    return " · ".join(parts)


def recording_state(run: Run) -> tuple[str, bool]:
    """What the status bar says about recording: file, size and duration while it records,
    the file a replay plays."""
    if not isinstance(run, SessionRun):
        return "not recording", False
    source = run.session.source
    if isinstance(source, ReplaySource):
        path = getattr(run.session, "path", None)
        name = path.name if isinstance(path, Path) else "recording"
        state = "paused" if source.paused else speed_label(source.speed)
        return f"replay {name} ({state})", False
    recorder = run.recorder
    if recorder is not None and recorder.active:
        since = duration(time.monotonic() - run.recording_since)
        return f"● REC {recorder.path.name} {human_bytes(recorder.bytes)} {since}", True
    return "not recording", False
