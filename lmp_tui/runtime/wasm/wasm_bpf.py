"""The wasm-bpf ABI (spec 5.1): a WASI command (``_start``) that imports six functions from the
module ``wasm_bpf`` and gets its events through callbacks in its function table. They are
implemented here over libbpf, with every guest pointer and length bounds-checked, so a bad pointer
is an error code and never a crash.

Divergences from the upstream Rust host, each deliberate: every record of a poll reaches the
callback (upstream keeps only the last), the callback gets the copied length (upstream passes the
untruncated size), ``map_operate`` refuses fds of maps this guest did not load (``-EBADF``) and
out-of-bounds pointers (``-EFAULT``), and ``GET_NEXT_KEY`` with ``key == 0`` asks
for the first key, as libbpf's ``NULL`` does.
"""

from __future__ import annotations

import ctypes
import errno
import math
import os
import socket
from ctypes import c_void_p
from dataclasses import dataclass, field
from typing import Any

import wasmtime

from ..errors import KernelError, LmpError, PackageError
from ..kernel import libbpf, probe
from ..kernel.bpf_object import BpfObject, failure
from .guest import (
    POLL_SLICE_MS,
    WASI_EINTR,
    GuestMemory,
    GuestRuntime,
    functype,
    signature,
)

BPF_MODULE = "wasm_bpf"
GO_WRAPPER_MODULE = "callback-wrapper"
GO_CALLBACK_EXPORT = "go-callback"
TABLE_EXPORT = "__indirect_function_table"
MAX_OBJECTS = 64
PERF_BUFFER_PAGES = 64

# Kernel numbers the ABI uses.
MAP_PERF_EVENT_ARRAY, MAP_RINGBUF = 4, 27
PERCPU_MAP_TYPES = frozenset({5, 6, 10, 21})  # percpu hash/array, lru percpu hash, percpu storage
CMD_LOOKUP, CMD_UPDATE, CMD_DELETE, CMD_GET_NEXT_KEY = 1, 2, 3, 4


# -- the wasm-bpf ABI --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MapInfo:
    name: str
    type: int
    key_size: int
    value_size: int  # per-CPU maps: the whole value the syscall copies


@dataclass(slots=True)
class PollCall:
    """One ``wasm_bpf_buffer_poll`` call, as the record callback needs it."""

    func: wasmtime.Func
    ctx: int
    data: int
    max_size: int
    result: int = 0
    error: BaseException | None = None


@dataclass(slots=True)
class EventBuffer:
    """A libbpf ring buffer or perf buffer over one map of a loaded object."""

    kind: str  # "ringbuf" | "perf"
    ptr: int
    callbacks: tuple[Any, ...]  # the ctypes callbacks libbpf holds: kept alive with it
    call: PollCall | None = None


@dataclass(slots=True)
class LoadedObject:
    handle: int
    object: BpfObject
    maps: dict[int, MapInfo] = field(default_factory=dict)
    links: list[int] = field(default_factory=list)
    buffers: dict[int, EventBuffer] = field(default_factory=dict)


