"""Fuzzing the wasm host (issue 11, item 5): module bytes, import validation and every reader
of guest memory in the host ABI.

* random bytes and mutations of a small valid guest (one that calls WASI and every wasm_bpf
  import) are loaded, validated, instantiated and run under a short watchdog, a short duration
  and a small memory limit;
* the ABI's functions are called with wild pointers, lengths, handles and sizes over guest
  memory full of random bytes.

Every case must end as a result or a one-line ``LmpError`` within 2 s and 256 MB.
"""

from __future__ import annotations

import functools
import io
import struct

import wasmtime
from hypothesis import example, given
from hypothesis import strategies as st
from limits import bounded

from lmp_tui.runtime.wasm.guest import GuestMemory, GuestStopped, RunOptions, StreamSink
from lmp_tui.runtime.wasm.host import create_app
from lmp_tui.runtime.wasm.run import LineSink
from lmp_tui.runtime.wasm.wasm_bpf import WasmBpfApp

FUZZ_OPTIONS = {"budget_s": 0.2, "duration": 0.3, "memory_limit": 8 << 20}

# Calls every import once with plausible arguments: mutations make them wild.
SEED_GUEST = """(module
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $sleep (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "wasm_bpf" "wasm_load_bpf_object" (func $load (param i32 i32) (result i64)))
  (import "wasm_bpf" "wasm_attach_bpf_program" (func $attach (param i64 i32 i32) (result i32)))
  (import "wasm_bpf" "wasm_bpf_buffer_poll"
    (func $poll (param i64 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasm_bpf" "wasm_bpf_map_fd_by_name" (func $fd (param i64 i32) (result i32)))
  (import "wasm_bpf" "wasm_bpf_map_operate" (func $op (param i32 i32 i32 i32 i32 i64) (result i32)))
  (import "wasm_bpf" "wasm_close_bpf_object" (func $close (param i64) (result i32)))
  (memory (export "memory") 1 4)
  (table (export "__indirect_function_table") 2 funcref)
  (elem (i32.const 1) $cb)
  (func $cb (param i32 i32 i32) (result i32) (i32.const 0))
  (data (i32.const 0) "hello\\n")
  (data (i32.const 16) "\\00\\00\\00\\00\\06\\00\\00\\00")
  (data (i32.const 48) "events\\00handle_exec\\00")
  (data (i32.const 128) "\\00\\00\\00\\00\\00\\00\\00\\00\\00\\00\\00\\00\\00\\00\\00\\00\\01\\00\\00\\00")
  (data (i32.const 4096) "\\7fELF\\02\\01\\01\\00garbage")
  (func (export "_start") (local $h i64)
    (drop (call $write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 32)))
    (drop (call $clock (i32.const 1) (i64.const 0) (i32.const 40)))
    (local.set $h (call $load (i32.const 4096) (i32.const 64)))
    (drop (call $fd (i64.const 1) (i32.const 48)))
    (drop (call $attach (i64.const 1) (i32.const 55) (i32.const 0)))
    (drop (call $op (i32.const 3) (i32.const 1) (i32.const 0x500) (i32.const 0x600)
                    (i32.const 0) (i64.const 0)))
    (drop (call $poll (i64.const 1) (i32.const 3) (i32.const 1) (i32.const 0)
                      (i32.const 0x700) (i32.const 64) (i32.const 0)))
    (drop (call $close (local.get $h)))
    (drop (memory.grow (i32.const 1)))
    (memory.fill (i32.const 0x800) (i32.const 1) (i32.const 0x100))
    (drop (call $sleep (i32.const 128) (i32.const 256) (i32.const 1) (i32.const 320)))
    (call $exit (i32.const 0))))
"""


@functools.cache
def seed() -> bytes:
    return bytes(wasmtime.wat2wasm(SEED_GUEST))


def run_guest(data: bytes) -> int:
    out, err = io.StringIO(), io.StringIO()
    return create_app(data, ["x"], out, err, RunOptions("fuzz.wasm", **FUZZ_OPTIONS)).run()


def test_the_seed_guest_runs():
    assert bounded(run_guest, seed()) == 0


@given(st.binary(max_size=600), st.sampled_from([b"", b"\0asm", b"\0asm\x01\0\0\0"]))
@example(b"", b"\0asm\x01\0\0\0")
@example(b"\x05\x03\x01\x00\x01", b"\0asm\x01\0\0\0")  # one memory of 1 page, no exports
def test_fuzz_wasm_random_module_bytes(tail, head):
    bounded(run_guest, head + tail)


