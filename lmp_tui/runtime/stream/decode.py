"""Batch decoding: raw records -> numpy structured arrays -> JSON-ready columns.

The hot path is one ``np.frombuffer`` per batch (zero copy). Python values are made per column,
and only when something needs them (a printer, the visible rows of a table).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ..errors import LayoutError
from ..format.layout import Field, FieldKind, StructLayout
from ..format.package import ExportSpec
from ..lazy import np
from .batch import Batch, Records


def numpy_dtype(fields: Sequence[Field], itemsize: int) -> np.dtype:
    """The structured dtype of these fields. Layouts may come from a hostile package or
    recording: anything numpy refuses (a field past the record, a bad size) is a LayoutError."""
    names: list[str] = []
    formats, offsets = [], []
    taken: set[str] = set()
    for i, f in enumerate(fields):
        # Columns are read by position: a missing or repeated name only needs a stand-in.
        name = f.name
        n = i
        while not name or name in taken:
            name, n = f"_{n}", n + len(fields)
        taken.add(name)
        names.append(name)
        formats.append(_format(f))
        offsets.append(f.offset)
    try:
        return np.dtype(
            {"names": names, "formats": formats, "offsets": offsets, "itemsize": itemsize}
        )
    except (ValueError, TypeError, OverflowError, MemoryError) as exc:
        raise LayoutError(f"layout cannot be decoded: {' '.join(str(exc).split())}") from None


def _format(f: Field) -> Any:
    try:
        return _format_of(f)
    except (ValueError, TypeError, OverflowError, MemoryError) as exc:
        raise LayoutError(f"field {f.name!r}: cannot be decoded ({exc})") from None


def _format_of(f: Field) -> Any:
    if f.size < 0 or f.offset < 0:
        raise LayoutError(f"field {f.name!r}: negative size or offset")
    match f.kind:
        case FieldKind.INT | FieldKind.ENUM:
            if f.size not in (1, 2, 4, 8):
                raise LayoutError(f"field {f.name!r}: integer of size {f.size}")
            return np.dtype(f"<{'i' if f.signed else 'u'}{f.size}")
        case FieldKind.BOOL | FieldKind.PTR:
            if f.size not in (1, 2, 4, 8):
                raise LayoutError(f"field {f.name!r}: {f.kind} of size {f.size}")
            return np.dtype(f"<u{f.size}")
        case FieldKind.FLOAT:
            if f.size not in (2, 4, 8):
                raise LayoutError(f"field {f.name!r}: float of size {f.size}")
            return np.dtype(f"<f{f.size}")
        case FieldKind.INT128:
            if f.size != 16:
                raise LayoutError(f"field {f.name!r}: 128-bit integer of size {f.size}")
            return np.dtype("V16")
        case FieldKind.STRING:
            return np.dtype(f"S{f.size}") if f.size else np.dtype("V0")
        case FieldKind.ARRAY:
            if f.elem is None or not f.dims or any(d < 0 for d in f.dims):
                raise LayoutError(f"field {f.name!r}: array without element or dimensions")
            if f.elem.size * _prod(f.dims) != f.size:
                raise LayoutError(f"field {f.name!r}: array size disagrees with its dimensions")
            return (_format(f.elem), f.dims) if f.size else np.dtype("V0")
        case FieldKind.STRUCT | FieldKind.UNION:
            return numpy_dtype(f.members, f.size)
    raise LayoutError(f"field {f.name!r}: kind {f.kind} cannot be decoded")


class Decoder:
    """Turns batches of one layout into arrays and JSON-ready values."""

    def __init__(self, layout: StructLayout) -> None:
        self.layout = layout
        self._converters: list[tuple[str, Callable[[np.ndarray], list[Any]]]] = [
            (f.name, converter(f)) for f in layout.fields
        ]

    @cached_property
    def dtype(self) -> np.dtype:
        """The layout as a numpy structured dtype (made when first needed: see runtime.lazy)."""
        return numpy_dtype(self.layout.fields, self.layout.size)

    def array(self, records: Records, count: int | None = None) -> np.ndarray:
        """A structured view of ``records`` (no copy)."""
        size = self.layout.size
        if count is None:
            count = len(records) // size if size else 0
        if count < 0 or count * size > len(records):
            raise LayoutError(
                f"batch holds {len(records)} bytes, {count} records need {count * size}"
            )
        if not count:
            return np.empty(0, dtype=self.dtype)
        if not size:
            raise LayoutError("records of 0 bytes cannot be decoded")
        return np.frombuffer(records, dtype=self.dtype, count=count)

    def columns(self, arr: np.ndarray) -> dict[str, list[Any]]:
        """JSON-ready values per top-level field, in layout order."""
        names = arr.dtype.names or ()
        return {name: conv(arr[names[i]]) for i, (name, conv) in enumerate(self._converters)}

    def rows(self, arr: np.ndarray) -> list[dict[str, Any]]:
        cols = self.columns(arr)
        names = list(cols)
        return [
            dict(zip(names, values, strict=True)) for values in zip(*cols.values(), strict=True)
        ]


def converter(f: Field) -> Callable[[np.ndarray], list[Any]]:
    """A function from a column of this field's numpy values to JSON-ready Python values.

    The mapping follows ecli's JSON dumper (spec 4.7): bools, numbers, 128-bit ints as decimal
    strings, ``char`` arrays as strings up to the first NUL, enums as ``NAME(value)``, structs
    and unions as objects tagged with ``__EUNOMIA_TYPE`` and ``__EUNOMIA_TYPE_NAME``.
    """
    match f.kind:
        case FieldKind.INT | FieldKind.PTR | FieldKind.FLOAT:
            return _tolist
        case FieldKind.BOOL:
            return lambda col: col.astype(bool).tolist()
        case FieldKind.INT128:
            signed = f.signed
            return lambda col: [
                str(int.from_bytes(v.tobytes(), "little", signed=signed)) for v in col
            ]
        case FieldKind.STRING:
            return c_strings
        case FieldKind.ENUM:
            names = {v: n for n, v in f.enum_values}
            return lambda col: [
                f"{names[v]}({v})" if v in names else f"<UNKNOWN_VARIANT>({v})"
                for v in col.tolist()
            ]
        case FieldKind.ARRAY:
            if f.elem is None:
                raise LayoutError(f"field {f.name!r}: array without element type")
            inner = converter(f.elem)
            dims = f.dims

            def convert_array(col: np.ndarray) -> list[Any]:
                flat = inner(col.reshape(-1))
                return [
                    _nest(flat[i * _prod(dims) : (i + 1) * _prod(dims)], dims)
                    for i in range(len(col))
                ]

            return convert_array
        case FieldKind.STRUCT | FieldKind.UNION:
            parts = [(m.name, converter(m)) for m in f.members]
            tag = {"__EUNOMIA_TYPE": str(f.kind), "__EUNOMIA_TYPE_NAME": f.type_name}

            def convert_struct(col: np.ndarray) -> list[Any]:
                names = col.dtype.names or ()
                cols = [(n, conv(col[names[i]])) for i, (n, conv) in enumerate(parts)]
                return [{**{n: c[row] for n, c in cols}, **tag} for row in range(len(col))]

            return convert_struct
    raise LayoutError(f"field {f.name!r}: kind {f.kind} cannot be decoded")


def c_strings(col: np.ndarray) -> list[str]:
    """A column of ``char[N]`` values as strings up to their first NUL, decoded as UTF-8.

    numpy already drops trailing NULs; the column is decoded in one go, and only when some
    value has bytes after an inner NUL (stale bytes a program did not clear) per value.
    """
    raw = col.tolist()
    if not raw:
        return []
    strs = b"\0".join(raw).decode("utf-8", "replace").split("\0")
    if len(strs) == len(raw):
        return strs
    return [b.split(b"\0", 1)[0].decode("utf-8", "replace") for b in raw]


def _prod(dims: tuple[int, ...]) -> int:
    n = 1
    for d in dims:
        n *= d
    return n


def _nest(flat: list[Any], dims: tuple[int, ...]) -> list[Any]:
    if len(dims) <= 1:
        return flat
    step = _prod(dims[1:])
    return [_nest(flat[i * step : (i + 1) * step], dims[1:]) for i in range(dims[0])]


def json_line(row: dict[str, Any]) -> str:
    """One event as ecli prints it with ``--json``: compact, keys sorted."""
    return json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def plain_value(value: Any) -> str:
    """A value as ecli's plain-text dumper prints it: strings raw, numbers, else compact JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class SnapshotDecoder:
    """Decodes snapshot batches of a sampled map: each record is key bytes then value bytes."""

    def __init__(self, key: StructLayout, value: StructLayout) -> None:
        self.key = Decoder(key)
        self.value = Decoder(value)
        self.record_size = key.size + value.size

    @cached_property
    def _split(self) -> np.dtype:
        key, value = self.key.layout.size, self.value.layout.size
        return np.dtype(
            {
                "names": ["k", "v"],
                "formats": [f"V{key}", f"V{value}"],
                "offsets": [0, key],
                "itemsize": self.record_size,
            }
        )

    def arrays(self, records: Records, count: int) -> tuple[np.ndarray, np.ndarray]:
        if count < 0 or count * self.record_size > len(records):
            raise LayoutError(
                f"snapshot holds {len(records)} bytes, {count} entries need "
                f"{count * self.record_size}"
            )
        if not count or not self.record_size:
            return np.empty(0, self.key.dtype), np.empty(0, self.value.dtype)
        both = np.frombuffer(records, dtype=self._split, count=count)
        keys = np.frombuffer(both["k"].tobytes(), dtype=self.key.dtype, count=count)
        values = np.frombuffer(both["v"].tobytes(), dtype=self.value.dtype, count=count)
        return keys, values

    def entries(self, records: Records, count: int) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        keys, values = self.arrays(records, count)
        return list(zip(self.key.rows(keys), self.value.rows(values), strict=True))


