"""Fuzz the package readers (issue 11, items 2, 4 and 9): mutated Hub packages and random bytes.

Every case runs under ``limits.bounded``: a ``PackageError``/``LayoutError``/``ParameterError``
is an answer; another exception, 2 s or 256 MB fails it. What a parsed package leads to is
exercised too (its export, options, help text, the decoder on random records), as ``lmp run``
and the TUI would.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import io
import json
import zlib
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from limits import bounded

from lmp_tui.runtime.distribution.hub import hub_dir
from lmp_tui.runtime.errors import LmpError
from lmp_tui.runtime.format import skeleton
from lmp_tui.runtime.format.btf import Btf, Kind
from lmp_tui.runtime.format.elf import ElfFile
from lmp_tui.runtime.format.layout import StructLayout, layout_from_btf
from lmp_tui.runtime.format.package import Package, pack_package, parse_package
from lmp_tui.runtime.format.params import argument_parser, coerce, parse_args
from lmp_tui.runtime.stream.decode import Decoder, Decoders, json_line

SMALL = ("sigsnoop", "syscount", "opensnoop", "tcpstates")  # objects of a few KB


@cache
def hub_docs() -> dict[str, dict[str, Any]]:
    return {
        p.parent.name: json.loads(p.read_bytes()) for p in sorted(hub_dir().glob("*/package.json"))
    }


@cache
def hub_object(name: str) -> bytes:
    return zlib.decompress(base64.b64decode(hub_docs()[name]["bpf_object"]))


@cache
def meta_paths(name: str) -> list[tuple[str | int, ...]]:
    """Every path into a package's meta (and its top-level keys), for mutations to aim at."""
    out: list[tuple[str | int, ...]] = [("bpf_object_size",), ("meta",)]
    stack: list[tuple[tuple[str | int, ...], Any]] = [(("meta",), hub_docs()[name]["meta"])]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            items: list[tuple[str | int, Any]] = list(value.items())
        elif isinstance(value, list):
            items = list(enumerate(value))
        else:
            continue
        for key, child in items:
            out.append((*path, key))
            stack.append(((*path, key), child))
    return out


def exercise(pkg: Package) -> None:
    """What commands do with a package once parsed."""
    spec = pkg.export()
    _ = pkg.progs, pkg.maps, pkg.variables, pkg.description, pkg.buffer_bytes(spec)
    parser = argument_parser(pkg)
    parser.format_help()
    parser.format_usage()
    with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):
        parse_args(pkg, [])
    decoders = Decoders.of(spec)
    if decoders.events is not None:
        dec = decoders.events
        size = dec.layout.size
        records = bytes(range(256)) * (1 + 2 * size // 256)
        for row in dec.rows(dec.array(records[: 2 * size])):
            json_line(row)
    if decoders.snapshot is not None:
        snap = decoders.snapshot
        snap.entries(bytes(snap.record_size * 2), 2)


def parse_and_use(data: bytes) -> None:
    pkg = parse_package(data, source="fuzz.json")
    exercise(pkg)


_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["", "../../../tmp/x", "%(prog)s %", "a\0b", "verbose", "h", "event"])
)
# Not st.recursive: over a long run hypothesis keeps far more per recursive example.
JSON_VALUES = (
    _SCALARS
    | st.lists(_SCALARS, max_size=3)
    | st.dictionaries(st.sampled_from(["name", "type", "interval", "long", "x"]), _SCALARS)
)


@cache
def path_strategy(name: str) -> st.SearchStrategy[tuple[str | int, ...]]:
    return st.sampled_from(meta_paths(name))  # made once: strategies made per draw pile up


# Strategies give small plans and the tests build the big documents from them: hypothesis
# keeps what strategies return, and 20 KB per case adds up over a long run.
Plan = tuple[str, list[tuple[tuple[str | int, ...], bool, Any]]]


@st.composite
def meta_mutations(draw: st.DrawFn) -> Plan:
    name = draw(st.sampled_from(sorted(hub_docs())))
    changes = [
        (draw(path_strategy(name)), draw(st.booleans()), draw(JSON_VALUES))
        for _ in range(draw(st.integers(1, 4)))
    ]
    return name, changes


