"""Values as their meaning says (``format.roles``): ``1.5 GiB``, ``1.2 ms``, ``ENOENT``,
``O_RDONLY|O_CLOEXEC``, ``FIN_WAIT1``, ``127.0.0.1:36273``, ``SYN_SENT → ESTABLISHED``,
``0xffff8881...``.

Functions take a decoded numpy column (and, where a sibling decides, the batch's rows, as
``addresses`` does) and return display strings. Values repeat (a process's pages, a socket's
state, an errno), so what needs a Python call is called once per distinct value and spread back
with numpy, never once per event.

Nothing here decides where units show: the TUI shows them all, ``lmp run`` (``output``) only
what keeps ecli's columns parseable, and JSON none.
"""

from __future__ import annotations

import errno
import functools
import mmap
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..format.layout import Field, FieldKind, StructLayout, address_size
from ..format.roles import PLAIN, SIZE_UNITS, TIME_UNITS, Meaning, Role, meanings
from ..format.syscalls import syscall_name
from ..lazy import np
from ..units import format_bytes as _format_bytes
from ..untrusted import printable_all
from .addresses import Address, address_strings, addresses, family_field, looks_like_address
from .decode import c_strings, converter, plain_value

PAGE_SIZE = mmap.PAGESIZE
"""Bytes per page on this kernel: what page counts are worth."""

_NS_PER = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}
_BYTES_PER = {"bytes": 1, "kib": 1024}
_UNIT_TEXT = {"ns": "ns", "us": "µs", "ms": "ms", "s": "s"}


# -- one value ------------------------------------------------------------------------------------


def format_bytes(n: float) -> str:
    """``1.5 GiB``, ``512 B``: binary units as ``units.format_bytes`` (htop, btop), any sign."""
    if n < 0:
        return "-" + _format_bytes(round(-n))
    return _format_bytes(round(n))


def format_duration(value: float, unit: str = "ns") -> str:
    """``850 ns``, ``1.2 µs``, ``850 µs``, ``12 ms``, ``2.3 s``, ``4m05s``, ``3h02m``,
    ``2d04h``: two or three significant digits, in the largest unit that is at least 1."""
    ns = value * _NS_PER[unit]
    if ns < 0:
        return "-" + format_duration(-ns)
    seconds = ns / 1e9
    if seconds >= 60:
        return _clock_duration(round(seconds))
    for name, size in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= size:
            text = _short(ns / size)
            if text != "1000":
                return f"{text} {name}"
            ns = size * 1000  # 999.7 µs rounds to 1.0 ms, not 1000 µs
            return format_duration(ns)
    return f"{_short(ns)} ns"


def _short(x: float) -> str:
    """``1.2``, ``5``, ``850``: one decimal below 10 (none when it is 0), none above."""
    if x < 9.95:
        text = f"{x:.1f}"
        return text.removesuffix(".0")
    return f"{x:.0f}"


def _clock_duration(seconds: int) -> str:
    minutes, s = divmod(seconds, 60)
    hours, m = divmod(minutes, 60)
    days, h = divmod(hours, 24)
    if days:
        return f"{days}d{h:02d}h"
    if hours:
        return f"{hours}h{m:02d}m"
    return f"{minutes}m{s:02d}s"


def format_count(x: float) -> str:
    """``850``, ``1.2k``, ``35M``: a count or rate, compact (never for ids)."""
    sign = "-" if x < 0 else ""
    x = abs(x)
    for suffix, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if x >= size * 0.9995:
            return f"{sign}{_short(x / size)}{suffix}"
    return sign + (_short(x) if x < 10 else f"{x:.0f}")


# Linux picks one name per number; Python's table sometimes the alias strace and bcc do not use.
_ERRNO_NAMES = {**errno.errorcode, errno.EDEADLK: "EDEADLK", errno.EOPNOTSUPP: "EOPNOTSUPP"}


def errno_name(value: int) -> str:
    """``ENOENT`` for -2; a non-negative value (a file descriptor, a count) or an unknown
    errno stays a number."""
    return _ERRNO_NAMES.get(-value, str(value)) if value < 0 else str(value)


# -- flags ----------------------------------------------------------------------------------------

Table = tuple[tuple[str, int], ...]

