"""What every wasm app gets from its host, whatever its ABI: wasmtime, WASI, guest memory.

A ``GuestRuntime`` compiles and instantiates a module with WASI (``argv = [module, args...]``,
stdout and stderr sent to the given streams, no stdin, no environment and no filesystem unless
directories are preopened), checks that the host provides every import, and keeps the promises
made to the user around the guest:

* a watchdog: wasm code that runs for ``budget_s`` (1 s) without calling the host is stopped with
  a clear message (wasmtime epoch interruption, ticked by a thread). Time blocked in the host
  (polling for events, or sleeping: ``poll_oneoff`` is implemented here so it can be) does not
  count;
* graceful stops: Ctrl-C, SIGTERM, SIGHUP, ``duration`` and ``stop()`` make the ABI's poll call
  return ``-EINTR`` as the guest's libc numbers it (wasi-libc: 27) and cut short any sleep, so an
  app written like wasm-bpf's examples leaves its loop and exits through its own path, flushing
  its stdio. Only an app still running a second later is ended (``FORCED_EXIT`` status, one
  line on stderr); a second signal ends it at once. The exit status is the guest's own when it
  ends by itself, 0 when it honoured a stop;
* everything the guest loaded is released when the run ends (``cleanup``): normal exit,
  ``proc_exit``, trap, watchdog, stop, or Ctrl-C;
* bounded resources: one linear memory of at most ``memory_limit`` bytes (128 MiB: wasm-bpf apps
  use a few MiB), one instance, a few tables of at most 2^20 elements; ``memory.grow`` past the
  limit returns -1 in the guest. No proposal that allocates outside linear memory (GC,
  exceptions, stack switching, threads, multi-memory, memory64). Bulk memory stays (clang and
  rustc emit it): capped memory keeps one ``memory.fill`` or ``memory.copy`` to tens of
  milliseconds, so the watchdog's second holds;
* host calls nest (a callback calling the host calling the callback...) at most ``MAX_NESTING``
  deep.

The ABIs themselves: ``wasm_bpf`` (wasm-bpf apps) and ``ewasm`` (legacy eunomia modules).
"""

from __future__ import annotations

import codecs
import contextlib
import ctypes
import io
import math
import os
import signal
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any, Literal, cast

import wasmtime

from ..errors import LmpError, PackageError
from ..untrusted import shown

Output = IO[Any] | io.TextIOBase
"""Where a guest's stdout or stderr goes: a file (its bytes as they are) or any text stream."""

WASM_MAGIC = b"\0asm"
WASI_MODULE = "wasi_snapshot_preview1"

EPOCH_TICK_S = 0.05
DEFAULT_BUDGET_S = 1.0
STOP_GRACE_S = 1.0
POLL_SLICE_MS = 100
MAX_CSTRING = 4096
MiB = 1 << 20
DEFAULT_MEMORY_LIMIT = 128 * MiB
MAX_TABLE_ELEMENTS = 1 << 20
MAX_TABLES = 4
MAX_NESTING = 16
MAX_SUBSCRIPTIONS = 4096  # poll_oneoff: wasi-libc's poll() passes one per fd, plus a timer
NAME_CHARS = 80  # a guest-chosen name (import, function) in a message
# Compiling costs memory: up to ~75 bytes of RSS per byte of (dense) code, kept with the module.
# Real wasm-bpf apps have well under 2 MiB of code; a module with more is refused unread.
MAX_CODE_BYTES = 8 * MiB
MAX_FUNCTION_BYTES = 1 * MiB
CODE_SECTION = 10


class WasmTrapError(LmpError):
    """The app trapped, or the watchdog stopped it; the message says where and why."""


