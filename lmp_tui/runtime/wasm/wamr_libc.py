"""WAMR's built-in libc ("libc-builtin") for legacy ewasm apps.

eunomia's older ewasm toolchain linked apps against no libc of their own: ``printf``, ``malloc``,
``strlen``... stay imports from ``env``, which WAMR provided natively
(``core/iwasm/libraries/libc-builtin/libc_builtin_wrapper.c``). Here are the same names with the
same signatures, and C's semantics on the wasm32 data model (``int``, ``long``, ``size_t`` and
pointers 32 bits, ``long long`` 64):

* the printf family gets ``(fmt, va_list)``: a pointer to the arguments as clang lays them out
  for wasm32, each in a 4-byte slot, ``long long`` and ``double`` in 8 bytes aligned to 8 (as
  WAMR's ``_vprintf_wa`` reads them). Output is what glibc prints (WAMR's current version formats
  each conversion with the host's snprintf), byte for byte; ``%n`` and ``%L`` are not supported,
  as in WAMR;
* ``malloc`` and friends use a heap the host keeps inside the guest's memory, as WAMR's app heap
  is, in pages the host grows the memory by (never pages the guest grew itself), 8-byte aligned,
  first fit with coalescing; the bookkeeping stays on the host, out of the guest's reach. When the
  run's memory limit is reached, ``malloc`` returns 0;
* every pointer is bounds-checked: a pointer or length outside memory, or a string that runs off
  its end, traps with one line naming the function. So does ``free`` of a pointer the heap did
  not hand out, where WAMR would corrupt its heap or ignore it.

No per-byte Python loops: strings are found with ``bytes.find`` on chunks, copies are memmoves.
"""

from __future__ import annotations

import bisect
import ctypes
import math
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

import wasmtime

from .guest import GuestExit, GuestMemory, WasmTrapError

if TYPE_CHECKING:
    from .guest import GuestRuntime

MASK = 0xFFFFFFFF  # an i32 argument arrives signed; pointers and sizes are unsigned
INT_MIN, INT_MAX = -(1 << 31), (1 << 31) - 1  # int and long on wasm32
PAGE = 65536
ALIGN = 8
# A heap of tiny blocks costs the host ~100 bytes of bookkeeping each: bound that, not just the
# guest's memory (WAMR's app heap is a fixed few hundred KiB, so no real app comes close).
MAX_BLOCKS = 1 << 18
# Widths and precisions are cut here, so that "%2000000000d" cannot make the host build a
# gigabyte string (WAMR cuts each number at 63 characters).
MAX_FIELD = 1 << 16
FIRST_CHUNK = 256
MAX_CHUNK = 1 << 20

# name -> (params, results), as clang declares them for wasm32 (a variadic call passes the
# address of its arguments as a last i32).
SIGNATURES: dict[str, tuple[str, str]] = {
    "printf": ("i32 i32", "i32"),
    "sprintf": ("i32 i32 i32", "i32"),
    "snprintf": ("i32 i32 i32 i32", "i32"),
    "puts": ("i32", "i32"),
    "putchar": ("i32", "i32"),
    "malloc": ("i32", "i32"),
    "calloc": ("i32 i32", "i32"),
    "realloc": ("i32 i32", "i32"),
    "free": ("i32", ""),
    "strlen": ("i32", "i32"),
    "strcmp": ("i32 i32", "i32"),
    "strncmp": ("i32 i32 i32", "i32"),
    "strcpy": ("i32 i32", "i32"),
    "strncpy": ("i32 i32 i32", "i32"),
    "strchr": ("i32 i32", "i32"),
    "strdup": ("i32", "i32"),
    "memcpy": ("i32 i32 i32", "i32"),
    "memmove": ("i32 i32 i32", "i32"),
    "memset": ("i32 i32 i32", "i32"),
    "memcmp": ("i32 i32 i32", "i32"),
    "strtol": ("i32 i32 i32", "i32"),
    "strtoul": ("i32 i32 i32", "i32"),
    "atoi": ("i32", "i32"),
    "exit": ("i32", ""),
}


class LibcFault(Exception):
    """A guest error a libc function found: the trap's reason, without app or function name."""


class Memory(Protocol):
    """What reading the guest's strings and arguments needs (``GuestMemory``, or a test's)."""

    @property
    def size(self) -> int: ...

    def read(self, ptr: int, length: int) -> bytes | None: ...