# open(2) flags as the kernel defines them for x86_64 (include/uapi/asm-generic/fcntl.h): each
# name with its bits; names of several bits come first, so that they win over their parts.
OPEN_FLAGS: Table = (
    ("O_TMPFILE", 0o20200000),  # __O_TMPFILE | O_DIRECTORY
    ("O_SYNC", 0o4010000),  # __O_SYNC | O_DSYNC
    ("O_CREAT", 0o100),
    ("O_EXCL", 0o200),
    ("O_NOCTTY", 0o400),
    ("O_TRUNC", 0o1000),
    ("O_APPEND", 0o2000),
    ("O_NONBLOCK", 0o4000),
    ("O_DSYNC", 0o10000),
    ("O_ASYNC", 0o20000),
    ("O_DIRECT", 0o40000),
    ("O_LARGEFILE", 0o100000),
    ("O_DIRECTORY", 0o200000),
    ("O_NOFOLLOW", 0o400000),
    ("O_NOATIME", 0o1000000),
    ("O_CLOEXEC", 0o2000000),
    ("__O_SYNC", 0o4000000),
    ("O_PATH", 0o10000000),
    ("__O_TMPFILE", 0o20000000),
)
ACCESS_MODES = ("O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE")
"""The low two bits of open flags are a number, not flags: O_RDONLY is 0."""

# mount(2) flags (include/uapi/linux/mount.h), and umount2(2)'s, which reuse the same bits.
MOUNT_FLAGS: Table = (
    ("MS_RDONLY", 1 << 0),
    ("MS_NOSUID", 1 << 1),
    ("MS_NODEV", 1 << 2),
    ("MS_NOEXEC", 1 << 3),
    ("MS_SYNCHRONOUS", 1 << 4),
    ("MS_REMOUNT", 1 << 5),
    ("MS_MANDLOCK", 1 << 6),
    ("MS_DIRSYNC", 1 << 7),
    ("MS_NOSYMFOLLOW", 1 << 8),
    ("MS_NOATIME", 1 << 10),
    ("MS_NODIRATIME", 1 << 11),
    ("MS_BIND", 1 << 12),
    ("MS_MOVE", 1 << 13),
    ("MS_REC", 1 << 14),
    ("MS_SILENT", 1 << 15),
    ("MS_POSIXACL", 1 << 16),
    ("MS_UNBINDABLE", 1 << 17),
    ("MS_PRIVATE", 1 << 18),
    ("MS_SLAVE", 1 << 19),
    ("MS_SHARED", 1 << 20),
    ("MS_RELATIME", 1 << 21),
    ("MS_KERNMOUNT", 1 << 22),
    ("MS_I_VERSION", 1 << 23),
    ("MS_STRICTATIME", 1 << 24),
    ("MS_LAZYTIME", 1 << 25),
    ("MS_SUBMOUNT", 1 << 26),
    ("MS_NOREMOTELOCK", 1 << 27),
    ("MS_NOSEC", 1 << 28),
    ("MS_BORN", 1 << 29),
    ("MS_ACTIVE", 1 << 30),
    ("MS_NOUSER", 1 << 31),
)
MS_MGC_VAL, MS_MGC_MSK = 0xC0ED0000, 0xFFFF0000
"""Old callers put this magic in the high 16 bits; the kernel ignores them then."""
UMOUNT_FLAGS: Table = (
    ("MNT_FORCE", 1),
    ("MNT_DETACH", 2),
    ("MNT_EXPIRE", 4),
    ("UMOUNT_NOFOLLOW", 8),
)


def flag_names(value: int, table: Table) -> list[str]:
    """The names of ``value``'s bits in ``table``, in table order, and what no name covers as
    one hexadecimal number (``0x40000000``) at the end."""
    names = []
    for name, bits in table:
        if value & bits == bits:
            names.append(name)
            value &= ~bits
    if value:
        names.append(hex(value))
    return names


def open_flags(value: int) -> str:
    """``O_RDONLY|O_CLOEXEC``, ``O_WRONLY|O_CREAT|O_TRUNC``: the access mode, then the flags."""
    return "|".join([ACCESS_MODES[value & 3], *flag_names(value & ~3, OPEN_FLAGS)])


