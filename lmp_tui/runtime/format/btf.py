"""BPF Type Format: parse raw ``.BTF`` bytes into typed records, and name types as C does.

Pure Python so that packages can be inspected (fields, parameters) without loading anything into
the kernel, and so decoders can be tested on hand-made BTF.
"""

from __future__ import annotations

import itertools
import struct
import sys
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum

from ..errors import LayoutError

BTF_MAGIC = 0xEB9F
_HEADER = struct.Struct("<HBBIIIII")
_TYPE = struct.Struct("<III")


class Kind(IntEnum):
    VOID = 0
    INT = 1
    PTR = 2
    ARRAY = 3
    STRUCT = 4
    UNION = 5
    ENUM = 6
    FWD = 7
    TYPEDEF = 8
    VOLATILE = 9
    CONST = 10
    RESTRICT = 11
    FUNC = 12
    FUNC_PROTO = 13
    VAR = 14
    DATASEC = 15
    FLOAT = 16
    DECL_TAG = 17
    TYPE_TAG = 18
    ENUM64 = 19


INT_SIGNED = 1
INT_CHAR = 2
INT_BOOL = 4
MODIFIERS = frozenset({Kind.TYPEDEF, Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.TYPE_TAG})
QUALIFIERS = frozenset({Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.TYPE_TAG})
SIZED = frozenset({Kind.INT, Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.ENUM64, Kind.FLOAT})

# Bounds on what a package's BTF may ask of us. The kernel resolves at most 32 types deep
# (MAX_RESOLVE_DEPTH) from any one type it is checking, but counts only types not resolved yet;
# we bound the whole chain, so allow more. Sizes are u32 in BTF and must stay so once multiplied.
MAX_DEPTH = 64
MAX_TYPES = 1 << 17
MAX_SIZE = 0xFFFFFFFF


@dataclass(slots=True)
class Member:
    name: str
    type_id: int
    bit_offset: int
    bitfield_size: int = 0


@dataclass(slots=True)
class EnumValue:
    name: str
    value: int


@dataclass(slots=True)
class SecInfo:
    type_id: int
    offset: int
    size: int


@dataclass(slots=True)
class BtfType:
    """One BTF type record. ``size`` holds size or referenced type id, as in the kernel's struct."""

    id: int
    kind: Kind
    name: str
    size_or_type: int
    vlen: int = 0
    kind_flag: bool = False
    # INT
    encoding: int = 0
    bits: int = 0
    # ARRAY
    elem_type: int = 0
    index_type: int = 0
    nelems: int = 0
    members: list[Member] = field(default_factory=list)
    enum_values: list[EnumValue] = field(default_factory=list)
    params: list[Member] = field(default_factory=list)
    secinfos: list[SecInfo] = field(default_factory=list)
    linkage: int = 0

    @property
    def size(self) -> int:
        return self.size_or_type

    @property
    def type(self) -> int:
        return self.size_or_type