# -- strings -----------------------------------------------------------------------------------


def c_string(memory: Memory, ptr: int, limit: int | None = None) -> bytes:
    """The bytes at ``ptr`` up to its NUL (or its first ``limit`` bytes, if no NUL comes first).

    Read in growing chunks, so a short string near a large memory's start costs a short read.
    """
    ptr &= MASK
    if limit == 0:
        return b""
    size = memory.size
    end = size if limit is None else min(size, ptr + limit)
    chunks: list[bytes] = []
    at, step = ptr, FIRST_CHUNK
    while at < end:
        raw = memory.read(at, min(step, end - at))
        if not raw:
            break
        if (nul := raw.find(b"\0")) >= 0:
            chunks.append(raw[:nul])
            return b"".join(chunks)
        chunks.append(raw)
        at += len(raw)
        step = min(step * 4, MAX_CHUNK)
    if limit is not None and ptr + limit <= size:
        return b"".join(chunks)
    raise LibcFault(f"string at {ptr:#x} runs off memory")


def sign(a: bytes, b: bytes) -> int:
    """memcmp's answer: C promises only its sign."""
    return (a > b) - (a < b)


# -- strtol ------------------------------------------------------------------------------------

SPACE_AND_SIGN = re.compile(rb"[ \t\n\v\f\r]*([+-]?)")
DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


@cache
def digits_of(base: int) -> re.Pattern[bytes]:
    chars = DIGITS[:base] + DIGITS[10:base].upper()
    return re.compile(f"[{chars}]+".encode())


def parse_long(text: bytes, base: int, signed: bool = True) -> tuple[int, int]:
    """C's strtol (``signed``) or strtoul on wasm32, where long is 32 bits: (value, bytes used).

    No digits, or a base other than 0 and 2..36, is (0, 0): ``endptr`` is then ``nptr``. Out of
    range saturates to LONG_MIN / LONG_MAX (ULONG_MAX), as C does; strtoul negates a "-" number
    modulo 2**32.
    """
    if base != 0 and not 2 <= base <= 36:
        return 0, 0
    head = SPACE_AND_SIGN.match(text)
    assert head is not None  # the pattern matches the empty string
    at, negative = head.end(), head.group(1) == b"-"
    hex_prefix = text[at : at + 2] in (b"0x", b"0X") and digits_of(16).match(text, at + 2)
    if base == 0:
        base = 16 if hex_prefix else 8 if text[at : at + 1] == b"0" else 10
    if base == 16 and hex_prefix:
        at += 2  # a "0x" with no hex digit after it is the number 0, followed by "x..."
    digits = digits_of(base).match(text, at)
    if digits is None:
        return 0, 0
    # Leading zeros never change the value; past 40 digits it is out of range in any base.
    significant = digits.group().lstrip(b"0") or b"0"
    value = int(significant, base) if len(significant) <= 40 else 1 << 64
    if signed:
        value = -value if negative else value
        return max(INT_MIN, min(INT_MAX, value)), digits.end()
    if value > MASK:
        return MASK, digits.end()
    return (-value if negative else value) & MASK, digits.end()


# -- printf ------------------------------------------------------------------------------------

CONVERSION = re.compile(
    rb"%(?P<flags>[-+ #0]*)(?P<width>\*|[0-9]+)?(?:\.(?P<precision>\*|[0-9]*))?"
    rb"(?P<length>hh|ll|[hljztq])?(?P<conv>.?)",
    re.DOTALL,
)
INTEGER_CONVERSIONS = "diouxX"
FLOAT_CONVERSIONS = "fFeEgG"
WIDE = ("ll", "j", "q")  # the 64-bit integers of wasm32; l, z and t are 32 bits there


class VaList:
    """The arguments of a variadic call, read from guest memory as clang's wasm32 ABI lays them
    out: one 4-byte slot each, 8-byte values aligned to 8."""

    def __init__(self, memory: Memory, ptr: int) -> None:
        self.memory = memory
        self.at = ptr & MASK
        self.count = 0

    def take(self, size: int) -> bytes:
        if size == 8:
            self.at = (self.at + 7) & -8
        self.count += 1
        raw = self.memory.read(self.at, size)
        if raw is None:
            raise LibcFault(f"argument {self.count} at {self.at:#x} is out of bounds")
        self.at += size
        return raw

    def i32(self) -> int:
        return int.from_bytes(self.take(4), "little", signed=True)

    def u32(self) -> int:
        return int.from_bytes(self.take(4), "little")

    def i64(self) -> int:
        return int.from_bytes(self.take(8), "little", signed=True)

    def u64(self) -> int:
        return int.from_bytes(self.take(8), "little")

    def f64(self) -> float:
        value: float = struct.unpack("<d", self.take(8))[0]
        return value