def mount_flags(value: int) -> str:
    """``MS_BIND|MS_REC``, ``MS_MGC_VAL|MS_RDONLY``; ``0`` for none."""
    names = []
    if value & MS_MGC_MSK == MS_MGC_VAL:
        names.append("MS_MGC_VAL")
        value &= ~MS_MGC_MSK
    return "|".join(names + flag_names(value, MOUNT_FLAGS)) or "0"


def umount_flags(value: int) -> str:
    """``MNT_DETACH|UMOUNT_NOFOLLOW``; ``0`` for none."""
    return "|".join(flag_names(value, UMOUNT_FLAGS)) or "0"


FLAG_FORMATS: dict[str, Callable[[int], str]] = {
    "open": open_flags,
    "mount": mount_flags,
    "umount": umount_flags,
}


def parse_flags(text: str, kind: str) -> int:
    """The value ``open_flags``, ``mount_flags`` or ``umount_flags`` (``kind``) wrote as
    ``text``: names and hexadecimal numbers joined by ``|``. Raises ValueError."""
    table = {"open": OPEN_FLAGS, "mount": MOUNT_FLAGS, "umount": UMOUNT_FLAGS}[kind]
    known = dict(table)
    if kind == "open":
        known.update((name, mode) for mode, name in enumerate(ACCESS_MODES))
    elif kind == "mount":
        known["MS_MGC_VAL"] = MS_MGC_VAL
    value = 0
    for part in text.strip().split("|"):
        part = part.strip()
        if part in known:
            value |= known[part]
        else:
            try:
                value |= int(part, 0)
            except ValueError:
                raise ValueError(f"{part!r} is not a {kind} flag") from None
    return value


# -- names for integers that are enumerations ------------------------------------------------------

TCP_STATES = (
    "",
    "ESTABLISHED",
    "SYN_SENT",
    "SYN_RECV",
    "FIN_WAIT1",
    "FIN_WAIT2",
    "TIME_WAIT",
    "CLOSE",
    "CLOSE_WAIT",
    "LAST_ACK",
    "LISTEN",
    "CLOSING",
    "NEW_SYN_RECV",
    "BOUND_INACTIVE",
)
"""include/net/tcp_states.h, by value."""
IP_PROTOCOLS = {
    1: "ICMP",
    2: "IGMP",
    4: "IPIP",
    6: "TCP",
    17: "UDP",
    41: "IPv6",
    47: "GRE",
    50: "ESP",
    51: "AH",
    58: "ICMPv6",
    132: "SCTP",
    136: "UDPLITE",
    255: "RAW",
}
ETHER_TYPES = {
    0x0800: "IPv4",
    0x0806: "ARP",
    0x8035: "RARP",
    0x8100: "802.1Q",
    0x86DD: "IPv6",
    0x8847: "MPLS",
    0x88A8: "802.1ad",
    0x88CC: "LLDP",
}


def _family_name(value: int) -> str:
    try:
        return socket.AddressFamily(value).name
    except ValueError:
        return str(value)


def _table_name(table: str, value: int) -> str:
    match table:
        case "tcp_state":
            return TCP_STATES[value] if 0 < value < len(TCP_STATES) else str(value)
        case "ip_proto":
            return IP_PROTOCOLS.get(value, str(value))
        case "eth_proto":
            return ETHER_TYPES.get(value, f"0x{value:04x}")
        case "family":
            return _family_name(value)
    return str(value)


def enum_names(f: Field, meaning: Meaning) -> dict[int, str]:
    """A C enum's values and their names without the common prefix (``FIN_WAIT1``)."""
    cut = len(meaning.prefix)
    return {v: n[cut:] if n.startswith(meaning.prefix) else n for n, v in f.enum_values}


# -- columns --------------------------------------------------------------------------------------

Strings = Callable[["np.ndarray"], list[str]]


def per_distinct(col: np.ndarray, text: Callable[[Any], str]) -> list[str]:
    """``text`` of each value of ``col``, called once per distinct value."""
    if not len(col):
        return []
    values, inverse = np.unique(col, return_inverse=True)
    texts = np.array([text(v) for v in values.tolist()], dtype=object)
    return list(texts[inverse.reshape(-1)].tolist())


