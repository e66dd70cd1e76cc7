"""A minimal reader for 64-bit little-endian ELF relocatable objects (what clang -target bpf emits).

Only what packaging needs: section headers by name, and the symbol table (for the DATASEC
fix-up, where a variable's offset is its symbol's ``st_value``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import cached_property

from ..errors import PackageError

ELF_MAGIC = b"\x7fELF"
EM_BPF = 247
SHT_SYMTAB = 2
SHT_NOBITS = 8
STT_OBJECT = 1
MAX_NOBITS = 64 << 20  # zeros we will make up for a NOBITS section

_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_SHDR = struct.Struct("<IIQQQQIIQQ")
_SYM = struct.Struct("<IBBHQQ")


def check_header(head: bytes, size: int) -> None:
    """Refuse, from its first bytes, an object of ``size`` bytes whose ELF header cannot be
    right: so that a zlib bomb behind an ELF magic is not inflated further."""
    if head[:4] != ELF_MAGIC[: len(head)]:
        raise PackageError("not an ELF object (no \\x7fELF magic)")
    if len(head) < _EHDR.size:
        return
    if head[4] != 2 or head[5] != 1:
        raise PackageError("unsupported ELF object: only 64-bit little-endian objects are read")
    shoff, shentsize, shnum = _EHDR.unpack_from(head)[6], *_EHDR.unpack_from(head)[11:13]
    if not shnum or shentsize != _SHDR.size or shoff + shnum * shentsize > size:
        raise PackageError("corrupt ELF object: section header table out of bounds")


@dataclass(frozen=True, slots=True)
class Section:
    index: int
    name: str
    type: int
    flags: int
    offset: int
    size: int

    @property
    def is_nobits(self) -> bool:
        return self.type == SHT_NOBITS


@dataclass(frozen=True, slots=True)
class Symbol:
    name: str
    value: int
    size: int
    section_index: int
    type: int
    bind: int


class ElfFile:
    """Sections and symbols of an ELF64 LE object held in memory."""

    def __init__(self, data: bytes) -> None:
        if data[:4] != ELF_MAGIC:
            raise PackageError("not an ELF object (no \\x7fELF magic)")
        if len(data) < _EHDR.size or data[4] != 2 or data[5] != 1:
            raise PackageError("unsupported ELF object: only 64-bit little-endian objects are read")
        self.data = data
        (_, _, machine, _, _, _, shoff, _, _, _, _, shentsize, shnum, shstrndx) = _EHDR.unpack_from(
            data
        )
        self.machine = machine
        if shnum and (shentsize != _SHDR.size or shoff + shnum * shentsize > len(data)):
            raise PackageError("corrupt ELF object: section header table out of bounds")
        raw = [_SHDR.unpack_from(data, shoff + i * shentsize) for i in range(shnum)]
        if not raw or shstrndx >= shnum:
            raise PackageError("corrupt ELF object: no section name table")
        if raw[shstrndx][1] == SHT_NOBITS:
            raise PackageError("corrupt ELF object: the section name table has no bytes")
        names = self._bytes(raw[shstrndx][4], raw[shstrndx][5])
        self.sections: list[Section] = [
            Section(i, _cstr(names, h[0]), h[1], h[2], h[4], h[5]) for i, h in enumerate(raw)
        ]
        self._links = [h[6] for h in raw]
        for s in self.sections:
            if s.is_nobits and s.size > MAX_NOBITS:
                raise PackageError(
                    f"corrupt ELF object: section {s.name!r} claims {s.size} bytes "
                    f"(at most {MAX_NOBITS >> 20} MiB)"
                )

    @property
    def is_bpf(self) -> bool:
        return self.machine == EM_BPF

    def section(self, name: str) -> Section | None:
        return next((s for s in self.sections if s.name == name), None)

    def section_data(self, section: Section) -> bytes:
        if section.is_nobits:
            return bytes(section.size)
        return self._bytes(section.offset, section.size)

    @cached_property
    def symbols(self) -> list[Symbol]:
        symtab = next((s for s in self.sections if s.type == SHT_SYMTAB), None)
        if symtab is None:
            return []
        link = self._links[symtab.index]
        if not 0 < link < len(self.sections) or self.sections[link].is_nobits:
            raise PackageError("corrupt ELF object: the symbol table has no string table")
        strtab = self.sections[link]
        names = self._bytes(strtab.offset, strtab.size)
        table = self._bytes(symtab.offset, symtab.size)
        return [
            Symbol(_cstr(names, n), value, size, shndx, info & 0xF, info >> 4)
            for n, info, _other, shndx, value, size in _SYM.iter_unpack(
                table[: len(table) - len(table) % _SYM.size]
            )
        ]

    def _bytes(self, offset: int, size: int) -> bytes:
        if offset + size > len(self.data):
            raise PackageError("corrupt ELF object: a section lies outside the file")
        return self.data[offset : offset + size]


def _cstr(table: bytes, offset: int) -> str:
    end = table.find(b"\0", offset)
    return table[offset : end if end >= 0 else len(table)].decode("utf-8", "replace")
