"""Packages: eunomia ``package.json`` (spec 1) and bare ``.bpf.o`` objects, parsed and validated.

Nothing here touches the kernel: a ``Package`` can be listed, inspected and turned into command
line options anywhere.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import mmap
import re
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from ..errors import LayoutError, PackageError
from . import skeleton
from .btf import Btf, Kind
from .elf import ElfFile, check_header
from .layout import StructLayout, layout_from_btf, layout_from_export
from .limits import MAX_OBJECT_BYTES, MAX_RECORD, safe_name
from .skeleton import MAP_PERF_EVENT_ARRAY, MAP_RINGBUF, MapDef

WASM_MAGIC = b"\0asm"
_INFLATE_STEP = 1 << 20


@dataclass(frozen=True, slots=True)
class SampleMeta:
    """``maps[].sample``: poll a map every ``interval_ms`` instead of streaming events."""

    interval_ms: int
    type: str = "default_kv"
    unit: str = "(unit)"
    clear_map: bool = False

    @classmethod
    def parse(cls, d: Any, map_name: str) -> SampleMeta:
        if not isinstance(d, dict) or "interval" not in d:
            raise PackageError(f"map {map_name!r}: sample needs an interval")
        kind = d.get("type", "default_kv")
        if kind not in ("log2_hist", "linear_hist", "default_kv"):
            raise PackageError(f"map {map_name!r}: unknown sample type {kind!r}")
        try:
            interval = int(d["interval"])
        except (TypeError, ValueError):
            raise PackageError(f"map {map_name!r}: sample interval must be a number") from None
        return cls(interval, kind, str(d.get("unit", "(unit)")), bool(d.get("clear_map", False)))


@dataclass(frozen=True, slots=True)
class MapMeta:
    name: str
    ident: str
    mmaped: bool = False
    sample: SampleMeta | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class ProgMeta:
    name: str
    attach: str
    link: bool = True
    others: dict[str, Any] = field(default_factory=dict)

    @property
    def optional(self) -> bool:
        """``/// @optional``: where this kernel lacks its attach point, the rest runs without it."""
        return self.others.get("optional") is True


@dataclass(frozen=True, slots=True)
class Variable:
    """A global in ``.rodata``/``.bss``: a program parameter."""

    name: str
    type: str
    section: str
    offset: int
    size: int
    type_id: int
    description: str = ""
    cmdarg: dict[str, Any] = field(default_factory=dict)
    value: Any = None


DEFAULT_PERF_BUFFER_PAGES = 64
ExportKind = Literal["ringbuf", "perf", "sample", "none"]


@dataclass(frozen=True, slots=True)
class ExportSpec:
    """What a run exports and how its records are laid out: a ring or perf buffer's records
    (``layout``), or a sampled map's entries (``key`` then ``value``, every ``sample`` interval).

    Made by ``Package.export()`` and kept in recordings, so a replay knows what the live run knew.
    """

    kind: ExportKind = "none"
    map_name: str = ""
    layout: StructLayout | None = None
    key: StructLayout | None = None
    value: StructLayout | None = None
    sample: SampleMeta | None = None

    @property
    def record_size(self) -> int:
        """Bytes per record of a batch: an event, or a sampled map's key and value."""
        if self.key is not None and self.value is not None:
            return self.key.size + self.value.size
        return self.layout.size if self.layout is not None else 0