@dataclass(frozen=True, slots=True)
class Spec:
    """One conversion, its ``*`` fields already read: ``%-08.3lld`` is
    Spec("-0", 8, 3, "ll", "d")."""

    flags: str
    width: int
    precision: int | None
    length: str
    conv: str


def format_c(fmt: bytes, args: VaList, memory: Memory) -> bytes:
    """``fmt`` formatted as C's printf does, its arguments read from ``args``."""
    out: list[bytes] = []
    at = 0
    for match in CONVERSION.finditer(fmt):
        out.append(fmt[at : match.start()])
        at = match.end()
        out.append(_conversion(match, args, memory))
    out.append(fmt[at:])
    return b"".join(out)


def _conversion(match: re.Match[bytes], args: VaList, memory: Memory) -> bytes:
    conv = match["conv"].decode("latin-1")
    if conv == "%":
        return b"%"
    if not conv or conv not in INTEGER_CONVERSIONS + FLOAT_CONVERSIONS + "cspn":
        return match.group()  # glibc prints an unknown conversion as it stands (and so do we)
    spec = _spec(match, args)
    if conv in INTEGER_CONVERSIONS:
        value = _signed(args, spec.length) if conv in "di" else _unsigned(args, spec.length)
        return _integer(value, spec, signed=conv in "di")
    if conv in FLOAT_CONVERSIONS:
        return _float(args.f64(), spec)
    if conv == "c":
        return _pad(b"", bytes([args.i32() & 0xFF]), spec)
    if conv == "s":
        return _pad(b"", _string(memory, args.u32(), spec.precision), spec)
    if conv == "p":
        ptr = args.u32()
        if ptr == 0:  # glibc's "(nil)", padded as a string
            return _pad(b"", b"(nil)", Spec(spec.flags.replace("0", ""), spec.width, None, "", "s"))
        return _integer(ptr, Spec(spec.flags + "#", spec.width, spec.precision, "", "x"), True)
    args.u32()  # %n: its pointer is passed over but nothing is stored, as in WAMR
    return b""


def _spec(match: re.Match[bytes], args: VaList) -> Spec:
    flags = match["flags"].decode()
    width = match["width"]
    if width == b"*":
        star = args.i32()
        if star < 0:  # a negative * width is the - flag
            flags += "-"
        width_value = abs(star)
    else:
        width_value = int(width) if width else 0
    precision: int | None = None
    if (prec := match["precision"]) == b"*":
        star = args.i32()
        precision = star if star >= 0 else None  # a negative * precision is none at all
    elif prec is not None:
        precision = int(prec) if prec else 0
    if precision is not None:
        precision = min(precision, MAX_FIELD)
    length = (match["length"] or b"").decode()
    return Spec(flags, min(width_value, MAX_FIELD), precision, length, match["conv"].decode())


def _signed(args: VaList, length: str) -> int:
    if length in WIDE:
        return args.i64()
    value = args.i32()
    if length == "hh":
        return (value & 0xFF) - ((value & 0x80) << 1)
    if length == "h":
        return (value & 0xFFFF) - ((value & 0x8000) << 1)
    return value


def _unsigned(args: VaList, length: str) -> int:
    if length in WIDE:
        return args.u64()
    value = args.u32()
    return value & {"hh": 0xFF, "h": 0xFFFF}.get(length, MASK)


def _integer(value: int, spec: Spec, signed: bool) -> bytes:
    conv, flags, precision = spec.conv, spec.flags, spec.precision
    if precision == 0 and value == 0:
        digits = ""  # C: "%.0d" of 0 prints no digits at all
    else:
        digits = format(abs(value), {"o": "o", "x": "x", "X": "X"}.get(conv, "d"))
    if precision is not None:
        digits = digits.rjust(precision, "0")
    prefix = ""
    if "#" in flags:
        if conv == "o" and not digits.startswith("0"):
            digits = "0" + digits
        elif conv in "xX" and value != 0:
            prefix = "0" + conv
    sign = ""
    if value < 0:
        sign = "-"
    elif signed:
        sign = "+" if "+" in flags else " " if " " in flags else ""
    return _pad((sign + prefix).encode(), digits.encode(), spec, zeros=precision is None)