def mutated_doc(plan: Plan) -> bytes:
    name, changes = plan
    doc = copy.deepcopy(hub_docs()[name])
    for path, delete, value in changes:
        parent: Any = doc
        try:
            for key in path[:-1]:
                parent = parent[key]
            if delete and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = copy.deepcopy(value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change took the way there away
    return json.dumps(doc).encode()


@given(meta_mutations())
def test_fuzz_mutated_hub_package_metadata(plan: Plan) -> None:
    bounded(parse_and_use, mutated_doc(plan))


NAMES = st.sampled_from(
    ["event", "pid", "comm", "verbose", "h", ".rodata", ".bss", "events", "hists", "x", "_"]
)
SAME_TYPE: dict[type, st.SearchStrategy[Any]] = {
    str: NAMES | st.text(max_size=12),
    int: st.integers(0, 64) | st.integers(0, 2**32),
    bool: st.booleans(),
}


@st.composite
def typed_mutations(draw: st.DrawFn) -> Plan:
    """Changes that keep each value's JSON type, so that the metadata passes the schema and
    reaches what comes after it (layouts, variables, sampling, options)."""
    name = draw(st.sampled_from(sorted(hub_docs())))
    changes = []
    for _ in range(draw(st.integers(1, 4))):
        path = draw(path_strategy(name))
        value: Any = hub_docs()[name]
        for key in path:
            value = value[key]
        if isinstance(value, list) and value:
            # drop, repeat or reorder entries
            picks = draw(st.lists(st.integers(0, len(value) - 1), max_size=len(value) + 1))
            changes.append((path, False, [copy.deepcopy(value[i]) for i in picks]))
        elif type(value) in SAME_TYPE:
            changes.append((path, False, draw(SAME_TYPE[type(value)])))
        else:
            changes.append((path, True, None))
    return name, changes


@given(typed_mutations())
def test_fuzz_type_preserving_metadata(plan: Plan) -> None:
    bounded(parse_and_use, mutated_doc(plan))


def _repack(name: str, obj: bytes, size: int | None = None) -> bytes:
    doc = dict(hub_docs()[name])
    doc["bpf_object"] = base64.b64encode(zlib.compress(obj, 1)).decode()
    doc["bpf_object_size"] = len(obj) if size is None else size
    return json.dumps(doc).encode()


PATCHES = st.lists(
    st.tuples(st.integers(min_value=0), st.binary(min_size=1, max_size=8)), max_size=8
)


def flipped_object(name: str, how: str, patches: list[tuple[int, bytes]]) -> bytes:
    """The ELF object (or its compressed form) with bytes overwritten, or cut short."""
    obj = bytearray(hub_object(name))
    if how == "truncate":
        cut = patches[0][0] % (len(obj) + 1) if patches else 0
        return _repack(name, bytes(obj[:cut]))
    target = obj if how == "object" else bytearray(zlib.compress(bytes(obj), 1))
    for at, patch in patches:
        at %= len(target)
        target[at : at + len(patch)] = patch
    if how == "object":
        return _repack(name, bytes(target))
    doc = dict(hub_docs()[name])
    doc["bpf_object"] = base64.b64encode(bytes(target)).decode()
    return json.dumps(doc).encode()


@given(st.sampled_from(SMALL), st.sampled_from(["object", "compressed", "truncate"]), PATCHES)
def test_fuzz_flipped_and_truncated_objects(
    name: str, how: str, patches: list[tuple[int, bytes]]
) -> None:
    bounded(parse_and_use, flipped_object(name, how, patches))


@given(st.binary(max_size=2048))
def test_fuzz_package_random_bytes(data: bytes) -> None:
    bounded(parse_and_use, data)
    bounded(parse_and_use, b"\x7fELF" + data)
    bounded(parse_and_use, b'{"bpf_object":' + data)


@cache
def hub_btf(name: str) -> bytes:
    elf = ElfFile(hub_object(name))
    section = elf.section(".BTF")
    assert section is not None
    return elf.section_data(section)


def walk_btf(raw: bytes) -> None:
    btf = Btf.parse(raw)
    for t in btf.types:
        for call in (btf.c_decl, btf.c_name, btf.size_of, btf.strip):
            with contextlib.suppress(LmpError):
                call(t.id)
        if t.kind in (Kind.STRUCT, Kind.UNION, Kind.TYPEDEF, Kind.ARRAY):
            with contextlib.suppress(LmpError):
                Decoder(layout_from_btf(btf, t.id)).dtype  # noqa: B018
    skeleton.map_defs(btf)
    structs = [t.name for t in btf.types if t.kind == Kind.STRUCT][:50]
    skeleton.outermost_first(btf, structs)


@given(st.sampled_from(SMALL), PATCHES)
def test_fuzz_btf_parser_and_walkers(name: str, patches: list[tuple[int, bytes]]) -> None:
    raw = bytearray(hub_btf(name))
    for at, patch in patches:
        at %= len(raw)
        raw[at : at + len(patch)] = patch
    bounded(walk_btf, bytes(raw))


@given(st.binary(max_size=1024))
def test_fuzz_btf_random_bytes(raw: bytes) -> None:
    bounded(walk_btf, b"\x9f\xeb\x01\x00\x18\x00\x00\x00" + raw)


def read_elf(obj: bytes) -> None:
    elf = ElfFile(obj)
    for section in elf.sections:
        with contextlib.suppress(LmpError):
            elf.section_data(section)
    _ = elf.symbols
    skeleton.programs(elf)
    section = elf.section(".BTF")
    if section is not None:
        btf = Btf.parse(elf.section_data(section))
        skeleton.fixup_datasecs(elf, btf)
        skeleton.bpf_skel(elf, btf, "fuzz_bpf")


@given(st.sampled_from(SMALL), PATCHES)
def test_fuzz_elf_reader(name: str, patches: list[tuple[int, bytes]]) -> None:
    obj = bytearray(hub_object(name))
    for at, patch in patches:
        # Aim at the headers at either end half the time: that is where the tables are.
        at = at % 64 if at % 4 == 0 else (-1 - at % 1024 if at % 4 == 1 else at % len(obj))
        obj[at : at + len(patch)] = patch
    bounded(read_elf, bytes(obj))
    bounded(parse_and_use, bytes(obj))


@cache
def layout_dict() -> dict[str, Any]:
    spec = parse_package(json.dumps(hub_docs()["sigsnoop"]).encode()).export()
    assert spec.layout is not None
    return spec.layout.to_dict()


def decode_layout(d: Any, records: bytes, count: int | None) -> None:
    dec = Decoder(StructLayout.from_dict(d))
    for row in dec.rows(dec.array(records, count)):
        json_line(row)


@st.composite
def mutated_layouts(draw: st.DrawFn) -> Any:
    d = copy.deepcopy(layout_dict())
    fields = d["fields"]
    for _ in range(draw(st.integers(1, 4))):
        f = draw(st.sampled_from(fields))
        key = draw(st.sampled_from(["offset", "size", "kind", "name", "dims", "elem", "signed"]))
        f[key] = draw(
            JSON_VALUES
            | st.integers(-8, 64)
            | st.sampled_from(["int", "string", "array", "struct", "float", "int128", "enum"])
        )
    if draw(st.booleans()):
        d["size"] = draw(st.integers(-8, 1 << 40))
    return d


@given(mutated_layouts(), st.binary(max_size=256), st.none() | st.integers(-2, 10))
def test_fuzz_recorded_layouts_and_decoder(d: Any, records: bytes, count: int | None) -> None:
    bounded(decode_layout, d, records, count)


@given(JSON_VALUES, st.binary(max_size=64))
def test_fuzz_layout_from_any_json(d: Any, records: bytes) -> None:
    bounded(decode_layout, d, records, None)


@cache
def sigsnoop() -> Package:
    return parse_package(json.dumps(hub_docs()["sigsnoop"]).encode())


def parse_argv(argv: list[str]) -> None:
    with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):
        parse_args(sigsnoop(), argv)


ARGS = st.lists(
    st.sampled_from(["--pid", "--signal", "--enable-failed", "-p", "--", "-h", "--verbose"])
    | st.text(max_size=12),
    max_size=6,
)


@given(ARGS, JSON_VALUES)
def test_fuzz_program_parameters(argv: list[str], value: Any) -> None:
    bounded(parse_argv, argv)
    for v in sigsnoop().variables:
        for type_ in (v.type, "double", "bool", "char[4]"):
            bounded(coerce, v.__class__(v.name, type_, v.section, 0, 4, v.type_id), value)


def test_fuzz_corpus_is_the_hub() -> None:
    assert len(hub_docs()) >= 5
    for name in SMALL:
        assert Path(hub_dir() / name / "package.json").exists()
        parse_and_use(pack_package(hub_object(name), hub_docs()[name]["meta"]))
