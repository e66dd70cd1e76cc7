"""Runs legacy eunomia "ewasm" modules (spec 5.2) on the same wasmtime runtime as wasm-bpf apps.

An ewasm module has no ``_start``. It exports ``bpf_main(env_json, len)`` and
``process_event(ctx, json, len)``, and imports from ``env``:

* ``create_bpf(json_ptr, json_len) -> id``: a whole ``package.json`` (embedded in the module by
  ``ecc --wasm-header`` as ``program_data``); the id is 0, 1, 2... or -1;
* ``run_bpf(id) -> 0 | -1``: load and attach it (``LiveSession``);
* ``wait_and_poll_bpf(id) -> 0 | -1``: block, handing every event to ``process_event`` as the JSON
  line ``lmp run -j`` prints (ecli's JSON), truncated to 4095 bytes and NUL-terminated. It returns
  0 when the run is stopped (``stop()``, ``duration``), so ``bpf_main`` can return normally.

``bpf_main`` gets the JSON array ``["<module>", args...]``; its return value is the exit code
(0..255, anything else is 1). A negative ``process_event`` result drops the event; otherwise it
goes to ``RunOptions.on_event`` when one is set. A module without ``process_event`` has its events
printed to stdout by the host.

Memory for the argument and event buffers: the upstream WAMR host used
``wasm_runtime_module_malloc``. Here the guest exports ``malloc`` (wasi-libc: link with
``-Wl,--export=malloc``, or ``--export-all``) and the host calls it; a module without a ``malloc``
export gets pages the host grows its memory by, beyond anything its own allocator hands out.

Apps built by eunomia's older ewasm toolchain link against WAMR's built-in libc: ``env.printf``,
``env.malloc``, ``env.strlen``... (``wamr_libc``). The host provides those a module imports;
when it imports ``env.malloc``, the argument and event buffers come from that same host heap.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

import wasmtime

from ..errors import LmpError, PackageError
from ..format.package import ExportSpec, parse_package
from ..runs.pipeline import Pipeline
from ..runs.session import LiveSession
from ..stream.decode import Decoded
from ..stream.output import BatchPrinter
from .guest import (
    POLL_SLICE_MS,
    GuestRuntime,
    MiB,
    functype,
    signature,
)
from .wamr_libc import SIGNATURES as LIBC_SIGNATURES
from .wamr_libc import WamrLibc

ENV_MODULE = "env"
EVENT_BUFFER_SIZE = 4096
MAX_PROGRAMS = 16
PAGE = 65536
BPF_IMPORTS = ("create_bpf", "run_bpf", "wait_and_poll_bpf")


class EventFeed:
    """A pipeline sink: each event, as the JSON line ``lmp run -j`` prints, to the guest."""

    def __init__(self, spec: ExportSpec, on_line: Callable[[str], None]) -> None:
        self.printer = BatchPrinter(spec, json_mode=True)
        self.on_line = on_line

    def write(self, item: Decoded) -> None:
        for line in self.printer.text(item).splitlines():
            self.on_line(line)

    def close(self) -> None:
        pass


class EwasmApp(GuestRuntime):
    """A legacy ewasm module: ``bpf_main`` plus the ``env`` imports."""

    abi_description = (
        "ewasm ABI: env.create_bpf, env.run_bpf, env.wait_and_poll_bpf, "
        "WAMR's libc-builtin (env.printf, env.malloc, ...) and WASI"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.packages: list[Any] = []
        self.sessions: dict[int, LiveSession] = {}
        self._event_buffer: int | None = None
        self.process_event: wasmtime.Func | None = None
        self.libc = WamrLibc(self)
        # Only the libc names the module imports are defined: anything else in env stays an
        # unknown import, refused by name.
        self.libc_imports = sorted(
            {
                imp.name
                for imp in self.module.imports
                if imp.module == ENV_MODULE and imp.name in LIBC_SIGNATURES
            }
        )

    def provided(self) -> set[tuple[str, str]]:
        return {(ENV_MODULE, n) for n in (*BPF_IMPORTS, *self.libc_imports)}

    def define_imports(self) -> None:
        self.define(ENV_MODULE, "create_bpf", functype("i32 i32", "i32"), self.create_bpf)
        self.define(ENV_MODULE, "run_bpf", functype("i32", "i32"), self.run_bpf)
        self.define(ENV_MODULE, "wait_and_poll_bpf", functype("i32", "i32"), self.wait_and_poll)
        for name in self.libc_imports:
            params, results = LIBC_SIGNATURES[name]
            self.define(ENV_MODULE, name, functype(params, results), self.libc.function(name))

    def main(self) -> int:
        self.instantiate()
        bpf_main = self._export_func("bpf_main", "i32 i32->i32", required=True)
        assert bpf_main is not None
        self.process_event = self._export_func("process_event", "i32 i32 i32->i32")
        # A reactor-style module runs its constructors from _initialize.
        if isinstance(init := self.export("_initialize"), wasmtime.Func):
            if signature(init, self.store) != "->":
                raise PackageError(f"{self.name}: its _initialize takes or returns values")
            self.call(init)
        args = json.dumps(self.argv).encode()
        ptr = self.alloc(len(args) + 1)
        assert self.memory is not None
        self.memory.write(ptr, args + b"\0")
        ret = self.call(bpf_main, ptr, len(args))
        return ret if 0 <= ret <= 255 else 1

    def _export_func(self, name: str, sig: str, required: bool = False) -> wasmtime.Func | None:
        func = self.export(name)
        if isinstance(func, wasmtime.Func) and signature(func, self.store) == sig:
            return func
        if required or func is not None:
            params, _, results = sig.partition("->")
            raise PackageError(
                f"{self.name}: an ewasm module exports {name}({', '.join(params.split())}) "
                f"-> {results}"
            )
        return None

    # -- guest memory -----------------------------------------------------------------------------

    def alloc(self, size: int) -> int:
        """``size`` bytes the guest does not use otherwise: the host heap its env.malloc uses, its
        own malloc, else fresh pages."""
        assert self.memory is not None
        if "malloc" in self.libc_imports:
            if ptr := self.libc.heap.malloc(size):
                return ptr
            raise PackageError(
                f"{self.name}: no room for {size} bytes in its heap "
                f"(lmp allows {self.options.memory_limit / MiB:g} MiB of memory)"
            )
        malloc = self.export("malloc")
        if isinstance(malloc, wasmtime.Func) and signature(malloc, self.store) == "i32->i32":
            ptr = self.call(malloc, size) & 0xFFFFFFFF
            if ptr and self.memory.address(ptr, size) is not None:
                return ptr
            raise PackageError(f"{self.name}: malloc({size}) failed in the guest")
        pages = (size + PAGE - 1) // PAGE
        try:
            old = self.memory.memory.grow(self.store, pages)
        except wasmtime.WasmtimeError:
            raise PackageError(f"{self.name}: cannot grow its memory by {pages} pages") from None
        return old * PAGE

    def event_buffer(self) -> int:
        if self._event_buffer is None:
            self._event_buffer = self.alloc(EVENT_BUFFER_SIZE)
        return self._event_buffer

    # -- env imports ------------------------------------------------------------------------------

    def create_bpf(self, json_ptr: int, json_len: int) -> int:
        assert self.memory is not None
        raw = self.memory.read(json_ptr, json_len) if json_len > 0 else None
        if raw is None:
            where = json_ptr & 0xFFFFFFFF
            self.diag(f"create_bpf: {json_len} bytes at {where:#x} are out of bounds")
            return -1
        if len(self.packages) >= MAX_PROGRAMS:
            self.diag(f"create_bpf: more than {MAX_PROGRAMS} programs")
            return -1
        try:
            package = parse_package(raw.split(b"\0", 1)[0], source=f"{self.name} program")
        except LmpError as exc:
            self.diag(f"create_bpf: {exc}")
            return -1
        self.packages.append(package)
        return len(self.packages) - 1

    def run_bpf(self, id_: int) -> int:
        if not 0 <= id_ < len(self.packages) or id_ in self.sessions:
            return -1
        try:
            session = LiveSession(self.packages[id_]).start()
        except LmpError as exc:
            self.diag(f"run_bpf: {exc}")
            return -1
        self.sessions[id_] = session
        return 0

    def wait_and_poll(self, id_: int) -> int:
        session = self.sessions.get(id_)
        if session is None:
            return -1
        pipeline = Pipeline(session, [EventFeed(session.spec, self._event)])
        while not self.stop_requested:
            self.check_forced_stop()
            pipeline.poll(POLL_SLICE_MS / 1000)
        return 0

    def _event(self, line: str) -> None:
        """Hand one event to ``process_event``; what it keeps goes to ``on_event``."""
        if self.process_event is None:
            assert self.stdout is not None
            self.stdout.line(line)
            return
        assert self.memory is not None
        raw = line.encode()[: EVENT_BUFFER_SIZE - 1]
        ptr = self.event_buffer()
        self.memory.write(ptr, raw + b"\0")
        try:
            ret = self.call(self.process_event, 0, ptr, len(raw))
        except wasmtime.Trap as exc:
            raise self.trap_error(exc, " in process_event") from None
        if ret >= 0 and self.options.on_event is not None:
            self.options.on_event(line)

    def cleanup(self) -> None:
        for id_ in sorted(self.sessions, reverse=True):
            with contextlib.suppress(Exception):
                self.sessions.pop(id_).close()