def _unsigned(col: np.ndarray) -> np.ndarray:
    """Integers as the bits they are (flags and pointers in a signed ``int`` stay positive)."""
    return col.view(f"<u{col.dtype.itemsize}") if col.dtype.kind == "i" else col


def plain_strings(f: Field, col: np.ndarray) -> list[str]:
    """A column's values as ecli's plain dumper prints them, without a Python call per value
    for the kinds events mostly have (integers, strings, bools)."""
    match f.kind:
        case FieldKind.INT | FieldKind.PTR:
            return list(map(str, col.tolist()))
        case FieldKind.BOOL:
            return list(map(("false", "true").__getitem__, (col != 0).tolist()))
        case FieldKind.STRING:
            return printable_all(c_strings(col))
    return printable_all(list(map(plain_value, converter(f)(col))))


def value_strings(
    f: Field, meaning: Meaning, col: np.ndarray, *, page_size: int = PAGE_SIZE
) -> list[str]:
    """One column as its meaning shows it, with no sibling needed: sizes in bytes (pages at
    this kernel's page size), durations, errno and signal names, flags, enums, syscalls, ids
    (hex for kernel objects). Timestamps stay numbers here (``timestamp_strings`` needs an
    origin); IP addresses need their rows (``column_strings``)."""
    if not len(col) or not _numeric(f):
        return plain_strings(f, col)
    role = meaning.role
    if role == Role.GAUGE and meaning.unit in SIZE_UNITS:
        factor = page_size if meaning.unit == "pages" else _BYTES_PER[meaning.unit]
        return per_distinct(col, lambda v: format_bytes(v * factor))
    if role == Role.DURATION and meaning.unit in TIME_UNITS:
        return per_distinct(col, functools.partial(format_duration, unit=meaning.unit))
    if f.kind == FieldKind.FLOAT:
        return plain_strings(f, col)
    match role:
        case Role.ERRNO:
            return per_distinct(col, errno_name)
        case Role.FLAGS if meaning.names in FLAG_FORMATS:
            return per_distinct(_unsigned(col), FLAG_FORMATS[meaning.names])
        case Role.FLAGS:
            return list(map(hex, _unsigned(col).tolist()))
        case Role.SIGNAL:
            from .store.fields import signal_name  # the store's; loaded when signals show

            return per_distinct(col, signal_name)
        case Role.SYSCALL:
            return per_distinct(col, syscall_name)
        case Role.ENUM if f.kind == FieldKind.ENUM:
            names = enum_names(f, meaning)
            return per_distinct(col, lambda v: names.get(v, str(v)))
        case Role.ENUM if meaning.names:
            return per_distinct(col, functools.partial(_table_name, meaning.names))
        case Role.ID if meaning.hex:
            return list(map(hex, _unsigned(col).tolist()))
    return plain_strings(f, col)


def _numeric(f: Field) -> bool:
    return f.kind in (FieldKind.INT, FieldKind.PTR, FieldKind.ENUM, FieldKind.FLOAT)


def ecli_enum_strings(f: Field, meaning: Meaning, col: np.ndarray) -> list[str]:
    """A C enum as ecli writes it, ``NAME(value)``, without the enumerators' common prefix:
    ``FIN_WAIT1(4)``; ``<UNKNOWN_VARIANT>(9)`` for a value it does not name."""
    names = enum_names(f, meaning)
    return per_distinct(
        col, lambda v: f"{names[v]}({v})" if v in names else f"<UNKNOWN_VARIANT>({v})"
    )


def address_of(layout: StructLayout, index: int, meaning: Meaning) -> Address | None:
    """How field ``index`` shows as an IP address: as ``addresses`` decides, or, for a field a
    package declares ``ipaddr``, by the struct's family field, else by its size."""
    found = addresses(layout).get(index)
    if found is not None or meaning.role != Role.IPADDR:
        return found
    f = layout.fields[index]
    size = address_size(f)
    if not size:
        return None
    family = family_field(layout)
    if family is not None:
        return Address(f, index, family, 0)
    return Address(f, index, None, 4 if size == 4 else 6)