class GuestExit(BaseException):
    """Raised through the guest by an import that ends the program (``env.exit``)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class GuestStopped(BaseException):
    """Raised through the guest to end a run it did not end itself within ``STOP_GRACE_S`` of
    being asked to.

    A BaseException so that guest-facing ``except Exception`` code never swallows it.
    """


StopReason = Literal["interrupt", "terminate", "hangup", "duration", "request"]
# What a stop is called in the line said when the guest had to be ended, and the exit status
# then: a signal's as a shell reports it, timeout(1)'s for --duration.
STOP_CAUSES: dict[StopReason, str] = {
    "interrupt": "Ctrl-C",
    "terminate": "SIGTERM",
    "hangup": "SIGHUP",
    "duration": "--duration",
    "request": "the stop",
}
FORCED_EXIT: dict[StopReason, int] = {
    "interrupt": 130,
    "terminate": 143,
    "hangup": 129,
    "duration": 124,
    "request": 0,
}
SIGNAL_REASONS: dict[int, StopReason] = {
    signal.SIGINT: "interrupt",
    signal.SIGTERM: "terminate",
    signal.SIGHUP: "hangup",
}
WASI_EINTR = 27  # wasi-libc's EINTR (Linux's is 4): what a WASI guest compares a poll result with


# -- options and output ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunOptions:
    """How to run an app. ``budget_s=None`` disables the watchdog."""

    name: str = "app.wasm"
    duration: float | None = None
    budget_s: float | None = DEFAULT_BUDGET_S
    preopens: tuple[tuple[str, str], ...] = ()
    on_event: Callable[[str], None] | None = None  # ewasm: events the guest kept
    memory_limit: int = DEFAULT_MEMORY_LIMIT  # bytes of linear memory the guest may have


class StreamSink:
    """A WASI output stream: wasmtime writes into a pipe, a thread copies it to a Python stream.

    Not wasmtime's custom-output callback: it runs on a runtime thread of wasmtime, and a Python
    callback there can abort the process when the interpreter exits. The pipe also keeps the
    host's own lines (``line``) in order with the guest's. A closed output (``lmp run app.wasm |
    head``) stops the run instead of failing every write.
    """

    def __init__(self, stream: Output, on_broken: Callable[[], None]) -> None:
        self.stream = stream
        self.on_broken = on_broken
        self.binary: io.RawIOBase | io.BufferedIOBase | None = None
        if isinstance(stream, io.RawIOBase | io.BufferedIOBase):
            self.binary = stream
        elif isinstance(buffer := getattr(stream, "buffer", None), io.BufferedIOBase):
            self.binary = buffer
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
                if self.binary is not cast(object, self.stream):
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

    def write(self, data: bytes) -> None:
        """The guest's own bytes, as they are (a printf the host runs for it), in order with
        what it writes through WASI."""
        view = memoryview(data)
        with contextlib.suppress(OSError):
            while view:
                view = view[os.write(self._write_fd, view) :]

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


def clean(text: str | None, limit: int = NAME_CHARS) -> str:
    """A name the guest chose, fit for a one-line message: control characters escaped, and cut
    at ``limit`` characters."""
    return shown(text or "", limit)


def trap_reason(exc: BaseException) -> str:
    """The one line that says why a trap happened (wasmtime messages open with a backtrace)."""
    text = exc.message if isinstance(exc, wasmtime.Trap) else str(exc)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return clean(lines[-1], 300) if lines else "unknown trap"


def trap_function(exc: BaseException) -> str | None:
    if isinstance(exc, wasmtime.Trap):
        with contextlib.suppress(Exception):
            frames = exc.frames
            if frames and frames[0].func_name:
                return clean(frames[0].func_name)
    return None


def describe(ty: Any) -> str:
    """An import's or extern's type, as a message says it."""
    if isinstance(ty, wasmtime.FuncType):
        return (
            f"a function ({', '.join(map(str, ty.params))}) -> ({', '.join(map(str, ty.results))})"
        )
    kinds = {
        wasmtime.MemoryType: "a memory",
        wasmtime.TableType: "a table",
        wasmtime.GlobalType: "a global",
    }
    return next((name for cls, name in kinds.items() if isinstance(ty, cls)), "something else")


def same_func_type(a: Any, b: Any) -> bool:
    return (
        isinstance(a, wasmtime.FuncType)
        and isinstance(b, wasmtime.FuncType)
        and list(map(str, a.params)) == list(map(str, b.params))
        and list(map(str, a.results)) == list(map(str, b.results))
    )


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
        stdout: Output,
        stderr: Output,
        options: RunOptions,
    ) -> None:
        self.options = options
        self.name = options.name
        self.argv = [self.name, *argv]
        self.engine = engine
        self.module = module
        self.store = wasmtime.Store(self.engine)
        self.store.set_limits(
            memory_size=options.memory_limit,
            table_elements=MAX_TABLE_ELEMENTS,
            instances=1,
            tables=MAX_TABLES,
            memories=1,
        )
        self._nesting = 0
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
        self._stop_reason: StopReason = "request"
        self._at_once = False
        """A second stop signal came: the grace was cut short."""
        self._deadline: float | None = None  # from run(): duration counts from the start

    # -- stopping ---------------------------------------------------------------------------------

    @property
    def stop_reason(self) -> StopReason:
        """Why the app was asked to stop (``request`` until it is): the CLI's exit status."""
        return self._stop_reason

    def stop(self, reason: StopReason = "request") -> None:
        """Ask the app to end (thread-safe): -EINTR from its polls, sleeps cut short, ended a
        second later if it has not ended by then."""
        if self._stop_at is None:
            self._stop_reason = reason
            self._stop_at = time.monotonic()

    @property
    def stop_requested(self) -> bool:
        return self._stop_at is not None

    def check_forced_stop(self) -> None:
        if self._stop_at is not None and time.monotonic() - self._stop_at > STOP_GRACE_S:
            raise GuestStopped

    def _tick(self) -> None:
        if self._deadline is not None and time.monotonic() >= self._deadline:
            self.stop("duration")

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
            if self._nesting >= MAX_NESTING:
                raise WasmTrapError(
                    f"{self.name}: host calls nested more than {MAX_NESTING} deep "
                    "(a callback that calls the host, which calls it back...)"
                )
            self._nesting += 1
            try:
                return fn(*args)
            finally:
                self._nesting -= 1
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

    def _unknown_import(self, module: str, name: str) -> PackageError:
        return PackageError(
            f"{self.name} imports {clean(module)}.{clean(name)}, which lmp does not provide "
            f"({self.abi_description})"
        )

    def _check_imports(self) -> None:
        """Names first: an import of another ABI is refused before the host is set up."""
        provided = self.provided()
        for imp in self.module.imports:
            if imp.module != WASI_MODULE and (imp.module, imp.name or "") not in provided:
                raise self._unknown_import(imp.module, imp.name or "")

    def _check_import_types(self) -> None:
        """Then each import against what the linker holds: a WASI name that does not exist, or a
        function imported with another signature (or as a memory, table, global)."""
        for imp in self.module.imports:
            name = imp.name or ""
            try:
                ours = self.linker.get(self.store, imp.module, name)
            except wasmtime.WasmtimeError:
                raise self._unknown_import(imp.module, name) from None
            have = ours.type(self.store) if isinstance(ours, wasmtime.Func) else None
            if not same_func_type(imp.type, have):
                raise PackageError(
                    f"{self.name} imports {clean(imp.module)}.{clean(name)} as "
                    f"{describe(imp.type)}, but lmp provides {describe(have)}"
                )

    def instantiate(self) -> wasmtime.Instance:
        self._check_imports()
        self._wasi()
        self.define_imports()
        self._check_import_types()
        self.watchdog.arm(self.store)
        try:
            self.instance = self.linker.instantiate(self.store, self.module)
        except wasmtime.WasmtimeError as exc:
            raise PackageError(f"{self.name}: cannot instantiate: {self._refusal(exc)}") from None
        memory = self.export("memory")
        if not isinstance(memory, wasmtime.Memory):
            raise PackageError(f"{self.name} does not export its linear memory as 'memory'")
        self.memory = GuestMemory(memory, self.store)
        return self.instance

    def _refusal(self, exc: BaseException) -> str:
        reason = trap_reason(exc)
        if "exceeds memory limits" in reason:
            return f"{reason} (lmp allows {self.options.memory_limit / MiB:g} MiB)"
        if "exceeds table limits" in reason:
            return f"{reason} (lmp allows {MAX_TABLE_ELEMENTS} elements)"
        return reason

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
        restore = self._stop_on_signals()
        if self.options.duration is not None:
            self._deadline = time.monotonic() + self.options.duration
        self.watchdog.start()
        try:
            self.stdout = StreamSink(self._streams[0], self.stop)
            self.stderr = StreamSink(self._streams[1], self.stop)
            return self._status(self.main())
        except (wasmtime.ExitTrap, GuestExit) as exc:
            return self._status(exc.code)
        except GuestStopped:
            return self._forced(at_once=self._at_once)
        except KeyboardInterrupt:  # a second signal: the user does not want to wait
            return self._forced(at_once=True)
        except wasmtime.Trap as exc:
            if self.stop_requested and exc.trap_code == wasmtime.TrapCode.INTERRUPT:
                # the watchdog ended a guest that went on after a stop
                return self._forced(at_once=self._at_once)
            raise self.trap_error(exc) from None
        except wasmtime.WasmtimeError as exc:
            raise WasmTrapError(f"{self.name}: {trap_reason(exc)}") from None
        finally:
            self.watchdog.close()
            self.cleanup()
            # Dropping the store closes wasmtime's ends of the output pipes: their readers
            # then see EOF once every byte the guest wrote is through.
            self.store.close()
            # The linker holds the host functions, which wasmtime-py keeps in a global table
            # (referring back to this runtime) until the linker is dropped: without this, each
            # guest run in one process (the TUI, a fuzzer) kept ~90 KB for good.
            self.linker.close()
            for sink in (self.stdout, self.stderr):
                if sink is not None:
                    sink.close()
            restore()

    def _status(self, code: int) -> int:
        """The guest's own exit status, or 0 when it ended because it was asked to."""
        return 0 if self.stop_requested else code

    def _forced(self, at_once: bool = False) -> int:
        cause = STOP_CAUSES[self._stop_reason]
        if at_once:
            self.diag(f"stopped at once ({cause} twice)")
        else:
            self.diag(f"did not end within {STOP_GRACE_S:g} s of {cause}: stopped")
        return FORCED_EXIT[self._stop_reason]

    def _stop_on_signals(self) -> Callable[[], None]:
        """Ctrl-C, SIGTERM and SIGHUP ask the guest to end (a second one ends it now); only the
        main thread can set handlers (the TUI runs guests in threads and stops them itself)."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None

        def on_signal(sig: int, _frame: Any) -> None:
            if self.stop_requested and self._stop_reason != "duration":
                # Not an exception from here: raised while wasmtime is in a host call's ctypes
                # trampoline it would only be printed ("Exception ignored"). The grace is over
                # instead: the forced stop's own path ends the guest at its next check.
                self._at_once = True
                self._stop_at = time.monotonic() - STOP_GRACE_S - 1
                return
            self._stop_at = None  # a signal after --duration's stop: its cause is the one said
            self.stop(SIGNAL_REASONS[sig])

        try:
            old = {sig: signal.signal(sig, on_signal) for sig in SIGNAL_REASONS}
        except ValueError:
            return lambda: None

        def restore() -> None:
            for sig, handler in old.items():
                signal.signal(sig, handler)

        return restore

    def main(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def cleanup(self) -> None:
        """Release whatever the guest loaded; runs on every way out."""

    def trap_error(self, exc: wasmtime.Trap, where: str = "") -> WasmTrapError:
        if exc.trap_code == wasmtime.TrapCode.INTERRUPT:
            return WasmTrapError(
                f"{self.name}: stopped: it ran for {self.options.budget_s:g} s without returning "
                f"to the host{where} (an endless loop?){self._memory_note()}"
            )
        func = trap_function(exc)
        at = f" (in {func})" if func else ""
        reason = trap_reason(exc).removeprefix("wasm trap: ")
        return WasmTrapError(f"{self.name}: trapped{where}: {reason}{at}{self._memory_note()}")

    def _memory_note(self) -> str:
        """Said with a trap when the guest was near its memory limit: a failed allocation is a
        common reason for a guest to give up (Rust aborts) or to go round in circles."""
        with contextlib.suppress(Exception):
            limit = self.options.memory_limit
            if self.memory is not None and (size := self.memory.size) >= limit * 3 // 4:
                return f" (its memory: {size / MiB:.0f} of the {limit / MiB:g} MiB lmp allows)"
        return ""

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
        if not 0 < nsubs <= MAX_SUBSCRIPTIONS:
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
            self.wait(first / 1e9)  # cut short by a stop: the app goes on to its next poll
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


def _leb_u32(data: bytes, at: int) -> tuple[int, int]:
    """An unsigned LEB128 at ``at``: (value, next offset); (-1, at) when malformed."""
    value = shift = 0
    for i in range(at, min(at + 5, len(data))):
        value |= (data[i] & 0x7F) << shift
        shift += 7
        if not data[i] & 0x80:
            return value, i + 1
    return -1, at


def code_size_problem(data: bytes) -> str | None:
    """What makes the module too costly to compile, from its section headers alone: the code
    section or one function body over the limits. Anything malformed is left to wasmtime."""
    at = 8
    while at < len(data):
        section = data[at]
        size, body = _leb_u32(data, at + 1)
        if size < 0:
            return None
        if section == CODE_SECTION:
            if size > MAX_CODE_BYTES:
                return f"{size / MiB:.1f} MiB of code (lmp compiles at most {MAX_CODE_BYTES // MiB} MiB)"
            count, at = _leb_u32(data, body)
            for _ in range(max(count, 0)):
                length, at = _leb_u32(data, at)
                if length < 0:
                    return None
                if length > MAX_FUNCTION_BYTES:
                    return (
                        f"a function of {length / MiB:.1f} MiB "
                        f"(lmp compiles at most {MAX_FUNCTION_BYTES // MiB} MiB each)"
                    )
                at += length
            return None
        at = body + size
    return None


def compile_module(engine: wasmtime.Engine, data: bytes, name: str) -> wasmtime.Module:
    if data[:4] != WASM_MAGIC:
        raise PackageError(f"{name}: not a WebAssembly module (no \\0asm magic)")
    if problem := code_size_problem(data):
        raise PackageError(f"{name}: too big to run: {problem}")
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
    # Nothing beyond one linear memory and funcref tables, all under the store's limits.
    config.wasm_multi_memory = False
    config.wasm_memory64 = False
    config.wasm_threads = False
    config.shared_memory = False
    config.wasm_gc = False
    config.wasm_function_references = False
    config.wasm_exceptions = False
    config.wasm_stack_switching = False
    config.wasm_component_model = False
    config.gc_support = False
    return wasmtime.Engine(config)


def detect_abi(data: bytes, name: str = "app.wasm") -> str:
    return abi_of(compile_module(new_engine(), data, name))
