"""Messages named for what happened to a run (a program, a replay, a wasm app).

The data path posts exactly one ``BatchDecoded`` per program per refresh tick, however many
events arrived: views redraw on it, never per event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from ..runtime.runs.manager import Run


class ProgramStarted(Message):
    """A program was loaded and attached; its view can be shown."""

    def __init__(self, run: Run) -> None:
        super().__init__()
        self.run = run


class BatchDecoded(Message):
    """New records of ``run`` reached its store during the last tick."""

    def __init__(self, run: Run, records: int) -> None:
        super().__init__()
        self.run = run
        self.records = records


class ProgramStopped(Message):
    """A program was detached: stopped by the user, ended, or failed (``error`` says why)."""

    def __init__(self, run: Run, error: str | None = None) -> None:
        super().__init__()
        self.run = run
        self.error = error


class RunSampled(Message):
    """``run``'s BPF cost was sampled (``run.cost``, once a second); ``hint`` says how to
    narrow the program the first time the kernel dropped its events (else None)."""

    def __init__(self, run: Run, hint: str | None = None) -> None:
        super().__init__()
        self.run = run
        self.hint = hint
