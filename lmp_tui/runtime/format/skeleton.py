"""The ``bpf_skel`` and ``export_types`` metadata of a BPF object, computed from its ELF and BTF.

eunomia's ecc gets these from its bpftool fork (``gen skeleton -j``, ``btf dump -j``); we derive
the same JSON in Python so ``lmp build`` needs only Debian's clang, and so a bare ``.bpf.o`` runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import LayoutError
from .btf import MAX_DEPTH, QUALIFIERS, Btf, Kind
from .elf import ElfFile

SHF_EXECINSTR = 0x4
STT_FUNC = 2
STB_LOCAL = 0
BPF_OBJ_NAME_LEN = 16
GLOBAL_DATA_SECTIONS = (".rodata", ".bss", ".data")
VAR_STATIC = 0

# The subset of ``enum bpf_map_type`` users meet; others print as their number.
MAP_TYPES = {
    1: "hash",
    2: "array",
    3: "prog_array",
    4: "perf_event_array",
    5: "percpu_hash",
    6: "percpu_array",
    7: "stack_trace",
    9: "lru_hash",
    10: "lru_percpu_hash",
    12: "array_of_maps",
    13: "hash_of_maps",
    27: "ringbuf",
}
MAP_RINGBUF = 27
MAP_PERF_EVENT_ARRAY = 4


def obj_name_for(filename: str) -> str:
    """libbpf's object name for a file: ``sigsnoop.bpf.o`` -> ``sigsnoop_bpf``."""
    base = filename.rsplit("/", 1)[-1]
    if base.endswith(".o"):
        base = base[:-2]
    return base.replace(".", "_")


def internal_map_name(obj_name: str, section: str) -> str:
    """libbpf's ``internal_map_name``: ``sigsnoop.rodata``, ``runqlat_.bss``, ``.rodata.str1.1``."""
    sfx_len = max(7, len(section))
    pfx_len = 0 if "." in section[1:] else min(BPF_OBJ_NAME_LEN - sfx_len - 1, len(obj_name))
    name = (obj_name[:pfx_len] + section[:sfx_len])[: BPF_OBJ_NAME_LEN - 1]
    return "".join(c if c.isalnum() or c in "_." else "_" for c in name)


def is_global_data_section(name: str) -> bool:
    return name in GLOBAL_DATA_SECTIONS or name.startswith((".rodata.", ".data.", ".bss."))


def _ident(section: str) -> str:
    return section.lstrip(".").replace(".", "_")


@dataclass(frozen=True, slots=True)
class MapDef:
    """A map as its BTF definition in ``.maps`` declares it: ``__uint(type, ...)``,
    ``__uint(max_entries, ...)``, and the type ids of ``__type(key, ...)``/``__type(value, ...)``
    (0 when not declared that way)."""

    name: str
    type: int | None
    max_entries: int = 0
    key_type: int = 0
    value_type: int = 0


def map_defs(btf: Btf) -> list[MapDef]:
    """The maps of the ``.maps`` section, in declaration order, from BTF alone.

    libbpf encodes ``__uint(name, N)`` as a member ``int (*name)[N]`` and ``__type(name, T)``
    as a member ``T *name``.
    """
    sec = btf.find(".maps", Kind.DATASEC)
    out = []
    for info in sec.secinfos if sec is not None else ():
        var = btf[info.type_id]
        struct = btf.strip(var.type)
        uints: dict[str, int] = {}
        types: dict[str, int] = {}
        for m in struct.members if struct.kind == Kind.STRUCT else ():
            ptr = btf.strip(m.type_id)
            if ptr.kind != Kind.PTR:
                continue
            target = btf.strip(ptr.type)
            if target.kind == Kind.ARRAY and m.name in ("type", "max_entries"):
                uints[m.name] = target.nelems
            else:
                types[m.name] = ptr.type
        out.append(
            MapDef(
                var.name,
                uints.get("type"),
                uints.get("max_entries", 0),
                types.get("key", 0),
                types.get("value", 0),
            )
        )
    return out


def variable_type(btf: Btf, type_id: int) -> str:
    """How bpftool's JSON skeleton spells a variable's type: qualifiers dropped, composites named so."""
    t = btf.strip(type_id)
    if t.kind in (Kind.STRUCT, Kind.UNION):
        return "composite"
    return btf.c_decl(_drop_qualifiers(btf, type_id))


