"""How values look in the TUI: one formatter per column, applied to a whole column at once.

Cells show what a field means (``format.roles``), formatted by ``stream.meaning``: sizes in
bytes with units (pages at this kernel's page size), durations, errno, flag and signal names,
enums without their prefix, kernel pointers in hex, an address and its port joined, an old and
a new state joined (``SYN_SENT → ESTABLISHED``). Sorting stays on the raw numpy fields: a column
only says how its values look.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..runtime.format.layout import Field, FieldKind, StructLayout
from ..runtime.format.roles import SIZE_UNITS, TIME_UNITS, Meaning, Role, meanings
from ..runtime.lazy import np
from ..runtime.stream.addresses import IPV4_WIDTH, Address
from ..runtime.stream.meaning import (
    ARROW,
    PAGE_SIZE,
    Endpoint,
    Transition,
    address_of,
    column_strings,
    endpoint_strings,
    enum_names,
    joined_endpoints,
    per_distinct,
    transition_strings,
    transitions,
)
from ..runtime.stream.query import sortable
from ..runtime.stream.store import is_signal_field

ColumnFormatter = Callable[["np.ndarray"], list[str]]

TIME_COLUMN = "time"
TIME_WIDTH = 8  # HH:MM:SS

# Roles whose values read as words (names, addresses, text): left-aligned like text.
_WORD_ROLES = frozenset({Role.ENUM, Role.FLAGS, Role.SIGNAL, Role.SYSCALL, Role.IPADDR, Role.TEXT})


@dataclass(frozen=True, slots=True)
class Column:
    """A table column: a layout field, an address joined with its port, a transition (old and
    new state), or arrival time."""

    name: str
    width: int
    numeric: bool
    """Right-aligned, as numbers are."""
    format: ColumnFormatter
    """Whole rows of the layout (or their arrival times, for ``times``) to cell texts."""
    field: Field | None = None
    address: Address | None = None
    """Set for an IP address column, whose text may depend on a sibling (family) field."""
    sortable: bool = False
    """Sortable by the raw field of the same name."""
    times: bool = False
    """Formats the rows' arrival times (``EventStore.times``), not the rows."""

    def texts(self, rows: np.ndarray) -> list[str]:
        """The cells of this column for ``rows`` (whole events, or times for ``times``)."""
        return self.format(rows)


def _width(f: Field, meaning: Meaning) -> int:
    """A width that fits typical values as shown and the field's name; columns widen when a
    wider value shows up."""
    return max(_value_width(f, meaning), len(f.name) + 2)


def _value_width(f: Field, meaning: Meaning) -> int:
    """A width that fits typical values of ``f`` as its meaning shows them."""
    sized = meaning.unit in SIZE_UNITS
    timed = meaning.unit in TIME_UNITS
    match meaning.role:
        case Role.GAUGE if sized:
            width = 10  # 1023.5 MiB
        case Role.DURATION if timed:
            width = 7  # 12.3 ms
        case Role.ID if meaning.hex:
            width = 18  # 0xffff888100000000
        case Role.ERRNO:
            width = 7
        case Role.FLAGS:
            width = 12
        case Role.SYSCALL:
            width = 12
        case Role.SIGNAL:
            width = 8
        case Role.ENUM if f.kind == FieldKind.ENUM:
            width = max((len(n) for n in enum_names(f, meaning).values()), default=6)
        case Role.ENUM if meaning.names:
            width = 11  # ESTABLISHED
        case _:
            width = initial_width(f)
    return width


def initial_width(f: Field) -> int:
    """A width that fits typical raw values of ``f``'s type."""
    if is_signal_field(f):
        width = 8
    else:
        match f.kind:
            case FieldKind.INT:
                width = {1: 4, 2: 6, 4: 7, 8: 10}.get(f.size, 10)
            case FieldKind.STRING:
                width = min(max(f.size - 1, 4), 16)
            case FieldKind.ENUM:
                width = max((len(n) for n, _ in f.enum_values), default=6)
            case FieldKind.BOOL:
                width = 5
            case _:
                width = 12
    return max(width, len(f.name) + 2)


def _numeric(f: Field, meaning: Meaning) -> bool:
    number = f.kind in (FieldKind.INT, FieldKind.FLOAT, FieldKind.PTR)
    return number and meaning.role not in _WORD_ROLES and not is_signal_field(f)


