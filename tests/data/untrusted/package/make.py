"""Writes the crafted packages beside this script: hostile inputs that once hung, exhausted
memory or ended in a traceback (issue 11), each now a one-line refusal.

    .venv/bin/python tests/data/untrusted/package/make.py

The files are small and committed; ``tests/test_untrusted_package.py`` checks they are what
this script writes and runs each through ``lmp run <file> --duration 0``. The builders are
also used by the tests and fuzzers directly.
"""

from __future__ import annotations

import base64
import json
import struct
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lmp_tui.runtime.format.btf import BtfBuilder
from lmp_tui.runtime.format.package import pack_package

HERE = Path(__file__).resolve().parent
EM_BPF = 247
SHT_PROGBITS, SHT_SYMTAB, SHT_STRTAB, SHT_NOBITS = 1, 2, 3, 8
_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_SHDR = struct.Struct("<IIQQQQIIQQ")

Section = tuple[str, int, bytes, int, int]  # name, type, data, link, size (for NOBITS)


def elf_object(sections: list[Section], shstrndx: int | None = None) -> bytes:
    """A 64-bit little-endian relocatable BPF object holding these sections (after the null
    section; ``.shstrtab`` is added last)."""
    names = bytearray(b"\0")
    offsets = []
    for name, *_ in [*sections, (".shstrtab", 0, b"", 0, 0)]:
        offsets.append(len(names))
        names += name.encode() + b"\0"
    body = bytearray()
    headers = [_SHDR.pack(0, 0, 0, 0, 0, 0, 0, 0, 0, 0)]
    for (_name, kind, data, link, size), name_off in zip(sections, offsets, strict=False):
        pos = _EHDR.size + len(body)
        body += data
        headers.append(_SHDR.pack(name_off, kind, 0, 0, pos, size or len(data), link, 0, 1, 0))
    pos = _EHDR.size + len(body)
    body += names
    headers.append(_SHDR.pack(offsets[-1], SHT_STRTAB, 0, 0, pos, len(names), 0, 0, 1, 0))
    shoff = _EHDR.size + len(body)
    count = len(headers)
    ident = b"\x7fELF\x02\x01\x01" + bytes(9)
    ehdr = _EHDR.pack(
        ident, 1, EM_BPF, 1, 0, 0, shoff, 0, _EHDR.size, 0, 0, _SHDR.size, count,
        count - 1 if shstrndx is None else shstrndx,
    )  # fmt: skip
    return ehdr + bytes(body) + b"".join(headers)


def meta(**skel: Any) -> dict[str, Any]:
    return {
        "bpf_skel": {
            "data_sections": [],
            "maps": [],
            "obj_name": "crafted_bpf",
            "progs": [],
            **skel,
        },
        "export_types": [],
    }


def export(name: str, type_id: int, members: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "members": [{"name": m, "type": "int"} for m in members],
            "name": name,
            "size": 0,
            "type_id": type_id,
        }
    ]


def package(btf: bytes, meta_: dict[str, Any] | None = None, **extra_sections: bytes) -> bytes:
    sections: list[Section] = [(".BTF", SHT_PROGBITS, btf, 0, 0)]
    sections += [(n, SHT_PROGBITS, d, 0, 0) for n, d in extra_sections.items()]
    return pack_package(elf_object(sections), meta_ or meta())


def good_btf() -> tuple[bytes, int]:
    """A struct event {int pid; char comm[8];} and a linked list node (a cycle through a
    pointer, which is fine)."""
    b = BtfBuilder()
    i32 = b.integer("int", 4, signed=True)
    char = b.integer("char", 1, signed=True, char=True)
    node = len(b._types) + 2
    b.ptr(node)
    b.struct("node", 8, [("next", node - 1, 0)])
    ev = b.struct("event", 12, [("pid", i32, 0), ("comm", b.array(char, 8), 4)])
    return b.build(), ev


def good_package() -> bytes:
    btf, ev = good_btf()
    m = meta()
    m["export_types"] = export("event", ev, ["pid", "comm"])
    return package(btf, m)


def self_array() -> bytes:
    """An exported struct whose member is an array of itself: parse_package never returned."""
    b = BtfBuilder()
    b.integer("int", 4, signed=True)
    arr = len(b._types) + 1
    b.array(arr, 4)
    ev = b.struct("event", 16, [("x", arr, 0)])
    m = meta()
    m["export_types"] = export("event", ev, ["x"])
    return package(b.build(), m)


def ptr_self() -> bytes:
    """A pointer to itself, as an exported member: RecursionError naming its type."""
    b = BtfBuilder()
    ptr = len(b._types) + 1
    b.ptr(ptr)
    ev = b.struct("event", 8, [("p", ptr, 0)])
    m = meta()
    m["export_types"] = export("event", ev, ["p"])
    return package(b.build(), m)


