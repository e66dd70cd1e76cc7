"""Text output byte-compatible with ecli (spec 4.6 and 4.7).

Formatters return strings; writing them is the caller's business, so ``lmp run`` and
``lmp replay`` print the very same text.

Plain text names what ecli prints as bare codes, where a script parsing it loses nothing (see
``PLAIN_ROLES``): IP addresses, negative errnos (``ENOENT``), open and mount flags
(``O_RDONLY|O_CLOEXEC``), C enums without their enumerators' common prefix (``FIN_WAIT1(4)``).
Quantities (sizes, durations, timestamps, counts) and ids stay ecli's numbers; the TUI shows
their units. JSON is ecli's, untouched.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Sequence
from json.encoder import encode_basestring
from typing import Any

from ..format.layout import Field, FieldKind
from ..format.package import ExportSpec
from ..format.roles import Meaning, Role, meanings
from ..lazy import np
from ..untrusted import printable
from .addresses import Address, address_strings
from .decode import (
    Decoded,
    Decoder,
    Decoders,
    c_strings,
    converter,
    json_line,
    plain_value,
)
from .meaning import address_of, column_strings, ecli_enum_strings, plain_strings

TIME_HEADER = "TIME     "


class PlainTable:
    """ecli's plain-text event format: a header once, then one aligned line per event.

    Each value starts at its column's offset, or one space after the previous value when that
    one ran past it. ``row`` formats one event; ``text`` a whole batch, a column at a time.
    ``widths`` (none for ecli's layout) widen columns whose values are known to be wider than
    their name, such as IP addresses, so that the columns after them stay aligned.
    """

    def __init__(self, names: Sequence[str], widths: Sequence[int] = ()) -> None:
        header = TIME_HEADER
        self.offsets: list[int] = []
        wide = dict(enumerate(widths))
        for i, name in enumerate(names):
            self.offsets.append(len(header))
            header += printable(name.upper()).ljust(max(6, wide.get(i, 0))) + " "
        self.header = header
        self.names = list(names)

    def row(self, values: Sequence[Any], when: float) -> str:
        return self._laid_out(clock(when) + " ", [printable(plain_value(v)) for v in values])

    def text(self, columns: Sequence[list[str]], when: float) -> str:
        """Lines for columns of already formatted values, each line ending in a newline.

        Where each value starts (its offset, or a space after the value before it) is worked
        out a column at a time with numpy; each line is then one ``%`` format, every value
        padded with ``%-*s`` to where the next one starts.
        """
        if not columns or not columns[0]:
            return ""
        n = len(columns[0])
        start = clock(when) + " "
        first = max(self.offsets[0], len(start) + 1)  # the same on every line
        begins = [np.full(n, first, np.int64)]
        for offset, strs in zip(self.offsets[1:], columns, strict=False):
            end = begins[-1] + np.fromiter(map(len, strs), np.int64, n)
            begins.append(np.maximum(offset, end + 1))
        args: list[Any] = []
        for i, strs in enumerate(columns[:-1]):
            args += [(begins[i + 1] - begins[i]).tolist(), strs]  # padded to the next value
        args.append(columns[-1])
        head = start + " " * (first - len(start))
        fmt = head.replace("%", "%%") + "%-*s" * (len(columns) - 1) + "%s\n"
        return "".join(map(fmt.__mod__, zip(*args, strict=True)))

    def _laid_out(self, start: str, values: Sequence[str]) -> str:
        line = start
        for offset, value in zip(self.offsets, values, strict=True):
            line += " " * (offset - len(line)) if offset > len(line) else " "
            line += value
        return line


def clock(when: float) -> str:
    """``HH:MM:SS`` local time, padded to the TIME column."""
    return time.strftime("%H:%M:%S", time.localtime(when)).ljust(8)


_BOOLS = ("false", "true")
_json_value = functools.partial(
    json.dumps, sort_keys=True, separators=(",", ":"), ensure_ascii=False
)


def json_strings(f: Field, col: np.ndarray) -> list[str]:
    """A column's values as JSON text, exactly as ``json_line`` writes them."""
    match f.kind:
        case FieldKind.INT | FieldKind.PTR:
            return list(map(str, col.tolist()))
        case FieldKind.BOOL:
            return list(map(_BOOLS.__getitem__, (col != 0).tolist()))
        case FieldKind.STRING:
            return list(map(encode_basestring, c_strings(col)))
    return list(map(_json_value, converter(f)(col)))


PLAIN_ROLES = frozenset({Role.IPADDR, Role.ERRNO, Role.FLAGS, Role.ENUM})
"""Roles plain text shows by name. Signals and syscalls stay numbers as bcc's sigsnoop and
ecli print them; sizes, durations and ids too, whatever their unit, so that columns parse."""


def plain_meanings(decoder: Decoder, program: str = "") -> dict[int, Meaning]:
    """The fields plain text shows by their meaning, by position."""
    layout = decoder.layout
    known = meanings(layout, program=program)
    out = {}
    for i, f in enumerate(layout.fields):
        m = known[f.name]
        if m.role not in PLAIN_ROLES:
            continue
        if m.role == Role.FLAGS and not m.flags_kind:
            continue  # flags nobody named: ecli's number beats a hex one
        if m.role == Role.ENUM and f.kind != FieldKind.ENUM:
            continue  # a plain integer (a protocol, a state): its number, as ecli prints it
        if m.role == Role.IPADDR and address_of(layout, i, m) is None:
            continue
        out[i] = m
    return out


class EventText:
    """Text for batches of one layout, a column at a time: ecli's plain table or JSON lines."""

    def __init__(self, decoder: Decoder, json_mode: bool, program: str = "") -> None:
        self.decoder = decoder
        self.json = json_mode
        layout = decoder.layout
        fields = layout.fields
        # Names are text only: JSON keeps ecli's integers and arrays.
        self.meanings = {} if json_mode else plain_meanings(decoder, program)
        self.addresses: dict[int, Address] = {
            i: a
            for i, m in self.meanings.items()
            if m.role == Role.IPADDR and (a := address_of(layout, i, m)) is not None
        }
        widths = [a.width if (a := self.addresses.get(i)) else 0 for i in range(len(fields))]
        self.table = PlainTable([f.name for f in fields], widths)
        names = [f.name for f in fields]
        # JSON objects have their keys sorted; a layout with repeated names is left to the
        # generic row path (a dict keeps the last of them, as ecli's JSON map does).
        self._row_path = len(set(names)) != len(names)
        order = sorted(range(len(fields)), key=lambda i: names[i])
        self._json_order = order
        keys = [
            ("{" if k == 0 else ",") + encode_basestring(names[i]) + ":"
            for k, i in enumerate(order)
        ]
        self._json_format = "".join(k.replace("%", "%%") + "%s" for k in keys) + "}\n"

    def text(self, arr: np.ndarray, when: float) -> str:
        if not len(arr):
            return ""
        names = arr.dtype.names or ()
        fields = self.decoder.layout.fields
        if self.json:
            if self._row_path:
                return "".join(json_line(r) + "\n" for r in self.decoder.rows(arr))
            cols = [json_strings(fields[i], arr[names[i]]) for i in self._json_order]
            return "".join(map(self._json_format.__mod__, zip(*cols, strict=True)))
        columns = [self._plain(i, f, arr, names) for i, f in enumerate(fields)]
        return self.table.text(columns, when)

    def _plain(self, i: int, f: Field, arr: np.ndarray, names: tuple[str, ...]) -> list[str]:
        m = self.meanings.get(i)
        if m is None:
            return plain_strings(f, arr[names[i]])
        if a := self.addresses.get(i):
            return address_strings(a, arr, functools.partial(plain_strings, f))
        if m.role == Role.ENUM:
            return ecli_enum_strings(f, m, arr[names[i]])
        # column_strings, not value_strings: mount flags read their row's op (umount's differ)
        return column_strings(self.decoder.layout, {f.name: m}, arr, i)


def log2_histogram(slots: Sequence[int], unit: str) -> str:
    """bcc's ``print_log2_hist``, as ecli ports it; empty when every slot is zero."""
    idx_max = max((i for i, v in enumerate(slots) if v), default=-1)
    if idx_max < 0:
        return ""
    val_max = max(slots[: idx_max + 1])
    wide = idx_max > 32
    w1, w2, w, stars_max = (15, 29, 20, 20) if wide else (5, 19, 10, 40)
    out = [f"{'':>{w1}}{unit:<{w2}} : count    distribution"]
    for i in range(idx_max + 1):
        low = (1 << (i + 1)) >> 1
        high = (1 << (i + 1)) - 1
        if low == high:
            low -= 1
        val = slots[i]
        stars = "*" * (val * stars_max // val_max) if val_max else ""
        out.append(f"{low:>{w}} -> {high:<{w}} : {val:<8} |{stars:<{stars_max}}|")
    return "\n".join(out) + "\n"


def log2_chunk(key: Sequence[Any], value: dict[str, Any], unit: str) -> str:
    """One key of a log2_hist sampled map: ``key =  <key>``, other members, blank, histogram.

    ecli writes ``"key = "`` and then each key member with its separating space, hence the two.
    """
    lines = ["key = " + "".join(" " + printable(plain_value(v)) for v in key)]
    lines += [
        f"{printable(name)} = {printable(plain_value(v))}"
        for name, v in value.items()
        if name != "slots"
    ]
    return "\n".join(lines) + "\n\n" + log2_histogram(value["slots"], unit)


class BatchPrinter:
    """Text for each batch of a run, as ``lmp run`` prints it (plain or ``--json``), for an
    export's events or its sampled map's snapshots. ``text`` gives a batch's lines as one
    string (each ending in a newline), built a column at a time."""

    def __init__(self, spec: ExportSpec, json_mode: bool = False, program: str = "") -> None:
        decoders = Decoders.of(spec)
        sample = spec.sample
        self.json = json_mode
        self.snapshot = decoders.snapshot
        self.sample_type = sample.type if sample is not None else "default_kv"
        self.unit = printable(sample.unit) if sample is not None else "(unit)"
        self.events = EventText(decoders.events, json_mode, program) if decoders.events else None
        self.table: PlainTable | None = None
        if self.events is not None:
            self.table = self.events.table
        elif self.snapshot is not None and self.sample_type == "default_kv":
            self.table = PlainTable(
                self.snapshot.key.layout.names + self.snapshot.value.layout.names
            )

    def header(self) -> str | None:
        """Printed once before any event (none for JSON and log2 histograms)."""
        if self.json or self.table is None or self.sample_type == "log2_hist" and self.snapshot:
            return None
        return self.table.header

    def text(self, item: Decoded) -> str:
        batch = item.batch
        if not batch.count:
            return ""
        if self.events is not None and not batch.snapshot:
            return self.events.text(item.events, batch.time)
        if self.snapshot is not None and batch.snapshot:
            return "".join(line + "\n" for line in self._snapshot_lines(item))
        return ""

    def _snapshot_lines(self, item: Decoded) -> list[str]:
        assert self.snapshot is not None
        keys, values = item.snapshot
        entries = zip(self.snapshot.key.rows(keys), self.snapshot.value.rows(values), strict=True)
        if self.json:
            return [json_line({"key": k, "value": v}) for k, v in entries]
        if self.sample_type == "log2_hist":
            return [log2_chunk(list(k.values()), v, self.unit) for k, v in entries]
        when = clock(item.batch.time)
        return [f"{when} {json_line(k)} {json_line(v)}" for k, v in entries]