def _float(value: float, spec: Spec) -> bytes:
    flags = spec.flags
    negative = math.copysign(1.0, value) < 0  # -0.0 and glibc's "-nan" keep their sign
    sign = "-" if negative else "+" if "+" in flags else " " if " " in flags else ""
    if not math.isfinite(value):
        word = "nan" if math.isnan(value) else "inf"
        body = word.upper() if spec.conv.isupper() else word
        return _pad(sign.encode(), body.encode(), spec, zeros=False)
    alternate = "#" if "#" in flags else ""
    precision = 6 if spec.precision is None else spec.precision
    # Python's %-formatting of a float is C's (correctly rounded, same exponent form).
    body = f"%{alternate}.{precision}{spec.conv}" % abs(value)
    return _pad(sign.encode(), body.encode(), spec)


def _string(memory: Memory, ptr: int, precision: int | None) -> bytes:
    if ptr == 0:  # glibc prints "(null)", or nothing when the precision cannot hold it
        return b"(null)" if precision is None or precision >= 6 else b""
    return c_string(memory, ptr, precision)


def _pad(head: bytes, body: bytes, spec: Spec, zeros: bool = True) -> bytes:
    """``head`` (sign, 0x) and ``body`` in a field of ``spec.width``: spaces before, spaces
    after (``-``), or zeros between the two (``0``)."""
    fill = spec.width - len(head) - len(body)
    if fill <= 0:
        return head + body
    if "-" in spec.flags:
        return head + body + b" " * fill
    if "0" in spec.flags and zeros:
        return head + b"0" * fill + body
    return b" " * fill + head + body


# -- the heap ----------------------------------------------------------------------------------


class HeapMemory(Protocol):
    """The guest memory a ``HostHeap`` lives in."""

    @property
    def size(self) -> int: ...

    def grow(self, pages: int) -> int | None:
        """Grow by ``pages``: the old size in pages, or None when the memory cannot grow."""
        ...

    def move(self, dst: int, src: int, length: int) -> None: ...


def _rounded(size: int) -> int:
    return (max(size, 1) + ALIGN - 1) & -ALIGN


class HostHeap:
    """malloc/free over pages the host grew the guest's memory by.

    Blocks are handed out first fit from a free list kept in address order; a freed block merges
    with free neighbours. Pages are grown only when no free block fits, and extend the last range
    when nothing else grew the memory since, so a block may straddle two grows.
    """

    def __init__(self, memory: HeapMemory) -> None:
        self.memory = memory
        self.used: dict[int, int] = {}  # start -> size of each live block
        self.free_at: list[int] = []  # starts of the free blocks, ascending
        self.free_size: dict[int, int] = {}
        self.end: int | None = None  # end of the range grown last

    def malloc(self, size: int) -> int:
        """A block of ``size`` bytes (0 is a block too), or 0 when there is no room."""
        if len(self.used) >= MAX_BLOCKS:
            return 0
        need = _rounded(size)
        start = self._first_fit(need)
        if start is None and self._grow(need):
            start = self._first_fit(need)
        if start is None:
            return 0
        self._take(start, need)
        self.used[start] = need
        return start

    def free(self, ptr: int) -> None:
        if ptr == 0:
            return
        size = self.used.pop(ptr, None)
        if size is None:
            raise LibcFault(f"{ptr:#x} was not returned by malloc (or was freed already)")
        self._release(ptr, size)

    def realloc(self, ptr: int, size: int) -> int:
        if ptr == 0:
            return self.malloc(size)
        old = self.used.get(ptr)
        if old is None:
            raise LibcFault(f"{ptr:#x} was not returned by malloc (or was freed already)")
        if size == 0:  # glibc: the block is freed, and NULL returned
            self.free(ptr)
            return 0
        need = _rounded(size)
        if need <= old:
            if old > need:
                self.used[ptr] = need
                self._release(ptr + need, old - need)
            return ptr
        after = ptr + old
        if self.free_size.get(after, 0) >= need - old:  # grow in place into the next free block
            self._take(after, need - old)
            self.used[ptr] = need
            return ptr
        new = self.malloc(size)
        if new:  # on failure the old block stays as it was, as in C
            self.memory.move(new, ptr, old)
            self.free(ptr)
        return new

    def size_of(self, ptr: int) -> int | None:
        return self.used.get(ptr)

    def _first_fit(self, need: int) -> int | None:
        return next((s for s in self.free_at if self.free_size[s] >= need), None)

    def _take(self, start: int, need: int) -> None:
        """Allocate the first ``need`` bytes of the free block at ``start``."""
        size = self.free_size.pop(start)
        i = bisect.bisect_left(self.free_at, start)
        if size > need:
            self.free_at[i] = start + need  # still in order: it stays below the next block
            self.free_size[start + need] = size - need
        else:
            del self.free_at[i]

    def _release(self, start: int, size: int) -> None:
        """Add a free block, merged with the free blocks right before and after it."""
        i = bisect.bisect_left(self.free_at, start)
        if i < len(self.free_at) and self.free_at[i] == start + size:
            size += self.free_size.pop(self.free_at.pop(i))
        if i > 0 and (prev := self.free_at[i - 1]) + self.free_size[prev] == start:
            self.free_size[prev] += size
            return
        self.free_at.insert(i, start)
        self.free_size[start] = size

    def _grow(self, need: int) -> bool:
        """Grow the memory so that a free block of ``need`` bytes exists."""
        tail = 0
        if self.end is not None and self.end == self.memory.size and self.free_at:
            last = self.free_at[-1]
            if last + self.free_size[last] == self.end:
                tail = self.free_size[last]  # the new pages extend this block
        pages = (need - tail + PAGE - 1) // PAGE
        if pages > (1 << 16):
            return False
        old = self.memory.grow(pages)
        if old is None:
            return False
        start, end = old * PAGE, (old + pages) * PAGE
        if start == 0:
            start = ALIGN  # address 0 is NULL: never hand it out
        self._release(start, end - start)
        self.end = end
        return True


