"""Struct layouts: field names, offsets, kinds, resolved from a program's own BTF.

A ``StructLayout`` is all a decoder needs to turn raw records into values, and it is plain data
(``to_dict``/``from_dict``) so that a recording carries it and replays without the object.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from ..errors import LayoutError
from .btf import INT_BOOL, INT_SIGNED, MAX_DEPTH, MAX_SIZE, Btf, Kind
from .role_names import FLAG_KINDS, ROLE_OF_UNIT, UNITS, UNITS_OF, Role

# A layout is a tree, BTF a graph: a struct of two copies of a struct of two copies... doubles
# per level. Real exports have tens of fields; refuse what would take long to build or decode.
MAX_FIELDS = 1 << 14


class FieldKind(StrEnum):
    INT = "int"
    BOOL = "bool"
    FLOAT = "float"
    INT128 = "int128"
    PTR = "ptr"
    ENUM = "enum"
    STRING = "string"  # an array whose element type is named exactly ``char``
    ARRAY = "array"
    STRUCT = "struct"
    UNION = "union"


NUMERIC_KINDS = frozenset({FieldKind.INT, FieldKind.FLOAT, FieldKind.PTR, FieldKind.BOOL})

# How a field may ask to be shown (``"format"`` on an ``export_types`` member): an IPv4 or IPv6
# address, or an IP address whose version the struct's family field gives. Only text output
# follows it; JSON keeps ecli's integers and arrays.
ADDRESS_FORMATS = ("ipv4", "ipv6", "ip")

# What a member means (an lmp extension on ``export_types`` members, like ``"format"``): its
# role, unit and which flags. Values are checked by ``annotation_error``.
ANNOTATION_KEYS = ("role", "unit", "flags")


@dataclass(frozen=True, slots=True)
class Field:
    """One member. ``offset`` is in bytes from the start of the enclosing struct."""

    name: str
    kind: FieldKind
    offset: int
    size: int
    type_name: str = ""
    signed: bool = False
    dims: tuple[int, ...] = ()
    elem: Field | None = None
    members: tuple[Field, ...] = ()
    enum_values: tuple[tuple[str, int], ...] = ()
    format: str = ""
    """One of ``ADDRESS_FORMATS`` when the package annotates the member, else empty."""
    role: str = ""
    unit: str = ""
    flags: str = ""
    """What the member means (``"role"``, ``"unit"``, ``"flags"`` on an ``export_types``
    member; vocabulary and rules in ``roles``), when the package says; empty otherwise."""

    @property
    def is_numeric(self) -> bool:
        return self.kind in NUMERIC_KINDS

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "kind": str(self.kind),
            "offset": self.offset,
            "size": self.size,
            "type": self.type_name,
        }
        if self.signed:
            d["signed"] = True
        if self.dims:
            d["dims"] = list(self.dims)
        if self.elem is not None:
            d["elem"] = self.elem.to_dict()
        if self.members:
            d["members"] = [m.to_dict() for m in self.members]
        if self.enum_values:
            d["enum"] = [[n, v] for n, v in self.enum_values]
        if self.format:
            d["format"] = self.format
        # Only when set: recordings without them stay byte for byte what they were.
        for key in ANNOTATION_KEYS:
            if value := getattr(self, key):
                d[key] = value
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], _depth: int = 0) -> Field:
        if _depth > MAX_DEPTH:
            raise LayoutError(f"malformed layout field: nested more than {MAX_DEPTH} deep")
        try:
            return cls(
                name=str(d["name"]),
                kind=FieldKind(d["kind"]),
                offset=int(d["offset"]),
                size=int(d["size"]),
                type_name=str(d.get("type", "")),
                signed=bool(d.get("signed", False)),
                dims=tuple(int(x) for x in d.get("dims", ())),
                elem=cls.from_dict(d["elem"], _depth + 1) if d.get("elem") else None,
                members=tuple(cls.from_dict(m, _depth + 1) for m in d.get("members", ())),
                enum_values=tuple((str(n), int(v)) for n, v in d.get("enum", ())),
                format=str(d.get("format", "")),
                role=str(d.get("role", "")),
                unit=str(d.get("unit", "")),
                flags=str(d.get("flags", "")),
            )
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise LayoutError(f"malformed layout field: {_one_line(exc)}") from None


@dataclass(frozen=True, slots=True)
class StructLayout:
    """The exported struct: what each record of an event source contains."""

    name: str
    size: int
    fields: tuple[Field, ...]
    kind: FieldKind = FieldKind.STRUCT

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "size": self.size,
            "kind": str(self.kind),
            "fields": [f.to_dict() for f in self.fields],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StructLayout:
        try:
            layout = cls(
                str(d["name"]),
                int(d["size"]),
                tuple(Field.from_dict(f) for f in d["fields"]),
                FieldKind(d.get("kind", "struct")),
            )
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise LayoutError(f"malformed layout: {_one_line(exc)}") from None
        check_layout(layout)
        return layout


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200] or type(exc).__name__


# -- geometry -------------------------------------------------------------------------------------

_FIXED_SIZES = {
    FieldKind.INT: (1, 2, 4, 8),
    FieldKind.ENUM: (1, 2, 4, 8),
    FieldKind.BOOL: (1, 2, 4, 8),
    FieldKind.PTR: (1, 2, 4, 8),
    FieldKind.FLOAT: (2, 4, 8),
    FieldKind.INT128: (16,),
}


def address_size(f: Field) -> int:
    """4 or 16 when ``f`` is bytes an IP address fits exactly (an integer, or an array of
    integers, of that size: ``__u32``, ``unsigned __int128``, ``__u8[16]``, ``__u32[4]``), else 0."""
    if f.size not in (4, 16):
        return 0
    if f.kind in (FieldKind.INT, FieldKind.INT128):
        return f.size
    if f.kind == FieldKind.ARRAY and f.elem is not None and f.elem.kind == FieldKind.INT:
        return f.size
    return 0


def _check_format(f: Field) -> None:
    if not f.format:
        return
    if f.format not in ADDRESS_FORMATS:
        raise LayoutError(
            f"field {f.name!r}: unknown format {f.format!r} (one of {', '.join(ADDRESS_FORMATS)})"
        )
    size = address_size(f)
    if not size:
        raise LayoutError(
            f"field {f.name!r}: format {f.format!r} needs an integer or integer array of "
            f"4 or 16 bytes, not a {f.size}-byte {f.kind}"
        )
    if f.format == "ipv6" and size != 16:
        raise LayoutError(f"field {f.name!r}: format 'ipv6' needs 16 bytes, not {size}")


_NUMBER_KINDS = frozenset({FieldKind.INT, FieldKind.FLOAT, FieldKind.PTR, FieldKind.ENUM})
_INTEGER_KINDS = frozenset({FieldKind.INT, FieldKind.PTR, FieldKind.ENUM})
_ROLE_NAMES = frozenset(r.value for r in Role)


def annotation_error(f: Field) -> str | None:
    """Why ``f``'s ``role``/``unit``/``flags`` cannot be followed, or None when they can."""
    if f.role and f.role not in _ROLE_NAMES:
        return f"unknown role {f.role!r} (one of {', '.join(Role)})"
    if f.unit and f.unit not in UNITS:
        return f"unknown unit {f.unit!r} (one of {', '.join(UNITS)})"
    if f.flags and f.flags not in FLAG_KINDS:
        return f"unknown flags {f.flags!r} (one of {', '.join(FLAG_KINDS)})"
    role = declared_role(f)
    if f.flags and role != Role.FLAGS:
        return f"flags {f.flags!r} needs role 'flags', not {str(role)!r}"
    if f.unit and f.unit not in UNITS_OF.get(role, ("",)):
        fits = [u for u in UNITS_OF.get(role, ()) if u]
        return f"role {str(role)!r} takes " + (
            f"unit {' or '.join(fits)}, not {f.unit!r}" if fits else f"no unit, not {f.unit!r}"
        )
    return _kind_error(f, role)


