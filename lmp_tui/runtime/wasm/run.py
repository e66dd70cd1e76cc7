"""A wasm app as a run: the guest runs in a thread, each line it prints becomes a row.

``WasmRun`` is to a wasm app what ``SessionRun`` is to a program: numbered, pumped, flushed into
a store (a ``RowStore``) once per refresh, stopped. It cannot be recorded or sought.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import LmpError
from ..runs.manager import SHED_LIMIT, RunKind, RunState
from ..stream.rows import RowStore, parse_line

if TYPE_CHECKING:
    from .guest import GuestRuntime

STDERR_LINES = 20
MAX_LINE = 64 * 1024


class LineSink(io.TextIOBase):
    """A text stream for the guest's output: each complete line goes to ``on_line``.

    A line is cut at ``max_line`` characters (the rest of it, up to its newline, is dropped): a
    guest that never prints a newline costs neither memory nor time that grows with its output.
    """

    def __init__(self, on_line: Callable[[str], None], max_line: int = MAX_LINE) -> None:
        super().__init__()
        self.on_line = on_line
        self.max_line = max_line
        self._parts: list[str] = []  # the line so far, in pieces: no quadratic concatenation
        self._length = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        *lines, rest = text.split("\n")
        for line in lines:
            self._add(line)
            self.on_line("".join(self._parts))
            self._parts, self._length = [], 0
        self._add(rest)
        return len(text)

    def _add(self, piece: str) -> None:
        room = self.max_line - self._length
        if piece and room > 0:
            piece = piece[:room]
            self._parts.append(piece)
            self._length += len(piece)

    def close(self) -> None:
        if self._parts:
            self.on_line("".join(self._parts))
            self._parts, self._length = [], 0
        super().close()


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

    recordable = False
    seekable = False

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
            # here, in the app's thread: wasmtime loads when a wasm app first runs, not when
            # lmp-tui starts
            from .guest import RunOptions
            from .host import create_app

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

    def end(self) -> None:
        """Ask the guest to finish: its poll returns -EINTR (it has a second to exit)."""
        self._stop = True
        if (app := self._app) is not None:
            app.stop()

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