class Btf:
    """A parsed BTF blob: ``btf[type_id]`` gives the record; id 0 is void."""

    def __init__(self, types: list[BtfType]) -> None:
        self.types = types
        self._sizes: list[int | None] = _validate(types)

    def __getitem__(self, type_id: int) -> BtfType:
        if not 0 <= type_id < len(self.types):
            raise LayoutError(f"BTF type id {type_id} does not exist (BTF has {len(self.types)})")
        return self.types[type_id]

    def __len__(self) -> int:
        return len(self.types)

    @classmethod
    def parse(cls, raw: bytes) -> Btf:
        pos, end, strings = _sections(raw)
        types = [BtfType(0, Kind.VOID, "", 0)]
        try:
            while pos < end:
                if len(types) > MAX_TYPES:
                    raise ValueError(f"more than {MAX_TYPES} types")
                rec, pos = _parse_type(raw, pos, strings, len(types))
                types.append(rec)
        except (struct.error, ValueError) as exc:
            raise LayoutError(f"corrupt BTF type #{len(types)}: {exc}") from None
        return cls(types)

    # -- navigation ---------------------------------------------------------------------------

    def strip(self, type_id: int) -> BtfType:
        """The type behind typedefs and qualifiers."""
        t = self[type_id]
        for _ in range(MAX_DEPTH):
            if t.kind not in MODIFIERS:
                return t
            t = self[t.type]
        raise LayoutError(f"BTF type {type_id}: modifier chain too long")

    def size_of(self, type_id: int) -> int:
        t = self.strip(type_id)
        if t.kind == Kind.DATASEC:  # sized by the DATASEC fix-up, after validation
            return t.size
        size = self._sizes[t.id] if t.id < len(self._sizes) else None
        if size is None:
            raise LayoutError(f"BTF type {type_id} ({t.kind.name}) has no size")
        return size

    def find(self, name: str, kind: Kind) -> BtfType | None:
        return next((t for t in self.types if t.kind == kind and t.name == name), None)

    # -- C spelling ---------------------------------------------------------------------------

    def c_decl(self, type_id: int, name: str = "") -> str:
        """The C declaration of ``name`` of this type, qualifiers dropped, as bpftool prints it.

        ``c_decl(int_id)`` is ``"int"``; arrays give ``"char[16]"``; pointers ``"struct event *"``.
        """
        suffix = ""
        t = self[type_id]
        for _ in range(MAX_DEPTH):
            if t.kind in QUALIFIERS:
                t = self[t.type]
            elif t.kind == Kind.ARRAY:
                suffix += f"[{t.nelems}]"
                t = self[t.elem_type]
            else:
                break
        else:
            raise LayoutError(f"BTF type {type_id}: type chain too long")
        base = self.c_name(t.id)
        decl = f"{base} {name}".rstrip() if name else base
        return decl + suffix

    def c_name(self, type_id: int) -> str:
        stars = ""
        t = self[type_id]
        for _ in range(MAX_DEPTH):
            if t.kind == Kind.PTR:
                stars += " *"
            elif t.kind not in QUALIFIERS:
                break
            t = self[t.type]
        else:
            raise LayoutError(f"BTF type {type_id}: pointer chain too long")
        match t.kind:
            case Kind.VOID:
                base = "void"
            case Kind.STRUCT | Kind.UNION | Kind.ENUM | Kind.ENUM64 | Kind.FWD:
                tag = {Kind.STRUCT: "struct", Kind.UNION: "union"}.get(t.kind, "enum")
                if t.kind == Kind.FWD:
                    tag = "union" if t.kind_flag else "struct"
                base = f"{tag} {t.name}" if t.name else f"{tag} <anon>"
            case Kind.ARRAY:
                base = self.c_decl(t.id)
            case Kind.FUNC_PROTO:
                base = "void (*)()"
            case _:
                base = t.name
        return base.rstrip() + stars if stars else base


def _sections(raw: bytes) -> tuple[int, int, bytes]:
    """Where the type records start and end in ``raw``, and the string section."""
    if len(raw) < _HEADER.size:
        raise LayoutError("BTF section too short")
    magic, _version, _flags, hdr_len, type_off, type_len, str_off, str_len = _HEADER.unpack_from(
        raw
    )
    if magic != BTF_MAGIC:
        raise LayoutError("not BTF data (bad magic)")
    t0, s0 = hdr_len + type_off, hdr_len + str_off
    if t0 + type_len > len(raw) or s0 + str_len > len(raw):
        raise LayoutError("BTF section truncated")
    return t0, t0 + type_len, raw[s0 : s0 + str_len]


