"""Runs WebAssembly eBPF apps (``app.wasm``) on wasmtime.

The current ABI is wasm-bpf (spec 5.1): a WASI command (``_start``) that imports six functions
from the module ``wasm_bpf`` and gets its events through callbacks in its function table. This
module implements them over libbpf, with every guest pointer and length bounds-checked, so a bad
pointer is an error code and never a crash. Legacy eunomia "ewasm" modules (spec 5.2) are detected
and handed to ``ewasm_host``.

What the host adds around the guest:

* WASI with ``argv = [module, args...]``, stdout and stderr sent to the given streams, no stdin,
  no environment and no filesystem unless directories are preopened;
* a watchdog: wasm code that runs for ``budget_s`` (1 s) without calling the host is stopped with
  a clear message (wasmtime epoch interruption, ticked by a thread). Time blocked in the host
  (``wasm_bpf_buffer_poll``, or sleeping: ``poll_oneoff`` is implemented here so it can be) does
  not count;
* ``stop()`` and ``duration``: the next ``wasm_bpf_buffer_poll`` returns ``-EINTR`` so the app can
  end cleanly; an app that goes on calling the host for more than a second after that is ended;
* everything the guest loaded is detached and closed when the run ends: normal exit, ``proc_exit``,
  trap, watchdog, stop, or Ctrl-C.

Divergences from the upstream Rust host, each deliberate: every record of a poll reaches the
callback (upstream keeps only the last), the callback gets the copied length (upstream passes the
untruncated size), ``map_operate`` refuses fds of maps this guest did not load (``-EBADF``) and
out-of-bounds pointers (``-EFAULT``), and ``GET_NEXT_KEY`` with ``key == 0`` asks
for the first key, as libbpf's ``NULL`` does.
"""

from __future__ import annotations

import codecs
import contextlib
import ctypes
import errno
import io
import math
import os
import signal
import socket
import struct
import threading
import time
from collections.abc import Callable
from ctypes import CFUNCTYPE, c_char_p, c_int, c_size_t, c_uint64, c_void_p
from dataclasses import dataclass, field
from typing import IO, Any

import wasmtime

from . import libbpf, probe
from .errors import KernelError, LmpError, PackageError

WASM_MAGIC = b"\0asm"
WASI_MODULE = "wasi_snapshot_preview1"
BPF_MODULE = "wasm_bpf"
GO_WRAPPER_MODULE = "callback-wrapper"
GO_CALLBACK_EXPORT = "go-callback"
TABLE_EXPORT = "__indirect_function_table"

EPOCH_TICK_S = 0.05
DEFAULT_BUDGET_S = 1.0
STOP_GRACE_S = 1.0
POLL_SLICE_MS = 100
MAX_OBJECTS = 64
MAX_CSTRING = 4096
PERF_BUFFER_PAGES = 64

# Kernel numbers the ABI uses.
MAP_PERF_EVENT_ARRAY, MAP_RINGBUF = 4, 27
PERCPU_MAP_TYPES = frozenset({5, 6, 10, 21})  # percpu hash/array, lru percpu hash, percpu storage
CMD_LOOKUP, CMD_UPDATE, CMD_DELETE, CMD_GET_NEXT_KEY = 1, 2, 3, 4


class WasmTrapError(LmpError):
    """The app trapped, or the watchdog stopped it; the message says where and why."""


class _Stopped(BaseException):
    """Raised through the guest to end a run the host decided to end (stop(), duration).

    A BaseException so that guest-facing ``except Exception`` code never swallows it.
    """


# -- options and output ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunOptions:
    """How to run an app. ``budget_s=None`` disables the watchdog."""

    name: str = "app.wasm"
    duration: float | None = None
    budget_s: float | None = DEFAULT_BUDGET_S
    preopens: tuple[tuple[str, str], ...] = ()
    on_event: Callable[[str], None] | None = None  # ewasm: events the guest kept