@dataclass(slots=True)
class Package:
    """A parsed, validated program: its ELF object, BTF, metadata and exported layout."""

    name: str
    obj: bytes
    meta: dict[str, Any]
    elf: ElfFile
    btf: Btf
    digest: str
    source: str = ""

    @property
    def skel(self) -> dict[str, Any]:
        return self.meta["bpf_skel"]

    @property
    def obj_name(self) -> str:
        return str(self.skel.get("obj_name") or self.name)

    @property
    def description(self) -> str:
        doc = self.skel.get("doc") or {}
        return str(doc.get("brief") or doc.get("description") or "")

    @property
    def progs(self) -> list[ProgMeta]:
        out = []
        for p in _list(self.skel.get("progs")):
            if not isinstance(p, dict) or "name" not in p:
                raise PackageError("bpf_skel.progs entries need a name")
            others = {k: v for k, v in p.items() if k not in ("name", "attach", "link")}
            out.append(
                ProgMeta(
                    str(p["name"]), str(p.get("attach", "")), bool(p.get("link", True)), others
                )
            )
        return out

    @property
    def maps(self) -> list[MapMeta]:
        out = []
        for m in _list(self.skel.get("maps")):
            if not isinstance(m, dict) or "name" not in m:
                raise PackageError("bpf_skel.maps entries need a name")
            sample = SampleMeta.parse(m["sample"], m["name"]) if m.get("sample") else None
            out.append(
                MapMeta(
                    str(m["name"]),
                    str(m.get("ident", m["name"])),
                    bool(m.get("mmaped", False)),
                    sample,
                    str(m.get("description", "")),
                )
            )
        return out

    @property
    def variables(self) -> list[Variable]:
        """Globals with their offsets from the object's BTF (after the DATASEC fix-up)."""
        out = []
        for section in _list(self.skel.get("data_sections")):
            sec_name = section.get("name", "")
            datasec = self.btf.find(sec_name, Kind.DATASEC)
            where = {}
            if datasec is not None:
                where = {
                    self.btf[i.type_id].name: i
                    for i in datasec.secinfos
                    if self.btf[i.type_id].kind == Kind.VAR
                }
            for v in _list(section.get("variables")):
                name = v.get("name", "")
                if name == "__padding" or name.startswith("__eunomia_dummy") or name not in where:
                    continue
                info = where[name]
                assert datasec is not None
                if datasec.size and info.offset + info.size > datasec.size:
                    raise PackageError(
                        f"variable {name!r}: {info.size} bytes at offset {info.offset} lie "
                        f"outside its {datasec.size}-byte section {sec_name!r}"
                    )
                cmdarg = v.get("cmdarg") if isinstance(v.get("cmdarg"), dict) else {}
                out.append(
                    Variable(
                        name,
                        str(v.get("type", "")),
                        sec_name,
                        info.offset,
                        info.size,
                        self.btf[info.type_id].type,
                        str(v.get("description", "")),
                        cmdarg,
                        v.get("value"),
                    )
                )
        return out

    @property
    def map_defs(self) -> dict[str, MapDef]:
        """Maps defined in the object's ``.maps`` section, from BTF alone (no kernel needed)."""
        return {d.name: d for d in skeleton.map_defs(self.btf)}

    @property
    def perf_buffer_pages(self) -> int:
        """Pages per CPU for a perf event array (``meta.perf_buffer_pages``, ecli's default 64)."""
        pages = self.meta.get("perf_buffer_pages", DEFAULT_PERF_BUFFER_PAGES)
        if (
            not isinstance(pages, int)
            or isinstance(pages, bool)
            or pages < 1
            or pages & (pages - 1)
        ):
            raise PackageError(f"perf_buffer_pages must be a power of 2, not {pages!r}")
        return pages

    def export(self) -> ExportSpec:
        """What a run of this package exports: the one answer to "which map", everywhere.

        ecli's rule (spec 4.5): among the maps the metadata lists, a sampled one, else a ring
        buffer, else a perf event array; the last one wins. Map types come from the object's
        BTF, so the answer is the same before loading, while running and in a recording.
        Raises ``PackageError`` when the chosen map's records cannot be laid out.
        """
        defs = self.map_defs
        chosen: tuple[MapMeta, ExportKind] | None = None
        for m in self.maps:
            map_type = defs[m.name].type if m.name in defs else None
            if m.sample is not None:
                chosen = (m, "sample")
            elif map_type == MAP_RINGBUF:
                chosen = (m, "ringbuf")
            elif map_type == MAP_PERF_EVENT_ARRAY:
                chosen = (m, "perf")
        if chosen is None:
            return ExportSpec()
        meta, kind = chosen
        if kind == "sample":
            key, value = self._sample_layouts(defs.get(meta.name))
            _check_record(key.size + value.size, f"entries of map {meta.name}")
            return ExportSpec(kind, meta.name, key=key, value=value, sample=meta.sample)
        try:
            layout = self.export_layout()
        except LayoutError as exc:
            raise PackageError(str(exc)) from None
        if layout is None:
            raise PackageError(
                f"Export map named {meta.name} found, but no export type is provided"
            )
        _check_record(layout.size, f"events of struct {layout.name}")
        return ExportSpec(kind, meta.name, layout=layout)

    def _sample_layouts(self, d: MapDef | None) -> tuple[StructLayout, StructLayout]:
        """Key and value layouts of a sampled map; value member names from ``export_types``
        when they name the value struct's members."""
        if d is None or not d.key_type or not d.value_type:
            raise PackageError(
                "the sampled map has no BTF key/value types (declare it with __type)"
            )
        try:
            key = layout_from_btf(self.btf, d.key_type)
            value = layout_from_btf(self.btf, d.value_type)
        except LayoutError as exc:
            raise PackageError(str(exc)) from None
        names = self.sample_value_member_names()
        vt = self.btf.strip(d.value_type)
        exports = _list(self.meta.get("export_types"))
        if (
            names
            and vt.kind == Kind.STRUCT
            and exports[0].get("name") == vt.name
            and len(names) == len(value.fields)
        ):
            fields = tuple(replace(f, name=n) for f, n in zip(value.fields, names, strict=True))
            value = StructLayout(value.name, value.size, fields, value.kind)
        return key, value

    def buffer_bytes(self, spec: ExportSpec) -> int:
        """What the export map buffers as shipped: a ring buffer's size, a perf event array's
        buffer per CPU; 0 for anything else."""
        if spec.kind == "ringbuf":
            d = self.map_defs.get(spec.map_name)
            return d.max_entries if d else 0
        if spec.kind == "perf":
            return self.perf_buffer_pages * mmap.PAGESIZE
        return 0

    def export_layout(self) -> StructLayout | None:
        """The struct that ring/perf buffer records carry (``export_types[0]``)."""
        exports = _list(self.meta.get("export_types"))
        if not exports:
            return None
        return layout_from_export(self.btf, exports[0])

    def sample_value_member_names(self) -> list[str] | None:
        exports = _list(self.meta.get("export_types"))
        if not exports:
            return None
        return [m.get("name") for m in exports[0].get("members", [])]