def column_strings(
    layout: StructLayout,
    meanings: Mapping[str, Meaning],
    rows: np.ndarray,
    index: int,
    *,
    page_size: int = PAGE_SIZE,
) -> list[str]:
    """Field ``index`` of ``rows`` (a batch of whole records) as its meaning shows it,
    siblings included: an address by its family, umount(2) flags where an ``op`` says so."""
    f = layout.fields[index]
    meaning = meanings.get(f.name, Meaning(Role.PLAIN))
    col = rows[(rows.dtype.names or ())[index]]
    if meaning.role == Role.IPADDR:
        address = address_of(layout, index, meaning)
        if address is not None:
            return address_strings(address, rows, functools.partial(plain_strings, f))
    if meaning.flags_kind == "mount":
        umount = _umount_rows(layout, rows)
        if umount is not None and umount.any():
            return _mixed(col, umount)
    return value_strings(f, meaning, col, page_size=page_size)


def _umount_rows(layout: StructLayout, rows: np.ndarray) -> np.ndarray | None:
    """Which rows are umount calls, by an ``op`` enum whose enumerator says ``UMOUNT``
    (mountsnoop's): their flags are MNT_*, not MS_*."""
    names = rows.dtype.names or ()
    for i, f in enumerate(layout.fields):
        if f.name.lower() == "op" and f.kind == FieldKind.ENUM:
            umount = [v for n, v in f.enum_values if "UMOUNT" in n.upper()]
            return np.isin(rows[names[i]], umount) if umount else None
    return None


def _mixed(col: np.ndarray, umount: np.ndarray) -> list[str]:
    values = _unsigned(col)
    out = np.empty(len(values), dtype=object)
    out[umount] = per_distinct(values[umount], umount_flags)
    out[~umount] = per_distinct(values[~umount], mount_flags)
    return list(out.tolist())


# -- timestamps -----------------------------------------------------------------------------------


def monotonic_to_wall() -> float:
    """Seconds to add to a CLOCK_MONOTONIC time (``bpf_ktime_get_ns``) to make it wall time."""
    return time.time() - time.monotonic()


def timestamp_strings(
    meaning: Meaning,
    col: np.ndarray,
    *,
    origin: float | None = None,
    wall: bool = False,
    offset: float | None = None,
) -> list[str]:
    """Timestamps as seconds since ``origin`` (in the field's unit; the first value when
    None), ``12.345``, as bcc's ``TIME(s)``; or with ``wall`` as the local time of day,
    ``14:03:07.250``, for CLOCK_MONOTONIC values (``offset`` to wall time: now's when None)."""
    if not len(col):
        return []
    per_second = _NS_PER["s"] / _NS_PER.get(meaning.unit or "ns", 1)
    if not wall:
        start = float(col[0]) if origin is None else origin
        seconds = (col.astype(np.float64) - start) / per_second
        return list(map("{:.3f}".format, seconds.tolist()))
    base = monotonic_to_wall() if offset is None else offset
    seconds = col.astype(np.float64) / per_second + base
    whole = np.floor(seconds)
    millis = np.minimum(((seconds - whole) * 1000).astype(np.int64), 999)
    clock = per_distinct(whole.astype(np.int64), _time_of_day)
    return [f"{c}.{m:03d}" for c, m in zip(clock, millis.tolist(), strict=True)]


def _time_of_day(seconds: int) -> str:
    return time.strftime("%H:%M:%S", time.localtime(seconds))


# -- addresses and ports --------------------------------------------------------------------------

_SIDES = {
    "s": "s", "src": "s", "source": "s",
    "d": "d", "dst": "d", "dest": "d", "destination": "d",
    "l": "l", "local": "l", "loc": "l",
    "r": "r", "remote": "r", "rem": "r", "peer": "r",
    "": "",
}  # fmt: skip
_VERSIONS = ("_v4", "_v6", "v4", "v6", "4", "6")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """An address field and the port field beside it, shown together as ``addr:port``."""

    address: str
    port: str

    @property
    def name(self) -> str:
        """The joined column's title: ``saddr:sport``."""
        return f"{self.address}:{self.port}"