def declared_role(f: Field) -> Role:
    if f.role:
        return Role(f.role)
    if f.flags:
        return Role.FLAGS
    return ROLE_OF_UNIT[f.unit]


def _kind_error(f: Field, role: Role) -> str | None:
    what = f"this {f.size}-byte {f.kind}"
    if role in (Role.GAUGE, Role.COUNTER, Role.DURATION, Role.TIMESTAMP):
        ok = f.kind in _NUMBER_KINDS
    elif role == Role.IPADDR:
        ok = bool(address_size(f))
    elif role == Role.TEXT:
        ok = f.kind == FieldKind.STRING
    elif role == Role.PLAIN:
        ok = True
    else:
        ok = f.kind in _INTEGER_KINDS
    return None if ok else f"role {str(role)!r} does not fit {what}"


def _check_annotation(f: Field) -> None:
    if not (f.role or f.unit or f.flags):
        return
    if error := annotation_error(f):
        raise LayoutError(f"field {f.name!r}: {error}")


def check_layout(layout: StructLayout) -> None:
    """Refuse a layout a decoder could not apply: fields outside their record or struct,
    sizes that disagree with their kind or dimensions, too many fields, too deep.

    Layouts come from a package's BTF or from a recording's header: both untrusted.
    """
    if not 0 <= layout.size <= MAX_SIZE:
        raise LayoutError(f"layout {layout.name!r}: record size {layout.size} out of range")
    budget = [MAX_FIELDS]
    names: set[str] = set()
    for i, f in enumerate(layout.fields):
        # Columns, JSON keys, filters and series go by name: one name, one field.
        if not f.name or f.name in names:
            why = "has no name" if not f.name else f"repeats the name {f.name!r}"
            raise LayoutError(f"layout {layout.name!r}: field #{i + 1} {why}")
        names.add(f.name)
        _check_field(f, layout.size, layout.name, 0, budget)