MUTATION = st.tuples(
    st.sampled_from(["set"] * 6 + ["insert", "delete", "truncate"]),  # mostly still valid
    st.integers(0, 1 << 16),
    st.integers(0, 255),
)


def mutate(data: bytes, mutations: list[tuple[str, int, int]]) -> bytes:
    buf = bytearray(data)
    for op, at, value in mutations:
        at = 8 + at % max(1, len(buf) - 8)  # the header stays: the interesting part is after
        if op == "set" and at < len(buf):
            buf[at] = value
        elif op == "insert":
            buf[at:at] = bytes([value])
        elif op == "delete":
            del buf[at : at + 1 + value % 4]
        elif op == "truncate":
            del buf[at:]
    return bytes(buf)


@given(st.lists(MUTATION, min_size=1, max_size=6))
def test_fuzz_wasm_mutated_guest(mutations):
    bounded(run_guest, mutate(seed(), mutations))


# Every argument of every call of the seed guest, drawn: the same host paths, from real wasm.
ARGS_GUEST = """(module
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $sleep (param i32 i32 i32 i32) (result i32)))
  (import "wasm_bpf" "wasm_load_bpf_object" (func $load (param i32 i32) (result i64)))
  (import "wasm_bpf" "wasm_attach_bpf_program" (func $attach (param i64 i32 i32) (result i32)))
  (import "wasm_bpf" "wasm_bpf_buffer_poll"
    (func $poll (param i64 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasm_bpf" "wasm_bpf_map_fd_by_name" (func $fd (param i64 i32) (result i32)))
  (import "wasm_bpf" "wasm_bpf_map_operate" (func $op (param i32 i32 i32 i32 i32 i64) (result i32)))
  (import "wasm_bpf" "wasm_close_bpf_object" (func $close (param i64) (result i32)))
  (memory (export "memory") 1 4)
  (table (export "__indirect_function_table") 2 funcref)
  (elem (i32.const 1) $cb)
  (func $cb (param i32 i32 i32) (result i32) (i32.const 0))
  (data (i32.const 0) "{fill}")
  (func (export "_start")
    (drop (call $write (i32.const {0}) (i32.const {1}) (i32.const {2}) (i32.const {3})))
    (drop (call $clock (i32.const {4}) (i64.const {5}) (i32.const {6})))
    (drop (call $load (i32.const {7}) (i32.const {8})))
    (drop (call $fd (i64.const {9}) (i32.const {10})))
    (drop (call $attach (i64.const {11}) (i32.const {12}) (i32.const {13})))
    (drop (call $op (i32.const {14}) (i32.const {15}) (i32.const {16}) (i32.const {17})
                    (i32.const {18}) (i64.const {19})))
    (drop (call $poll (i64.const {20}) (i32.const {21}) (i32.const {22}) (i32.const {23})
                      (i32.const {24}) (i32.const {25}) (i32.const {26})))
    (drop (call $close (i64.const {27})))
    (drop (call $sleep (i32.const {28}) (i32.const {29}) (i32.const {30}) (i32.const {31})))))
"""
ARGS = 32


@given(
    st.lists(
        st.integers(-(2**31), 2**31 - 1) | st.integers(0, 70000), min_size=ARGS, max_size=ARGS
    ),
    st.binary(max_size=256),
)
def test_fuzz_wasm_guest_with_wild_arguments(args, fill):
    text = ARGS_GUEST.replace("{fill}", "".join(f"\\{b:02x}" for b in fill))
    for i, value in enumerate(args):
        text = text.replace(f"{{{i}}}", str(value))
    bounded(run_guest, bytes(wasmtime.wat2wasm(text)))


# -- the host ABI over wild pointers ----------------------------------------------------------

ABI_GUEST = """(module
  (memory (export "memory") 1)
  (table (export "__indirect_function_table") 2 funcref)
  (elem (i32.const 1) $cb)
  (func $cb (param i32 i32 i32) (result i32) (i32.const 0))
  (func (export "go-callback") (param i32 i32 i32) (result i32) (i32.const 0))
  (func (export "_start")))
"""