def _validate(types: list[BtfType]) -> list[int | None]:
    """Check what the kernel's BTF verifier checks before anything walks these types, and
    return each type's size (``None`` where it has none).

    Every referenced id exists; no type contains itself (a cycle is only allowed through a
    pointer to a struct or union, as in a linked list); no chain is deeper than ``MAX_DEPTH``;
    array sizes do not overflow u32; members lie inside their struct. After this, walking the
    types terminates, and recursion over them is bounded.
    """
    n = len(types)
    # ``contains``: what a type is made of (its size depends on them): no cycles at all.
    # ``spelled``: what its C name is made of (pointers, qualifiers, array elements).
    contains: list[tuple[int, ...]] = [()] * n
    spelled: list[tuple[int, ...]] = [()] * n
    refs: list[int] = []  # every id referred to, checked at once
    for t in types:
        k = t.kind
        if k is Kind.PTR:
            spelled[t.id] = (t.type,)
            refs.append(t.type)
        elif k in QUALIFIERS:
            contains[t.id] = spelled[t.id] = (t.type,)
            refs.append(t.type)
        elif k is Kind.TYPEDEF or k is Kind.VAR:
            contains[t.id] = (t.type,)
            refs.append(t.type)
        elif k is Kind.STRUCT or k is Kind.UNION:
            contains[t.id] = ids = tuple(m.type_id for m in t.members)
            refs.extend(ids)
        elif k is Kind.ARRAY:
            contains[t.id] = spelled[t.id] = (t.elem_type,)
            refs += (t.elem_type, t.index_type)
        elif k is Kind.DATASEC:
            contains[t.id] = ids = tuple(i.type_id for i in t.secinfos)
            refs.extend(ids)
        elif k is Kind.FUNC_PROTO:
            refs += (t.type, *(p.type_id for p in t.params))
        elif k is Kind.FUNC or k is Kind.DECL_TAG:
            refs.append(t.type)
        elif k is Kind.INT and (not 0 < t.size <= 16 or t.bits > t.size * 8):
            raise LayoutError(f"BTF type {t.id}: integer of {t.size} bytes, {t.bits} bits")
        elif (k is Kind.ENUM or k is Kind.ENUM64) and t.size not in (1, 2, 4, 8):
            raise LayoutError(f"BTF type {t.id}: enum of {t.size} bytes")
        elif k is Kind.FLOAT and t.size not in (2, 4, 8, 12, 16):
            raise LayoutError(f"BTF type {t.id}: float of {t.size} bytes")
    if refs and (min(refs) < 0 or max(refs) >= n):
        _dangling(types)
    order = _walk(types, contains, "contains itself")
    _walk(types, spelled, "refers to itself through pointers, qualifiers or arrays")
    sizes: list[int | None] = [None] * n
    for i in order:
        t = types[i]
        k = t.kind
        if k in SIZED:
            sizes[i] = t.size
        elif k is Kind.PTR:
            sizes[i] = 8
        elif k in MODIFIERS or k is Kind.VAR:
            sizes[i] = sizes[t.type]
        elif k is Kind.ARRAY:
            elem = sizes[t.elem_type]
            if elem is not None:
                if elem * t.nelems > MAX_SIZE:
                    raise LayoutError(f"BTF type {i}: array size overflows u32")
                sizes[i] = elem * t.nelems
        if k is Kind.STRUCT or k is Kind.UNION:
            _check_members(types, sizes, t)
    return sizes


def _check_members(types: list[BtfType], sizes: list[int | None], t: BtfType) -> None:
    for m in t.members:
        size = sizes[m.type_id]
        if m.bitfield_size or m.bit_offset % 8 or size is None:
            continue
        target = types[m.type_id]
        if target.kind is Kind.INT and target.bits != target.size * 8:
            continue  # an old-style bitfield: the kernel counts its bits, not bytes
        if m.bit_offset // 8 + size > t.size:
            raise LayoutError(
                f"BTF type {t.id}: member {m.name!r} lies outside its "
                f"{t.size}-byte {t.kind.name.lower()}"
            )


def _dangling(types: list[BtfType]) -> None:
    """Name the first type that refers to a type id that does not exist."""
    n = len(types)
    for t in types:
        ids = [t.type] if t.kind in MODIFIERS or t.kind in _REFERS else []
        ids += [m.type_id for m in t.members] + [p.type_id for p in t.params]
        ids += [i.type_id for i in t.secinfos]
        if t.kind is Kind.ARRAY:
            ids += [t.elem_type, t.index_type]
        for ref in ids:
            if not 0 <= ref < n:
                raise LayoutError(
                    f"BTF type {t.id} ({t.kind.name}) refers to type {ref}, which does not "
                    f"exist (BTF has {n})"
                )


_REFERS = frozenset({Kind.PTR, Kind.VAR, Kind.FUNC, Kind.FUNC_PROTO, Kind.DECL_TAG})