def _check_field(f: Field, room: int, where: str, depth: int, budget: list[int]) -> None:
    budget[0] -= 1
    if budget[0] < 0:
        raise LayoutError(f"layout {where!r}: more than {MAX_FIELDS} fields")
    if depth > MAX_DEPTH:
        raise LayoutError(f"layout {where!r}: fields nested more than {MAX_DEPTH} deep")
    if f.offset < 0 or f.size < 0 or f.offset + f.size > room:
        raise LayoutError(
            f"field {f.name!r}: {f.size} bytes at offset {f.offset} do not fit "
            f"the {room}-byte {where!r}"
        )
    fixed = _FIXED_SIZES.get(f.kind)
    if fixed is not None and f.size not in fixed:
        raise LayoutError(f"field {f.name!r}: a {f.kind} of {f.size} bytes cannot be decoded")
    _check_format(f)
    _check_annotation(f)
    if f.kind == FieldKind.ARRAY:
        if f.elem is None or not f.dims or any(n < 0 for n in f.dims):
            raise LayoutError(f"field {f.name!r}: array without element type or dimensions")
        count = 1
        for n in f.dims:
            count *= n
        if f.size != f.elem.size * count:
            raise LayoutError(
                f"field {f.name!r}: {f.size} bytes is not {f.dims} x {f.elem.size}-byte elements"
            )
        if count:
            _check_field(f.elem, f.elem.size, f.name, depth + 1, budget)
    elif f.kind in (FieldKind.STRUCT, FieldKind.UNION):
        for m in f.members:
            _check_field(m, f.size, f.name, depth + 1, budget)


# -- from BTF ---------------------------------------------------------------------------------------


def field_from_btf(btf: Btf, type_id: int, name: str, offset: int = 0) -> Field:
    """The ``Field`` for a value of BTF type ``type_id`` at byte ``offset``."""
    return _field(btf, type_id, name, offset, [MAX_FIELDS], 0)


def _field(btf: Btf, type_id: int, name: str, offset: int, budget: list[int], depth: int) -> Field:
    budget[0] -= 1
    if budget[0] < 0:
        raise LayoutError(f"field {name!r}: more than {MAX_FIELDS} fields to decode")
    if depth > MAX_DEPTH:
        raise LayoutError(f"field {name!r}: types nested more than {MAX_DEPTH} deep")
    t = btf.strip(type_id)
    type_name = btf.c_decl(type_id)
    match t.kind:
        case Kind.INT:
            if t.bits not in (8, 16, 32, 64, 128) or t.bits != t.size * 8:
                raise LayoutError(f"field {name!r}: {t.bits}-bit integers are not supported")
            signed = bool(t.encoding & INT_SIGNED)
            if t.encoding & INT_BOOL:
                if t.size > 8:
                    raise LayoutError(f"field {name!r}: a bool of {t.size} bytes")
                return Field(name, FieldKind.BOOL, offset, t.size, type_name)
            kind = FieldKind.INT128 if t.size == 16 else FieldKind.INT
            return Field(name, kind, offset, t.size, type_name, signed)
        case Kind.PTR:
            return Field(name, FieldKind.PTR, offset, 8, type_name)
        case Kind.FLOAT:
            if t.size not in (4, 8):
                raise LayoutError(f"field {name!r}: {t.size * 8}-bit floats are not supported")
            return Field(name, FieldKind.FLOAT, offset, t.size, type_name, True)
        case Kind.ENUM:
            if t.size not in (1, 2, 4, 8):
                raise LayoutError(f"field {name!r}: enum of size {t.size}")
            values = tuple((v.name, v.value) for v in t.enum_values)
            signed = t.kind_flag or any(v < 0 for _, v in values)
            return Field(
                name, FieldKind.ENUM, offset, t.size, type_name, signed, enum_values=values
            )
        case Kind.ARRAY:
            elem_t = btf[t.elem_type]
            if elem_t.kind == Kind.INT and elem_t.name == "char":
                return Field(name, FieldKind.STRING, offset, t.nelems, type_name)
            dims: list[int] = [t.nelems]
            inner = t.elem_type
            # Multi-dimensional arrays nest; a char array at the bottom stays a string element.
            while (it := btf[inner]).kind == Kind.ARRAY and not (
                btf[it.elem_type].kind == Kind.INT and btf[it.elem_type].name == "char"
            ):
                if len(dims) > MAX_DEPTH:
                    raise LayoutError(f"field {name!r}: arrays nested more than {MAX_DEPTH} deep")
                dims.append(it.nelems)
                inner = it.elem_type
            elem = _field(btf, inner, "", 0, budget, depth + 1)
            size = elem.size
            for n in dims:
                size *= n
            if size > MAX_SIZE:
                raise LayoutError(f"field {name!r}: array of {size} bytes")
            return Field(
                name, FieldKind.ARRAY, offset, size, type_name, dims=tuple(dims), elem=elem
            )
        case Kind.STRUCT | Kind.UNION:
            members = tuple(_members(btf, t.id, budget, depth + 1))
            kind = FieldKind.STRUCT if t.kind == Kind.STRUCT else FieldKind.UNION
            return Field(name, kind, offset, t.size, t.name or type_name, members=members)
        case Kind.ENUM64:
            raise LayoutError(f"field {name!r}: 64-bit enums are not supported")
        case _:
            raise LayoutError(f"field {name!r}: BTF kind {t.kind.name} cannot be decoded")