class StreamSink:
    """A WASI output stream: wasmtime writes into a pipe, a thread copies it to a Python stream.

    Not wasmtime's custom-output callback: it runs on a runtime thread of wasmtime, and a Python
    callback there can abort the process when the interpreter exits. The pipe also keeps the
    host's own lines (``line``) in order with the guest's. A closed output (``lmp run app.wasm |
    head``) stops the run instead of failing every write.
    """

    def __init__(self, stream: IO[Any], on_broken: Callable[[], None]) -> None:
        self.stream = stream
        self.on_broken = on_broken
        self.binary: IO[bytes] | None = None
        if isinstance(stream, io.RawIOBase | io.BufferedIOBase):
            self.binary = stream  # type: ignore[assignment]
        elif isinstance(getattr(stream, "buffer", None), io.BufferedIOBase):
            self.binary = stream.buffer  # type: ignore[union-attr]
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._broken = False
        self._read_fd, self._write_fd = os.pipe()
        self._thread = threading.Thread(target=self._pump, name="lmp-wasm-output", daemon=True)
        self._thread.start()

    @property
    def path(self) -> str:
        """What wasmtime opens: the write end of our pipe."""
        return f"/proc/self/fd/{self._write_fd}"

    def _pump(self) -> None:
        with contextlib.suppress(OSError):
            while chunk := os.read(self._read_fd, 65536):
                self._forward(chunk)

    def _forward(self, data: bytes) -> None:
        if self._broken:
            return
        try:
            if self.binary is not None:
                if self.binary is not self.stream:
                    self.stream.flush()  # text already buffered above the bytes goes first
                self.binary.write(data)
                self.binary.flush()
            else:
                self.stream.write(self._decoder.decode(data))
                if flush := getattr(self.stream, "flush", None):
                    flush()
        except (BrokenPipeError, ValueError):
            self._broken = True
            self.on_broken()

    def line(self, text: str) -> None:
        with contextlib.suppress(OSError):
            os.write(self._write_fd, (text + "\n").encode())

    def close(self) -> None:
        """Flush everything written so far; wasmtime must have closed its end already."""
        os.close(self._write_fd)
        self._thread.join(timeout=2)
        os.close(self._read_fd)


# -- guest memory ------------------------------------------------------------------------------


class GuestMemory:
    """Bounds-checked access to the guest's exported linear memory.

    Addresses are recomputed on every access: the memory may grow (and move) whenever guest code
    runs, and guest code runs inside callbacks.
    """

    def __init__(self, memory: wasmtime.Memory, store: wasmtime.Store) -> None:
        self.memory = memory
        self.store = store

    @property
    def size(self) -> int:
        return self.memory.data_len(self.store)

    def address(self, ptr: int, length: int) -> int | None:
        """The host address of ``ptr..ptr+length``, or None when it is not all inside memory."""
        ptr &= 0xFFFFFFFF  # an i32 argument arrives signed
        if length < 0 or ptr + length > self.size:
            return None
        return ctypes.addressof(self.memory.data_ptr(self.store).contents) + ptr

    def read(self, ptr: int, length: int) -> bytes | None:
        addr = self.address(ptr, length)
        return None if addr is None else ctypes.string_at(addr, length)

    def write(self, ptr: int, data: bytes) -> bool:
        addr = self.address(ptr, len(data))
        if addr is None:
            return False
        ctypes.memmove(addr, data, len(data))
        return True

    def cstring(self, ptr: int, limit: int = MAX_CSTRING) -> str | None:
        """A NUL-terminated string, or None if it runs off memory or past ``limit``."""
        ptr &= 0xFFFFFFFF
        n = min(limit, self.size - ptr)
        raw = self.read(ptr, n) if n > 0 else None
        if raw is None or (end := raw.find(b"\0")) < 0:
            return None
        return raw[:end].decode("utf-8", "replace")


# -- the runtime shared by both ABIs -----------------------------------------------------------


def _val(kind: str) -> wasmtime.ValType:
    return {"i32": wasmtime.ValType.i32(), "i64": wasmtime.ValType.i64()}[kind]