def struct_self() -> bytes:
    """A struct containing itself by value: RecursionError laying it out."""
    b = BtfBuilder()
    ev = len(b._types) + 1
    b.struct("event", 8, [("inner", ev, 0)])
    m = meta()
    m["export_types"] = export("event", ev, ["inner"])
    return package(b.build(), m)


def typedef_chain(depth: int = 1000) -> bytes:
    """A typedef of a typedef of ... an int, 1000 deep."""
    b = BtfBuilder()
    t = b.integer("int", 4, signed=True)
    for i in range(depth):
        t = b.typedef(f"t{i}", t)
    ev = b.struct("event", 4, [("x", t, 0)])
    m = meta()
    m["export_types"] = export("event", ev, ["x"])
    return package(b.build(), m)


def doubling_structs(levels: int = 40) -> bytes:
    """union u0 { int a, b; }; union u1 { union u0 a, b; }; ... struct event { union u39 x; }:
    a small graph, 2**40 fields as a tree."""
    b = BtfBuilder()
    t = b.integer("int", 4, signed=True)
    for i in range(levels):
        t = b.struct(f"u{i}", 4, [("a", t, 0), ("b", t, 0)], union=True)
    ev = b.struct("event", 4, [("x", t, 0)])
    m = meta()
    m["export_types"] = export("event", ev, ["x"])
    return package(b.build(), m)


def huge_array() -> bytes:
    """An array of 2**32-1 8-byte elements: its size overflows u32."""
    b = BtfBuilder()
    u64 = b.integer("unsigned long long", 8)
    arr = b.array(u64, 0xFFFFFFFF)
    ev = b.struct("event", 8, [("x", arr, 0)])
    m = meta()
    m["export_types"] = export("event", ev, ["x"])
    return package(b.build(), m)


def dangling_type() -> bytes:
    b = BtfBuilder()
    ev = b.struct("event", 4, [("x", 9999, 0)])
    m = meta()
    m["export_types"] = export("event", ev, ["x"])
    return package(b.build(), m)


def member_outside() -> bytes:
    b = BtfBuilder()
    i32 = b.integer("int", 4, signed=True)
    ev = b.struct("event", 4, [("x", i32, 4096)])
    m = meta()
    m["export_types"] = export("event", ev, ["x"])
    return package(b.build(), m)


def deflate_bomb(inflated: int, prefix: bytes = b"") -> bytes:
    """A zlib stream of ``prefix`` then ``inflated`` zero bytes (whole MiB), made in well under
    a second: one fully flushed block of a MiB of zeros, repeated (the ~1000:1 of deflate)."""
    mib = bytes(1 << 20)
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = raw.compress(prefix) + raw.flush(zlib.Z_FULL_FLUSH)
    block = raw.compress(mib) + raw.flush(zlib.Z_FULL_FLUSH)
    tail = raw.flush()
    check = zlib.adler32(prefix)
    for _ in range(inflated >> 20):
        check = zlib.adler32(mib, check)
    body = head + block * (inflated >> 20) + tail
    return b"\x78\xda" + body + struct.pack(">I", check)


def elf_header(size: int = 32 << 20) -> bytes:
    """An ELF header that says its section table is at the end of a ``size``-byte object."""
    ident = b"\x7fELF\x02\x01\x01" + bytes(9)
    shoff = size - 3 * _SHDR.size
    return _EHDR.pack(ident, 1, EM_BPF, 1, 0, 0, shoff, 0, _EHDR.size, 0, 0, _SHDR.size, 3, 2)


def zlib_bomb(inflated: int = 16 << 20, claimed: int = 1000, prefix: bytes = b"") -> bytes:
    """A package whose bpf_object inflates to ``prefix`` and ``inflated`` zero bytes and says
    it is ``claimed`` bytes long."""
    doc = {
        "bpf_object": base64.b64encode(deflate_bomb(inflated, prefix)).decode(),
        "bpf_object_size": claimed,
        "meta": meta(),
    }
    return json.dumps(doc).encode()


def with_meta(change: Callable[[dict[str, Any]], object]) -> bytes:
    btf, ev = good_btf()
    m = meta()
    m["export_types"] = export("event", ev, ["pid", "comm"])
    change(m)
    return package(btf, m)


def moderately_deep_json(depth: int = 500) -> bytes:
    """Nested below the interpreter's limit, above what later walkers can take."""
    doc = json.loads(good_package())
    doc["meta"]["bpf_skel"]["x_tag"] = "doc_here"
    return json.dumps(doc).replace('"doc_here"', "[" * depth + "]" * depth).encode()