def _list(value: Any) -> list[Any]:
    """Tolerant list access: a key may be missing, ``null`` or an empty array (spec 9)."""
    return value if isinstance(value, list) else []


# -- loading -------------------------------------------------------------------------------------


def load_package(path: str | Path, *, shipped: bool = False) -> Package:
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise PackageError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise PackageError(f"{p}: is a directory, not a package") from None
    except OSError as exc:
        raise PackageError(f"{p}: cannot read: {exc.strerror}") from None
    return parse_package(data, source=str(p), name=_name_from_path(p), shipped=shipped)


def _name_from_path(p: Path) -> str:
    """A name for a file; empty for package.json, whose object name says it better."""
    if p.name == "package.json":
        return ""
    if p.name == "app.wasm":
        return p.resolve().parent.name
    return p.name.split(".", 1)[0]


def _check_record(size: int, what: str) -> None:
    if size > MAX_RECORD:
        raise PackageError(
            f"{what} are {size} bytes: lmp reads records of at most {MAX_RECORD >> 10} KiB"
        )


def parse_package(
    data: bytes, source: str = "<memory>", name: str = "", *, shipped: bool = False
) -> Package:
    """Detect the format of ``data`` and parse it, or say precisely what it is instead.

    ``data`` is untrusted: anything wrong with it is a one-line ``PackageError``, found in
    bounded time and memory (the JSON's size and depth, the inflated object's size, the BTF's
    types are all checked before anything walks them).

    ``shipped`` is for the built-in Hub's packages, which come with lmp like its code does (and
    pass the typed schema in its tests): their JSON skips that schema, whose library alone
    would cost every ``lmp run`` ~20 ms of start-up. Every other check still runs.
    """
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    if data[:4] == b"\x7fELF":
        return _from_object(data, source, name or "program", digest)
    if data[:4] == WASM_MAGIC:
        raise PackageError(
            f"{source}: is a WebAssembly app, not a package.json; run it with `lmp run app.wasm`"
        )
    if shipped:
        doc = json.loads(data)
    else:
        from .schema import decode_json

        doc = decode_json(data, source)
    if not isinstance(doc, dict):
        raise PackageError(f"{source}: not a package: the JSON is not an object")
    _refuse_legacy(doc, source)
    if "bpf_object" not in doc or "meta" not in doc:
        raise PackageError(
            f"{source}: not an eunomia package (needs bpf_object, bpf_object_size and meta)"
        )
    if not isinstance(doc["meta"], dict) or not isinstance(doc["meta"].get("bpf_skel"), dict):
        raise PackageError(f"{source}: meta.bpf_skel is missing")
    if not shipped:
        from .schema import check_document

        check_document(doc, source)
    obj = _inflate(doc["bpf_object"], doc.get("bpf_object_size"), source)
    meta: dict[str, Any] = doc["meta"]
    elf, btf = _object(obj, source)
    # The object's own name says what the program is; where it was found (a directory, a
    # registry repository) may not.
    name = str(meta["bpf_skel"].get("obj_name", "")).removesuffix("_bpf") or name
    pkg = Package(safe_name(name), obj, meta, elf, btf, digest, source)
    _check(pkg, source)
    return pkg


