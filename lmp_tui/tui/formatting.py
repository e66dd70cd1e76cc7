"""How values look in the TUI: one formatter per field, applied to a whole column at once."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass

from ..runtime.format.layout import Field, FieldKind, StructLayout
from ..runtime.lazy import np
from ..runtime.stream.addresses import IPV4_WIDTH, Address, address_strings, addresses
from ..runtime.stream.decode import converter
from ..runtime.stream.store import is_signal_field, signal_name

ColumnFormatter = Callable[["np.ndarray"], list[str]]


@dataclass(frozen=True, slots=True)
class Column:
    """A table column made from a layout field."""

    field: Field
    width: int
    numeric: bool
    format: ColumnFormatter
    address: Address | None = None
    """Set for an IP address column, whose text may depend on a sibling (family) field."""

    @property
    def name(self) -> str:
        return self.field.name

    def texts(self, rows: np.ndarray) -> list[str]:
        """The cells of this column for ``rows``, whole events of the layout."""
        if self.address is not None:
            return address_strings(self.address, rows, self.format)
        return self.format(rows[self.name])


def _ints(col: np.ndarray) -> list[str]:
    return [str(v) for v in col.tolist()]


def _strings(col: np.ndarray) -> list[str]:
    return [b.split(b"\0", 1)[0].decode("utf-8", "replace") for b in col.tolist()]


def _signals(col: np.ndarray) -> list[str]:
    return [signal_name(v) for v in col.tolist()]


def _bools(col: np.ndarray) -> list[str]:
    return ["true" if v else "false" for v in col.tolist()]


def _floats(col: np.ndarray) -> list[str]:
    return [f"{v:.6g}" for v in col.tolist()]


def _enums(f: Field) -> ColumnFormatter:
    names = {v: n for n, v in f.enum_values}
    return lambda col: [names.get(v, str(v)) for v in col.tolist()]


def _json(f: Field) -> ColumnFormatter:
    convert = converter(f)
    return lambda col: [json.dumps(v, separators=(",", ":")) for v in convert(col)]


def formatter(f: Field) -> ColumnFormatter:
    """Strings as text, numbers as digits, enums by name, signal numbers by signal name."""
    if is_signal_field(f):
        return _signals
    match f.kind:
        case FieldKind.INT | FieldKind.PTR:
            return _ints
        case FieldKind.STRING:
            return _strings
        case FieldKind.ENUM:
            return _enums(f)
        case FieldKind.BOOL:
            return _bools
        case FieldKind.FLOAT:
            return _floats
    return _json(f)


def initial_width(f: Field) -> int:
    """A width that fits typical values; columns widen when a wider value shows up."""
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


def columns(layout: StructLayout) -> list[Column]:
    found = addresses(layout)
    return [
        Column(
            f,
            # Wide enough for IPv4: an IPv6 address widens its column when one shows up.
            max(IPV4_WIDTH, len(f.name) + 2) if i in found else initial_width(f),
            f.kind in (FieldKind.INT, FieldKind.FLOAT)
            and not is_signal_field(f)
            and i not in found,
            formatter(f),
            found.get(i),
        )
        for i, f in enumerate(layout.fields)
    ]


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
