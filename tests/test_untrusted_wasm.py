"""Issue 11, item 5: untrusted wasm guests cannot exhaust memory or outlive the watchdog.

Each runaway guest runs through the real CLI (``lmp run guest.wasm``) in a process of its own:
it must end within 1.5 s of starting its work (it prints ``start`` first), with one line on
stderr and a non-zero status, and the process's peak RSS (``wait4``) must stay under 300 MB.
Guests that ask for more than the host allows, import what it does not provide, or do not
validate are refused in one line.
"""

from __future__ import annotations

import io
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import wasmtime
from conftest import ROOT
from peak_rss import launched, reported

from lmp_tui.runtime.errors import PackageError
from lmp_tui.runtime.wasm.guest import (
    DEFAULT_MEMORY_LIMIT,
    MAX_NESTING,
    RunOptions,
    WasmTrapError,
    clean,
)
from lmp_tui.runtime.wasm.host import create_app, run_wasm
from lmp_tui.runtime.wasm.run import LineSink

LMP = str(Path(sys.executable).with_name("lmp"))
STOP_S = 1.5
RSS_MB = 300

# fd_write(stdout, "start\n") at address 0 (iovec at 16, nwritten at 32): the clock starts.
START = """
  (import "wasi_snapshot_preview1" "fd_write"
    (func $write (param i32 i32 i32 i32) (result i32)))
  (data (i32.const 0) "start\\n")
  (data (i32.const 16) "\\00\\00\\00\\00\\06\\00\\00\\00")
  (func $start_clock
    (drop (call $write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 32))))
"""

GROW_FOREVER = f"""(module
{START}
  (memory (export "memory") 1)
  (func (export "_start") (local $r i32)
    (call $start_clock)
    ;; 1 MiB at a time, each page touched; on past the limit (grow returns -1)
    (loop $l
      (local.set $r (memory.grow (i32.const 16)))
      (if (i32.ne (local.get $r) (i32.const -1))
        (then (memory.fill (i32.shl (local.get $r) (i32.const 16)) (i32.const 1)
                           (i32.const 0x100000))))
      (br $l))))
"""

GROW_AT_ONCE = f"""(module
{START}
  (memory (export "memory") 1)
  (func (export "_start")
    (call $start_clock)
    ;; 4 GiB, then 6 GiB worth of growth in one go: both refused in the guest
    (if (i32.ne (memory.grow (i32.const 65535)) (i32.const -1)) (then unreachable))
    (if (i32.ne (memory.grow (i32.const -1)) (i32.const -1)) (then unreachable))
    (loop $l (br $l))))
"""

# Grows to the limit, then fills (or copies) all of it, over and over.
FILL_ALL = f"""(module
{START}
  (memory (export "memory") 1)
  (func (export "_start") (local $n i32)
    (call $start_clock)
    (loop $g (br_if $g (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
    (local.set $n (i32.shl (memory.size) (i32.const 16)))
    (loop $l
      OP
      (br $l))))
"""
FILL = "(memory.fill (i32.const 0) (i32.const 0x5a) (local.get $n))"
COPY = (
    "(memory.copy (i32.const 0) (i32.shr_u (local.get $n) (i32.const 1))"
    " (i32.shr_u (local.get $n) (i32.const 1)))"
)

# The 4 GiB fill of the issue: as much memory as the guest can get, then 4 GiB - 1 bytes.
FILL_4GIB = f"""(module
{START}
  (memory (export "memory") 1)
  (func (export "_start")
    (call $start_clock)
    (drop (memory.grow (i32.const 65535)))
    (loop $g (br_if $g (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
    (memory.fill (i32.const 0) (i32.const 7) (i32.const -1))))
"""

