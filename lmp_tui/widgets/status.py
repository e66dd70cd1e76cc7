"""``StatusBar`` (the current program's numbers) and ``ViewTabs`` (one tab per running view).

Both say what a live program's BPF programs cost the kernel (``ProgramCost``, sampled once a
second): the status bar for the shown one, each tab for its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

from ..runtime.kernel.stats import ProgramCost
from ..tui.formatting import grouped, human


@dataclass(frozen=True, slots=True)
class Status:
    """Everything the status bar says about the shown program."""

    program: str = ""
    state: str = ""
    events_per_second: float = 0.0
    total: int = 0
    drops: int = 0
    shed: int = 0
    view: str = ""
    recording: str = "not recording"
    """The recording's file, size and duration while recording; the file a replay plays."""
    recording_active: bool = False
    notice: str = ""
    made_up: bool = False
    """Demo data: said next to the program's name."""
    hosts: str = ""
    """A view of several hosts: each one's rate (``web1 1.2k/s · web2 850/s``)."""


class StatusBar(Static):
    """One line: program, events/s, total, kernel drops and UI shedding, recording state, and
    the BPF cost (``BPF 0.8% CPU · 420 ns/run``: % of one CPU, as bpftop) when it is known."""

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        background: $panel;
        color: $text;
        padding: 0 1;
    }
    """

    cost: reactive[ProgramCost | None] = reactive(None, init=False)
    """The shown program's BPF cost over the last second (None: not known, not live)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.status = Status()

    def show(self, status: Status) -> None:
        if status != self.status:
            self.status = status
            self._redraw()

    def watch_cost(self) -> None:
        self._redraw()

    def _redraw(self) -> None:
        # One line whatever it says: no layout pass (a screen-wide one costs a frame).
        self.update(self.render_status(self.status, self.cost), layout=False)

    def on_mount(self) -> None:
        self.update(self.render_status(self.status, self.cost))

    @staticmethod
    def render_status(s: Status, cost: ProgramCost | None = None) -> Content:
        sep = (" │ ", "$text-muted")
        recording = (s.recording, "bold $error" if s.recording_active else "$text-muted")
        if not s.program:
            notice = s.notice or "no program running — pick one and press Enter"
            return Content.assemble((notice, "italic"), sep, recording)
        alarm = "bold $error"
        # What comes first stays on an 80-column terminal: what the user did to the view
        # (PAUSED, a sort, a filter) and the rates before drops, a recording, the BPF cost.
        parts: list[str | tuple[str, str]] = [(s.program, "bold")]
        if s.made_up:
            parts.append((" DEMO", "bold reverse"))
        if s.state:
            parts.append((f" {s.state}", "$warning"))
        if s.view:
            parts += [sep, (s.view, "bold $warning" if s.view.startswith("PAUSED") else "bold")]
        # a view of several hosts: where the events come from, right after how many
        hosts: list[str | tuple[str, str]] = [sep, s.hosts] if s.hosts else []
        parts += [
            sep,
            (f"{human(s.events_per_second)} ev/s", "bold"),
            f"  total {grouped(s.total)}",
            *hosts,
            sep,
            "drops ",
            (f"{grouped(s.drops)} kernel", alarm if s.drops else ""),
            " · ",
            (f"{grouped(s.shed)} shed", alarm if s.shed else ""),
        ]
        # An active recording's mark before the cost; "not recording" is what goes first.
        tail: list[str | tuple[str, str]] = [sep, recording]
        if cost is not None:
            bpf: list[str | tuple[str, str]] = [sep, cost.label()]
            tail = tail + bpf if s.recording_active else bpf + tail
        parts += tail
        return Content.assemble(*parts)


@dataclass(frozen=True, slots=True)
class Tab:
    number: int
    name: str
    running: bool
    kind: str = "live"  # "live" | "replay" | "wasm"
    cost: str = ""
    """Its BPF cost, short (``0.8% · 420 ns``), while known."""
    made_up: bool = False


class ViewTabs(Static):
    """``1 sigsnoop  2 procstat``: the running views; click one or press its number."""

    DEFAULT_CSS = """
    ViewTabs {
        height: 1;
        background: $panel;
        color: $text-muted;
        padding: 0 1;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.tabs: list[Tab] = []
        self.current: int | None = None

    def show(self, tabs: list[Tab], current: int | None) -> None:
        if (tabs, current) != (self.tabs, self.current):
            self.tabs, self.current = tabs, current
            self.update(self.render_tabs(), layout=False)

    def on_mount(self) -> None:
        self.update(self.render_tabs())

    def render_tabs(self) -> str:
        if not self.tabs:
            return "[i]no running programs[/i]"
        parts = []
        for tab in self.tabs:
            mark = "▶" if tab.running else "■"
            kind = {"replay": "↺ ", "wasm": "wasm "}.get(tab.kind, "")
            cost = f"[dim]{tab.cost}[/dim] " if tab.cost else ""
            demo = "[b]DEMO[/b] " if tab.made_up else ""
            label = f" {tab.number} {kind}{tab.name} {demo}{mark} {cost}"
            if tab.number == self.current:
                label = f"[reverse b]{label}[/reverse b]"
            parts.append(f"[@click=app.show_view({tab.number})]{label}[/]")
        return " ".join(parts)