def deep_json(depth: int = 5000) -> bytes:
    """A package whose doc nests 5,000 arrays: RecursionError in the JSON decoder."""
    doc = json.loads(good_package())
    doc["meta"]["bpf_skel"]["doc"] = {"brief": "doc_here"}
    text = json.dumps(doc)
    return text.replace('"doc_here"', "[" * depth + "]" * depth).encode()


def symtab_bad_link() -> bytes:
    btf, _ = good_btf()
    obj = elf_object([(".BTF", SHT_PROGBITS, btf, 0, 0), (".symtab", SHT_SYMTAB, bytes(48), 99, 0)])
    return pack_package(obj, meta())


def section_outside() -> bytes:
    btf, _ = good_btf()
    obj = bytearray(elf_object([(".BTF", SHT_PROGBITS, btf, 0, 0)]))
    # .BTF's sh_size (header 1, field at +32) made larger than the file.
    shoff = struct.unpack_from("<Q", obj, 40)[0]
    struct.pack_into("<Q", obj, shoff + 64 + 32, 1 << 40)
    return pack_package(bytes(obj), meta())


def huge_nobits() -> bytes:
    btf, _ = good_btf()
    obj = elf_object([(".BTF", SHT_PROGBITS, btf, 0, 0), (".bss", SHT_NOBITS, b"", 0, 1 << 40)])
    return pack_package(obj, meta())


def bad_shstrndx() -> bytes:
    btf, _ = good_btf()
    return pack_package(elf_object([(".BTF", SHT_PROGBITS, btf, 0, 0)], shstrndx=77), meta())


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A change to the meta: ``path`` like ``bpf_skel.progs`` (a dotted path)."""

    def change(m: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        d: Any = m
        for p in parents:
            d = d[int(p)] if isinstance(d, list) else d[p]
        if isinstance(d, list):
            d[int(last)] = value
        else:
            d[last] = value

    return change


CASES: dict[str, Callable[[], bytes]] = {
    "btf_self_array.json": self_array,
    "btf_ptr_self.json": ptr_self,
    "btf_struct_self.json": struct_self,
    "btf_typedef_chain.json": typedef_chain,
    "btf_doubling_structs.json": doubling_structs,
    "btf_huge_array.json": huge_array,
    "btf_dangling_type.json": dangling_type,
    "btf_member_outside.json": member_outside,
    "zlib_bomb.json": zlib_bomb,
    "zlib_bomb_elf.json": lambda: zlib_bomb(prefix=b"\x7fELF\x02\x01\x01"),
    "deep_json.json": deep_json,
    "deep_json_500.json": moderately_deep_json,
    "meta_obj_name_int.json": lambda: with_meta(_set("bpf_skel.obj_name", 7)),
    "meta_obj_name_path.json": lambda: with_meta(_set("bpf_skel.obj_name", "../../../tmp/x")),
    "meta_prog_name_path.json": lambda: with_meta(
        _set("bpf_skel.progs", [{"name": "../x", "attach": "tp/a/b"}])
    ),
    "meta_prog_attach_nul.json": lambda: with_meta(
        _set("bpf_skel.progs", [{"name": "h", "attach": "tp/a\u0000b"}])
    ),
    "meta_progs_string.json": lambda: with_meta(_set("bpf_skel.progs", "all")),
    "meta_maps_ints.json": lambda: with_meta(_set("bpf_skel.maps", [1, 2])),
    "meta_sample_interval_str.json": lambda: with_meta(
        _set("bpf_skel.maps", [{"name": "m", "sample": {"interval": "fast"}}])
    ),
    "meta_doc_brief_list.json": lambda: with_meta(_set("bpf_skel.doc", {"brief": [1]})),
    "meta_export_types_object.json": lambda: with_meta(_set("export_types", {})),
    "meta_export_member_int.json": lambda: with_meta(_set("export_types.0.members", [3])),
    "meta_export_type_id_huge.json": lambda: with_meta(_set("export_types.0.type_id", 2**70)),
    "meta_cmdarg_long_list.json": lambda: with_meta(
        _set(
            "bpf_skel.data_sections",
            [{"name": ".rodata", "variables": [{"name": "x", "cmdarg": {"long": ["a"]}}]}],
        )
    ),
    "meta_perf_pages_bool.json": lambda: with_meta(_set("perf_buffer_pages", True)),
    "elf_symtab_bad_link.json": symtab_bad_link,
    "elf_section_outside.json": section_outside,
    "elf_huge_nobits.json": huge_nobits,
    "elf_bad_shstrndx.json": bad_shstrndx,
}


def main() -> None:
    for name, make in CASES.items():
        (HERE / name).write_bytes(make())
    print(f"wrote {len(CASES)} packages to {HERE}", file=sys.stderr)


if __name__ == "__main__":
    main()