def functype(params: str, results: str = "") -> wasmtime.FuncType:
    """``functype("i64 i32", "i32")``."""
    return wasmtime.FuncType([_val(p) for p in params.split()], [_val(r) for r in results.split()])


def signature(func: wasmtime.Func, store: wasmtime.Store) -> str:
    ty = func.type(store)
    return f"{' '.join(map(str, ty.params))}->{' '.join(map(str, ty.results))}"


def trap_reason(exc: BaseException) -> str:
    """The one line that says why a trap happened (wasmtime messages open with a backtrace)."""
    text = exc.message if isinstance(exc, wasmtime.Trap) else str(exc)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else "unknown trap"


def trap_function(exc: BaseException) -> str | None:
    if isinstance(exc, wasmtime.Trap):
        with contextlib.suppress(Exception):
            frames = exc.frames
            if frames and frames[0].func_name:
                return frames[0].func_name
    return None


class Watchdog:
    """Epoch ticks for one engine; ``arm()`` gives the guest a fresh budget."""

    def __init__(self, engine: wasmtime.Engine, budget_s: float | None) -> None:
        self.engine = engine
        self.budget_s = budget_s
        # The deadline fires between (ticks-1) and ticks tick periods after arming: keep the
        # upper end within the budget.
        self.ticks = max(1, math.ceil((budget_s or 0) / EPOCH_TICK_S) - 1) if budget_s else 2**62
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self.on_tick: Callable[[], None] | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="lmp-wasm-epoch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.wait(EPOCH_TICK_S):
            self.engine.increment_epoch()
            if self.on_tick is not None:
                self.on_tick()

    def arm(self, store: wasmtime.Store) -> None:
        store.set_epoch_deadline(self.ticks)

    def close(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join(timeout=1)


class GuestRuntime:
    """One instance of a module on its own engine and store, with WASI and the watchdog.

    Subclasses define their imports (``define_imports``) and how to run (``main``).
    """

    abi_description = ""  # what a module may import, for the unknown-import message

    def __init__(
        self,
        engine: wasmtime.Engine,
        module: wasmtime.Module,
        argv: list[str],
        stdout: IO[Any],
        stderr: IO[Any],
        options: RunOptions,
    ) -> None:
        self.options = options
        self.name = options.name
        self.argv = [self.name, *argv]
        self.engine = engine
        self.module = module
        self.store = wasmtime.Store(self.engine)
        self._streams = (stdout, stderr)
        self.stdout: StreamSink | None = None
        self.stderr: StreamSink | None = None
        self.watchdog = Watchdog(self.engine, options.budget_s)
        self.watchdog.on_tick = self._tick
        self.linker = wasmtime.Linker(self.engine)
        self.instance: wasmtime.Instance | None = None
        self.memory: GuestMemory | None = None
        self._exports: Any = None
        self._stop_at: float | None = None
        self._deadline: float | None = None  # from run(): duration counts from the start

    # -- stopping ---------------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the app to end (thread-safe): -EINTR from its next poll, forced a second later."""
        if self._stop_at is None:
            self._stop_at = time.monotonic()

    @property
    def stop_requested(self) -> bool:
        return self._stop_at is not None

    def check_forced_stop(self) -> None:
        if self._stop_at is not None and time.monotonic() - self._stop_at > STOP_GRACE_S:
            raise _Stopped

    def _tick(self) -> None:
        if self._deadline is not None and time.monotonic() >= self._deadline:
            self.stop()

    def wait(self, seconds: float) -> None:
        """Block in the host for up to ``seconds``, returning early when a stop is requested."""
        end = time.monotonic() + max(seconds, 0.0)
        while (left := end - time.monotonic()) > 0 and not self.stop_requested:
            time.sleep(min(left, POLL_SLICE_MS / 1000))

    # -- setup ------------------------------------------------------------------------------------

    def diag(self, message: str) -> None:
        if self.stderr is not None:
            self.stderr.line(f"lmp: {self.name}: {message}")

    def host_function(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Wraps an import: forced stops are noticed, and the guest gets a fresh budget back."""

        def import_fn(*args: Any) -> Any:
            self.check_forced_stop()
            try:
                return fn(*args)
            finally:
                self.watchdog.arm(self.store)

        return import_fn

    def define(self, module: str, name: str, ty: wasmtime.FuncType, fn: Callable[..., Any]) -> None:
        self.linker.define_func(module, name, ty, self.host_function(fn))

    def define_imports(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def provided(self) -> set[tuple[str, str]]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _wasi(self) -> None:
        wasi = wasmtime.WasiConfig()
        wasi.argv = self.argv
        assert self.stdout is not None and self.stderr is not None
        wasi.stdout_file = self.stdout.path
        wasi.stderr_file = self.stderr.path
        for host, guest in self.options.preopens:
            wasi.preopen_dir(host, guest)
        self.store.set_wasi(wasi)
        self.linker.define_wasi()
        # Sleeping happens here, in the host, so it neither trips the watchdog nor delays a stop.
        self.linker.allow_shadowing = True
        self.define(
            WASI_MODULE, "poll_oneoff", functype("i32 i32 i32 i32", "i32"), self._poll_oneoff
        )
        self.define(
            WASI_MODULE, "clock_time_get", functype("i32 i64 i32", "i32"), self._clock_time_get
        )

    def _check_imports(self) -> None:
        provided = self.provided()
        for imp in self.module.imports:
            if imp.module == WASI_MODULE:
                continue
            if (imp.module, imp.name) not in provided:
                raise PackageError(
                    f"{self.name} imports {imp.module}.{imp.name}, which lmp does not provide "
                    f"({self.abi_description})"
                )

    def instantiate(self) -> wasmtime.Instance:
        self._check_imports()
        self._wasi()
        self.define_imports()
        self.watchdog.arm(self.store)
        try:
            self.instance = self.linker.instantiate(self.store, self.module)
        except wasmtime.WasmtimeError as exc:
            raise PackageError(f"{self.name}: cannot instantiate: {trap_reason(exc)}") from None
        memory = self.export("memory")
        if not isinstance(memory, wasmtime.Memory):
            raise PackageError(f"{self.name} does not export its linear memory as 'memory'")
        self.memory = GuestMemory(memory, self.store)
        return self.instance

    def export(self, name: str) -> Any:
        assert self.instance is not None
        if self._exports is None:
            self._exports = self.instance.exports(self.store)
        return self._exports.get(name)

    def call(self, func: wasmtime.Func, *args: int) -> Any:
        """Call into the guest with a fresh budget."""
        self.watchdog.arm(self.store)
        return func(self.store, *args)

    # -- running ----------------------------------------------------------------------------------

    def run(self) -> int:
        """Run to completion; the guest's exit code. Traps raise ``WasmTrapError``."""
        restore = _sigterm_as_interrupt()
        if self.options.duration is not None:
            self._deadline = time.monotonic() + self.options.duration
        self.watchdog.start()
        try:
            self.stdout = StreamSink(self._streams[0], self.stop)
            self.stderr = StreamSink(self._streams[1], self.stop)
            return self.main()
        except wasmtime.ExitTrap as exc:
            return exc.code
        except _Stopped:
            return 0
        except KeyboardInterrupt:
            return 130
        except wasmtime.Trap as exc:
            raise self.trap_error(exc) from None
        except wasmtime.WasmtimeError as exc:
            raise WasmTrapError(f"{self.name}: {trap_reason(exc)}") from None
        finally:
            self.watchdog.close()
            self.cleanup()
            # Dropping the store closes wasmtime's ends of the output pipes: their readers
            # then see EOF once every byte the guest wrote is through.
            self.store.close()
            for sink in (self.stdout, self.stderr):
                if sink is not None:
                    sink.close()
            restore()

    def main(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def cleanup(self) -> None:
        """Release whatever the guest loaded; runs on every way out."""

    def trap_error(self, exc: wasmtime.Trap, where: str = "") -> WasmTrapError:
        if exc.trap_code == wasmtime.TrapCode.INTERRUPT:
            return WasmTrapError(
                f"{self.name}: stopped: it ran for {self.options.budget_s:g} s without returning "
                f"to the host{where} (an endless loop?)"
            )
        func = trap_function(exc)
        at = f" (in {func})" if func else ""
        reason = trap_reason(exc).removeprefix("wasm trap: ")
        return WasmTrapError(f"{self.name}: trapped{where}: {reason}{at}")

    # -- WASI overrides ---------------------------------------------------------------------------

    def _clock_time_get(self, clock_id: int, _precision: int, out: int) -> int:
        now = _clock_ns(clock_id)
        if now is None:
            return WASI_EINVAL
        assert self.memory is not None
        return WASI_OK if self.memory.write(out, struct.pack("<Q", now)) else WASI_EFAULT

    def _poll_oneoff(self, subs_ptr: int, events_ptr: int, nsubs: int, nevents_ptr: int) -> int:
        """Clock subscriptions sleep here; fd subscriptions (stdio) are always ready."""
        if self.memory is None:
            return WASI_EFAULT
        if nsubs <= 0:
            return WASI_EINVAL
        raw = self.memory.read(subs_ptr, nsubs * SUBSCRIPTION.size)
        if raw is None or self.memory.address(events_ptr, nsubs * EVENT.size) is None:
            return WASI_EFAULT
        subs = [SUBSCRIPTION.unpack_from(raw, i * SUBSCRIPTION.size) for i in range(nsubs)]
        ready = [(s[0], s[1]) for s in subs if s[1] in (EVENTTYPE_FD_READ, EVENTTYPE_FD_WRITE)]
        if not ready:
            timers = []
            for userdata, tag, clock_id, timeout, _prec, flags in subs:
                if tag != EVENTTYPE_CLOCK or (now := _clock_ns(clock_id)) is None:
                    return WASI_EINVAL
                due = timeout - now if flags & SUBCLOCK_ABSTIME else timeout
                timers.append((max(due, 0), userdata))
            first = min(d for d, _ in timers)
            self.wait(first / 1e9)
            if self.stop_requested:
                raise _Stopped  # a sleeping app has no poll to be told to stop through
            ready = [(u, EVENTTYPE_CLOCK) for d, u in timers if d <= first]
        out = b"".join(EVENT.pack(userdata, 0, tag, 0, 0) for userdata, tag in ready)
        self.memory.write(events_ptr, out)
        self.memory.write(nevents_ptr, struct.pack("<I", len(ready)))
        return WASI_OK


# WASI preview 1 layouts and numbers for poll_oneoff.
SUBSCRIPTION = struct.Struct(
    "<QB7xIxxxxQQH6x"
)  # userdata, tag, clock id, timeout, precision, flags
EVENT = struct.Struct("<QHBxxxxxQH6x")  # userdata, error, type, nbytes, flags
EVENTTYPE_CLOCK, EVENTTYPE_FD_READ, EVENTTYPE_FD_WRITE = 0, 1, 2
SUBCLOCK_ABSTIME = 1
WASI_OK, WASI_EFAULT, WASI_EINVAL = 0, 21, 28


def _clock_ns(clock_id: int) -> int | None:
    clocks: dict[int, Callable[[], int]] = {
        0: time.time_ns,
        1: time.monotonic_ns,
        2: time.process_time_ns,
        3: time.thread_time_ns,
    }
    clock = clocks.get(clock_id)
    return clock() if clock is not None else None


def _sigterm_as_interrupt() -> Callable[[], None]:
    """SIGTERM ends a run like Ctrl-C (with cleanup); only the main thread can set handlers."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def interrupt(_sig: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        old = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:
        return lambda: None
    return lambda: signal.signal(signal.SIGTERM, old)


def compile_module(engine: wasmtime.Engine, data: bytes, name: str) -> wasmtime.Module:
    if data[:4] != WASM_MAGIC:
        raise PackageError(f"{name}: not a WebAssembly module (no \\0asm magic)")
    try:
        return wasmtime.Module(engine, data)
    except wasmtime.WasmtimeError as exc:
        raise PackageError(f"{name}: invalid WebAssembly module: {trap_reason(exc)}") from None


def abi_of(module: wasmtime.Module) -> str:
    """``"ewasm"`` for legacy eunomia modules (``env.create_bpf`` or ``bpf_main`` without
    ``_start``), else ``"wasm-bpf"``."""
    imports = {(i.module, i.name) for i in module.imports}
    exports = {e.name for e in module.exports}
    if ("env", "create_bpf") in imports or ("bpf_main" in exports and "_start" not in exports):
        return "ewasm"
    return "wasm-bpf"


def new_engine() -> wasmtime.Engine:
    """One engine per run: its epoch counter is that run's watchdog clock."""
    config = wasmtime.Config()
    config.epoch_interruption = True
    return wasmtime.Engine(config)


def detect_abi(data: bytes, name: str = "app.wasm") -> str:
    return abi_of(compile_module(new_engine(), data, name))


# -- libbpf calls the stock bindings do not declare ------------------------------------------------

RING_SAMPLE_FN = CFUNCTYPE(c_int, c_void_p, c_void_p, c_size_t)

_EXTRA_SIGNATURES: dict[str, tuple[Any, list[Any]]] = {
    "ring_buffer__new": (c_void_p, [c_int, c_void_p, c_void_p, c_void_p]),
    "ring_buffer__poll": (c_int, [c_void_p, c_int]),
    "ring_buffer__free": (None, [c_void_p]),
    "perf_buffer__poll": (c_int, [c_void_p, c_int]),
    "bpf_object__find_program_by_name": (c_void_p, [c_void_p, c_char_p]),
    "bpf_program__attach_cgroup": (c_void_p, [c_void_p, c_int]),
    "bpf_program__attach_xdp": (c_void_p, [c_void_p, c_int]),
    "bpf_map_lookup_elem_flags": (c_int, [c_int, c_void_p, c_void_p, c_uint64]),
    "bpf_map_delete_elem_flags": (c_int, [c_int, c_void_p, c_uint64]),
}
_extra_done = False


def bpf() -> ctypes.CDLL:
    global _extra_done
    lib = libbpf.lib()
    if not _extra_done:
        for name, (restype, argtypes) in _EXTRA_SIGNATURES.items():
            fn = getattr(lib, name)
            fn.restype = restype
            fn.argtypes = argtypes
        _extra_done = True
    return lib


def libbpf_failure(what: str, err: int) -> str:
    """``what: reason (last libbpf log line)``, as short as a user needs it."""
    lines = libbpf.log.take()
    detail = next(
        (ln.strip() for ln in reversed(lines) if ln.strip() and not ln.startswith("-- END")), ""
    )
    msg = f"{what}: {libbpf.strerror(err) if err else 'unknown error'}"
    return f"{msg} ({detail.removeprefix('libbpf: ')})" if detail else msg


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
    obj: int
    elf: Any  # the ctypes copy libbpf opened; kept for the object's lifetime
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
        self._told_to_stop = False
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
        lib = bpf()
        libbpf.log.take()
        elf = ctypes.create_string_buffer(data, len(data))
        opts = libbpf.BpfObjectOpenOpts()
        opts.sz = ctypes.sizeof(libbpf.BpfObjectOpenOpts)
        opts.object_name = os.path.splitext(os.path.basename(self.name))[0][:15].encode() or None
        obj = lib.bpf_object__open_mem(elf, len(data), ctypes.byref(opts))
        if not obj:
            self.diag(libbpf_failure("cannot open the BPF object", libbpf.errno()))
            return 0
        err = lib.bpf_object__load(obj)
        if err:
            self.diag(libbpf_failure("the kernel refused to load the BPF object", err))
            lib.bpf_object__close(obj)
            return 0
        loaded = LoadedObject(self._next_handle, obj, elf)
        self._next_handle += 1
        m = None
        while m := lib.bpf_object__next_map(obj, m):
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
        lib = bpf()
        prog = lib.bpf_object__find_program_by_name(obj.obj, name.encode())
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
            self.diag(libbpf_failure(f"cannot attach {name} ({section})", libbpf.errno()))
            return -1
        obj.links.append(link)
        return 0

    def _attach(self, prog: int, section: str, target: str | None) -> int:
        lib = bpf()
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
        if req is not None:
            if req.kind == "tracepoint":
                probe.ensure_tracefs()
            if why := probe.missing(req):
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

        lib = bpf()
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
        if n == -errno.EINTR and self.stop_requested:
            return self._stop_answer()
        if call.result < 0:
            return call.result
        return n if n < 0 else 0

    def _poll_slices(self, buf: EventBuffer, call: PollCall, timeout_ms: int) -> int:
        """Poll in short slices so a stop is noticed even under a long (or infinite) timeout."""
        lib = bpf()
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

    def _stop_answer(self) -> int:
        """-EINTR the first time (the app may end cleanly); after that the run is ended."""
        if self._told_to_stop:
            raise _Stopped
        self._told_to_stop = True
        return -errno.EINTR

    def _open_buffer(self, obj: LoadedObject, fd: int) -> EventBuffer | int:
        info = obj.maps[fd]
        lib = bpf()
        libbpf.log.take()
        if info.type == MAP_RINGBUF:
            cb = RING_SAMPLE_FN(lambda _ctx, data, size: self._deliver(obj, fd, data, size))
            ptr = lib.ring_buffer__new(fd, ctypes.cast(cb, c_void_p), None, None)
            if not ptr:
                self.diag(libbpf_failure(f"cannot open ring buffer {info.name}", libbpf.errno()))
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
                self.diag(libbpf_failure(f"cannot open perf buffer {info.name}", libbpf.errno()))
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
    lib = bpf()
    for buf in obj.buffers.values():
        if buf.kind == "ringbuf":
            lib.ring_buffer__free(buf.ptr)
        else:
            lib.perf_buffer__free(buf.ptr)
    obj.buffers.clear()
    for link in obj.links:
        lib.bpf_link__destroy(link)
    obj.links.clear()
    lib.bpf_object__close(obj.obj)
    obj.obj = 0


# -- entry points ------------------------------------------------------------------------------


def create_app(
    data: bytes,
    argv: list[str],
    stdout: IO[Any],
    stderr: IO[Any],
    options: RunOptions | None = None,
) -> GuestRuntime:
    """The app for ``data``, ready to ``run()`` (and ``stop()`` from another thread)."""
    options = options or RunOptions()
    engine = new_engine()
    module = compile_module(engine, data, options.name)
    if abi_of(module) == "ewasm":
        from .ewasm_host import EwasmApp

        return EwasmApp(engine, module, argv, stdout, stderr, options)
    return WasmBpfApp(engine, module, argv, stdout, stderr, options)


def run_wasm(
    data: bytes,
    argv: list[str],
    stdout: IO[Any],
    stderr: IO[Any],
    *,
    name: str = "app.wasm",
    duration: float | None = None,
    budget_s: float | None = DEFAULT_BUDGET_S,
    preopens: tuple[tuple[str, str], ...] = (),
) -> int:
    """Run a wasm-bpf or ewasm app to completion and return its exit code.

    ``argv`` are the app's arguments (the guest sees ``[name, *argv]``). Traps and the watchdog
    raise ``WasmTrapError``; a malformed module raises ``PackageError``; Ctrl-C returns 130.
    """
    options = RunOptions(name, duration, budget_s, preopens)
    return create_app(data, argv, stdout, stderr, options).run()