class WasmBpfApp(GuestRuntime):
    """A wasm-bpf app: ``_start`` plus the ``wasm_bpf`` imports."""

    abi_description = "wasm-bpf ABI: wasm_bpf.* and WASI preview 1"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.objects: dict[int, LoadedObject] = {}
        self._next_handle = 1
        self._table_missing_reported = False

    def provided(self) -> set[tuple[str, str]]:
        names = {
            "wasm_load_bpf_object",
            "wasm_attach_bpf_program",
            "wasm_bpf_buffer_poll",
            "wasm_bpf_map_fd_by_name",
            "wasm_bpf_map_operate",
            "wasm_close_bpf_object",
        }
        return {(BPF_MODULE, n) for n in names} | {(GO_WRAPPER_MODULE, "wasm_bpf_buffer_poll")}

    def define_imports(self) -> None:
        self.define(BPF_MODULE, "wasm_load_bpf_object", functype("i32 i32", "i64"), self.load)
        self.define(
            BPF_MODULE, "wasm_attach_bpf_program", functype("i64 i32 i32", "i32"), self.attach
        )
        self.define(
            BPF_MODULE,
            "wasm_bpf_buffer_poll",
            functype("i64 i32 i32 i32 i32 i32 i32", "i32"),
            self.buffer_poll,
        )
        self.define(
            BPF_MODULE, "wasm_bpf_map_fd_by_name", functype("i64 i32", "i32"), self.map_fd_by_name
        )
        self.define(
            BPF_MODULE,
            "wasm_bpf_map_operate",
            functype("i32 i32 i32 i32 i32 i64", "i32"),
            self.map_operate,
        )
        self.define(BPF_MODULE, "wasm_close_bpf_object", functype("i64", "i32"), self.close)
        self.define(
            GO_WRAPPER_MODULE,
            "wasm_bpf_buffer_poll",
            functype("i64 i32 i32 i32 i32 i32", "i32"),
            self.go_buffer_poll,
        )

    def main(self) -> int:
        self.instantiate()
        start = self.export("_start")
        if not isinstance(start, wasmtime.Func):
            raise PackageError(f"{self.name} has no _start export (not a WASI command)")
        if signature(start, self.store) != "->":
            raise PackageError(
                f"{self.name}: its _start takes or returns values (not a WASI command)"
            )
        self.call(start)
        return 0

    @property
    def mem(self) -> GuestMemory:
        if self.memory is None:
            raise PackageError(f"{self.name} called the host before its memory existed")
        return self.memory

    # -- wasm_load_bpf_object -------------------------------------------------------------------

    def load(self, obj_ptr: int, obj_len: int) -> int:
        """Open and load at once: a handle >= 1, or 0 on any failure (with the reason on stderr)."""
        data = self.mem.read(obj_ptr, obj_len) if obj_len > 0 else None
        if data is None:
            where = obj_ptr & 0xFFFFFFFF
            self.diag(f"wasm_load_bpf_object: {obj_len} bytes at {where:#x} are out of bounds")
            return 0
        if len(self.objects) >= MAX_OBJECTS:
            self.diag(f"wasm_load_bpf_object: more than {MAX_OBJECTS} objects loaded")
            return 0
        if why := probe.can_use_bpf():
            self.diag(f"wasm_load_bpf_object: {why}")
            return 0
        name = os.path.splitext(os.path.basename(self.name))[0][:15]
        try:
            obj = BpfObject(data, name)
        except LmpError as exc:
            self.diag(f"wasm_load_bpf_object: {exc}")
            return 0
        try:
            for _, section, _prog in obj.programs():
                if why := probe.refusal(section, at_load=True):
                    raise KernelError(f"cannot load the BPF object: {why}")
            obj.load("the BPF object")
        except LmpError as exc:
            self.diag(f"wasm_load_bpf_object: {exc}")
            obj.close()
            return 0
        lib = libbpf.lib()
        loaded = LoadedObject(self._next_handle, obj)
        self._next_handle += 1
        for _, m in obj.maps():
            if (fd := lib.bpf_map__fd(m)) >= 0:
                loaded.maps[fd] = _map_info(lib, m)
        self.objects[loaded.handle] = loaded
        return loaded.handle

    # -- wasm_attach_bpf_program ----------------------------------------------------------------

    def attach(self, handle: int, name_ptr: int, target_ptr: int) -> int:
        obj = self.objects.get(handle)
        name = self.mem.cstring(name_ptr)
        target = self.mem.cstring(target_ptr) if target_ptr else None
        if obj is None or name is None or (target_ptr and target is None):
            return -1
        lib = libbpf.lib()
        prog = lib.bpf_object__find_program_by_name(obj.object.ptr, name.encode())
        if not prog:
            self.diag(f"wasm_attach_bpf_program: the object has no program named {name!r}")
            return -1
        section = lib.bpf_program__section_name(prog).decode()
        try:
            link = self._attach(prog, section, target)
        except OSError as exc:  # if_nametoindex / open of the cgroup
            self.diag(f"cannot attach {name} to {target}: {exc.strerror}")
            return -(exc.errno or errno.EINVAL)
        except KernelError as exc:
            self.diag(str(exc))
            return -1
        if not link:
            self.diag(failure(f"cannot attach {name} ({section})", libbpf.errno()))
            return -1
        obj.links.append(link)
        return 0

    def _attach(self, prog: int, section: str, target: str | None) -> int:
        lib = libbpf.lib()
        libbpf.log.take()
        if target and section.startswith("sockops"):
            fd = os.open(target, os.O_RDONLY | os.O_DIRECTORY)
            try:
                return lib.bpf_program__attach_cgroup(prog, fd)
            finally:
                os.close(fd)  # the link holds its own reference to the cgroup
        if target and section.startswith("xdp"):
            return lib.bpf_program__attach_xdp(prog, socket.if_nametoindex(target))
        req = probe.requirement_for(section)
        if req is not None and req.kind == "tracepoint":
            probe.ensure_tracefs()
        if why := probe.refusal(section):
            raise KernelError(f"cannot attach {section}: {why}")
        return lib.bpf_program__attach(prog)

    # -- wasm_bpf_map_fd_by_name ----------------------------------------------------------------

    def map_fd_by_name(self, handle: int, name_ptr: int) -> int:
        obj = self.objects.get(handle)
        name = self.mem.cstring(name_ptr)
        if obj is None or name is None:
            return -1
        return next((fd for fd, m in obj.maps.items() if m.name == name), -1)

    # -- wasm_bpf_map_operate -------------------------------------------------------------------

    def map_operate(
        self, fd: int, cmd: int, key: int, value: int, next_key: int, flags: int
    ) -> int:
        info = next((o.maps[fd] for o in self.objects.values() if fd in o.maps), None)
        if info is None:
            return -errno.EBADF
        mem = self.mem
        flags &= 0xFFFFFFFFFFFFFFFF

        def span(ptr: int, size: int, nullable: bool = False) -> int | None:
            if nullable and ptr == 0:
                return 0
            return mem.address(ptr, size)

        lib = libbpf.lib()
        k = span(key, info.key_size, nullable=cmd == CMD_GET_NEXT_KEY or info.key_size == 0)
        if k is None:
            return -errno.EFAULT
        kp = k or None
        if cmd == CMD_LOOKUP:
            v = span(value, info.value_size)
            if v is None:
                return -errno.EFAULT
            return lib.bpf_map_lookup_elem_flags(fd, kp, v, flags)
        if cmd == CMD_UPDATE:
            v = span(value, info.value_size)
            if v is None:
                return -errno.EFAULT
            return lib.bpf_map_update_elem(fd, kp, v, flags)
        if cmd == CMD_DELETE:
            return lib.bpf_map_delete_elem_flags(fd, kp, flags)
        if cmd == CMD_GET_NEXT_KEY:
            n = span(next_key, info.key_size)
            if n is None:
                return -errno.EFAULT
            return lib.bpf_map_get_next_key(fd, kp, n)
        return -errno.EINVAL

    # -- wasm_close_bpf_object ------------------------------------------------------------------

    def close(self, handle: int) -> int:
        obj = self.objects.pop(handle, None)
        if obj is None:
            return -1
        _release(obj)
        return 0

    def cleanup(self) -> None:
        for handle in sorted(self.objects, reverse=True):
            _release(self.objects.pop(handle))

    # -- wasm_bpf_buffer_poll -------------------------------------------------------------------

    def buffer_poll(
        self,
        handle: int,
        fd: int,
        sample_func: int,
        ctx: int,
        data: int,
        max_size: int,
        timeout_ms: int,
    ) -> int:
        func = self._table_func(sample_func)
        return self._poll(
            handle, fd, func, f"table[{sample_func}]", ctx, data, max_size, timeout_ms
        )

    def go_buffer_poll(
        self, handle: int, fd: int, ctx: int, data: int, max_size: int, timeout_ms: int
    ) -> int:
        """TinyGo apps import this from ``callback-wrapper`` and export ``go-callback``."""
        func = self.export(GO_CALLBACK_EXPORT)
        if not isinstance(func, wasmtime.Func) or signature(func, self.store) != "i32 i32 i32->i32":
            self.diag(f"{GO_CALLBACK_EXPORT} is not exported as (i32, i32, i32) -> i32")
            func = None
        return self._poll(handle, fd, func, GO_CALLBACK_EXPORT, ctx, data, max_size, timeout_ms)

    def _poll(
        self,
        handle: int,
        fd: int,
        func: wasmtime.Func | None,
        where: str,
        ctx: int,
        data: int,
        max_size: int,
        timeout_ms: int,
    ) -> int:
        if max_size < 0 or self.mem.address(data, max_size) is None:
            return errno.EINVAL  # positive, as the reference host returns it
        obj = self.objects.get(handle)
        if obj is None:
            return -1
        if fd not in obj.maps:
            return -errno.ENOENT
        if func is None:
            return -errno.EINVAL
        buf = obj.buffers.get(fd)
        if buf is None:
            made = self._open_buffer(obj, fd)
            if isinstance(made, int):
                return made
            buf = obj.buffers[fd] = made
        call = buf.call = PollCall(func, ctx & 0xFFFFFFFF, data & 0xFFFFFFFF, max_size)
        try:
            n = self._poll_slices(buf, call, timeout_ms)
        finally:
            buf.call = None
        if call.error is not None:
            raise self._callback_error(call.error, where)
        if n == -errno.EINTR:
            # stopped, or a signal interrupted the wait: EINTR in the guest's libc's numbers
            return -WASI_EINTR
        if call.result < 0:
            return call.result
        return n if n < 0 else 0

    def _poll_slices(self, buf: EventBuffer, call: PollCall, timeout_ms: int) -> int:
        """Poll in short slices so a stop is noticed even under a long (or infinite) timeout."""
        lib = libbpf.lib()
        poll = lib.ring_buffer__poll if buf.kind == "ringbuf" else lib.perf_buffer__poll
        remaining = math.inf if timeout_ms < 0 else timeout_ms
        while True:
            if self.stop_requested:
                return -errno.EINTR
            step = int(min(remaining, POLL_SLICE_MS))
            n = poll(buf.ptr, step)
            if n != 0 or call.error is not None or call.result < 0:
                return n
            remaining -= step
            if remaining <= 0:
                return 0

    def _open_buffer(self, obj: LoadedObject, fd: int) -> EventBuffer | int:
        info = obj.maps[fd]
        lib = libbpf.lib()
        libbpf.log.take()
        if info.type == MAP_RINGBUF:
            cb = libbpf.RING_SAMPLE_FN(lambda _ctx, data, size: self._deliver(obj, fd, data, size))
            ptr = lib.ring_buffer__new(fd, ctypes.cast(cb, c_void_p), None, None)
            if not ptr:
                self.diag(failure(f"cannot open ring buffer {info.name}", libbpf.errno()))
                return 1
            return EventBuffer("ringbuf", ptr, (cb,))
        if info.type == MAP_PERF_EVENT_ARRAY:

            def on_sample(_ctx: int, _cpu: int, data: int, size: int) -> None:
                self._deliver(obj, fd, data, size)  # perf callbacks cannot stop the poll

            sample = libbpf.PERF_SAMPLE_FN(on_sample)
            lost = libbpf.PERF_LOST_FN(lambda _ctx, _cpu, _count: None)
            ptr = lib.perf_buffer__new(
                fd,
                PERF_BUFFER_PAGES,
                ctypes.cast(sample, c_void_p),
                ctypes.cast(lost, c_void_p),
                None,
                None,
            )
            if not ptr:
                self.diag(failure(f"cannot open perf buffer {info.name}", libbpf.errno()))
                return 1
            return EventBuffer("perf", ptr, (sample, lost))
        self.diag(f"map {info.name} is neither a ring buffer nor a perf event array")
        return -1

    def _deliver(self, obj: LoadedObject, fd: int, data: int, size: int) -> int:
        """One record: copy it into the guest's buffer and call the guest's callback.

        Runs inside libbpf's poll, so nothing may escape: failures are kept in the call and the
        poll is stopped (a negative return stops libbpf's ring buffer loop).
        """
        buf = obj.buffers.get(fd)
        call = buf.call if buf is not None else None
        if call is None or call.error is not None or call.result < 0:
            return -1
        try:
            n = min(size, call.max_size)
            addr = self.mem.address(call.data, n)
            if addr is None:  # memory never shrinks; checked before the poll
                call.result = -errno.EFAULT
                return -1
            ctypes.memmove(addr, data, n)
            ret = self.call(call.func, call.ctx, call.data, n)
            if ret < 0:
                call.result = ret
                return ret
            return 0
        except BaseException as exc:  # re-raised once the poll has returned
            call.error = exc
            return -1

    def _callback_error(self, exc: BaseException, where: str) -> BaseException:
        if isinstance(exc, wasmtime.Trap):
            return self.trap_error(exc, f" in its buffer_poll callback ({where})")
        return exc

    def _table_func(self, index: int) -> wasmtime.Func | None:
        table = self.export(TABLE_EXPORT)
        if not isinstance(table, wasmtime.Table):
            if not self._table_missing_reported:
                self._table_missing_reported = True
                self.diag(
                    f"wasm_bpf_buffer_poll: the app does not export {TABLE_EXPORT} "
                    "(link it with -Wl,--export-table)"
                )
            return None
        if index <= 0 or index >= table.size(self.store):
            self.diag(f"wasm_bpf_buffer_poll: callback index {index} is not in the table")
            return None
        func = table.get(self.store, index)
        if not isinstance(func, wasmtime.Func):
            self.diag(f"wasm_bpf_buffer_poll: table[{index}] is empty")
            return None
        if signature(func, self.store) != "i32 i32 i32->i32":
            self.diag(
                f"wasm_bpf_buffer_poll: table[{index}] is {signature(func, self.store)}, "
                "not a callback (i32 ctx, i32 data, i32 size) -> i32"
            )
            return None
        return func


def _map_info(lib: ctypes.CDLL, m: int) -> MapInfo:
    kind = lib.bpf_map__type(m)
    value_size = lib.bpf_map__value_size(m)
    if kind in PERCPU_MAP_TYPES:
        # Per-CPU values come back one 8-byte-aligned slot per possible CPU.
        value_size = ((value_size + 7) & ~7) * lib.libbpf_num_possible_cpus()
    return MapInfo(lib.bpf_map__name(m).decode(), kind, lib.bpf_map__key_size(m), value_size)


def _release(obj: LoadedObject) -> None:
    """Free buffers, destroy links, close the object: nothing of it stays in the kernel."""
    lib = libbpf.lib()
    for buf in obj.buffers.values():
        if buf.kind == "ringbuf":
            lib.ring_buffer__free(buf.ptr)
        else:
            lib.perf_buffer__free(buf.ptr)
    obj.buffers.clear()
    for link in obj.links:
        lib.bpf_link__destroy(link)
    obj.links.clear()
    obj.object.close()