@functools.cache
def abi_app() -> WasmBpfApp:
    """An instantiated app whose host functions are called directly (not run: no watchdog
    needed, nothing of the guest executes). Stopped, so a poll_oneoff sleep ends at once."""
    app = create_app(
        wasmtime.wat2wasm(ABI_GUEST), [], io.StringIO(), io.StringIO(), RunOptions("abi.wasm")
    )
    assert isinstance(app, WasmBpfApp)
    app.stdout = StreamSink(io.StringIO(), lambda: None)
    app.stderr = StreamSink(io.StringIO(), lambda: None)
    app.instantiate()
    app.stop()
    return app


I32 = st.one_of(
    st.integers(-(2**31), 2**31 - 1),
    st.integers(0, 70000),
    st.sampled_from([0, 1, -1, 65535, 65536, 65537, 2**31 - 1, -(2**31)]),
)
I64 = st.one_of(st.integers(-(2**63), 2**63 - 1), st.integers(-2, 70))
CALLS = st.sampled_from(
    [
        "load",
        "attach",
        "map_fd_by_name",
        "map_operate",
        "close",
        "buffer_poll",
        "go_buffer_poll",
        "poll_oneoff",
        "clock_time_get",
        "cstring",
        "read",
        "write",
        "address",
    ]
)


def call_host(name: str, memory_at: int, memory: bytes, args: list[int]) -> object:
    app = abi_app()
    assert app.memory is not None
    app.memory.write(memory_at % 65536, memory[: 65536 - memory_at % 65536])
    i32s = [a & 0xFFFFFFFF if a >= 0 else a for a in args]
    calls = {
        "load": lambda: app.load(*i32s[:2]),
        "attach": lambda: app.attach(args[0], *i32s[1:3]),
        "map_fd_by_name": lambda: app.map_fd_by_name(args[0], i32s[1]),
        "map_operate": lambda: app.map_operate(*i32s[:5], args[5]),
        "close": lambda: app.close(args[0]),
        "buffer_poll": lambda: app.buffer_poll(args[0], *i32s[1:7]),
        "go_buffer_poll": lambda: app.go_buffer_poll(args[0], *i32s[1:6]),
        "poll_oneoff": lambda: app._poll_oneoff(*i32s[:4]),
        "clock_time_get": lambda: app._clock_time_get(i32s[0], args[1], i32s[2]),
        "cstring": lambda: app.memory and app.memory.cstring(args[0], abs(args[1])),
        "read": lambda: app.memory and app.memory.read(args[0], args[1]),
        "write": lambda: app.memory and app.memory.write(args[0], memory[: args[1] % 512]),
        "address": lambda: app.memory and app.memory.address(args[0], args[1]),
    }
    try:
        return calls[name]()
    except GuestStopped:  # poll_oneoff's answer to a sleep once the run is stopped
        return "stopped"


@given(
    CALLS,
    st.integers(0, 65535),
    st.binary(max_size=1024),
    st.lists(st.one_of(I32, I64), min_size=7, max_size=7),
)
def test_fuzz_wasm_host_abi_wild_pointers(name, memory_at, memory, args):
    result = bounded(call_host, name, memory_at, memory, args)
    if name in ("load", "attach", "map_fd_by_name", "close"):
        assert result in (0, -1)  # no object ever loads from this memory


@given(st.lists(st.tuples(I32, I32), max_size=20))
def test_fuzz_wasm_empty_memory(spans):
    """A memory of 0 pages: nothing is in bounds but the empty span at 0."""
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    memory = GuestMemory(wasmtime.Memory(store, wasmtime.MemoryType(wasmtime.Limits(0, 0))), store)
    for ptr, length in spans:
        assert bounded(memory.read, ptr, length) in (None, b"")
        assert bounded(memory.cstring, ptr) is None
        assert bounded(memory.write, ptr, b"x") is False


@given(st.lists(st.text(max_size=300), max_size=30))
def test_fuzz_wasm_output_lines(writes):
    lines: list[str] = []
    sink = LineSink(lines.append, max_line=100)
    for text in writes:
        bounded(sink.write, text)
    sink.close()
    assert all(len(line) <= 100 and "\n" not in line for line in lines)
    assert len(lines) <= sum(t.count("\n") for t in writes) + 1


def test_subscriptions_are_bounded():
    app = abi_app()
    assert app._poll_oneoff(0, 0, 1 << 20, 0) == 28  # EINVAL, not 48 MB of tuples
    assert struct.calcsize("<QB7xIxxxxQQH6x") == 48