def field_column(
    layout: StructLayout,
    known: Mapping[str, Meaning],
    index: int,
    *,
    page_size: int = PAGE_SIZE,
) -> Column:
    """Field ``index`` of ``layout`` as its meaning shows it."""
    f = layout.fields[index]
    meaning = known.get(f.name, Meaning(Role.PLAIN))
    address = address_of(layout, index, meaning)
    # Wide enough for IPv4: an IPv6 address widens its column when one shows up.
    width = max(IPV4_WIDTH, len(f.name) + 2) if address is not None else _width(f, meaning)

    def format(rows: np.ndarray) -> list[str]:
        return column_strings(layout, known, rows, index, page_size=page_size)

    numeric = address is None and _numeric(f, meaning)
    return Column(f.name, width, numeric, format, f, address, sortable(f))


def endpoint_column(
    layout: StructLayout, known: Mapping[str, Meaning], endpoint: Endpoint
) -> Column:
    """An address and its port as one column, ``127.0.0.1:36273`` / ``[::1]:80``."""

    def format(rows: np.ndarray) -> list[str]:
        return endpoint_strings(layout, rows, endpoint, known)

    # Not sortable: a sort goes by one raw field, and this column is two.
    return Column(endpoint.name, max(IPV4_WIDTH + 6, len(endpoint.name) + 2), False, format)


def transition_column(
    layout: StructLayout, known: Mapping[str, Meaning], transition: Transition
) -> Column:
    """An old and a new state as one column, ``SYN_SENT → ESTABLISHED``, as bcc's tcpstates
    shows ``OLDSTATE -> NEWSTATE``: a change reads at a glance, where two columns side by side
    read as two unrelated states. It starts as wide as a name of each side (as ``_width``)."""

    def format(rows: np.ndarray) -> list[str]:
        return transition_strings(layout, rows, transition, known)

    old, new = layout.field(transition.old), layout.field(transition.new)
    sides = _value_width(old, known[old.name]) + _value_width(new, known[new.name])
    width = max(sides + len(ARROW), len(transition.name) + 2)
    # Not sortable: a sort goes by one raw field, and this column is two.
    return Column(transition.name, width, False, format)


def time_column(layout: StructLayout) -> Column:
    """Each row's arrival time as the wall clock, ``HH:MM:SS`` as ``lmp run``'s TIME;
    titled ``TIME`` when the layout has a field called ``time`` of its own."""
    name = TIME_COLUMN.upper() if TIME_COLUMN in layout.names else TIME_COLUMN
    return Column(name, TIME_WIDTH, False, clock_strings, times=True)


def clock_strings(times: np.ndarray) -> list[str]:
    """Wall-clock seconds as local ``HH:MM:SS``, one ``strftime`` per distinct second."""
    return per_distinct(np.floor(times).astype(np.int64), _time_of_day)


def _time_of_day(seconds: int) -> str:
    return time.strftime("%H:%M:%S", time.localtime(seconds))


def columns(layout: StructLayout, program: str = "", *, page_size: int = PAGE_SIZE) -> list[Column]:
    """Every column a layout offers, in struct order: each field as its meaning shows it, and
    pairs of fields that read as one joined: before each address that has a port beside it the
    two (``saddr:sport``), before each old state with its new one the change
    (``oldstate→newstate``). The parts stay offered, for the chooser."""
    known = meanings(layout, program=program)
    joined = {e.address: endpoint_column(layout, known, e) for e in joined_endpoints(layout, known)}
    joined |= {t.old: transition_column(layout, known, t) for t in transitions(layout, known)}
    found: list[Column] = []
    for i, f in enumerate(layout.fields):
        if f.name in joined:
            found.append(joined.pop(f.name))
        found.append(field_column(layout, known, i, page_size=page_size))
    return found


def joined_fields(layout: StructLayout, program: str = "") -> dict[str, str]:
    """Field names shown inside a joined column by default, and that column's name."""
    known = meanings(layout, program=program)
    joined = {name: e.name for e in joined_endpoints(layout, known) for name in (e.address, e.port)}
    joined.update((name, t.name) for t in transitions(layout, known) for name in (t.old, t.new))
    return joined


def human(value: float) -> str:
    """A number in at most six characters: 987, 12.3k, 4.56M, 7.89G."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    magnitude = abs(value)
    for limit, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if magnitude >= limit:
            scaled = value / limit
            return f"{scaled:.3g}{suffix}" if abs(scaled) < 100 else f"{scaled:.0f}{suffix}"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.3g}"


def grouped(value: int) -> str:
    """``1,234,567``."""
    return f"{value:,}"


def human_bytes(size: int) -> str:
    """``512 B``, ``12.3 KB``, ``4.56 MB`` (powers of 1024)."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.3g} {unit}"
        value /= 1024
    return f"{value:.3g} TB"  # pragma: no cover


def duration(seconds: float) -> str:
    """``0:07``, ``12:34``, ``1:02:03``."""
    total = int(max(seconds, 0))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"
