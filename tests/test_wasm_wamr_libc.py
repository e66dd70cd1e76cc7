"""WAMR's built-in libc for legacy ewasm apps (env.printf, env.malloc...): the formatter and the
heap on their own, against glibc where C defines the answer, then whole apps built here with
clang against declarations only (so every libc name stays an import from env), whose output must
be what a native gcc build of the same C prints."""

from __future__ import annotations

import ctypes
import io
import json
import math
import struct
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import wasmtime
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st
from test_wasm_ewasm import exec_after, marker  # noqa: F401 - marker is a fixture
from test_wasm_host import no_wasm_leaks  # noqa: F401 - a fixture

from lmp_tui.runtime.author.wasm_build import ewasm_skel_header
from lmp_tui.runtime.errors import PackageError
from lmp_tui.runtime.wasm.ewasm import EwasmApp
from lmp_tui.runtime.wasm.guest import MiB, RunOptions, WasmTrapError, compile_module, new_engine
from lmp_tui.runtime.wasm.host import create_app, run_wasm
from lmp_tui.runtime.wasm.wamr_libc import (
    PAGE,
    HostHeap,
    LibcFault,
    VaList,
    c_string,
    format_c,
    parse_long,
)

DATA = Path(__file__).parent / "data" / "wasm"
PACKAGE = ROOT / "lmp_tui/hub/bootstrap/package.json"
LIBC = ctypes.CDLL(None)
LIBC.strtol.restype = ctypes.c_long
LIBC.strtol.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int]

pytestmark = pytest.mark.usefixtures("no_wasm_leaks")


# -- the formatter, on a fake memory -----------------------------------------------------------


@dataclass
class FakeMemory:
    """A guest memory of plain bytes."""

    data: bytearray = field(default_factory=lambda: bytearray(PAGE))

    @property
    def size(self) -> int:
        return len(self.data)

    def read(self, ptr: int, length: int) -> bytes | None:
        ptr &= 0xFFFFFFFF
        return bytes(self.data[ptr : ptr + length]) if ptr + length <= self.size else None


ARGS_AT = 0x1000
STRINGS_AT = 0x8000


def formatted(fmt: bytes, *args: object) -> bytes:
    """``fmt`` with ``args`` laid out as clang passes them on wasm32: an int is 4 bytes; a
    ("q", n) 8 and a float 8, both aligned to 8; bytes are a string elsewhere in memory."""
    memory = FakeMemory()
    at, strings = ARGS_AT, STRINGS_AT
    for arg in args:
        if isinstance(arg, bytes):
            memory.data[strings : strings + len(arg) + 1] = arg + b"\0"
            arg, strings = strings, strings + len(arg) + 1
        if isinstance(arg, tuple | float):
            at = (at + 7) & -8
            raw = struct.pack("<d", arg) if isinstance(arg, float) else struct.pack("<q", arg[1])
        else:
            assert isinstance(arg, int)
            raw = (arg & 0xFFFFFFFF).to_bytes(4, "little")
        memory.data[at : at + len(raw)] = raw
        at += len(raw)
    return format_c(fmt, VaList(memory, ARGS_AT), memory)


def glibc(fmt: bytes, *args: object) -> bytes:
    buf = ctypes.create_string_buffer(8192)
    n = LIBC.snprintf(buf, len(buf), fmt, *args)
    assert 0 <= n < len(buf)
    return buf.raw[:n]