def _side(name: str, suffixes: tuple[str, ...]) -> str | None:
    """``s`` for ``saddr``/``src_ip``/``sport``/``src_port``; None when the name is not one."""
    base = name.lower()
    for v in _VERSIONS:
        if base.endswith(v) and len(base) > len(v):
            base = base.removesuffix(v)
            break
    for suffix in suffixes:
        if base.endswith(suffix):
            return _SIDES.get(base.removesuffix(suffix).rstrip("_"))
    return None


def joined_endpoints(
    layout: StructLayout, known: Mapping[str, Meaning] | None = None
) -> list[Endpoint]:
    """Pairs of an address field and its port (``saddr`` + ``sport``, ``daddr`` + ``dport``,
    ``src_ip`` + ``src_port``, ``addr`` + ``port``), in layout order. ``known``: the layout's
    meanings, when the caller has them."""
    known = meanings(layout) if known is None else known
    ports = {
        side: f.name
        for f in layout.fields
        if known.get(f.name, Meaning(Role.PLAIN)).role == Role.PORT
        and (side := _side(f.name, ("port",))) is not None
    }
    pairs = []
    for f in layout.fields:
        if known.get(f.name, Meaning(Role.PLAIN)).role != Role.IPADDR:
            continue
        side = _side(f.name, ("addr", "ip")) if looks_like_address(f.name) else None
        if side is not None and side in ports:
            pairs.append(Endpoint(f.name, ports.pop(side)))
    return pairs


def endpoint_strings(
    layout: StructLayout,
    rows: np.ndarray,
    endpoint: Endpoint,
    known: Mapping[str, Meaning] | None = None,
) -> list[str]:
    """``127.0.0.1:36273``, ``[::1]:80`` for each row (IPv6 in brackets, as URLs write it)."""
    known = meanings(layout) if known is None else known
    names = layout.names
    addr = column_strings(layout, known, rows, names.index(endpoint.address))
    port = rows[(rows.dtype.names or ())[names.index(endpoint.port)]].tolist()
    return [f"[{a}]:{p}" if ":" in a else f"{a}:{p}" for a, p in zip(addr, port, strict=True)]


# -- transitions ----------------------------------------------------------------------------------

ARROW = " → "
"""Between the two states of a transition, as bcc's tcpstates' ``OLDSTATE -> NEWSTATE``."""
_TRANSITION_PREFIXES = (("old", "new"), ("prev", "next"), ("from", "to"))


@dataclass(frozen=True, slots=True)
class Transition:
    """Two enum fields that say where something was and where it went (``oldstate`` and
    ``newstate``), shown together as ``SYN_SENT → ESTABLISHED``."""

    old: str
    new: str

    @property
    def name(self) -> str:
        """The joined column's title: ``oldstate→newstate`` (one word, as ``saddr:sport``)."""
        return f"{self.old}→{self.new}"


def transitions(
    layout: StructLayout, known: Mapping[str, Meaning] | None = None
) -> list[Transition]:
    """Pairs of fields that are one change of the same enumeration, in layout order: two
    fields named ``old<x>``/``new<x>`` (or ``prev<x>``/``next<x>``, ``from<x>``/``to<x>``;
    any case, ``x`` the same suffix, ``_state`` or ``state``) that both mean an enum (C enums
    with the same enumerators, or integers named by the same table, ``tcp_state``). Each
    field joins one pair at most. ``known``: the layout's meanings, when the caller has them."""
    known = meanings(layout) if known is None else known
    fields = {f.name.lower(): f for f in layout.fields}
    used: set[str] = set()
    pairs = []
    for f in layout.fields:
        partner = _partner(f, fields, known)
        if partner is None or {f.name, partner.name} & used:
            continue
        used |= {f.name, partner.name}
        pairs.append(Transition(f.name, partner.name))
    return pairs


def _partner(f: Field, fields: Mapping[str, Field], known: Mapping[str, Meaning]) -> Field | None:
    """The ``new<x>`` field of the same enum for an ``old<x>`` field ``f``, or None."""
    name = f.name.lower()
    for old, new in _TRANSITION_PREFIXES:
        partner = fields.get(new + name.removeprefix(old)) if name.startswith(old) else None
        if partner is not None and _same_enum(f, partner, known):
            return partner
    return None


