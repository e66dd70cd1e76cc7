"""The wasm-bpf host: hand-written guests (WAT) poke every import with good and bad arguments.

Bad pointers and lengths must come back as error codes, runaway guests must be stopped by the
watchdog, traps must be reported in one line, and whatever a guest loaded must be gone when the
run ends, however it ends. Kernel tests load real BPF objects (tracepoints only) and are not
skipped.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import struct
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import wasmtime
from conftest import ROOT, bpf_prog_ids

from lmp_tui.runtime.author.build import build
from lmp_tui.runtime.author.wasm_build import wasi_sysroot
from lmp_tui.runtime.errors import PackageError
from lmp_tui.runtime.format.package import load_package
from lmp_tui.runtime.wasm.guest import WASI_EINTR, RunOptions, WasmTrapError, abi_of, detect_abi
from lmp_tui.runtime.wasm.host import create_app, run_wasm

DATA = Path(__file__).parent / "data" / "wasm"
# The hub bootstrap object: tracepoints sched_process_exec/exit, ring buffer `events`.
BOOTSTRAP_OBJ = load_package(ROOT / "lmp_tui/hub/bootstrap/package.json").obj
ELF_AT = 4096
EPERM, ENOENT, EBADF, EFAULT, EINVAL = 1, 2, 9, 14, 22

BPF_INODES = ("anon_inode:bpf", "anon_inode:btf", "anon_inode:[perf_event]")


def bpf_fds(pid: int | str = "self") -> Counter[str]:
    """BPF programs, links, maps, BTF and perf events a process holds open (anon inodes)."""
    held: Counter[str] = Counter()
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith(BPF_INODES):
                    held[target] += 1
    return held


def assert_released(fds: Counter[str], programs: set[int], settle: float = 3.0) -> None:
    assert bpf_fds() - fds == Counter(), "BPF objects still open in this process"
    # Detached tracing programs are freed after an RCU grace period: give them a moment.
    deadline = time.monotonic() + settle
    while (left := bpf_prog_ids() - programs) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"BPF programs left loaded: {sorted(left)}"


@pytest.fixture
def no_wasm_leaks():
    """Whatever a run loaded is gone after it: no BPF fd left in this process and no program
    of ours in the kernel. (Like conftest's ``no_leaks``, but blind to the programs other users
    of a shared machine load meanwhile.)"""
    fds, programs = bpf_fds(), bpf_prog_ids()
    yield
    assert_released(fds, programs)


IMPORTS = """
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "wasm_bpf" "wasm_load_bpf_object" (func $load (param i32 i32) (result i64)))
  (import "wasm_bpf" "wasm_attach_bpf_program" (func $attach (param i64 i32 i32) (result i32)))
  (import "wasm_bpf" "wasm_bpf_buffer_poll"
    (func $poll (param i64 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasm_bpf" "wasm_bpf_map_fd_by_name" (func $fd (param i64 i32) (result i32)))
  (import "wasm_bpf" "wasm_bpf_map_operate" (func $op (param i32 i32 i32 i32 i32 i64) (result i32)))
  (import "wasm_bpf" "wasm_close_bpf_object" (func $close (param i64) (result i32)))
"""

# Strings at fixed addresses, the BPF object at ELF_AT; 0x500.. is scratch for keys and values.
STRINGS = {
    16: "exec_start",
    32: "events",
    48: "handle_exec",
    64: "no_such_prog",
    80: "nope",
}

CALLBACKS = """
  (table (export "__indirect_function_table") 8 funcref)
  (elem (i32.const 1) $cb_ok $cb_trap $cb_exit $cb_spin $cb_count $cb_stop)
  (type $wrong (func (param i32) (result i32)))
  (global $count (mut i32) (i32.const 0))
  (func $cb_ok (param i32 i32 i32) (result i32) (i32.const 0))
  (func $cb_trap (param i32 i32 i32) (result i32) unreachable)
  (func $cb_exit (param i32 i32 i32) (result i32) (call $exit (i32.const 9)) (i32.const 0))
  (func $cb_spin (param i32 i32 i32) (result i32) (loop $l (br $l)) (i32.const 0))
  (func $cb_count (param i32 i32 i32) (result i32)
    (global.set $count (i32.add (global.get $count) (i32.const 1))) (i32.const 0))
  (func $cb_stop (param i32 i32 i32) (result i32) (i32.const -7))
"""


def wat_bytes(data: bytes) -> str:
    return "".join(f"\\{b:02x}" for b in data)


def module(
    start: str,
    *,
    elf: bool = False,
    extra: str = "",
    memory_pages: int = 2,
    obj: bytes = BOOTSTRAP_OBJ,
) -> bytes:
    strings = "\n".join(
        f'  (data (i32.const {addr}) "{text}\\00")' for addr, text in STRINGS.items()
    )
    elf_data = f'  (data (i32.const {ELF_AT}) "{wat_bytes(obj)}")' if elf else ""
    text = f"""(module
{IMPORTS}
  (memory (export "memory") {memory_pages})
{CALLBACKS}
{strings}
{elf_data}
  (global $h (mut i64) (i64.const 0))
  (global $fd (mut i32) (i32.const 0))
  (global $efd (mut i32) (i32.const 0))
  (global $r (mut i32) (i32.const 0))
{extra}
  (func (export "_start")
{start}
  )
)"""
    return wasmtime.wat2wasm(text)


def expect(call: str, value: int, code: int, kind: str = "i32") -> str:
    """Exit with ``code`` unless ``call`` returns ``value``."""
    return (
        f"    (if ({kind}.ne {call} ({kind}.const {value}))"
        f" (then (call $exit (i32.const {code}))))\n"
    )


def run(data: bytes, argv: list[str] | None = None, **options) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    rc = run_wasm(data, argv or [], out, err, **options)
    return rc, out.getvalue(), err.getvalue()


def exec_soon(delay: float = 0.4, count: int = 3) -> threading.Thread:
    """Processes exec'ing while the guest polls."""

    def work() -> None:
        time.sleep(delay)
        for _ in range(count):
            subprocess.run(["/bin/true"], check=False)
            time.sleep(0.05)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


# poll_oneoff on the subscription at 2048: the event goes to 2200, the count to 2300.
SLEEP = "(call $poll_oneoff (i32.const 2048) (i32.const 2200) (i32.const 1) (i32.const 2300))"
LOAD = f"(call $load (i32.const {ELF_AT}) (i32.const {len(BOOTSTRAP_OBJ)}))"


# -- exit codes, watchdog, modules ---------------------------------------------------------------


@pytest.mark.parametrize("code", [0, 7, 125])
def test_proc_exit_code_is_the_exit_code(code):
    assert run(module(f"    (call $exit (i32.const {code}))"))[0] == code


def test_an_exit_status_wasi_cannot_carry_is_an_error():
    with pytest.raises(WasmTrapError, match="invalid exit status"):
        run(module("    (call $exit (i32.const 255))"))


def test_returning_from_start_is_success():
    assert run(module("    (nop)"))[0] == 0


def test_an_endless_loop_is_stopped_within_one_second():
    app = create_app(
        module("    (loop $l (br $l))"), [], io.StringIO(), io.StringIO(), RunOptions()
    )
    started = time.monotonic()
    with pytest.raises(WasmTrapError, match="ran for 1 s without returning to the host"):
        app.run()
    assert time.monotonic() - started < 1.0


def test_the_watchdog_budget_is_per_host_call():
    # A loop that calls the host keeps running past the budget: only runaway wasm is stopped.
    start = """
    (global.set $r (i32.const 0))
    (loop $l
      (drop (call $fd (i64.const 99) (i32.const 16)))
      (global.set $r (i32.add (global.get $r) (i32.const 1)))
      (br_if $l (i32.lt_u (global.get $r) (i32.const 30000))))
"""
    app = create_app(module(start), [], io.StringIO(), io.StringIO(), RunOptions(budget_s=0.2))
    assert app.run() == 0


def test_sleeping_in_wasi_is_not_a_runaway_guest():
    # poll_oneoff with one relative clock subscription of 1.3 s: longer than the 1 s budget.
    sub = struct.pack("<QB7xIxxxxQQH6x", 42, 0, 1, 1_300_000_000, 0, 0)
    extra = f'  (data (i32.const 2048) "{wat_bytes(sub)}")'
    start = (
        expect(SLEEP, 0, 3)
        + expect("(i32.load (i32.const 2300))", 1, 4)
        + expect("(i64.load (i32.const 2200))", 42, 5, "i64")
        + "    (call $exit (i32.const 6))"
    )
    started = time.monotonic()
    assert run(module(start, extra=extra))[0] == 6
    assert time.monotonic() - started >= 1.25


def test_a_sleeping_app_is_ended_at_once_by_a_stop():
    sub = struct.pack("<QB7xIxxxxQQH6x", 42, 0, 1, 10_000_000_000, 0, 0)  # 10 s
    extra = f'  (data (i32.const 2048) "{wat_bytes(sub)}")'
    started = time.monotonic()
    data = module(f"    (drop {SLEEP})\n    (call $exit (i32.const 6))", extra=extra)
    assert run(data, duration=0.5)[0] == 0
    assert time.monotonic() - started < 1.5


def test_a_trap_is_one_clear_error():
    with pytest.raises(WasmTrapError, match=r"app.wasm: trapped.*unreachable"):
        run(module("    unreachable"))


def test_not_webassembly_is_a_package_error():
    with pytest.raises(PackageError, match="not a WebAssembly module"):
        run(b"\x7fELF not wasm")
    with pytest.raises(PackageError, match="invalid WebAssembly module"):
        run(b"\0asm\x01\0\0\0garbage")


def test_unknown_imports_are_named():
    data = wasmtime.wat2wasm(
        '(module (import "env" "frobnicate" (func)) (memory (export "memory") 1)'
        ' (func (export "_start")))'
    )
    with pytest.raises(PackageError, match=r"imports env\.frobnicate, which lmp does not provide"):
        run(data)


def test_a_module_without_memory_or_start_is_refused():
    with pytest.raises(PackageError, match="does not export its linear memory"):
        run(wasmtime.wat2wasm('(module (func (export "_start")))'))
    with pytest.raises(PackageError, match="no _start export"):
        run(wasmtime.wat2wasm('(module (memory (export "memory") 1))'))


def test_abi_detection():
    assert abi_of(wasmtime.Module(wasmtime.Engine(), module("    (nop)"))) == "wasm-bpf"
    ewasm = wasmtime.wat2wasm(
        '(module (import "env" "create_bpf" (func (param i32 i32) (result i32)))'
        ' (memory (export "memory") 1)'
        ' (func (export "bpf_main") (param i32 i32) (result i32) (i32.const 0)))'
    )
    assert detect_abi(ewasm) == "ewasm"


# -- WASI: argv and output ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def echo_args(tmp_path_factory) -> bytes:
    out = tmp_path_factory.mktemp("wasm") / "echo.wasm"
    cmd = ["clang", "--target=wasm32-wasi", f"--sysroot={wasi_sysroot()}", "-O2"]
    subprocess.run([*cmd, str(DATA / "echo_args.c"), "-o", str(out)], check=True)
    return out.read_bytes()


def test_argv_is_module_then_args_and_output_reaches_the_streams(echo_args):
    rc, out, err = run(echo_args, ["-x", "two words"], name="demo.wasm")
    assert rc == 3
    assert out.splitlines() == ["arg demo.wasm", "arg -x", "arg two words"]
    assert err == "to stderr: héllo\n"


def test_binary_streams_get_the_bytes(echo_args):
    out, err = io.BytesIO(), io.BytesIO()
    assert run_wasm(echo_args, [], out, err) == 1
    assert out.getvalue() == b"arg app.wasm\n"
    assert err.getvalue() == "to stderr: héllo\n".encode()


# -- bounds checks ----------------------------------------------------------------------------------


def test_bad_pointers_and_handles_without_an_object():
    start = (
        expect("(call $load (i32.const -16) (i32.const 64))", 0, 10, "i64")
        + expect("(call $load (i32.const 0) (i32.const 0x7fffffff))", 0, 11, "i64")
        + expect("(call $load (i32.const 0) (i32.const -1))", 0, 12, "i64")
        + expect("(call $load (i32.const 16) (i32.const 0))", 0, 13, "i64")
        + expect("(call $attach (i64.const 99) (i32.const 48) (i32.const 0))", -1, 14)
        + expect("(call $fd (i64.const 99) (i32.const 16))", -1, 15)
        + expect(
            "(call $poll (i64.const 99) (i32.const 3) (i32.const 1) (i32.const 0)"
            " (i32.const 0x7fffffff) (i32.const 16) (i32.const 0))",
            EINVAL,  # positive, as the reference host answers
            16,
        )
        + expect(
            "(call $poll (i64.const 99) (i32.const 3) (i32.const 1) (i32.const 0)"
            " (i32.const 0x1f000) (i32.const 0x2000) (i32.const 0))",
            EINVAL,
            17,
        )
        + expect(
            "(call $poll (i64.const 99) (i32.const 3) (i32.const 1) (i32.const 0)"
            " (i32.const 0x500) (i32.const -1) (i32.const 0))",
            EINVAL,
            18,
        )
        + expect(
            "(call $poll (i64.const 99) (i32.const 3) (i32.const 1) (i32.const 0)"
            " (i32.const 0x500) (i32.const 16) (i32.const 0))",
            -1,
            19,
        )
        + expect(
            "(call $op (i32.const 0) (i32.const 1) (i32.const 0x500) (i32.const 0x600)"
            " (i32.const 0) (i64.const 0))",
            -EBADF,
            20,
        )
        + expect("(call $close (i64.const 99))", -1, 21)
    )
    rc, _, err = run(module(start))
    assert rc == 0, err
    assert "out of bounds" in err


@pytest.mark.usefixtures("no_wasm_leaks")
def test_every_import_on_a_real_object():
    key, value, got, next_key = 0x500, 0x540, 0x580, 0x5C0
    start = (
        f"    (global.set $h {LOAD})\n"
        + expect("(i64.lt_s (global.get $h) (i64.const 1))", 0, 20)
        # strings out of bounds or unterminated, unknown programs and maps
        + expect("(call $attach (global.get $h) (i32.const -16) (i32.const 0))", -1, 21)
        + expect("(call $attach (global.get $h) (i32.const 64) (i32.const 0))", -1, 22)
        + expect("(call $attach (global.get $h) (i32.const 48) (i32.const -4))", -1, 23)
        + expect("(call $fd (global.get $h) (i32.const -16))", -1, 24)
        + expect("(call $fd (global.get $h) (i32.const 80))", -1, 25)
        + "    (global.set $fd (call $fd (global.get $h) (i32.const 16)))\n"
        + expect("(i32.lt_s (global.get $fd) (i32.const 0))", 0, 26)
        # map_operate: keys are 4 bytes (pid_t), values 8 (u64)
        + expect(
            f"(call $op (global.get $fd) (i32.const 1) (i32.const -2) (i32.const {value})"
            " (i32.const 0) (i64.const 0))",
            -EFAULT,
            27,
        )
        + expect(
            f"(call $op (global.get $fd) (i32.const 1) (i32.const {key}) (i32.const 0x1fffc)"
            " (i32.const 0) (i64.const 0))",
            -EFAULT,
            28,
        )
        + expect(
            f"(call $op (global.get $fd) (i32.const 1) (i32.const {key}) (i32.const {value})"
            " (i32.const 0) (i64.const 0))",
            -ENOENT,
            29,
        )
        + f"    (i32.store (i32.const {key}) (i32.const 4242))\n"
        + f"    (i64.store (i32.const {value}) (i64.const 77))\n"
        + expect(
            f"(call $op (global.get $fd) (i32.const 2) (i32.const {key}) (i32.const {value})"
            " (i32.const 0) (i64.const 0))",
            0,
            30,
        )
        + expect(
            f"(call $op (global.get $fd) (i32.const 1) (i32.const {key}) (i32.const {got})"
            " (i32.const 0) (i64.const 0))",
            0,
            31,
        )
        + expect(f"(i64.load (i32.const {got}))", 77, 32, "i64")
        + expect(
            f"(call $op (global.get $fd) (i32.const 4) (i32.const 0) (i32.const 0)"
            f" (i32.const {next_key}) (i64.const 0))",
            0,
            33,
        )
        + expect(f"(i32.load (i32.const {next_key}))", 4242, 34)
        + expect(
            "(call $op (global.get $fd) (i32.const 4) (i32.const 0) (i32.const 0)"
            " (i32.const -2) (i64.const 0))",
            -EFAULT,
            35,
        )
        + expect(
            f"(call $op (global.get $fd) (i32.const 3) (i32.const {key}) (i32.const 0)"
            " (i32.const 0) (i64.const 0))",
            0,
            36,
        )
        + expect(
            f"(call $op (global.get $fd) (i32.const 3) (i32.const {key}) (i32.const 0)"
            " (i32.const 0) (i64.const 0))",
            -ENOENT,
            37,
        )
        + expect(
            f"(call $op (global.get $fd) (i32.const 99) (i32.const {key}) (i32.const {value})"
            " (i32.const 0) (i64.const 0))",
            -EINVAL,
            38,
        )
        # buffer_poll: bad buffer, not a buffer map, unknown fd, bad callbacks, then a real poll
        + "    (global.set $efd (call $fd (global.get $h) (i32.const 32)))\n"
        + expect(
            "(call $poll (global.get $h) (global.get $efd) (i32.const 1) (i32.const 0)"
            " (i32.const -16) (i32.const 64) (i32.const 0))",
            EINVAL,
            39,
        )
        + expect(
            "(call $poll (global.get $h) (global.get $fd) (i32.const 1) (i32.const 0)"
            " (i32.const 0x600) (i32.const 64) (i32.const 10))",
            -1,
            40,
        )
        + expect(
            "(call $poll (global.get $h) (i32.const 9999) (i32.const 1) (i32.const 0)"
            " (i32.const 0x600) (i32.const 64) (i32.const 10))",
            -ENOENT,
            41,
        )
        + expect(
            "(call $poll (global.get $h) (global.get $efd) (i32.const 0) (i32.const 0)"
            " (i32.const 0x600) (i32.const 64) (i32.const 10))",
            -EINVAL,
            42,
        )
        + expect(
            "(call $poll (global.get $h) (global.get $efd) (i32.const 100) (i32.const 0)"
            " (i32.const 0x600) (i32.const 64) (i32.const 10))",
            -EINVAL,
            43,
        )
        + expect(
            "(call $poll (global.get $h) (global.get $efd) (i32.const 1) (i32.const 0)"
            " (i32.const 0x600) (i32.const 200) (i32.const 10))",
            0,
            44,
        )
        + expect("(call $close (global.get $h))", 0, 45)
        + expect("(call $close (global.get $h))", -1, 46)
        + expect(
            f"(call $op (global.get $fd) (i32.const 1) (i32.const {key}) (i32.const {value})"
            " (i32.const 0) (i64.const 0))",
            -EBADF,
            47,
        )
        # Loaded and attached, never closed: the host closes it when the run ends.
        + f"    (global.set $h {LOAD})\n"
        + expect("(call $attach (global.get $h) (i32.const 48) (i32.const 0))", 0, 48)
        + "    (call $exit (i32.const 0))"
    )
    rc, _, err = run(module(start, elf=True))
    assert rc == 0, err
    assert "no program named 'no_such_prog'" in err


def test_a_callback_with_the_wrong_signature_is_refused():
    data = module(
        f"    (global.set $h {LOAD})\n"
        + "    (global.set $efd (call $fd (global.get $h) (i32.const 32)))\n"
        + expect(
            "(call $poll (global.get $h) (global.get $efd) (i32.const 7) (i32.const 0)"
            " (i32.const 0x600) (i32.const 64) (i32.const 10))",
            -EINVAL,
            50,
        ),
        elf=True,
        extra="  (func $wrong_sig (param i32) (result i32) (i32.const 0))\n"
        "  (elem (i32.const 7) $wrong_sig)",
    )
    rc, _, err = run(data)
    assert rc == 0, err
    assert "table[7] is i32->i32, not a callback" in err


# -- polling ------------------------------------------------------------------------------------


def poll_loop(callback: int, timeout_ms: int = 100, on_error: str = "") -> str:
    """Load, attach handle_exec, poll `events` with table[callback] until the poll fails."""
    return (
        f"    (global.set $h {LOAD})\n"
        + expect("(call $attach (global.get $h) (i32.const 48) (i32.const 0))", 0, 60)
        + "    (global.set $efd (call $fd (global.get $h) (i32.const 32)))\n"
        + "    (loop $l\n"
        + f"      (global.set $r (call $poll (global.get $h) (global.get $efd) (i32.const {callback})"
        + f" (i32.const 0) (i32.const 0x600) (i32.const 256) (i32.const {timeout_ms})))\n"
        + "      (br_if $l (i32.ge_s (global.get $r) (i32.const 0))))\n"
        + (on_error or "    (call $exit (i32.sub (i32.const 50) (global.get $r)))")
    )


@pytest.mark.usefixtures("no_wasm_leaks")
def test_a_trap_in_the_callback_is_reported():
    exec_soon()
    where = r"trapped in its buffer_poll callback \(table\[2\]\).*unreachable"
    with pytest.raises(WasmTrapError, match=where):
        run(module(poll_loop(2), elf=True), duration=10)


@pytest.mark.usefixtures("no_wasm_leaks")
def test_proc_exit_in_the_callback_ends_the_run_with_its_code():
    exec_soon()
    assert run(module(poll_loop(3), elf=True), duration=10)[0] == 9


@pytest.mark.usefixtures("no_wasm_leaks")
def test_an_endless_loop_in_the_callback_is_stopped():
    exec_soon()
    with pytest.raises(WasmTrapError, match="without returning to the host in its buffer_poll"):
        run(module(poll_loop(4), elf=True), duration=10)


@pytest.mark.usefixtures("no_wasm_leaks")
def test_a_negative_callback_result_is_the_poll_result():
    exec_soon()
    assert run(module(poll_loop(6), elf=True), duration=10)[0] == 57


POLL_COUNT = (
    "(call $poll (global.get $h) (global.get $efd) (i32.const 5) (i32.const 0)"
    " (i32.const 0x600) (i32.const 256) (i32.const 0))"
)


@pytest.fixture(scope="module")
def perfexec_obj(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """Exec events through a perf event array (map ``events``, program ``handle_exec``)."""
    out = tmp_path_factory.mktemp("perfexec")
    vmlinux = ROOT / "lmp_tui/hub/include/x86"
    result = build(ROOT / "tests/data/perfexec/perfexec.bpf.c", outdir=out, vmlinux=vmlinux)
    return load_package(result.package_json).obj


@pytest.mark.usefixtures("no_wasm_leaks")
@pytest.mark.parametrize("buffer", ["ring buffer", "perf buffer"])
def test_every_record_of_a_poll_reaches_the_callback(buffer, request):
    # Sleep 1 s while execs pile up in the buffer, then one poll: each record is a call.
    obj = request.getfixturevalue("perfexec_obj") if buffer == "perf buffer" else BOOTSTRAP_OBJ
    sub = struct.pack("<QB7xIxxxxQQH6x", 1, 0, 1, 1_000_000_000, 0, 0)
    start = (
        f"    (global.set $h (call $load (i32.const {ELF_AT}) (i32.const {len(obj)})))\n"
        + expect("(call $attach (global.get $h) (i32.const 48) (i32.const 0))", 0, 60)
        + "    (global.set $efd (call $fd (global.get $h) (i32.const 32)))\n"
        # a first poll opens the buffer (a perf event array has no perf events before it)
        + expect(POLL_COUNT, 0, 62)
        + expect(SLEEP, 0, 61)
        + expect(POLL_COUNT, 0, 63)
        + "    (call $exit (global.get $count))"
    )
    exec_soon(delay=0.3, count=8)
    extra = f'  (data (i32.const 2048) "{wat_bytes(sub)}")'
    rc, _, err = run(module(start, elf=True, extra=extra, obj=obj, memory_pages=4))
    assert rc >= 8, err  # 8 execs, and whatever else ran meanwhile


@pytest.mark.usefixtures("no_wasm_leaks")
def test_a_stop_the_app_honours_ends_it_with_status_0():
    """The poll returns -EINTR; the app leaves its loop and exits (with 50 + 27) by itself: a
    stop it honoured is a success, whatever status it picked."""
    app = create_app(module(poll_loop(1), elf=True), [], io.StringIO(), io.StringIO(), RunOptions())
    threading.Timer(0.5, app.stop).start()
    started = time.monotonic()
    assert app.run() == 0
    assert time.monotonic() - started < 2


@pytest.mark.usefixtures("no_wasm_leaks")
def test_an_interrupted_poll_returns_eintr_as_wasi_numbers_it():
    """A signal that interrupts the poll without stopping the run: the guest sees -27 (wasi-libc's
    EINTR), not Linux's -4, and its own exit status (50 + 27) is the run's."""
    previous = signal.signal(signal.SIGUSR1, lambda *_: None)
    main = threading.main_thread().ident
    assert main is not None
    threading.Timer(0.5, signal.pthread_kill, (main, signal.SIGUSR1)).start()
    try:
        assert run(module(poll_loop(1, timeout_ms=5000), elf=True))[0] == 50 + WASI_EINTR
    finally:
        signal.signal(signal.SIGUSR1, previous)


@pytest.mark.usefixtures("no_wasm_leaks")
def test_an_app_that_ignores_the_stop_is_ended():
    # Polls forever with an infinite timeout and never looks at the result.
    start = (
        f"    (global.set $h {LOAD})\n"
        + "    (global.set $efd (call $fd (global.get $h) (i32.const 32)))\n"
        + "    (loop $l\n"
        + "      (drop (call $poll (global.get $h) (global.get $efd) (i32.const 1)"
        + " (i32.const 0) (i32.const 0x600) (i32.const 256) (i32.const -1)))\n"
        + "      (br $l))"
    )
    started = time.monotonic()
    rc, _, err = run(module(start, elf=True), duration=0.5)
    assert rc == 124  # as timeout(1) says it
    assert err.splitlines() == ["lmp: app.wasm: did not end within 1 s of --duration: stopped"]
    assert time.monotonic() - started < 2.5


# Runs an app, then reports the BPF objects still open in the process: the host's own cleanup
# must have closed them, before the process exit would.
RUNNER = """
import os, sys
from lmp_tui.runtime.wasm.host import run_wasm
data = open(sys.argv[1], "rb").read()
rc = run_wasm(data, [], sys.stdout, sys.stderr)
held = []
for fd in os.listdir("/proc/self/fd"):
    try:
        held.append(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        pass
print("open:", sorted(h for h in held if h.startswith(("anon_inode:bpf", "anon_inode:btf"))))
sys.exit(rc)
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_and_sigterm_detach_everything(tmp_path, sig):
    app = tmp_path / "app.wasm"
    app.write_bytes(module(poll_loop(1), elf=True))
    fds, before = bpf_fds(), bpf_prog_ids()
    proc = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(app)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Signal once the guest has attached (the runner then holds a BPF link), not before.
    deadline = time.monotonic() + 10
    while not bpf_fds(proc.pid)["anon_inode:bpf_link"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert bpf_fds(proc.pid)["anon_inode:bpf_link"], "the guest never attached its program"
    time.sleep(0.3)
    os.kill(proc.pid, sig)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err  # the guest left its loop on -EINTR and exited
    assert "Traceback" not in err
    assert out.strip() == "open: []"
    assert_released(fds, before)


def test_the_tinygo_poll_variant_is_linked():
    # TinyGo apps import the poll from "callback-wrapper" and export "go-callback".
    data = wasmtime.wat2wasm(
        """(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "callback-wrapper" "wasm_bpf_buffer_poll"
    (func $poll (param i64 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "go-callback") (param i32 i32 i32) (result i32) (i32.const 0))
  (func (export "_start")
    (if (i32.ne (call $poll (i64.const 5) (i32.const 3) (i32.const 0) (i32.const 64)
                            (i32.const 64) (i32.const 10)) (i32.const -1))
      (then (call $exit (i32.const 1))))))"""
    )
    assert run(data)[0] == 0  # an unknown handle is -1, as through wasm_bpf


def test_a_refused_object_says_why_as_lmp_run_does(tmp_path):
    """One loader for packages and guests: the verifier's reason reaches a wasm app too."""
    src = tmp_path / "bad.bpf.c"
    src.write_text(
        '#include "vmlinux.h"\n#include <bpf/bpf_helpers.h>\n'
        'SEC("tp/sched/sched_process_exec") int h(void *ctx)\n'
        "{ return *(int *)(long)bpf_get_current_pid_tgid(); }\n"
        'char LICENSE[] SEC("license") = "GPL";\n'
    )
    result = build(src, outdir=tmp_path, vmlinux=ROOT / "lmp_tui/hub/include/x86")
    obj = load_package(result.package_json).obj
    cli = subprocess.run(
        [sys.executable, "-m", "lmp_tui.cli", "run", str(result.package_json)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    reason = cli.stderr.strip().rsplit(": ", 1)[-1]  # "Permission denied (<verifier's words>)"
    assert "(" in reason, cli.stderr
    start = (
        f"    (global.set $h (call $load (i32.const {ELF_AT}) (i32.const {len(obj)})))\n"
        "    (call $exit (i32.wrap_i64 (global.get $h)))"
    )
    rc, _, err = run(module(start, elf=True, obj=obj, memory_pages=8))
    assert rc == 0  # no handle
    assert reason in err, err