def member_type(btf: Btf, type_id: int) -> str:
    t = btf.strip(type_id)
    if t.kind in (Kind.STRUCT, Kind.UNION):
        return "composite"
    if t.kind in (Kind.ENUM, Kind.ENUM64) and btf[type_id].kind not in (Kind.TYPEDEF,):
        return "enum"
    return btf.c_decl(_drop_qualifiers(btf, type_id))


def _drop_qualifiers(btf: Btf, type_id: int) -> int:
    for _ in range(MAX_DEPTH):
        if btf[type_id].kind not in QUALIFIERS:
            return type_id
        type_id = btf[type_id].type
    raise LayoutError(f"BTF type {type_id}: qualifier chain too long")


def bpf_skel(elf: ElfFile, btf: Btf, obj_name: str) -> dict[str, Any]:
    """The ``meta.bpf_skel`` object for this object (before doc comments are merged)."""
    data_sections = []
    maps: list[dict[str, Any]] = [{"ident": m.name, "name": m.name} for m in map_defs(btf)]
    for section in elf.sections:
        if not is_global_data_section(section.name) or not section.size:
            continue
        datasec = btf.find(section.name, Kind.DATASEC)
        entry: dict[str, Any] = {
            "ident": _ident(section.name),
            "name": internal_map_name(obj_name, section.name),
        }
        if datasec is not None:
            entry["mmaped"] = True
        maps.append(entry)
        if datasec is None:
            continue
        variables = []
        for info in datasec.secinfos:
            var = btf[info.type_id]
            if var.kind != Kind.VAR or var.linkage == VAR_STATIC:
                continue
            variables.append({"name": var.name, "type": variable_type(btf, var.type)})
        data_sections.append({"name": section.name, "variables": variables})
    return {
        "data_sections": data_sections,
        "maps": maps,
        "obj_name": obj_name,
        "progs": programs(elf),
    }


def programs(elf: ElfFile) -> list[dict[str, Any]]:
    """One entry per BPF program: a global function in an executable section."""
    progs = []
    for sym in elf.symbols:
        if sym.type != STT_FUNC or sym.bind == STB_LOCAL or not sym.section_index:
            continue
        if sym.section_index >= len(elf.sections):  # SHN_ABS, SHN_COMMON or corrupt
            continue
        section = elf.sections[sym.section_index]
        if section.flags & SHF_EXECINSTR and section.size and section.name != ".text":
            progs.append({"attach": section.name, "link": True, "name": sym.name})
    return progs


def export_type(btf: Btf, struct_name: str) -> dict[str, Any] | None:
    """The ``export_types`` entry for ``struct <struct_name>``, as bpftool's ``btf dump -j`` gives."""
    t = btf.find(struct_name, Kind.STRUCT)
    if t is None:
        return None
    return {
        "members": [{"name": m.name, "type": member_type(btf, m.type_id)} for m in t.members],
        "name": t.name,
        "size": t.size,
        "type_id": t.id,
    }


def fixup_datasecs(elf: ElfFile, btf: Btf) -> None:
    """Give DATASECs their ELF section size and variables their symbol offsets, as libbpf does.

    clang leaves both zero in the object; libbpf fills them in at open time (spec 2, step 3).
    """
    offsets = {}
    for sym in elf.symbols:
        if sym.section_index and sym.section_index < len(elf.sections):
            offsets[(elf.sections[sym.section_index].name, sym.name)] = sym.value
    for t in btf.types:
        if t.kind != Kind.DATASEC:
            continue
        section = elf.section(t.name)
        if section is None:
            continue
        t.size_or_type = section.size
        for info in t.secinfos:
            var = btf[info.type_id]
            if (t.name, var.name) in offsets:
                info.offset = offsets[(t.name, var.name)]
            if not info.size:
                info.size = btf.size_of(var.type)


def outermost_first(btf: Btf, structs: list[str]) -> list[str]:
    """Header structs, those not nested in another one first.

    Only ``export_types[0]`` is used, and ecc lists header structs in BTF order, so an event
    with a nested struct would export the inner one. We put the outer struct first.
    """
    nested: set[str] = set()
    for name in structs:
        t = btf.find(name, Kind.STRUCT)
        for m in t.members if t else []:
            inner = btf.strip(m.type_id)
            for _ in range(MAX_DEPTH):
                if inner.kind != Kind.ARRAY:
                    break
                inner = btf.strip(inner.elem_type)
            if inner.kind in (Kind.STRUCT, Kind.UNION):
                nested.add(inner.name)
    return [s for s in structs if s not in nested] + [s for s in structs if s in nested]