TABLE_GROW = f"""(module
{START}
  (memory (export "memory") 1)
  (table $t 1 funcref)
  (func (export "_start")
    (call $start_clock)
    (if (i32.ne (table.grow $t (ref.null func) (i32.const 0x7fffffff)) (i32.const -1))
      (then unreachable))
    (loop $l (drop (table.grow $t (ref.null func) (i32.const 4096))) (br $l))))
"""


def wasm(tmp_path: Path, text: str, name: str = "guest.wasm") -> Path:
    path = tmp_path / name
    path.write_bytes(wasmtime.wat2wasm(text))
    return path


def lmp_run(path: Path, tmp_path: Path) -> tuple[int, float | None, int, str]:
    """``lmp run path``: (status, seconds from the guest's ``start`` to the exit, peak RSS in
    MB of that process alone (``peak_rss``), stderr)."""
    err = tmp_path / "stderr"
    report = tmp_path / "peak"
    with err.open("wb") as stderr:
        proc = subprocess.Popen(
            launched([str(LMP), "run", str(path)], report),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
    started: list[float] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.strip() == b"start" and not started:
                started.append(time.monotonic())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    timer = threading.Timer(20, proc.kill)  # a hang fails the test, it does not stall it
    timer.start()
    try:
        proc.wait()
        ended = time.monotonic()
    finally:
        timer.cancel()
    reader.join(5)
    seconds = ended - started[0] if started else None
    status, peak = reported(report)
    return status, seconds, peak >> 20, err.read_text()


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


@pytest.mark.parametrize(
    ("guest", "expected"),
    [
        (GROW_FOREVER, "stopped: it ran for 1 s"),
        (GROW_AT_ONCE, "stopped: it ran for 1 s"),
        (FILL_ALL.replace("OP", FILL), "stopped: it ran for 1 s"),
        (FILL_ALL.replace("OP", COPY), "stopped: it ran for 1 s"),
        (FILL_4GIB, "trapped: out of bounds memory access"),
        (TABLE_GROW, "stopped: it ran for 1 s"),
    ],
    ids=["grow-forever", "grow-4gib-at-once", "fill-all", "copy-all", "fill-4gib", "table-grow"],
)
def test_item5_runaway_guests_stop_within_1_5_s_under_300_mb(tmp_path, guest, expected):
    status, seconds, rss_mb, stderr = lmp_run(wasm(tmp_path, guest), tmp_path)
    line = one_line(stderr)
    print(f"stopped {seconds:.2f} s after start, peak RSS {rss_mb} MB: {line}")
    assert status != 0
    assert expected in line
    assert seconds is not None, "the guest never started"
    assert seconds < STOP_S
    assert rss_mb < RSS_MB


def test_item5_a_guest_at_its_limit_is_told_so():
    app = create_app(
        wasmtime.wat2wasm(GROW_FOREVER),
        [],
        io.StringIO(),
        io.StringIO(),
        RunOptions(budget_s=0.3, memory_limit=4 << 20),
    )
    with pytest.raises(WasmTrapError, match=r"\(its memory: 3 of the 4 MiB lmp allows\)"):
        app.run()


def test_item5_the_memory_limit_is_the_documented_one():
    assert DEFAULT_MEMORY_LIMIT == 128 << 20
    grows = """(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    ;; 127 more pages than the first make 128 MiB - 64 KiB... then exactly 128 MiB: allowed
    (if (i32.eq (memory.grow (i32.const 2047)) (i32.const -1)) (then (call $exit (i32.const 1))))
    ;; one page more: refused
    (if (i32.ne (memory.grow (i32.const 1)) (i32.const -1)) (then (call $exit (i32.const 2))))
    (call $exit (i32.const 0))))"""
    assert run_wasm(wasmtime.wat2wasm(grows), [], io.StringIO(), io.StringIO()) == 0


@pytest.mark.parametrize(
    ("text", "match"),
    [
        # 4 GiB of initial memory: refused before anything runs
        (
            '(module (memory (export "memory") 65536) (func (export "_start")))',
            r"cannot instantiate: memory minimum size .* exceeds memory limits"
            r" \(lmp allows 128 MiB\)",
        ),
        (
            '(module (memory (export "memory") 1) (table 2000000 funcref)'
            ' (func (export "_start")))',
            r"cannot instantiate: table minimum size .* exceeds table limits",
        ),
        # what the 6.2 GB guests used: more than one memory
        (
            '(module (memory (export "memory") 1) (memory 1) (func (export "_start")))',
            r"invalid WebAssembly module: multiple memories",
        ),
        ('(module (memory (export "memory") i64 1) (func (export "_start")))', r"memory64"),
        ('(module (memory (export "memory") 1 1 shared) (func (export "_start")))', r"thread"),
        (
            '(module (memory (export "memory") 1) (table 1 externref) (func (export "_start")))',
            r"invalid WebAssembly module",
        ),
    ],
    ids=["4gib-initial", "huge-table", "multi-memory", "memory64", "shared", "externref"],
)
def test_item5_guests_asking_for_too_much_are_refused_in_one_line(text, match):
    with pytest.raises(PackageError, match=match) as exc:
        run_wasm(wasmtime.wat2wasm(text), [], io.StringIO(), io.StringIO())
    one_line(str(exc.value))


IMPORT_CASES = [
    ('(import "env" "frobnicate" (func))', r"imports env\.frobnicate, which lmp does not provide"),
    (
        '(import "wasi_snapshot_preview1" "no_such_call" (func))',
        r"imports wasi_snapshot_preview1\.no_such_call, which lmp does not provide",
    ),
    (
        '(import "wasm_bpf" "wasm_load_bpf_object" (func (param i32) (result i32)))',
        r"imports wasm_bpf\.wasm_load_bpf_object as a function \(i32\) -> \(i32\), but lmp "
        r"provides a function \(i32, i32\) -> \(i64\)",
    ),
    (
        '(import "wasm_bpf" "wasm_close_bpf_object" (table 1 funcref))',
        r"imports wasm_bpf\.wasm_close_bpf_object as a table, but lmp provides a function",
    ),
    (
        '(import "wasi_snapshot_preview1" "fd_write" (global i32))',
        r"imports wasi_snapshot_preview1\.fd_write as a global, but lmp provides a function",
    ),
    ('(import "env\\0a\\1b[2J" "x\\0ay" (func))', r"imports env\\n\\x1b\[2J\.x\\ny, which"),
    ('(import "env" "' + "n" * 5000 + '" (func))', r"imports env\.n{77}\.\.\., which"),
]


@pytest.mark.parametrize(("imports", "match"), IMPORT_CASES)
def test_item5_unknown_or_mistyped_imports_are_one_line(imports, match):
    data = wasmtime.wat2wasm(
        f'(module {imports} (memory (export "memory") 1) (func (export "_start")))'
    )
    with pytest.raises(PackageError, match=match) as exc:
        run_wasm(data, [], io.StringIO(), io.StringIO())
    one_line(str(exc.value))


def test_item5_unknown_import_through_the_cli_is_one_line(tmp_path):
    path = wasm(
        tmp_path,
        '(module (import "env" "frobnicate" (func)) (memory (export "memory") 1)'
        ' (func (export "_start")))',
    )
    cli = subprocess.run([LMP, "run", str(path)], capture_output=True, text=True, timeout=30)
    assert cli.returncode != 0
    line = one_line(cli.stderr)
    assert "guest.wasm imports env.frobnicate, which lmp does not provide" in line


@pytest.mark.parametrize(
    "data",
    [
        b"\0asm\x01\0\0\0\x01\xff\xff\xff\xff\x0f",  # a section longer than the module
        b"\0asm\x02\0\0\0",  # another version
        b"\0asm\x0d\0\x01\0",  # a component
        b"\0asm",
    ],
    ids=["section-length", "version", "component", "truncated"],
)
def test_item5_a_module_that_does_not_validate_is_one_line(data):
    with pytest.raises(PackageError, match="invalid WebAssembly module") as exc:
        run_wasm(data, [], io.StringIO(), io.StringIO())
    one_line(str(exc.value))


def test_item5_start_and_initialize_with_parameters_are_refused():
    data = wasmtime.wat2wasm(
        '(module (memory (export "memory") 1) (func (export "_start") (param i32)))'
    )
    with pytest.raises(PackageError, match="_start takes or returns values"):
        run_wasm(data, [], io.StringIO(), io.StringIO())


def name_section(func_name: bytes) -> bytes:
    """A custom "name" section naming function 0 (sizes under 128: one-byte LEBs)."""
    names = b"\x01\x00" + bytes([len(func_name)]) + func_name  # one name: function 0
    sub = b"\x01" + bytes([len(names)]) + names
    body = b"\x04name" + sub
    return b"\x00" + bytes([len(body)]) + body


def test_item5_a_function_name_in_a_trap_is_one_line():
    data = wasmtime.wat2wasm(
        '(module (memory (export "memory") 1) (func (export "_start") unreachable))'
    )
    with pytest.raises(WasmTrapError) as exc:
        data += name_section(b"evil\nsecond line\x1b[2J")
        run_wasm(data, [], io.StringIO(), io.StringIO())
    assert one_line(str(exc.value)).endswith("(in evil\\nsecond line\\x1b[2J)")


def test_item5_host_calls_nest_only_so_deep():
    # Host calls re-enter through the guest's callbacks (buffer_poll -> callback -> poll...);
    # the depth counter of the import wrapper is what ends it, so drive the wrapper directly.
    data = wasmtime.wat2wasm(
        '(module (import "wasi_snapshot_preview1" "sched_yield" (func $y (result i32)))'
        ' (memory (export "memory") 1) (func (export "_start") (drop (call $y))))'
    )
    app = create_app(data, [], io.StringIO(), io.StringIO(), RunOptions())
    depth = []

    def nest() -> None:
        depth.append(1)
        app.host_function(nest)()

    with pytest.raises(WasmTrapError, match=f"nested more than {MAX_NESTING} deep"):
        app.host_function(nest)()
    assert len(depth) == MAX_NESTING


def test_item5_a_guest_line_without_newline_is_bounded():
    lines: list[str] = []
    sink = LineSink(lines.append, max_line=100)
    started = time.monotonic()
    for _ in range(20000):
        sink.write("x" * 1000)
    sink.write("y\nshort\n")
    sink.close()
    assert lines == ["x" * 100, "short"]
    assert time.monotonic() - started < 1


def test_clean_escapes_and_cuts():
    assert clean("a\nb\x1b") == "a\\nb\\x1b"
    assert clean("é ok") == "é ok"
    assert len(clean("z" * 1000)) == 80
    assert clean(None) == ""


def function(instructions: int) -> str:
    return "(func " + "(drop (i32.add (i32.const 1) (i32.const 2)))" * instructions + ")"


@pytest.mark.parametrize(
    ("functions", "match"),
    [
        ([function(200_000)], r"a function of 1\.\d MiB \(lmp compiles at most 1 MiB each\)"),
        ([function(100_000)] * 16, r"9\.\d MiB of code \(lmp compiles at most 8 MiB\)"),
    ],
    ids=["one-big-function", "much-code"],
)
def test_item5_code_too_costly_to_compile_is_refused_unread(functions, match):
    # ~75 bytes of RSS per byte of such code: 9 MiB of it would take 700 MB to compile.
    data = wasmtime.wat2wasm(f'(module (memory (export "memory") 1) {" ".join(functions)})')
    started = time.monotonic()
    with pytest.raises(PackageError, match=f"too big to run: {match}") as exc:
        run_wasm(data, [], io.StringIO(), io.StringIO())
    one_line(str(exc.value))
    assert time.monotonic() - started < 0.5