@pytest.mark.parametrize(
    ("fmt", "args", "expected"),
    [
        (b"plain", (), b"plain"),
        (b"%d %i %u", (-42, 7, -1), b"-42 7 4294967295"),
        (b"[%5d|%-5d|%05d|%+d|% d]", (42, 42, -42, 42, 42), b"[   42|42   |-0042|+42| 42]"),
        (b"[%.3d|%8.3d|%.0d|%#.0o]", (7, -7, 0, 0), b"[007|    -007||0]"),
        (b"%ld %lu %zu %td", (-5, -1, 12, -3), b"-5 4294967295 12 -3"),  # long is 32 bits
        (
            b"%lld|%llu|%jd",
            (("q", -(2**40)), ("q", -1), ("q", 5)),
            b"-1099511627776|18446744073709551615|5",
        ),
        (b"%d %lld %d", (1, ("q", 2), 3), b"1 2 3"),  # the long long is aligned to 8
        (b"%hd %hhd %hu %hhx", (-2, 300, 70000, 0x1FF), b"-2 44 4464 ff"),
        (
            b"%x %X %#x %#o %o %08x %#010x",
            (255, 255, 255, 8, 8, 0xBEEF, 0xBEEF),
            b"ff FF 0xff 010 10 0000beef 0x0000beef",
        ),
        (b"[%c|%3c|%-3c|%%]", (65, 66, 67), b"[A|  B|C  |%]"),
        (
            b"[%s|%8s|%-8s|%.3s|%*s|%.*s]",
            (b"hi", b"right", b"left", b"truncate", 4, b"x", 2, b"precise"),
            b"[hi|   right|left    |tru|   x|pr]",
        ),
        (b"[%s|%.3s]", (0, 0), b"[(null)|]"),
        (b"[%p|%10p|%-8p|%p]", (0x1234, 0x10, 0x10, 0), b"[0x1234|      0x10|0x10    |(nil)]"),
        (
            b"%f %.2f %e %g %G",
            (3.14159265, 2.675, 123456.789, 0.0001, 1e-10),
            b"3.141593 2.67 1.234568e+05 0.0001 1E-10",
        ),
        (
            b"[%08.3f|%+.1e|%#.0f|%f|%F|%5f]",
            (-3.14159, 31415.9, 3.0, -0.0, math.inf, math.nan),
            b"[-003.142|+3.1e+04|3.|-0.000000|INF|  nan]",
        ),
        (b"%d%", (1,), b"1%"),  # a lone % at the end, and an unknown conversion, stay as they are
        (b"%y %5k", (), b"%y %5k"),
        (b"%-*d|%.*d|", (-6, 1, -1, 2), b"1     |2|"),  # negative * width is -, precision none
    ],
)
def test_formats_as_c_does(fmt, args, expected):
    assert formatted(fmt, *args) == expected


def test_arguments_past_memory_are_a_fault():
    memory = FakeMemory()
    with pytest.raises(LibcFault, match=r"^argument 2 at 0x10000 is out of bounds$"):
        format_c(b"%d %d", VaList(memory, PAGE - 4), memory)
    memory.data[0:4] = (PAGE - 16).to_bytes(4, "little")  # a string in the last 16 bytes
    memory.data[-16:] = b"A" * 16  # with no NUL after it
    with pytest.raises(LibcFault, match=r"^string at 0xfff0 runs off memory$"):
        format_c(b"%s", VaList(memory, 0), memory)


def test_strings_end_at_their_nul_or_their_limit():
    memory = FakeMemory()
    memory.data[100:106] = b"hello\0"
    memory.data[-3:] = b"end"
    assert c_string(memory, 100) == b"hello"
    assert c_string(memory, 100, 3) == b"hel"
    assert c_string(memory, PAGE - 3, 3) == b"end"  # limit reached right at the end of memory
    assert c_string(memory, 0xFFFFFFFF, 0) == b""
    for ptr, limit in [(PAGE - 3, None), (PAGE - 3, 4), (PAGE + 10, None), (-1, None)]:
        with pytest.raises(LibcFault, match="runs off memory"):
            c_string(memory, ptr, limit)
    big = FakeMemory(bytearray(b"x" * (3 * 1024 * 1024) + b"\0"))
    assert len(c_string(big, 5)) == 3 * 1024 * 1024 - 5  # across several growing chunks


INT_LENGTHS = {  # wasm32 length modifier -> (glibc's for the same width, bits)
    "": ("", 32),
    "hh": ("hh", 32),
    "h": ("h", 32),
    "l": ("", 32),
    "z": ("", 32),
    "t": ("", 32),
    "ll": ("ll", 64),
    "j": ("ll", 64),
}
FLAGS = st.lists(st.sampled_from("-+ #0"), max_size=4).map("".join)
WIDTH = st.one_of(st.just(""), st.integers(1, 40).map(str))
PRECISION = st.one_of(st.just(""), st.just("."), st.integers(0, 30).map(lambda n: f".{n}"))


