"""Event sources over kernel maps, driven by asyncio: ring buffer, perf buffer, sampled map.

Each is an async iterator of ``Batch``. Ring buffers and perf event arrays are drained by a
native thread into fixed-size records (``native``), handed over a batch at a time, so there is
no Python call per event and a busy event loop cannot make the kernel drop records
(spec: ringbuf-performance.md).
"""

from __future__ import annotations

import contextlib
import ctypes
import mmap
import os
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from ..errors import KernelError
from ..stream.batch import Batch, EventSource
from . import libbpf
from .native import NativeStream

if TYPE_CHECKING:
    import asyncio

PAGE_SIZE = mmap.PAGESIZE
DEFAULT_PERF_PAGES = 64
"""Pages per CPU of a perf buffer, as ecli (``perf_buffer_pages``) and libbpf-tools."""


class DropCounter:
    """Reads a program's ``drops`` per-CPU array (ring buffer reserve failures), as deltas."""

    def __init__(self, fd: int | None, ncpus: int) -> None:
        self.fd = fd
        self._value = (ctypes.c_uint64 * max(ncpus, 1))()
        self._key = ctypes.c_uint32(0)
        self.total = 0

    def delta(self) -> int:
        if self.fd is None:
            return 0
        if libbpf.lib().bpf_map_lookup_elem(self.fd, ctypes.byref(self._key), self._value) != 0:
            return 0
        now = sum(self._value)
        delta, self.total = now - self.total, now
        return max(delta, 0)


class StreamSource(EventSource):
    """A ring buffer or perf event array, drained by a native thread (``native.NativeStream``).

    The thread keeps the kernel's buffer empty whatever this process's event loop is doing;
    ``drain()`` takes everything it staged as one batch, ``async for`` does so as records
    arrive, at most once per ``handoff_s`` so a busy stream costs a Python wakeup per batch
    rather than per kernel wakeup. Kernel drop counters are read at most every
    ``drops_interval_s`` (a syscall each) and once more at the end.

    ``stop()`` (after the programs are detached) drains what the kernel still holds; iteration
    then yields the rest and ends, so a stopped source has lost nothing.
    """

    handoff_s = 0.005
    drops_interval_s = 0.1

    def __init__(self, stream: NativeStream, drops: DropCounter | None = None) -> None:
        self._stream = stream
        self.record_size = stream.record_size
        self.drops = drops or DropCounter(None, 1)
        self.total = 0
        self.stopped = False
        self._drops_read = 0.0
        self._ready: asyncio.Event | None = None

    def fileno(self) -> int:
        """Readable while records wait to be taken (for ``select`` in synchronous hosts)."""
        return self._stream.notify_fd

    @property
    def wakeups(self) -> int:
        """Times the kernel woke the drain thread, so far (as of the last take)."""
        return self._stream.wakeups

    def drain(self) -> Batch | None:
        """Everything staged since the last call, with the losses since then; None if nothing."""
        taken = self._stream.take()
        now = time.monotonic()
        drops = taken.lost
        if self.stopped or now - self._drops_read >= self.drops_interval_s:
            self._drops_read = now
            drops += self.drops.delta()
        if not taken.count and not drops and not taken.shed:
            return None
        self.total += taken.count
        return Batch(
            time.time(), taken.records, taken.count, self.record_size, drops, shed=taken.shed
        )

    def stop(self) -> None:
        """No more records will come (programs detached): drain the kernel's buffer, end."""
        if not self.stopped:
            self.stopped = True
            self._stream.stop()
            if self._ready is not None:
                self._ready.set()

    def close(self) -> None:
        self.stop()
        super().close()
        self._stream.close()

    async def batches(self) -> AsyncIterator[Batch]:
        import asyncio  # here: the blocking drivers (lmp run, a wasm guest) never load it

        loop = asyncio.get_running_loop()
        ready = self._ready = asyncio.Event()
        fd = self.fileno()

        def on_ready() -> None:
            # The eventfd stays readable until read: read it here, or the loop spins.
            with contextlib.suppress(BlockingIOError):
                os.read(fd, 8)
            ready.set()

        loop.add_reader(fd, on_ready)
        try:
            while not self.closed:
                if not self.stopped:
                    await ready.wait()
                ready.clear()
                stopped = self.stopped
                if (batch := self.drain()) is not None:
                    yield batch
                if stopped or self.closed:
                    return
                await asyncio.sleep(self.handoff_s)
        finally:
            loop.remove_reader(fd)
            self._ready = None


class RingBufferSource(StreamSource):
    """A ``BPF_MAP_TYPE_RINGBUF`` of ``size`` bytes (a power of 2 of pages)."""

    def __init__(
        self, map_fd: int, size: int, record_size: int, drops: DropCounter | None = None
    ) -> None:
        if size & (size - 1) or size < PAGE_SIZE:
            raise KernelError(f"ring buffer size {size} is not a power-of-2 page multiple")
        super().__init__(NativeStream.ringbuf(map_fd, size, record_size), drops)


class PerfBufferSource(StreamSource):
    """A ``BPF_MAP_TYPE_PERF_EVENT_ARRAY``, ``pages`` pages per CPU (a power of 2)."""

    def __init__(self, map_fd: int, record_size: int, pages: int = DEFAULT_PERF_PAGES) -> None:
        super().__init__(NativeStream.perfbuf(map_fd, pages, record_size))


class SampledMapSource(EventSource):
    """Snapshots a hash/array map every ``interval_ms`` (histograms, counters)."""

    def __init__(
        self,
        map_fd: int,
        key_size: int,
        value_size: int,
        interval_ms: int,
        clear: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.fd = map_fd
        self.key_size = key_size
        self.value_size = value_size
        self.interval = max(interval_ms, 10) / 1000
        self.clear = clear
        self.clock = clock
        self.total = 0
        self._wake: asyncio.Event | None = None

    def snapshot(self) -> Batch:
        lib = libbpf.lib()
        key = ctypes.create_string_buffer(self.key_size)
        nxt = ctypes.create_string_buffer(self.key_size)
        value = ctypes.create_string_buffer(self.value_size)
        keys: list[bytes] = []
        prev = None
        while lib.bpf_map_get_next_key(self.fd, prev, nxt) == 0:
            keys.append(nxt.raw)
            ctypes.memmove(key, nxt, self.key_size)
            prev = key
        records = []
        for k in sorted(keys):
            kb = ctypes.create_string_buffer(k, self.key_size)
            if lib.bpf_map_lookup_elem(self.fd, kb, value) == 0:
                records.append(k + value.raw)
        self.total += len(records)
        return Batch(
            self.clock(),
            b"".join(records),
            len(records),
            self.key_size + self.value_size,
            0,
            snapshot=True,
        )

    def clear_all(self) -> None:
        lib = libbpf.lib()
        nxt = ctypes.create_string_buffer(self.key_size)
        while lib.bpf_map_get_next_key(self.fd, None, nxt) == 0:
            if lib.bpf_map_delete_elem(self.fd, nxt) != 0:
                break

    def close(self) -> None:
        if self.clear and not self.closed:
            self.clear_all()
        super().close()

    def stop(self) -> None:
        super().stop()
        if self._wake is not None:
            self._wake.set()

    async def batches(self) -> AsyncIterator[Batch]:
        import asyncio

        self._wake = asyncio.Event()
        try:
            while not self.closed:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.interval):
                        await self._wake.wait()
                if self.closed:
                    return
                yield self.snapshot()
        finally:
            self._wake = None
