"""Event sources over kernel maps, driven by asyncio: ring buffer, perf buffer, sampled map.

Each is an async iterator of ``Batch``. The ring buffer is read by mapping it into our address
space and walking its records with numpy, a run of equal-sized records at a time, so there is no
Python call per event (spec: ringbuf-performance.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import mmap
import select
import struct
import time
from collections.abc import AsyncIterator, Callable

import numpy as np

from . import libbpf
from .decode import Batch
from .errors import KernelError

RINGBUF_BUSY = 1 << 31
RINGBUF_DISCARD = 1 << 30
RINGBUF_HDR = 8
PAGE_SIZE = mmap.PAGESIZE


async def _wait(ready: asyncio.Event, timeout: float) -> None:
    """Wait for ``ready`` or ``timeout``. Not ``wait_for``: on 3.11 it can swallow a cancellation
    that races with the event being set, and a busy ring buffer sets it all the time."""
    try:
        async with asyncio.timeout(timeout):
            await ready.wait()
    except TimeoutError:
        pass


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


class EventSource:
    """Base: ``async for batch in source`` until ``close()``."""

    closed = False

    def close(self) -> None:
        self.closed = True

    def __aiter__(self) -> AsyncIterator[Batch]:
        return self.batches()

    async def batches(self) -> AsyncIterator[Batch]:  # pragma: no cover - abstract
        raise NotImplementedError
        yield


class RingBufferSource(EventSource):
    """A BPF ring buffer, mapped and drained in bulk.

    ``drain()`` is synchronous and bounded (``max_records``), so callers can both poll it in a
    benchmark loop and run it inside asyncio without stalling the loop.
    """

    def __init__(
        self,
        map_fd: int,
        max_entries: int,
        record_size: int,
        drops: DropCounter | None = None,
        max_records: int = 8192,
        timer_s: float = 0.02,
    ) -> None:
        if max_entries & (max_entries - 1) or max_entries < PAGE_SIZE:
            raise KernelError(f"ring buffer size {max_entries} is not a power-of-2 page multiple")
        self.fd = map_fd
        self.size = max_entries
        self.mask = max_entries - 1
        self.record_size = record_size
        self.drops = drops or DropCounter(None, 1)
        self.max_records = max_records
        self.timer_s = timer_s
        self.total = 0
        self._consumer = mmap.mmap(
            map_fd, PAGE_SIZE, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=0
        )
        self._producer = mmap.mmap(
            map_fd, PAGE_SIZE + 2 * max_entries, mmap.MAP_SHARED, mmap.PROT_READ, offset=PAGE_SIZE
        )
        self._pos = np.frombuffer(self._producer, dtype="<u8", count=1)
        self._cons = np.frombuffer(self._consumer, dtype="<u8", count=1)
        self._data = np.frombuffer(self._producer, dtype=np.uint8, offset=PAGE_SIZE)

    def close(self) -> None:
        super().close()
        # numpy views keep the maps exported; drop them before closing.
        self._pos = self._cons = self._data = None  # type: ignore[assignment]
        for m in (self._consumer, self._producer):
            with contextlib.suppress(BufferError):
                m.close()

    def drain(self) -> Batch | None:
        """Take up to ``max_records`` committed records; None when there are none."""
        cons = int(self._cons[0])
        prod = int(self._pos[0])
        chunks: list[bytes] = []
        taken = 0
        data = self._data
        size = self.record_size
        while cons < prod and taken < self.max_records:
            off = cons & self.mask
            hdr = int(data[off : off + 4].view("<u4")[0])
            if hdr & RINGBUF_BUSY:
                break
            length = hdr & ~(RINGBUF_BUSY | RINGBUF_DISCARD)
            stride = (length + RINGBUF_HDR + 7) & ~7
            if hdr & RINGBUF_DISCARD:
                cons += stride
                continue
            # Records of one program are nearly always one size: check a whole run of headers
            # at once, reading each exactly once (the producer may be flipping BUSY bits).
            n = min((prod - cons) // stride, self.max_records - taken)
            if n <= 0:
                break
            headers = np.ndarray((n,), "<u4", data, off, (stride,)).copy()
            run = (
                n
                if headers[-1] == hdr and (headers == hdr).all()
                else int(np.argmin(headers == hdr))
            )
            if length == size:
                # One strided copy straight out of the ring: the only copy a record gets.
                view = np.ndarray((run,), f"V{size}", data, off + RINGBUF_HDR, (stride,))
                chunks.append(view.tobytes())
            else:
                body = np.ndarray(
                    (run, min(length, size)), np.uint8, data, off + RINGBUF_HDR, (stride, 1)
                )
                padded = np.zeros((run, size), np.uint8)
                padded[:, : body.shape[1]] = body
                chunks.append(padded.tobytes())
            taken += run
            cons += run * stride
        if cons != int(self._cons[0]):
            self._consumer[0:8] = struct.pack("<Q", cons)
        drops = self.drops.delta()
        if not taken and not drops:
            return None
        self.total += taken
        records = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        return Batch(time.time(), records, taken, size, drops)

    async def batches(self) -> AsyncIterator[Batch]:
        loop = asyncio.get_running_loop()
        ready = asyncio.Event()
        # The map fd is readable whenever the ring holds data, so watching it directly (level
        # triggered) wakes us on every turn of a busy loop and defeats the kernel's wakeup
        # batching. An edge-triggered private epoll wakes us once per kernel wakeup; the timer
        # drains whatever arrived without one (BPF_RB_NO_WAKEUP producers).
        wakeups = select.epoll()
        wakeups.register(self.fd, select.EPOLLIN | select.EPOLLET)

        def on_wakeup() -> None:
            wakeups.poll(0)  # consume the edge so the outer loop goes quiet until the next one
            ready.set()

        loop.add_reader(wakeups.fileno(), on_wakeup)
        try:
            while not self.closed:
                await _wait(ready, self.timer_s)
                ready.clear()
                # Bounded drains with a yield between them keep the loop responsive under load.
                while not self.closed and (batch := self.drain()) is not None:
                    yield batch
                    if batch.count < self.max_records:
                        break
                    await asyncio.sleep(0)
        finally:
            loop.remove_reader(wakeups.fileno())
            wakeups.close()


class PerfBufferSource(EventSource):
    """A perf event array, one ring per CPU, read through libbpf's perf_buffer.

    libbpf calls back once per record, so this source costs a Python call per event; ring
    buffers are the fast path, perf buffers are here for compatibility with older programs.
    """

    def __init__(self, map_fd: int, record_size: int, page_cnt: int = 64) -> None:
        self.record_size = record_size
        self._records: list[bytes] = []
        self._lost = 0
        self.total = 0
        self._sample_cb = libbpf.PERF_SAMPLE_FN(self._on_sample)
        self._lost_cb = libbpf.PERF_LOST_FN(self._on_lost)
        lib = libbpf.lib()
        libbpf.log.take()
        pb = lib.perf_buffer__new(
            map_fd,
            page_cnt,
            ctypes.cast(self._sample_cb, ctypes.c_void_p),
            ctypes.cast(self._lost_cb, ctypes.c_void_p),
            None,
            None,
        )
        if not pb:
            raise KernelError(f"cannot open the perf buffer: {libbpf.strerror(libbpf.errno())}")
        self._pb = pb
        self.epoll_fd = lib.perf_buffer__epoll_fd(pb)

    def _on_sample(self, _ctx: int, _cpu: int, data: int, size: int) -> None:
        n = min(size, self.record_size)
        raw = (ctypes.c_char * n).from_address(data).raw
        self._records.append(raw if n == self.record_size else raw.ljust(self.record_size, b"\0"))

    def _on_lost(self, _ctx: int, _cpu: int, count: int) -> None:
        self._lost += count

    def drain(self) -> Batch | None:
        libbpf.lib().perf_buffer__consume(self._pb)
        if not self._records and not self._lost:
            return None
        records, self._records = self._records, []
        drops, self._lost = self._lost, 0
        self.total += len(records)
        return Batch(time.time(), b"".join(records), len(records), self.record_size, drops)

    def close(self) -> None:
        super().close()
        if self._pb:
            libbpf.lib().perf_buffer__free(self._pb)
            self._pb = None

    async def batches(self) -> AsyncIterator[Batch]:
        loop = asyncio.get_running_loop()
        ready = asyncio.Event()
        loop.add_reader(self.epoll_fd, ready.set)
        try:
            while not self.closed:
                await _wait(ready, 0.1)
                ready.clear()
                if (batch := self.drain()) is not None:
                    yield batch
        finally:
            loop.remove_reader(self.epoll_fd)


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

    async def batches(self) -> AsyncIterator[Batch]:
        while not self.closed:
            await asyncio.sleep(self.interval)
            if not self.closed:
                yield self.snapshot()