@settings(max_examples=400, deadline=None)
@given(
    flags=FLAGS,
    width=WIDTH,
    precision=PRECISION,
    length=st.sampled_from(sorted(INT_LENGTHS)),
    conv=st.sampled_from("diouxX"),
    data=st.data(),
)
def test_integer_conversions_match_glibc(flags, width, precision, length, conv, data):
    native_length, bits = INT_LENGTHS[length]
    value = data.draw(st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1))
    ours = formatted(
        f"%{flags}{width}{precision}{length}{conv}".encode(), ("q", value) if bits == 64 else value
    )
    arg = ctypes.c_longlong(value) if bits == 64 else ctypes.c_int(value)
    assert ours == glibc(f"%{flags}{width}{precision}{native_length}{conv}".encode(), arg)


@settings(max_examples=400, deadline=None)
@given(
    flags=FLAGS,
    width=WIDTH,
    precision=PRECISION,
    conv=st.sampled_from("fFeEgG"),
    value=st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from([0.0, -0.0, 0.5, 1.5, 2.5, 9.9999995, 1e21, 5e-324]),
    ),
)
def test_float_conversions_match_glibc(flags, width, precision, conv, value):
    spec = f"%{flags}{width}{precision}{conv}".encode()
    assert formatted(spec, value) == glibc(spec, ctypes.c_double(value))


@settings(max_examples=200, deadline=None)
@given(
    flags=FLAGS,
    width=WIDTH,
    precision=PRECISION,
    pointer=st.integers(1, 0xFFFFFFFF),
    text=st.binary(max_size=40).map(lambda b: b.replace(b"\0", b"")),
    char=st.integers(1, 255),
)
def test_pointer_string_and_char_conversions_match_glibc(
    flags, width, precision, pointer, text, char
):
    # Precision with %c and %p, or 0 with %s and %c, is undefined in C: glibc's choice is kept.
    plain = flags.replace("0", "")
    assert formatted(f"%{flags}{width}{precision}p".encode(), pointer) == glibc(
        f"%{flags}{width}{precision}p".encode(), ctypes.c_void_p(pointer)
    )
    assert formatted(f"%{plain}{width}{precision}s".encode(), text) == glibc(
        f"%{plain}{width}{precision}s".encode(), ctypes.c_char_p(text)
    )
    assert formatted(f"%{plain}{width}c".encode(), char) == glibc(
        f"%{plain}{width}c".encode(), ctypes.c_int(char)
    )


# -- strtol ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "base", "signed", "expected"),
    [
        (b"  -1234xyz", 10, True, (-1234, 7)),
        (b"0x1F", 0, True, (31, 4)),
        (b"0x1F", 16, True, (31, 4)),
        (b"0755", 0, True, (493, 4)),
        (b"0xg", 16, True, (0, 1)),  # "0", then "xg" is left over
        (b"0xg", 0, True, (0, 1)),
        (b"zz", 36, True, (1295, 2)),
        (b"nothing", 10, True, (0, 0)),
        (b"+", 10, True, (0, 0)),
        (b"12", 1, True, (0, 0)),  # an invalid base
        (b"12", 37, True, (0, 0)),
        (b"2147483647", 10, True, (2147483647, 10)),
        (b"2147483648", 10, True, (2147483647, 10)),  # saturates: long is 32 bits on wasm32
        (b"-2147483649", 10, True, (-2147483648, 11)),
        (b"9" * 5000, 10, True, (2147483647, 5000)),
        (b"0" * 5000 + b"7", 10, True, (7, 5001)),
        (b"4294967295", 10, False, (4294967295, 10)),
        (b"4294967296", 10, False, (4294967295, 10)),
        (b"-1", 10, False, (4294967295, 2)),  # strtoul negates modulo 2**32
    ],
)
def test_strtol(text, base, signed, expected):
    assert parse_long(text, base, signed) == expected


@settings(max_examples=500, deadline=None)
@given(
    text=st.text(alphabet=" \t+-0123456789abcdefxXzZ", max_size=24),
    base=st.sampled_from([0, 2, 8, 10, 16, 36]),
)
def test_strtol_matches_glibc_within_32_bits(text, base):
    raw = text.encode()
    end = ctypes.c_char_p()
    buf = ctypes.create_string_buffer(raw)
    value = LIBC.strtol(buf, ctypes.byref(end), base)
    used = ctypes.cast(end, ctypes.c_void_p).value - ctypes.addressof(buf)
    assert parse_long(raw, base) == (max(-(2**31), min(2**31 - 1, value)), used)


