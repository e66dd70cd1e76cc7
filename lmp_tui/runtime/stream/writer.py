"""Writing text to a file descriptor from a thread of its own, through a bounded queue.

``lmp run`` must keep draining whatever stdout does: a terminal that scrolls slowly, a pipe
into a pager nobody reads, a full disk. Formatted chunks are queued (one per batch) and a
writer thread writes them out; when more than ``max_bytes`` wait, new chunks are shed and
their lines counted, reported like a kernel drop instead of blocking the event loop.
"""

from __future__ import annotations

import errno
import os
import select
import threading
import time
from collections import deque

DEFAULT_MAX_BYTES = 64 << 20
WRITE_SLICE = 256 << 10
"""Bytes per write system call at most. On a kernel without preemption (PREEMPT_NONE, common
on servers) one long write holds the CPU it shares with the drain thread, and a perf buffer of
ecli's 256 KiB per CPU fills in a few milliseconds: one 6 MiB write per 100 ms lost 1 % of the
events at 200k/s. Each return to user space lets the drain thread run."""


class ChunkWriter:
    def __init__(self, fd: int, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.fd = fd
        self.max_bytes = max_bytes
        self.shed_lines = 0
        """Lines dropped because the reader was too slow (the queue was full)."""
        self.unwritten_lines = 0
        """Lines not written because writing had failed (``error``)."""
        self.error = ""
        """Why writing stopped (empty unless it failed); EPIPE is a reader that went away."""
        self.broken_pipe = False
        self.written = 0
        """Bytes written so far."""
        self._queue: deque[tuple[bytes, int]] = deque()
        self._queued = 0
        self._closing = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="lmp-writer", daemon=True)
        self._thread.start()

    @property
    def failed(self) -> bool:
        return bool(self.error)

    def write(self, text: str, lines: int) -> None:
        """Queue ``text`` (``lines`` lines); shed it if the queue is full or writing failed."""
        if not text:
            return
        data = text.encode("utf-8", "replace")
        with self._cond:
            if self.error:
                self.unwritten_lines += lines
                return
            if self._queued + len(data) > self.max_bytes:
                self.shed_lines += lines
                return
            self._queue.append((data, lines))
            self._queued += len(data)
            self._cond.notify()

    def close(self, timeout: float = 2.0, stall: float = 0.1) -> bool:
        """Write out what is queued, waiting at most ``timeout``, and no longer than ``stall``
        once the reader stops reading (a pipe nobody drains must not hold up Ctrl-C); False if
        it could not."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        deadline = time.monotonic() + timeout
        while self._thread.is_alive() and time.monotonic() < deadline:
            before = self.written
            self._thread.join(min(stall, max(0.0, deadline - time.monotonic())))
            if self.written == before:
                break
        if self._thread.is_alive():
            with self._cond:
                self.shed_lines += sum(n for _, n in self._queue)
                self._queue.clear()
            return False
        return not self.error

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue:
                    return
                # Everything queued at once, written in slices (WRITE_SLICE).
                chunks = list(self._queue)
                self._queue.clear()
            data = b"".join(c for c, _ in chunks)
            try:
                view = memoryview(data)
                while view:
                    try:
                        n = os.write(self.fd, view[:WRITE_SLICE])
                        self.written += n
                        view = view[n:]
                    except BlockingIOError:  # somebody made our stdout non-blocking
                        select.select([], [self.fd], [])
            except OSError as exc:
                with self._cond:
                    self.broken_pipe = exc.errno == errno.EPIPE
                    self.error = exc.strerror or str(exc)
                    self.unwritten_lines += sum(n for _, n in chunks)
                    self.unwritten_lines += sum(n for _, n in self._queue)
                    self._queue.clear()
                    self._queued = 0
                return
            with self._cond:
                self._queued -= len(data)