def _check(pkg: Package, source: str, exported: bool = True) -> None:
    """Everything later code derives from the metadata, derived once now."""
    try:
        if exported:
            pkg.export_layout()
        _ = pkg.maps, pkg.progs, pkg.variables, pkg.map_defs
    except PackageError as exc:
        message = str(exc)
        raise PackageError(
            message if message.startswith(f"{source}: ") else f"{source}: {message}"
        ) from None


def _refuse_legacy(doc: dict[str, Any], source: str) -> None:
    if "load_ebpf_script" in doc or "data_sz" in doc:
        raise PackageError(
            f"{source}: legacy eunomia v0.1 'ebpm' package (2022); current loaders "
            "cannot run it: rebuild the program with `lmp build`"
        )
    if "bpf_object" in doc and "bpf_object_size" not in doc:
        raise PackageError(
            f"{source}: legacy eunomia v0.2 package (no bpf_object_size); current "
            "loaders cannot run it: rebuild the program with `lmp build`"
        )


def _inflate(b64: Any, size: Any, source: str) -> bytes:
    """The BPF object: base64, then zlib, inflated to at most its declared size (a zlib bomb
    stops there, at most ``MAX_OBJECT_BYTES``)."""
    if not isinstance(b64, str):
        raise PackageError(f"{source}: bpf_object must be a base64 string")
    if not isinstance(size, int) or isinstance(size, bool):
        raise PackageError(f"{source}: bpf_object_size must be an integer")
    if not 0 < size <= MAX_OBJECT_BYTES:
        raise PackageError(
            f"{source}: bpf_object_size {size} is out of range "
            f"(1 byte to {MAX_OBJECT_BYTES >> 20} MiB)"
        )
    try:
        compressed = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise PackageError(f"{source}: bpf_object is not valid base64") from None
    # First inflate without keeping anything, counting: what is not an object stops at its
    # first bytes, a bomb at its declared size. Then, once the size is known to be right,
    # inflate into a buffer of exactly that size: at most one object in memory.
    inflater = zlib.decompressobj()
    have, pending, first = 0, compressed, True
    try:
        while pending and have <= size:
            chunk = inflater.decompress(pending, min(size + 1 - have, _INFLATE_STEP))
            pending = inflater.unconsumed_tail
            if first:
                first = False
                try:
                    check_header(chunk, size)
                except PackageError as exc:
                    raise PackageError(f"{source}: bpf_object: {exc}") from None
            have += len(chunk)
            if inflater.eof or not chunk:
                break
    except zlib.error as exc:
        raise PackageError(f"{source}: bpf_object is not a valid zlib stream ({exc})") from None
    if have > size or inflater.unconsumed_tail:
        raise PackageError(
            f"{source}: Unmatched size: bpf_object inflates to more than {size} bytes, "
            f"bpf_object_size says {size}"
        )
    if not inflater.eof:
        raise PackageError(
            f"{source}: bpf_object is not a valid zlib stream (incomplete or truncated stream)"
        )
    if have != size:
        raise PackageError(
            f"{source}: Unmatched size: bpf_object inflates to {have} bytes, "
            f"bpf_object_size says {size}"
        )
    try:
        obj = zlib.decompress(compressed, bufsize=size)
    except zlib.error as exc:  # cannot happen: the same bytes inflated above
        raise PackageError(f"{source}: bpf_object is not a valid zlib stream ({exc})") from None
    return obj