def _same_enum(a: Field, b: Field, known: Mapping[str, Meaning]) -> bool:
    """Both fields name their values from one enumeration: a transition reads ``A → B`` only
    when A and B are names of the same kind."""
    ma, mb = known.get(a.name, PLAIN), known.get(b.name, PLAIN)
    same_meaning = (ma.role, ma.names, ma.prefix) == (mb.role, mb.names, mb.prefix)
    return (
        ma.role == Role.ENUM
        and same_meaning
        and a.kind == b.kind
        and a.enum_values == b.enum_values
    )


def transition_strings(
    layout: StructLayout,
    rows: np.ndarray,
    transition: Transition,
    known: Mapping[str, Meaning] | None = None,
) -> list[str]:
    """``SYN_SENT → ESTABLISHED`` for each row, each side as its field alone shows it (the
    enum's names without their prefix). A connection goes through few pairs of states, so
    text is made once per distinct pair and spread back with numpy."""
    known = meanings(layout) if known is None else known
    names, columns = layout.names, rows.dtype.names or ()
    i, j = names.index(transition.old), names.index(transition.new)
    old, new = rows[columns[i]], rows[columns[j]]
    if not len(old):
        return []
    # Each side as a code of its distinct values, a pair as one integer of the two codes: a
    # one-dimensional unique (np.unique over rows, axis=0, is some twenty times slower).
    old_values, old_codes = np.unique(old, return_inverse=True)
    new_values, new_codes = np.unique(new, return_inverse=True)
    width = len(new_values)
    pairs = old_codes.reshape(-1).astype(np.int64) * width + new_codes.reshape(-1)
    distinct, inverse = np.unique(pairs, return_inverse=True)
    fo, fn = layout.fields[i], layout.fields[j]
    olds = value_strings(fo, known.get(fo.name, PLAIN), old_values[distinct // width])
    news = value_strings(fn, known.get(fn.name, PLAIN), new_values[distinct % width])
    texts = np.array([a + ARROW + b for a, b in zip(olds, news, strict=True)], dtype=object)
    return list(texts[inverse.reshape(-1)].tolist())


# -- scales ---------------------------------------------------------------------------------------


def unit_label(meaning: Meaning) -> str:
    """The unit values show in, for a header or a graph's scale: ``B`` for sizes (pages
    included), ``/s`` or ``B/s`` for counters (shown as rates), the field's own unit for
    durations and timestamps (``µs``); empty otherwise."""
    sized = meaning.unit in SIZE_UNITS
    match meaning.role:
        case Role.GAUGE:
            return "B" if sized else ""
        case Role.COUNTER:
            return "B/s" if sized else "/s"
        case Role.DURATION | Role.TIMESTAMP:
            return _UNIT_TEXT.get(meaning.unit or "ns", "")
    return ""


def to_base(meaning: Meaning, values: np.ndarray, *, page_size: int = PAGE_SIZE) -> np.ndarray:
    """Values as float64 in base units, for sums, rates and scales: bytes for sizes (pages
    times the page size), seconds for durations and timestamps, as they are otherwise."""
    out = np.asarray(values, dtype=np.float64)
    if meaning.unit == "pages":
        return out * page_size
    if meaning.unit in _BYTES_PER:
        return out * _BYTES_PER[meaning.unit]
    if meaning.unit in TIME_UNITS:
        return out / (_NS_PER["s"] / _NS_PER[meaning.unit])
    return out


def format_base(meaning: Meaning, value: float) -> str:
    """One value in base units (``to_base``) as text: ``1.5 GiB``, ``1.2 ms``, ``850``."""
    if meaning.unit in SIZE_UNITS:
        return format_bytes(value)
    if meaning.unit in TIME_UNITS:
        return format_duration(value, "s")
    return format_count(value)


def format_rate(meaning: Meaning, per_second: float) -> str:
    """A counter's rate, in base units per second: ``1.2k/s``, ``1.5 MiB/s``."""
    if meaning.unit in SIZE_UNITS:
        return format_bytes(per_second) + "/s"
    return format_count(per_second) + "/s"


def describe(layout: StructLayout, **context: Any) -> dict[str, str]:
    """Each field's meaning in words (``gauge, pages``), for a details panel."""
    return {name: m.description for name, m in meanings(layout, **context).items()}