# -- the heap, on a fake memory ----------------------------------------------------------------


@dataclass
class FakePages:
    """A growable memory of plain bytes, with a limit, that the guest may grow too."""

    pages: int = 2
    limit: int = 64
    data: bytearray = field(default_factory=bytearray)

    def __post_init__(self) -> None:
        self.data = bytearray(self.pages * PAGE)

    @property
    def size(self) -> int:
        return len(self.data)

    def grow(self, pages: int) -> int | None:
        old = self.size // PAGE
        if old + pages > self.limit:
            return None
        self.data += bytes(pages * PAGE)
        return old

    def move(self, dst: int, src: int, length: int) -> None:
        self.data[dst : dst + length] = self.data[src : src + length]


def check_heap(heap: HostHeap, pages: FakePages, guest_pages: set[int]) -> None:
    """Blocks aligned, apart, in memory, and never in pages the guest grew itself."""
    blocks = sorted(
        [(s, n, "used") for s, n in heap.used.items()]
        + [(s, heap.free_size[s], "free") for s in heap.free_at]
    )
    assert heap.free_at == sorted(heap.free_size)
    for (s, n, _), (t, _, _) in zip(blocks, blocks[1:], strict=False):
        assert s + n <= t
    for s, n, _ in blocks:
        assert s % 8 == 0 and s > 0 and s + n <= pages.size
        assert not {p for p in range(s // PAGE, (s + n - 1) // PAGE + 1)} & guest_pages
    free = [(s, heap.free_size[s]) for s in heap.free_at]
    for (s, n), (t, _) in zip(free, free[1:], strict=False):
        assert s + n < t  # free neighbours are always merged


def test_heap_first_fit_with_coalescing():
    pages = FakePages()
    heap = HostHeap(pages)
    a, b, c = heap.malloc(100), heap.malloc(1), heap.malloc(24)
    assert (a, b, c) == (2 * PAGE, 2 * PAGE + 104, 2 * PAGE + 112)  # grown pages, 8-aligned
    heap.free(a)
    assert heap.malloc(8) == a  # first fit: the hole a left
    heap.free(a)
    heap.free(c)
    heap.free(b)
    assert heap.free_at == [a] and heap.free_size[a] == PAGE  # all merged back into one
    assert heap.malloc(PAGE) == a  # which is the whole page
    heap.free(0)  # free(NULL) does nothing
    with pytest.raises(LibcFault, match="0x20008 was not returned by malloc"):
        heap.free(a + 8)
    heap.free(a)
    with pytest.raises(LibcFault, match="or was freed already"):
        heap.free(a)


def test_heap_grows_only_its_own_pages():
    pages = FakePages()
    heap = HostHeap(pages)
    a = heap.malloc(PAGE // 2)
    pages.grow(1)  # the guest's own memory.grow: page 3
    b = heap.malloc(PAGE)  # does not fit in page 2's rest, and page 3 is not ours
    assert b == 4 * PAGE
    c = heap.malloc(PAGE // 4)  # still fits in page 2
    assert a < c < 3 * PAGE
    d = heap.malloc(2 * PAGE)  # extends the range b is in: nothing grew in between
    assert d == b + PAGE and pages.size == 7 * PAGE
    check_heap(heap, pages, {0, 1, 3})


def test_heap_is_bounded_by_the_memory_limit():
    pages = FakePages(pages=2, limit=10)
    heap = HostHeap(pages)
    assert heap.malloc(9 * PAGE) == 0
    assert heap.malloc(0xFFFFFFFF) == 0
    assert (p := heap.malloc(8 * PAGE)) != 0
    assert heap.malloc(1) == 0
    heap.free(p)
    assert heap.malloc(1) == p


def test_realloc_as_c():
    pages = FakePages()
    heap = HostHeap(pages)
    p = heap.realloc(0, 10)  # realloc(NULL, n) is malloc(n)
    assert p and heap.size_of(p) == 16
    pages.data[p : p + 10] = b"0123456789"
    assert heap.realloc(p, 40) == p  # grows in place into the free space after it
    q = heap.malloc(8)
    r = heap.realloc(p, 100)  # q is in the way: moved, contents kept
    assert r != p and bytes(pages.data[r : r + 10]) == b"0123456789"
    assert heap.malloc(40) == p  # the old block was freed
    assert heap.realloc(r, 8) == r and heap.size_of(r) == 8  # shrinking keeps it in place
    assert heap.realloc(r, 0) == 0 and heap.size_of(r) is None  # realloc(p, 0) frees
    big = heap.realloc(q, 100 * PAGE)
    assert big == 0 and heap.size_of(q) == 8  # a failed realloc keeps the block
    with pytest.raises(LibcFault):
        heap.realloc(r, 5)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["malloc", "free", "realloc", "guest"]), st.integers(0, 3 * PAGE)
        ),
        max_size=60,
    )
)
def test_heap_keeps_its_blocks_apart(steps):
    pages = FakePages(pages=1, limit=40)
    heap = HostHeap(pages)
    guest_pages = {0}
    live: dict[int, int] = {}
    for op, n in steps:
        if op == "malloc" and (p := heap.malloc(n)):
            live[p] = n
        elif op == "free" and live:
            heap.free(p := sorted(live)[n % len(live)])
            del live[p]
        elif op == "realloc" and live:
            p = sorted(live)[n % len(live)]
            pages.data[p : p + min(live[p], 8)] = b"\xab" * min(live[p], 8)
            if q := heap.realloc(p, n):
                assert bytes(pages.data[q : q + min(live[p], n, 8)]) == b"\xab" * min(live[p], n, 8)
                del live[p]
                live[q] = n
            elif n == 0:
                del live[p]
        elif op == "guest" and (old := pages.grow(1)) is not None:
            guest_pages.add(old)
        check_heap(heap, pages, guest_pages)
    for p in list(live):
        heap.free(p)
    assert not heap.used