def _walk(types: list[BtfType], graph: list[tuple[int, ...]], cycle: str) -> list[int]:
    """Type ids, each after those it refers to in ``graph``; refuses cycles and deep chains.

    Iterative (a hostile chain must not exhaust the Python stack)."""
    unseen, open_ = -1, -2
    depth = [unseen] * len(graph)
    order: list[int] = []
    for root, root_edges in enumerate(graph):
        if depth[root] != unseen:
            continue
        if not root_edges:
            depth[root] = 0
            order.append(root)
            continue
        depth[root] = open_
        stack = [(root, 0)]
        while stack:
            node, i = stack[-1]
            edges = graph[node]
            if i < len(edges):
                stack[-1] = (node, i + 1)
                nxt = edges[i]
                if depth[nxt] == open_:
                    t = types[nxt]
                    raise LayoutError(f"BTF type {nxt} ({t.kind.name} {t.name!r}) {cycle}")
                if depth[nxt] == unseen:
                    depth[nxt] = open_
                    stack.append((nxt, 0))
                continue
            stack.pop()
            d = 0
            for e in edges:
                if depth[e] >= d:
                    d = depth[e] + 1
            if d > MAX_DEPTH:
                raise LayoutError(f"BTF type {node}: types nested more than {MAX_DEPTH} deep")
            depth[node] = d
            order.append(node)
    return order


def _parse_type(raw: bytes, pos: int, strings: bytes, type_id: int) -> tuple[BtfType, int]:
    name_off, info, size_or_type = _TYPE.unpack_from(raw, pos)
    pos += _TYPE.size
    vlen = info & 0xFFFF
    kind = Kind((info >> 24) & 0x1F)
    rec = BtfType(type_id, kind, _name(strings, name_off), size_or_type, vlen, bool(info >> 31))
    match kind:
        case Kind.INT:
            (word,) = struct.unpack_from("<I", raw, pos)
            rec.encoding, rec.bits = (word >> 24) & 0xF, word & 0xFF
            pos += 4
        case Kind.ARRAY:
            rec.elem_type, rec.index_type, rec.nelems = struct.unpack_from("<III", raw, pos)
            pos += 12
        case Kind.STRUCT | Kind.UNION:
            for _ in range(vlen):
                m_name, m_type, m_off = struct.unpack_from("<III", raw, pos)
                pos += 12
                if rec.kind_flag:
                    member = Member(_name(strings, m_name), m_type, m_off & 0xFFFFFF, m_off >> 24)
                else:
                    member = Member(_name(strings, m_name), m_type, m_off)
                rec.members.append(member)
        case Kind.ENUM:
            for _ in range(vlen):
                e_name, value = struct.unpack_from("<Ii", raw, pos)
                pos += 8
                if not rec.kind_flag and value < 0:
                    value &= 0xFFFFFFFF
                rec.enum_values.append(EnumValue(_name(strings, e_name), value))
        case Kind.ENUM64:
            for _ in range(vlen):
                e_name, lo, hi = struct.unpack_from("<III", raw, pos)
                pos += 12
                value = (hi << 32) | lo
                if rec.kind_flag and value >= 1 << 63:
                    value -= 1 << 64
                rec.enum_values.append(EnumValue(_name(strings, e_name), value))
        case Kind.FUNC_PROTO:
            for _ in range(vlen):
                p_name, p_type = struct.unpack_from("<II", raw, pos)
                pos += 8
                rec.params.append(Member(_name(strings, p_name), p_type, 0))
        case Kind.VAR:
            (rec.linkage,) = struct.unpack_from("<I", raw, pos)
            pos += 4
        case Kind.DATASEC:
            for _ in range(vlen):
                rec.secinfos.append(SecInfo(*struct.unpack_from("<III", raw, pos)))
                pos += 12
        case Kind.DECL_TAG:
            pos += 4
    return rec, pos


def _name(strings: bytes, offset: int) -> str:
    if offset >= len(strings):
        raise ValueError(f"string offset {offset} outside the string section")
    end = strings.find(b"\0", offset)
    return strings[offset : end if end >= 0 else len(strings)].decode("utf-8", "replace")


# -- a fast scan of the kernel's BTF: which functions, typedefs ... exist -------------------------