@dataclass(frozen=True, slots=True)
class Decoders:
    """What decodes the batches of one export: events, or a sampled map's snapshots."""

    events: Decoder | None = None
    snapshot: SnapshotDecoder | None = None

    @classmethod
    def of(cls, spec: ExportSpec) -> Decoders:
        if spec.key is not None and spec.value is not None:
            return cls(snapshot=SnapshotDecoder(spec.key, spec.value))
        if spec.layout is not None:
            return cls(events=Decoder(spec.layout))
        return cls()


class Decoded:
    """A batch with its decoded views, made at most once whoever asks (every sink of a
    pipeline gets the same one): ``events`` for ring/perf records, ``snapshot`` for a sampled
    map's keys and values. Both are views of the raw records, not copies."""

    __slots__ = ("batch", "decoders", "_events", "_snapshot")

    def __init__(self, batch: Batch, decoders: Decoders) -> None:
        self.batch = batch
        self.decoders = decoders
        self._events: np.ndarray | None = None
        self._snapshot: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def events(self) -> np.ndarray:
        if self._events is None:
            decoder = self.decoders.events
            if decoder is None or self.batch.snapshot:
                raise LayoutError("this batch holds no events")
            self._events = decoder.array(self.batch.records, self.batch.count)
        return self._events

    @property
    def snapshot(self) -> tuple[np.ndarray, np.ndarray]:
        if self._snapshot is None:
            decoder = self.decoders.snapshot
            if decoder is None or not self.batch.snapshot:
                raise LayoutError("this batch is not a sampled map's snapshot")
            self._snapshot = decoder.arrays(self.batch.records, self.batch.count)
        return self._snapshot


def _tolist(col: np.ndarray) -> list[Any]:
    return col.tolist()