# -- whole apps --------------------------------------------------------------------------------


def build_wasm(tmp: Path, source: str, *flags: str) -> bytes:
    """A legacy ewasm module: no libc, every undefined name an import from env."""
    out = tmp / "app.wasm"
    cmd = [
        "clang",
        "--target=wasm32",
        "-nostdlib",
        "-O2",
        "-fno-builtin",  # no libc call turned into another or folded away: each one is an import
        "-Wno-format",
        f"-I{tmp}",
        "-Wl,--no-entry",
        "-Wl,--export=bpf_main",
        "-Wl,--export=process_event",
        "-Wl,--allow-undefined",
        *flags,
        str(DATA / source),
        "-o",
        str(out),
    ]
    subprocess.run(cmd, check=True)
    return out.read_bytes()


def env_imports(data: bytes) -> set[str]:
    module = compile_module(new_engine(), data, "app.wasm")
    return {i.name or "" for i in module.imports if i.module == "env"}


def test_prints_what_a_native_build_prints(tmp_path):
    native = tmp_path / "prints"
    subprocess.run(
        ["gcc", "-O2", "-w", str(DATA / "wamr_libc_prints.c"), "-o", str(native)], check=True
    )
    expected = subprocess.run([str(native)], check=True, capture_output=True).stdout.decode()
    data = build_wasm(tmp_path, "wamr_libc_prints.c")
    assert {"printf", "snprintf", "malloc", "realloc", "strtol", "putchar"} <= env_imports(data)
    out, err = io.StringIO(), io.StringIO()
    assert run_wasm(data, [], out, err) == 0, err.getvalue()
    assert out.getvalue() == expected
    assert err.getvalue() == ""
    assert "[0x1234|          0xdeadbeef|0x10        |]" in expected  # %p agrees: not NULL


def test_only_the_names_imported_are_provided():
    data = wasmtime.wat2wasm(
        '(module (import "env" "putchar" (func (param i32) (result i32)))'
        ' (memory (export "memory") 1)'
        ' (func (export "bpf_main") (param i32 i32) (result i32)'
        "   (drop (call 0 (i32.const 10))) (i32.const 0)))"
    )
    app = create_app(data, [], io.StringIO(), io.StringIO())
    assert isinstance(app, EwasmApp)
    assert app.provided() == {
        ("env", "create_bpf"),
        ("env", "run_bpf"),
        ("env", "wait_and_poll_bpf"),
        ("env", "putchar"),
    }
    out = io.StringIO()
    assert run_wasm(data, [], out, io.StringIO()) == 0
    assert out.getvalue() == "\n"