# -- the imports -------------------------------------------------------------------------------


class GuestPages:
    """A ``HeapMemory`` on a runtime's wasmtime memory."""

    def __init__(self, runtime: GuestRuntime) -> None:
        self.runtime = runtime

    @property
    def guest(self) -> GuestMemory:
        if self.runtime.memory is None:
            raise LibcFault("called before the module's memory was set up")
        return self.runtime.memory

    @property
    def size(self) -> int:
        return self.guest.size

    def grow(self, pages: int) -> int | None:
        try:
            return int(self.guest.memory.grow(self.runtime.store, pages))
        except wasmtime.WasmtimeError:  # past the run's memory limit, or the module's maximum
            return None

    def move(self, dst: int, src: int, length: int) -> None:
        to, source = self.guest.address(dst, length), self.guest.address(src, length)
        if to is None or source is None:
            raise LibcFault(f"{length} bytes at {src & MASK:#x} are out of bounds")
        ctypes.memmove(to, source, length)


class WamrLibc:
    """The libc-builtin imports for one runtime: ``function(name)`` is what ``env.name`` calls."""

    def __init__(self, runtime: GuestRuntime) -> None:
        self.runtime = runtime
        self.pages = GuestPages(runtime)
        self.heap = HostHeap(self.pages)

    def function(self, name: str) -> Callable[..., Any]:
        """The import ``name``: a guest error in it is a one-line trap naming it."""
        fn: Callable[..., Any] = getattr(self, f"c_{name}")

        def call(*args: int) -> Any:
            try:
                return fn(*args)
            except LibcFault as exc:
                raise WasmTrapError(f"{self.runtime.name}: {name}: {exc}") from None

        return call

    # -- helpers ----------------------------------------------------------------------------------

    @property
    def memory(self) -> GuestMemory:
        return self.pages.guest

    def span(self, ptr: int, length: int) -> int:
        """The host address of ``ptr..ptr+length``; a fault when it is not all in memory."""
        addr = self.memory.address(ptr, length)
        if addr is None:
            raise LibcFault(f"{length} bytes at {ptr & MASK:#x} are out of bounds")
        return addr

    def put(self, ptr: int, data: bytes) -> None:
        ctypes.memmove(self.span(ptr, len(data)), data, len(data))

    def string(self, ptr: int, limit: int | None = None) -> bytes:
        return c_string(self.memory, ptr, limit)

    def output(self, data: bytes) -> None:
        if self.runtime.stdout is not None:
            self.runtime.stdout.write(data)

    def formatted(self, fmt: int, va_list: int) -> bytes:
        return format_c(self.string(fmt), VaList(self.memory, va_list), self.memory)

    # -- stdio ------------------------------------------------------------------------------------

    def c_printf(self, fmt: int, va_list: int) -> int:
        out = self.formatted(fmt, va_list)
        self.output(out)
        return len(out)

    def c_sprintf(self, dst: int, fmt: int, va_list: int) -> int:
        out = self.formatted(fmt, va_list)
        self.put(dst, out + b"\0")
        return len(out)

    def c_snprintf(self, dst: int, size: int, fmt: int, va_list: int) -> int:
        out = self.formatted(fmt, va_list)
        if size := size & MASK:
            self.put(dst, out[: size - 1] + b"\0")
        return len(out)  # what it would have written: the caller can retry with more room

    def c_puts(self, s: int) -> int:
        line = self.string(s) + b"\n"
        self.output(line)
        return len(line)

    def c_putchar(self, c: int) -> int:
        self.output(bytes([c & 0xFF]))
        return c & 0xFF

    # -- heap -------------------------------------------------------------------------------------

    def c_malloc(self, size: int) -> int:
        return self.heap.malloc(size & MASK)

    def c_calloc(self, count: int, size: int) -> int:
        total = (count & MASK) * (size & MASK)
        if total > MASK:
            return 0
        ptr = self.heap.malloc(total)
        if ptr:  # a reused block holds what was there before
            ctypes.memset(self.span(ptr, total), 0, total)
        return ptr

    def c_realloc(self, ptr: int, size: int) -> int:
        return self.heap.realloc(ptr & MASK, size & MASK)

    def c_free(self, ptr: int) -> None:
        self.heap.free(ptr & MASK)

    # -- strings and memory -----------------------------------------------------------------------

    def c_strlen(self, s: int) -> int:
        return len(self.string(s))

    def c_strcmp(self, a: int, b: int) -> int:
        return sign(self.string(a), self.string(b))

    def c_strncmp(self, a: int, b: int, n: int) -> int:
        n &= MASK
        return sign(self.string(a, n), self.string(b, n))

    def c_strcpy(self, dst: int, src: int) -> int:
        self.put(dst, self.string(src) + b"\0")
        return dst

    def c_strncpy(self, dst: int, src: int, n: int) -> int:
        n &= MASK
        self.span(dst, n)  # before building n bytes of padding
        self.put(dst, self.string(src, n).ljust(n, b"\0"))
        return dst

    def c_strchr(self, s: int, c: int) -> int:
        text = self.string(s)
        c &= 0xFF
        at = len(text) if c == 0 else text.find(bytes([c]))  # strchr(s, 0) finds the NUL
        return 0 if at < 0 else ((s & MASK) + at)

    def c_strdup(self, s: int) -> int:
        data = self.string(s) + b"\0"
        ptr = self.heap.malloc(len(data))
        if ptr:
            self.put(ptr, data)
        return ptr

    def c_memcpy(self, dst: int, src: int, n: int) -> int:
        return self.c_memmove(dst, src, n)  # memmove is a correct memcpy

    def c_memmove(self, dst: int, src: int, n: int) -> int:
        if n := n & MASK:
            ctypes.memmove(self.span(dst, n), self.span(src, n), n)
        return dst

    def c_memset(self, s: int, c: int, n: int) -> int:
        if n := n & MASK:
            ctypes.memset(self.span(s, n), c & 0xFF, n)
        return s

    def c_memcmp(self, a: int, b: int, n: int) -> int:
        n &= MASK
        if not n:
            return 0
        return sign(
            ctypes.string_at(self.span(a, n), n),
            ctypes.string_at(self.span(b, n), n),
        )

    # -- numbers and exit -------------------------------------------------------------------------

    def c_strtol(self, nptr: int, endptr: int, base: int) -> int:
        return self.strto(nptr, endptr, base, signed=True)

    def c_strtoul(self, nptr: int, endptr: int, base: int) -> int:
        return self.strto(nptr, endptr, base, signed=False)

    def strto(self, nptr: int, endptr: int, base: int, signed: bool) -> int:
        value, used = parse_long(self.string(nptr), base, signed)
        if endptr & MASK:
            self.put(endptr, (((nptr & MASK) + used) & MASK).to_bytes(4, "little"))
        return value

    def c_atoi(self, s: int) -> int:
        return parse_long(self.string(s), 10)[0]

    def c_exit(self, code: int) -> None:
        raise GuestExit(code & 0xFF)  # the status a shell sees from C's exit()