def _object(obj: bytes, source: str) -> tuple[ElfFile, Btf]:
    try:
        elf = ElfFile(obj)
    except PackageError as exc:
        raise PackageError(f"{source}: {exc}") from None
    if not elf.is_bpf:
        raise PackageError(
            f"{source}: not a BPF object (ELF machine {elf.machine}, expected 247 for BPF)"
        )
    section = elf.section(".BTF")
    if section is None:
        raise PackageError(f"{source}: the BPF object has no .BTF section (compile with -g)")
    try:
        btf = Btf.parse(elf.section_data(section))
        skeleton.fixup_datasecs(elf, btf)
    except PackageError as exc:
        raise PackageError(f"{source}: {exc}") from None
    return elf, btf


def _from_object(obj: bytes, source: str, name: str, digest: str) -> Package:
    """A bare ``.bpf.o``: metadata computed from the object itself (and checked as a
    package's would be: symbol and map names come from the object)."""
    elf, btf = _object(obj, source)
    filename = Path(source).name if source != "<memory>" else name
    obj_name = _UNSAFE.sub("_", skeleton.obj_name_for(filename))[:64].lstrip(".-") or "program"
    try:
        skel = skeleton.bpf_skel(elf, btf, obj_name)
        exports = []
        struct_name = _exported_struct_name(btf, skel)
        if struct_name and (entry := skeleton.export_type(btf, struct_name)):
            exports.append(entry)
    except PackageError as exc:
        raise PackageError(f"{source}: {exc}") from None
    meta = {"bpf_skel": skel, "export_types": exports}
    from .schema import check_meta

    check_meta(meta, source)
    pkg = Package(safe_name(name), obj, meta, elf, btf, digest, source)
    _check(pkg, source, exported=False)
    return pkg


_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def _exported_struct_name(btf: Btf, skel: dict[str, Any]) -> str | None:
    """Which struct a bare object's buffer carries: ecc's dummy pointer, else ``struct event``."""
    dummies = [
        v["name"][len("__eunomia_dummy_") : -len("_ptr")]
        for section in skel["data_sections"]
        for v in section["variables"]
        if v["name"].startswith("__eunomia_dummy_") and v["name"].endswith("_ptr")
    ]
    if dummies:
        return skeleton.outermost_first(btf, dummies)[0]
    if btf.find("event", Kind.STRUCT) is not None:
        return "event"
    return None


# -- writing -------------------------------------------------------------------------------------


def pack_package(obj: bytes, meta: dict[str, Any]) -> bytes:
    """``package.json`` bytes as ecc writes them: sorted keys, compact, zlib + base64 object."""
    doc = {
        "bpf_object": base64.b64encode(zlib.compress(obj, 6)).decode(),
        "bpf_object_size": len(obj),
        "meta": meta,
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