def _members(btf: Btf, struct_id: int, budget: list[int], depth: int = 0) -> list[Field]:
    t = btf.strip(struct_id)
    out = []
    for m in t.members:
        if m.bitfield_size or m.bit_offset % 8:
            raise LayoutError(f"struct {t.name!r}: bitfield member {m.name!r} cannot be exported")
        out.append(_field(btf, m.type_id, m.name, m.bit_offset // 8, budget, depth))
    return out


def layout_from_btf(btf: Btf, type_id: int) -> StructLayout:
    """The layout of any BTF type; a struct keeps its members, anything else becomes one field.

    A non-struct value is named after its type (``{"u32": 1}``), as ecli does for sampled maps.
    """
    t = btf.strip(type_id)
    if t.kind in (Kind.STRUCT, Kind.UNION):
        kind = FieldKind.STRUCT if t.kind == Kind.STRUCT else FieldKind.UNION
        layout = StructLayout(t.name, t.size, tuple(_members(btf, t.id, [MAX_FIELDS])), kind)
    else:
        named = btf[type_id]
        name = named.name or btf.c_name(type_id)
        f = field_from_btf(btf, type_id, name, 0)
        layout = StructLayout(name, f.size, (f,), f.kind)
    check_layout(layout)
    return layout


def layout_from_export(btf: Btf, export: dict[str, Any]) -> StructLayout:
    """Resolve an ``export_types`` entry as ecli's checker does (spec 1.5).

    The BTF type at ``type_id`` must be a struct of that name and member count; members whose
    names differ are skipped, bitfields are refused. A member's ``"format"`` (ours: ecli
    ignores keys it does not know) says how text output shows it (``ADDRESS_FORMATS``), its
    ``"role"``, ``"unit"`` and ``"flags"`` what it means (``ANNOTATION_KEYS``, see ``roles``).
    """
    keys = ("format", *ANNOTATION_KEYS)
    try:
        name, type_id, members = export["name"], int(export["type_id"]), export["members"]
        member_names = [m.get("name") for m in members]
        notes = [{k: m[k] for k in keys if m.get(k)} for m in members]
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
        raise LayoutError("export_types entry needs name, type_id and members") from None
    for m, note in zip(member_names, notes, strict=True):
        for key, value in note.items():
            if not isinstance(value, str):
                raise LayoutError(
                    f"export type {name!r}: member {m!r}: {key} must be a string, not {value!r}"
                )
    t = btf.strip(type_id)
    if t.kind != Kind.STRUCT or t.name != name:
        raise LayoutError(
            f"export type {name!r}: BTF type {type_id} is {t.kind.name} {t.name!r}, not struct {name!r}"
        )
    if len(t.members) != len(member_names):
        raise LayoutError(
            f"export type {name!r}: {len(member_names)} members in metadata, "
            f"{len(t.members)} in BTF"
        )
    fields = [
        replace(f, **note) if note else f
        for f, m, note in zip(
            _members(btf, type_id, [MAX_FIELDS]), member_names, notes, strict=True
        )
        if f.name == m
    ]
    layout = StructLayout(name, t.size, tuple(fields))
    check_layout(layout)
    return layout


@dataclass(frozen=True, slots=True)
class MapLayout:
    """Key and value layouts of a sampled map."""

    key: StructLayout
    value: StructLayout
    extra: dict[str, Any] = field(default_factory=dict)