# The u32 words each record takes, as ``_parse_type`` reads them: the 12-byte common part and a
# fixed tail, plus so many per ``vlen`` entry. Indexed by the info word's top byte (kind_flag, two
# unused bits, kind) so the scan needs no masking; an unknown kind jumps past the end (corrupt).
_TAIL_WORDS: dict[int, int] = {Kind.INT: 1, Kind.ARRAY: 3, Kind.VAR: 1, Kind.DECL_TAG: 1}
_VLEN_WORDS: dict[int, int] = {
    Kind.STRUCT: 3,
    Kind.UNION: 3,
    Kind.ENUM: 2,
    Kind.FUNC_PROTO: 2,
    Kind.DATASEC: 3,
    Kind.ENUM64: 3,
}
_PAST_END = 1 << 40
_KIND_VALUES = frozenset(int(k) for k in Kind)
_STEP = tuple(
    3 + _TAIL_WORDS.get(top & 0x1F, 0) if top & 0x1F in _KIND_VALUES else _PAST_END
    for top in range(256)
)
_STEP_PER_VLEN = tuple(_VLEN_WORDS.get(top & 0x1F, 0) for top in range(256))


_INDEX_MAGIC = b"lmp-btf-names-1\n"


class NameIndex:
    """The names of the records of some kinds in raw BTF, and their type ids.

    Made by ``scan_names`` without building the other records: the kernel's BTF has ~125k types,
    beyond what ``Btf.parse`` accepts from a package, and ``lmp run`` only needs to know whether
    a function or a tracepoint's typedef exists. Lookups go by string offset, so a name is found
    only as the name of a record of that kind (a struct member ``pid`` is no function ``pid``).
    """

    def __init__(
        self,
        strings: bytes,
        ids: dict[Kind, dict[int, int]],
        next_id: int,
        base_strings: bytes = b"",
    ) -> None:
        # A split BTF's name offsets count the base's strings first, then its own: the base's
        # bytes are shared with the base's index, not copied.
        self._base = base_strings
        self._strings = strings
        self._ids = ids  # kind -> name offset -> lowest type id of that kind with that name
        self.next_id = next_id  # the id after the last type: a split BTF on top starts there

    @property
    def kinds(self) -> frozenset[Kind]:
        return frozenset(self._ids)

    def find(self, kind: Kind, name: str) -> int | None:
        """The lowest type id of a ``kind`` record named ``name``, or None if there is none."""
        by_offset = self._ids[kind]
        if not name or "\0" in name:
            return None
        found: int | None = None
        for off in self._offsets_of(name.encode() + b"\0"):
            tid = by_offset.get(off)
            if tid is not None and (found is None or tid < found):
                found = tid
        return found

    def has_prefix(self, kind: Kind, prefix: str) -> bool:
        """Whether some ``kind`` record's name starts with ``prefix``."""
        by_offset = self._ids[kind]
        return any(off in by_offset for off in self._offsets_of(prefix.encode()))

    def dump(self, kind: Kind) -> bytes:
        """One kind's part of the index, for ``load`` in a later process: ``lmp`` keeps the
        kernel's, which costs 20-40 ms to scan, on disk (in this machine's byte order)."""
        by_offset = self._ids[kind]
        pairs = array("I", itertools.chain.from_iterable(by_offset.items()))
        return _INDEX_MAGIC + struct.pack("=II", self.next_id, len(by_offset)) + pairs.tobytes()

    @classmethod
    def load(cls, strings: bytes, kind: Kind, data: bytes) -> NameIndex | None:
        """The index ``dump`` wrote for BTF with these ``strings``; None when ``data`` is not one
        (cut short, another format, offsets outside the strings)."""
        head = len(_INDEX_MAGIC) + 8
        if not data.startswith(_INDEX_MAGIC) or len(data) < head:
            return None
        next_id, count = struct.unpack_from("=II", data, len(_INDEX_MAGIC))
        if len(data) != head + 8 * count:
            return None
        pairs = array("I")
        pairs.frombytes(data[head:])
        offsets, ids = pairs[0::2], pairs[1::2]
        if count and max(offsets) >= len(strings):
            return None
        return cls(strings, {kind: dict(zip(offsets, ids, strict=True))}, next_id)

    def names(self, kind: Kind) -> frozenset[str]:
        """Every non-empty name of a ``kind`` record (decodes them all: for tests and tools)."""
        return frozenset(name for off in self._ids[kind] if (name := self._name(off)))

    def _name(self, off: int) -> str:
        base = len(self._base)
        return _name(self._base, off) if off < base else _name(self._strings, off - base)

    def _offsets_of(self, needle: bytes) -> list[int]:
        # Every place the bytes occur, not only after a NUL: a name offset may point into the
        # middle of another string (a suffix), which the kernel accepts.
        found: list[int] = []
        for strings, first in ((self._base, 0), (self._strings, len(self._base))):
            pos = strings.find(needle)
            while pos >= 0:
                found.append(first + pos)
                pos = strings.find(needle, pos + 1)
        return found