@pytest.mark.parametrize(
    ("imports", "message"),
    [
        (
            '(import "env" "printf" (func (param i32 i32) (result i32)))'
            '(import "env" "qsort" (func (param i32 i32 i32 i32)))',
            r"^app\.wasm imports env\.qsort, which lmp does not provide \(ewasm ABI",
        ),
        (
            '(import "env" "strlen" (func (param i32 i32) (result i32)))',
            r"imports env\.strlen as a function \(i32, i32\) -> \(i32\), "
            r"but lmp provides a function \(i32\) -> \(i32\)",
        ),
    ],
)
def test_other_env_imports_are_still_refused(imports, message):
    data = wasmtime.wat2wasm(
        f'(module {imports} (memory (export "memory") 1)'
        ' (func (export "bpf_main") (param i32 i32) (result i32) (i32.const 0)))'
    )
    with pytest.raises(PackageError, match=message):
        run_wasm(data, [], io.StringIO(), io.StringIO())


@pytest.mark.parametrize(
    ("scenario", "message"),
    [
        ("BAD_STRLEN", r"app\.wasm: strlen: string at 0xfffffff0 runs off memory"),
        ("BAD_PRINTF", r"app\.wasm: printf: string at 0x7ffffff0 runs off memory"),
        ("UNTERMINATED", r"app\.wasm: strlen: string at 0x[0-9a-f]+fff0 runs off memory"),
    ],
)
def test_a_bad_pointer_is_a_one_line_trap(tmp_path, scenario, message):
    data = build_wasm(tmp_path, "wamr_libc_app.c", f"-D{scenario}")
    out = io.StringIO()
    with pytest.raises(WasmTrapError, match=f"^{message}$") as caught:
        run_wasm(data, [], out, io.StringIO())
    assert "\n" not in str(caught.value)
    if scenario == "BAD_STRLEN":
        assert out.getvalue() == "before\n"  # what it printed before is all there


def test_malloc_past_the_memory_limit_returns_null(tmp_path):
    data = build_wasm(tmp_path, "wamr_libc_app.c", "-DOUT_OF_MEMORY")
    out, err = io.StringIO(), io.StringIO()
    app = create_app(data, [], out, err, RunOptions(memory_limit=8 * MiB))
    assert app.run() == 7, err.getvalue()  # exit(7)
    lines = out.getvalue().splitlines()
    blocks = int(lines[0].removeprefix("blocks "))
    assert 5 <= blocks < 8  # what fits in 8 MiB beside the module's own pages
    assert lines[1:] == ["huge 1", "realloc fails, keeps 1", "after free 1"]
    assert app.libc.heap.end is not None and app.libc.heap.end <= 8 * MiB


def test_a_legacy_app_prints_its_events_with_printf(tmp_path, marker):  # noqa: F811
    (tmp_path / "ewasm-skel.h").write_text(ewasm_skel_header(PACKAGE.read_bytes()))
    data = build_wasm(tmp_path, "wamr_libc_app.c", "-DWITH_BPF")
    assert {"printf", "snprintf", "malloc", "realloc", "free", "memcpy"} <= env_imports(data)
    out, err = io.StringIO(), io.StringIO()
    app = create_app(data, ["-v", "a long argument"], out, err, RunOptions(duration=3))
    exec_after(out, "ARGS", marker)
    assert app.run() == 0, err.getvalue()
    lines = out.getvalue().splitlines()
    assert lines[0] == 'ARGS ["app.wasm", "-v", "a long argument"]'  # grown with realloc
    assert lines[-1] == "DONE 1"
    events = [line.split(" ", 2) for line in lines[1:-1]]
    assert all(e[0] == "EVENT" for e in events)
    assert [int(e[1]) for e in events] == list(range(1, len(events) + 1))
    mine = [json.loads(e[2]) for e in events if json.loads(e[2])["filename"] == str(marker)]
    assert len(mine) == 3 and mine[0]["comm"] == marker.name
