"""Wasm apps in the TUI: the guest runs in a thread, each JSON line it prints becomes a row.

``WasmRun`` is to a wasm app what ``ProgramRun`` is to a Hub program: numbered, pumped, flushed
into a store once per tick, stopped. Its store is a ``RowStore``: the newest rows as Python
dicts, with columns named by the keys in the order they were first seen. A line that is not a
JSON object becomes a row with one ``output`` column. Only one wasm app runs at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..runtime.errors import LmpError
from ..runtime.wasm.guest import GuestRuntime, RunOptions
from ..runtime.wasm.host import create_app
from .runner import SHED_LIMIT, RunKind, RunState

OUTPUT_COLUMN = "output"
STDERR_LINES = 20


class RowStore:
    """The newest ``capacity`` rows of a wasm app, and how many arrive per second."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.rows: deque[dict[str, Any]] = deque(maxlen=capacity)
        self.columns: list[str] = []
        self.numeric: dict[str, bool] = {}
        """Whether a column's first value was a number (right-aligned, like the events table)."""
        self.total = 0
        self.drops = 0
        self.shed = 0
        self.generation = 0
        self.last_time: float | None = None
        self._buckets: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self.rows)

    def append(self, rows: list[dict[str, Any]], time: float) -> None:
        for row in rows:
            for key, value in row.items():
                if key not in self.numeric:
                    self.numeric[key] = isinstance(value, int | float) and not isinstance(
                        value, bool
                    )
                    self.columns.append(key)
        self.rows.extend(rows)
        self.total += len(rows)
        second = math.floor(time)
        self._buckets[second] = self._buckets.get(second, 0) + len(rows)
        for old in [s for s in self._buckets if s < second - 2]:
            del self._buckets[old]
        self.last_time = time
        self.generation += 1

    def add_shed(self, count: int) -> None:
        self.shed += count
        self.generation += 1

    def events_per_second(self) -> float:
        """Rows in the last complete second."""
        if self.last_time is None:
            return 0.0
        return float(self._buckets.get(math.floor(time.time()) - 1, 0))


def parse_line(line: str) -> dict[str, Any] | None:
    """A JSON object as a row; other non-blank output as ``{"output": line}``."""
    text = line.strip()
    if not text:
        return None
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError:
            pass
        else:
            if isinstance(value, dict):
                return {str(k): v for k, v in value.items()}
    return {OUTPUT_COLUMN: line.rstrip("\r")}


class LineSink:
    """A text stream for the guest's output: each complete line goes to ``on_line``."""

    def __init__(self, on_line: Callable[[str], None]) -> None:
        self.on_line = on_line
        self._partial = ""

    def write(self, text: str) -> int:
        *lines, self._partial = (self._partial + text).split("\n")
        for line in lines:
            self.on_line(line)
        return len(text)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        if self._partial:
            self.on_line(self._partial)
            self._partial = ""


@dataclass(eq=False)
class WasmRun:
    """A wasm app started from the TUI; ``pump`` runs it in a thread until it ends."""

    number: int
    path: Path
    data: bytes = field(repr=False)
    argv: list[str]
    store: RowStore = field(repr=False)
    state: RunState = "running"
    error: str | None = None
    exit_code: int | None = None
    shed_limit: int = SHED_LIMIT
    recorder: None = None
    replay: None = None
    stderr: deque[str] = field(default_factory=lambda: deque(maxlen=STDERR_LINES), repr=False)
    _lines: list[str] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _app: GuestRuntime | None = field(default=None, repr=False)
    _stop: bool = False
    _failure: BaseException | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def title(self) -> str:
        return f"{self.number} {self.name}"

    @property
    def kind(self) -> RunKind:
        return "wasm"

    @property
    def alive(self) -> bool:
        """True while the guest's thread runs (stopping takes up to a second)."""
        return self._thread is not None and self._thread.is_alive()

    # -- from the guest's threads --------------------------------------------------------------

    def _line(self, line: str) -> None:
        with self._lock:
            self._lines.append(line)
            if len(self._lines) > self.shed_limit:
                dropped = len(self._lines) - self.shed_limit
                del self._lines[:dropped]
                self.store.shed += dropped

    def _main(self, out: LineSink, err: LineSink, done: Callable[[], None]) -> None:
        try:
            options = RunOptions(name=self.name, on_event=self._line)
            app = create_app(self.data, self.argv, out, err, options)
            self._app = app
            if self._stop:
                app.stop()
            self.exit_code = app.run()
        except BaseException as exc:  # reported by pump, in the loop
            self._failure = exc
        finally:
            out.close()
            err.close()
            done()

    # -- from the loop -------------------------------------------------------------------------

    async def pump(self) -> None:
        """Run the app in a thread until it ends; raises ``LmpError`` when it failed."""
        loop = asyncio.get_running_loop()
        finished = asyncio.Event()

        def done() -> None:
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is waiting
                loop.call_soon_threadsafe(finished.set)

        out, err = LineSink(self._line), LineSink(self.stderr.append)
        self._thread = threading.Thread(
            target=self._main, args=(out, err, done), name="lmp-tui-wasm", daemon=True
        )
        self._thread.start()
        await finished.wait()
        failure = self._failure
        if isinstance(failure, LmpError):
            raise failure
        if failure is not None:
            raise LmpError(f"{type(failure).__name__}: {failure}")
        if self.exit_code and not self._stop:
            last = f": {self.stderr[-1]}" if self.stderr else ""
            raise LmpError(f"exited with status {self.exit_code}{last}")

    def flush(self) -> tuple[int, int]:
        """Parse the lines printed since the last tick into rows: (lines, rows) taken."""
        with self._lock:
            lines, self._lines = self._lines, []
        if not lines:
            return 0, 0
        rows = [row for row in map(parse_line, lines) if row is not None]
        if rows:
            self.store.append(rows, time.time())
        return len(lines), len(rows)

    def stop(self, error: str | None = None) -> bool:
        """Ask the guest to end (it has a second); True if this call stopped it."""
        if self.state != "running":
            return False
        self.state = "failed" if error else "stopped"
        self.error = error
        self._stop = True
        if (app := self._app) is not None:
            app.stop()
        return True


def rows_text(rows: Iterable[dict[str, Any]], columns: list[str]) -> list[list[str]]:
    """Rows as the table shows them (for tests and debugging)."""
    return [[cell_text(row.get(c)) for c in columns] for row in rows]


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, int):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def sort_key(name: str) -> Callable[[dict[str, Any]], tuple[int, Any]]:
    """Numbers in numeric order, then text, then anything else by its JSON; missing last."""

    def key(row: dict[str, Any]) -> tuple[int, Any]:
        value = row.get(name)
        if value is None:
            return (3, 0)
        if isinstance(value, int | float):
            return (0, value)
        if isinstance(value, str):
            return (1, value)
        return (2, cell_text(value))

    return key