def scan_names(
    raw: bytes, kinds: Iterable[Kind], *, base_strings: bytes = b"", first_id: int = 1
) -> NameIndex:
    """Index the names of the records of ``kinds`` in ``raw`` BTF, skipping the others by size.

    For the kernel's BTF, which we trust: no bound on the number of types, and none of
    ``Btf.parse``'s checks beyond the records' sizes and the names' offsets. Split BTF (a
    module's, on top of vmlinux) passes the base's strings and the id its first type gets.
    One Python step per record, over u32 words: for the 5 MB of a 6.18 vmlinux (~125k types)
    ~21 ms, plus ~0.3 us per record of the kinds asked for (~39 ms for its 56k functions).
    """
    start, end, own_strings = _sections(raw)
    if (end - start) % 4:
        raise LayoutError("BTF type section is not a whole number of 4-byte words")
    words = _words(raw, start, end)
    wanted: dict[Kind, list[tuple[int, int]]] = {Kind(k): [] for k in kinds}
    by_top: list[list[tuple[int, int]] | None] = [None] * 256
    for kind, hits in wanted.items():
        for top in range(256):
            if top & 0x1F == kind:
                by_top[top] = hits
    step, per_vlen = _STEP, _STEP_PER_VLEN
    i = 1  # the info word of the record being read; its name offset is the word before
    type_id = first_id
    try:
        for type_id in itertools.count(first_id):
            info = words[i]
            top = info >> 24
            found = by_top[top]
            if found is not None:
                found.append((i, type_id))
            i += step[top] + per_vlen[top] * (info & 0xFFFF)
    except IndexError:
        pass  # past the last record: it must have ended exactly at the section's end
    if i != len(words) + 1:
        raise LayoutError("corrupt BTF: a record runs past the type section or has no known kind")
    total = len(base_strings) + len(own_strings)
    ids: dict[Kind, dict[int, int]] = {}
    for kind, hits in wanted.items():
        by_offset: dict[int, int] = {}
        for pos, hit_id in hits:
            by_offset.setdefault(words[pos - 1], hit_id)
        if by_offset and max(by_offset) >= total:
            raise LayoutError(f"corrupt BTF: a {kind.name} name lies outside the string section")
        ids[kind] = by_offset
    return NameIndex(own_strings, ids, type_id, base_strings)


def string_section(raw: bytes) -> bytes:
    """The string section of raw BTF (a split BTF's names may point into its base's)."""
    return _sections(raw)[2]


def names_of_kinds(raw: bytes, kinds: Iterable[Kind]) -> dict[Kind, frozenset[str]]:
    """The non-empty names of the records of each of ``kinds`` (see ``scan_names``)."""
    index = scan_names(raw, kinds)
    return {kind: index.names(kind) for kind in index.kinds}


def _words(raw: bytes, start: int, end: int) -> Sequence[int]:
    """``raw[start:end]`` as little-endian u32s, without copying on a little-endian host."""
    if sys.byteorder == "little":
        return memoryview(raw)[start:end].cast("I")
    words = array("I", raw[start:end])
    words.byteswap()
    return words


# -- a small BTF writer, for tests and tools that need hand-made types ----------------------------


