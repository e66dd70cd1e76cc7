"""ctypes bindings to ``_lmp_stream``, the drain thread in ``lmp_stream.c`` (why C: see there).

``NativeStream`` owns one thread draining one export map into a staging buffer; ``take()``
hands over everything staged since the last call as one ``bytes`` of fixed-size records.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import weakref
from ctypes import POINTER, c_int, c_uint32, c_uint64, c_void_p
from dataclasses import dataclass

from ...errors import KernelError

COALESCE_US = 1000
"""Longest the thread lets records gather after a drain that found some (capped by ring fill)."""
STAGING_MAX = 32 << 20
"""Bytes staged for Python at most; more than that while Python is busy is counted as shed."""

_lib: ctypes.CDLL | None = None
_EMPTY = memoryview(b"")


def _load() -> ctypes.CDLL:
    global _lib
    if _lib is not None:
        return _lib
    spec = importlib.util.find_spec(f"{__name__}._lmp_stream")
    if spec is None or spec.origin is None:
        raise KernelError(
            "lmp's drain helper (_lmp_stream) is not built: reinstall lmp-tui "
            "(bash setup.sh install, or pip install with gcc and libbpf-dev present)"
        )
    lib = ctypes.CDLL(spec.origin, use_errno=True)
    for name, restype, argtypes in (
        ("lmp_stream_ringbuf", c_void_p, [c_int, c_uint64, c_uint32, c_uint64, c_uint32]),
        ("lmp_stream_perfbuf", c_void_p, [c_int, c_uint32, c_uint32, c_uint64, c_uint32]),
        ("lmp_stream_notify_fd", c_int, [c_void_p]),
        ("lmp_stream_take", c_uint64, [c_void_p, POINTER(c_void_p), POINTER(c_uint64)]),
        ("lmp_stream_release", None, [c_void_p]),
        ("lmp_stream_stop", None, [c_void_p]),
        ("lmp_stream_free", None, [c_void_p]),
    ):
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = restype, argtypes
    _lib = lib
    return lib


@dataclass(slots=True)
class Taken:
    """What one ``take()`` handed over."""

    records: memoryview
    """The records, in memory the drain thread filled: no copy is made of them (it is freed
    when the last reference to it goes)."""
    count: int
    shed: int
    """Records the staging buffer had no room for since the last take."""
    lost: int
    """Perf samples the kernel lost since the last take (ring buffers count theirs in BPF)."""


class NativeStream:
    """A drain thread over a ring buffer or perf event array map."""

    def __init__(self, handle: int, record_size: int) -> None:
        self._handle: int | None = handle
        self.record_size = record_size
        self.notify_fd = _load().lmp_stream_notify_fd(handle)
        self.wakeups = 0
        self.passes = 0
        self._ptr = c_void_p()
        self._counters = (c_uint64 * 4)()

    @classmethod
    def ringbuf(cls, map_fd: int, size: int, record_size: int) -> NativeStream:
        handle = _load().lmp_stream_ringbuf(map_fd, size, record_size, STAGING_MAX, COALESCE_US)
        return cls._made(handle, record_size, "ring buffer")

    @classmethod
    def perfbuf(cls, map_fd: int, pages: int, record_size: int) -> NativeStream:
        handle = _load().lmp_stream_perfbuf(map_fd, pages, record_size, STAGING_MAX, COALESCE_US)
        return cls._made(handle, record_size, "perf buffer")

    @classmethod
    def _made(cls, handle: int | None, record_size: int, what: str) -> NativeStream:
        if not handle:
            raise KernelError(f"cannot read the {what}: {os.strerror(ctypes.get_errno())}")
        return cls(handle, record_size)

    def take(self) -> Taken:
        if self._handle is None:
            return Taken(_EMPTY, 0, 0, 0)
        lib = _load()
        c = self._counters
        n = lib.lmp_stream_take(self._handle, ctypes.byref(self._ptr), c)
        self.wakeups, self.passes = int(c[2]), int(c[3])
        records = _EMPTY
        if n:
            ptr = self._ptr.value
            block = (ctypes.c_ubyte * n).from_address(ptr)
            weakref.finalize(block, lib.lmp_stream_release, ptr)
            records = memoryview(block).cast("B")
        return Taken(records, n // self.record_size, int(c[0]), int(c[1]))

    def stop(self) -> None:
        """End the thread after a last drain of the map (detach its programs first)."""
        if self._handle is not None:
            _load().lmp_stream_stop(self._handle)

    def close(self) -> None:
        if self._handle is not None:
            _load().lmp_stream_free(self._handle)
            self._handle = None