class BtfBuilder:
    """Builds raw BTF bytes. Used by tests to make layouts without a compiler."""

    def __init__(self) -> None:
        self._types: list[bytes] = []
        self._strings = bytearray(b"\0")
        self._offsets: dict[str, int] = {"": 0}

    def _str(self, s: str) -> int:
        if s not in self._offsets:
            self._offsets[s] = len(self._strings)
            self._strings += s.encode() + b"\0"
        return self._offsets[s]

    def _add(
        self,
        name: str,
        kind: Kind,
        vlen: int,
        size_or_type: int,
        tail: bytes = b"",
        kind_flag: bool = False,
    ) -> int:
        info = (int(kind) << 24) | vlen | (1 << 31 if kind_flag else 0)
        self._types.append(_TYPE.pack(self._str(name), info, size_or_type) + tail)
        return len(self._types)

    def integer(
        self, name: str, size: int, signed: bool = False, char: bool = False, boolean: bool = False
    ) -> int:
        enc = (
            (INT_SIGNED if signed else 0) | (INT_CHAR if char else 0) | (INT_BOOL if boolean else 0)
        )
        return self._add(name, Kind.INT, 0, size, struct.pack("<I", (enc << 24) | size * 8))

    def floating(self, name: str, size: int) -> int:
        return self._add(name, Kind.FLOAT, 0, size)

    def ptr(self, target: int) -> int:
        return self._add("", Kind.PTR, 0, target)

    def typedef(self, name: str, target: int) -> int:
        return self._add(name, Kind.TYPEDEF, 0, target)

    def modifier(self, kind: Kind, target: int) -> int:
        return self._add("", kind, 0, target)

    def array(self, elem: int, nelems: int, index_type: int = 0) -> int:
        return self._add("", Kind.ARRAY, 0, 0, struct.pack("<III", elem, index_type, nelems))

    def struct(
        self, name: str, size: int, members: list[tuple[str, int, int]], union: bool = False
    ) -> int:
        """``members``: (name, type id, byte offset)."""
        tail = b"".join(struct.pack("<III", self._str(n), t, off * 8) for n, t, off in members)
        return self._add(name, Kind.UNION if union else Kind.STRUCT, len(members), size, tail)

    def enum(
        self, name: str, size: int, values: list[tuple[str, int]], signed: bool = False
    ) -> int:
        tail = b"".join(struct.pack("<Ii", self._str(n), v) for n, v in values)
        return self._add(name, Kind.ENUM, len(values), size, tail, kind_flag=signed)

    def var(self, name: str, type_id: int, linkage: int = 1) -> int:
        return self._add(name, Kind.VAR, 0, type_id, struct.pack("<I", linkage))

    def datasec(self, name: str, size: int, vars_: list[tuple[int, int, int]]) -> int:
        tail = b"".join(struct.pack("<III", *v) for v in vars_)
        return self._add(name, Kind.DATASEC, len(vars_), size, tail)

    def func_proto(self, ret: int, params: list[tuple[str, int]]) -> int:
        """``params``: (name, type id)."""
        tail = b"".join(struct.pack("<II", self._str(n), t) for n, t in params)
        return self._add("", Kind.FUNC_PROTO, len(params), ret, tail)

    def func(self, name: str, proto: int, linkage: int = 1) -> int:
        """A function; BTF keeps its linkage in ``vlen``."""
        return self._add(name, Kind.FUNC, linkage, proto)

    def fwd(self, name: str, union: bool = False) -> int:
        return self._add(name, Kind.FWD, 0, 0, kind_flag=union)

    def decl_tag(self, name: str, target: int, component_idx: int = -1) -> int:
        return self._add(name, Kind.DECL_TAG, 0, target, struct.pack("<i", component_idx))

    def enum64(self, name: str, size: int, values: list[tuple[str, int]]) -> int:
        tail = b"".join(
            struct.pack("<III", self._str(n), v & 0xFFFFFFFF, (v >> 32) & 0xFFFFFFFF)
            for n, v in values
        )
        return self._add(name, Kind.ENUM64, len(values), size, tail)

    def build(self) -> bytes:
        types = b"".join(self._types)
        hdr = _HEADER.pack(
            BTF_MAGIC, 1, 0, _HEADER.size, 0, len(types), len(types), len(self._strings)
        )
        return hdr + types + bytes(self._strings)
