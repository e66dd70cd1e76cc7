"""Untrusted packages (issue 11): a hostile package.json never hangs, exhausts memory or ends
in a traceback; it is refused in one line a user can act on.

The crafted inputs are made by ``tests/data/untrusted/package/make.py`` (and kept beside it).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from peak_rss import launched, reported

from lmp_tui.runtime.distribution.hub import hub_dir
from lmp_tui.runtime.errors import LayoutError, PackageError, ParameterError
from lmp_tui.runtime.format.btf import Btf, BtfBuilder, Kind
from lmp_tui.runtime.format.elf import ElfFile
from lmp_tui.runtime.format.layout import (
    Field,
    FieldKind,
    StructLayout,
    field_from_btf,
    layout_from_btf,
)
from lmp_tui.runtime.format.limits import MAX_OBJECT_BYTES
from lmp_tui.runtime.format.package import Package, load_package, pack_package, parse_package
from lmp_tui.runtime.format.params import argument_parser, coerce, parse_args
from lmp_tui.runtime.stream.decode import Decoder, SnapshotDecoder

ROOT = Path(__file__).resolve().parents[1]
LMP = [sys.executable, "-m", "lmp_tui.cli"]  # as conftest's (not imported: tests/fuzz has one too)
DATA = ROOT / "tests/data/untrusted/package"


def _load_make() -> ModuleType:
    spec = importlib.util.spec_from_file_location("untrusted_make", DATA / "make.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make = _load_make()


def refused(data: bytes, source: str = "crafted.json") -> PackageError:
    with pytest.raises(PackageError) as info:
        parse_package(data, source=source)
    message = str(info.value)
    assert message.startswith(f"{source}: ") and "\n" not in message, message
    return info.value


def assert_one_line_refusal(res: subprocess.CompletedProcess[str]) -> None:
    assert res.returncode != 0, res
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("lmp: ") and "Traceback" not in res.stderr
    assert res.stdout == ""


# -- 2: BTF cycles, deep chains, sizes ---------------------------------------------------------


@pytest.mark.parametrize(
    ("maker", "says"),
    [
        (make.self_array, "contains itself"),
        (make.ptr_self, "refers to itself"),
        (make.struct_self, "contains itself"),
    ],
    ids=["array_of_itself", "pointer_to_itself", "struct_of_itself"],
)
def test_btf_type_cycle_is_refused_in_one_line_fast(maker, says):
    data = maker()
    started = time.monotonic()
    err = refused(data)
    assert time.monotonic() - started < 1.0
    assert says in str(err)


@pytest.mark.parametrize("name", ["btf_self_array", "btf_ptr_self", "btf_struct_self"])
def test_btf_type_cycle_cli_one_line_nonzero(name):
    started = time.monotonic()
    res = subprocess.run(
        [*LMP, "run", str(DATA / f"{name}.json"), "--duration", "0"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=20,
    )
    elapsed = time.monotonic() - started
    assert_one_line_refusal(res)
    assert "itself" in res.stderr
    assert elapsed < 5.0  # the interpreter's start; the refusal itself is milliseconds


def test_cycle_through_a_pointer_to_a_struct_is_a_linked_list():
    pkg = parse_package(make.good_package())
    assert pkg.export_layout() is not None
    assert pkg.export_layout().names == ["pid", "comm"]
    node = pkg.btf.find("node", Kind.STRUCT)
    assert node is not None and pkg.btf.c_decl(node.members[0].type_id) == "struct node *"


@pytest.mark.parametrize(
    ("maker", "says"),
    [
        (make.typedef_chain, "nested more than"),
        (make.huge_array, "overflows"),
        (make.dangling_type, "does not exist"),
        (make.member_outside, "outside"),
        (make.doubling_structs, "fields"),
    ],
)
def test_btf_walks_are_bounded(maker, says):
    started = time.monotonic()
    assert says in str(refused(maker()))
    assert time.monotonic() - started < 1.0


def test_btf_walkers_bounded_on_any_graph():
    """Walkers stay bounded even on types that never went through validation."""
    b = BtfBuilder()
    i32 = b.integer("int", 4, signed=True)
    s = b.struct("s", 4, [("x", i32, 0)])
    btf = Btf.parse(b.build())
    btf.types[s].members[0].type_id = s  # made a cycle after the checks
    with pytest.raises(LayoutError):
        field_from_btf(btf, s, "s")
    ptr = btf.types[i32]
    ptr.kind, ptr.size_or_type = Kind.PTR, i32  # a pointer to itself
    with pytest.raises(LayoutError):
        btf.c_name(i32)
    with pytest.raises(LayoutError):
        btf.c_decl(i32)


# -- 4: zlib bombs ---------------------------------------------------------------------------


def run_measured(cmd: list[str], report: Path) -> tuple[int, str, int]:
    """``cmd``'s exit code, stderr and own peak resident set in bytes (``peak_rss``)."""
    done = subprocess.run(
        launched(cmd, report),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    code, peak = reported(report)
    return code, done.stderr, peak


def _bombs(tmp_path: Path) -> dict[str, Path]:
    elf = b"\x7fELF\x02\x01\x01"
    cases = {
        # 1 GiB of zeros saying so: refused before inflating a byte
        "true_size": make.zlib_bomb(1 << 30, 1 << 30),
        # 1 GiB behind an ELF magic, saying 1000 bytes: inflation stops at 1001
        "small_claim": make.zlib_bomb(1 << 30, 1000, prefix=elf),
        # 1 GiB of zeros saying 32 MiB: not an object, stops at its first MiB
        "zeros_max_claim": make.zlib_bomb(1 << 30, MAX_OBJECT_BYTES),
        # 1 GiB behind a plausible ELF header, saying 32 MiB: counted, never kept
        "header_max_claim": make.zlib_bomb(1 << 30, MAX_OBJECT_BYTES, prefix=make.elf_header()),
    }
    out = {}
    for name, data in cases.items():
        out[name] = tmp_path / f"{name}.json"
        out[name].write_bytes(data)
    return out


def test_zlib_bomb_refused_fast_and_small(tmp_path):
    for name, path in _bombs(tmp_path).items():
        data = path.read_bytes()
        assert len(data) < 1_500_000
        started = time.monotonic()
        err = refused(data, source=name)
        assert time.monotonic() - started < 0.5, name
        assert "Unmatched size" in str(err) or "out of range" in str(err) or "ELF" in str(err)
        cmd = [*LMP, "run", str(path), "--duration", "0"]
        code, stderr, peak = run_measured(cmd, tmp_path / "peak")
        assert code != 0
        assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr, stderr
        assert peak < 100 << 20, f"{name}: {peak >> 20} MB"


def test_object_size_is_bounded_before_inflating():
    doc = json.loads(make.good_package())
    for size in (0, -1, MAX_OBJECT_BYTES + 1, 1 << 40):
        err = refused(json.dumps({**doc, "bpf_object_size": size}).encode())
        assert "bpf_object_size" in str(err)


def test_truncated_zlib_stream_is_one_line():
    doc = json.loads(make.good_package())
    import base64

    raw = base64.b64decode(doc["bpf_object"])
    doc["bpf_object"] = base64.b64encode(raw[: len(raw) // 2]).decode()
    assert "zlib" in str(refused(json.dumps(doc).encode()))


def test_package_size_is_bounded(monkeypatch):
    from lmp_tui.runtime.format import schema

    monkeypatch.setattr(schema, "MAX_PACKAGE_BYTES", 1000)
    assert "at most" in str(refused(make.good_package() + b" " * 1000))


# -- 9: type-confused metadata, deep JSON, names ------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value", "where"),
    [
        ("bpf_skel.obj_name", 7, "$.meta.bpf_skel.obj_name"),
        ("bpf_skel.obj_name", None, "$.meta.bpf_skel.obj_name"),
        ("bpf_skel.progs", "all", "$.meta.bpf_skel.progs"),
        ("bpf_skel.progs", [{"attach": "x"}], "$.meta.bpf_skel.progs[0]"),
        ("bpf_skel.progs", [{"name": 1}], "$.meta.bpf_skel.progs[0].name"),
        ("bpf_skel.progs", [{"name": "h", "link": "yes"}], "$.meta.bpf_skel.progs[0].link"),
        ("bpf_skel.maps", [1, 2], "$.meta.bpf_skel.maps[0]"),
        ("bpf_skel.maps", [{"name": "m", "sample": 5}], "$.meta.bpf_skel.maps[0].sample"),
        (
            "bpf_skel.maps",
            [{"name": "m", "sample": {"interval": "fast"}}],
            "$.meta.bpf_skel.maps[0].sample.interval",
        ),
        (
            "bpf_skel.maps",
            [{"name": "m", "sample": {"interval": 10, "type": "pie"}}],
            "$.meta.bpf_skel.maps[0].sample.type",
        ),
        ("bpf_skel.data_sections", {"a": 1}, "$.meta.bpf_skel.data_sections"),
        (
            "bpf_skel.data_sections",
            [{"name": ".rodata", "variables": [{"name": "x", "cmdarg": []}]}],
            "$.meta.bpf_skel.data_sections[0].variables[0].cmdarg",
        ),
        ("bpf_skel.doc", {"brief": [1]}, "$.meta.bpf_skel.doc.brief"),
        ("bpf_skel.doc", "text", "$.meta.bpf_skel.doc"),
        ("export_types", {}, "$.meta.export_types"),
        ("export_types.0.members", [3], "$.meta.export_types[0].members[0]"),
        ("export_types.0.members", None, "$.meta.export_types[0].members"),
        ("export_types.0.type_id", "15", "$.meta.export_types[0].type_id"),
        ("export_types.0.type_id", -1, "$.meta.export_types[0].type_id"),
        ("export_types.0.type_id", 2**70, "$.meta.export_types[0].type_id"),
        ("perf_buffer_pages", True, "$.meta.perf_buffer_pages"),
    ],
)
def test_type_confused_meta_names_the_field(path, value, where):
    err = refused(make.with_meta(make._set(path, value)))
    assert f"at `{where}`" in str(err)


def test_type_confused_meta_via_the_hub_sigsnoop():
    doc = json.loads((hub_dir() / "sigsnoop" / "package.json").read_bytes())
    doc["meta"]["bpf_skel"]["obj_name"] = 12
    err = refused(json.dumps(doc).encode(), source="package.json")
    assert str(err) == ("package.json: Expected `str`, got `int` - at `$.meta.bpf_skel.obj_name`")


@pytest.mark.parametrize("top", [b"[1]", b'"x"', b"3", b"null"])
def test_json_that_is_not_an_object(top):
    assert "not an object" in str(refused(top))


@pytest.mark.parametrize("depth", [40, 500, 5000, 200_000])
def test_deep_json_is_one_line(depth):
    doc = json.loads(make.good_package())
    doc["meta"]["bpf_skel"]["x_tag"] = "HERE"
    data = json.dumps(doc).replace('"HERE"', "[" * depth + "]" * depth).encode()
    assert "nested more than" in str(refused(data))


def test_top_level_deep_json_is_one_line():
    assert "nested" in str(refused(b"[" * 100_000 + b"]" * 100_000))


def test_unknown_keys_are_kept():
    doc = json.loads(make.good_package())
    doc["meta"]["bpf_skel"]["progs"] = [{"name": "h", "attach": "tp/a/b", "when": "x"}]
    doc["meta"]["eunomia_future"] = {"x": [1]}
    pkg = parse_package(json.dumps(doc).encode())
    assert pkg.meta["eunomia_future"] == {"x": [1]}
    assert pkg.progs[0].others == {"when": "x"}


@pytest.mark.parametrize(
    "name",
    ["../../../tmp/x", "a/b", "", ".hidden", "..", "x" * 65, "a b", "a\nb", "a\0b", "-rf"],
)
def test_obj_name_is_a_name_not_a_path(name):
    err = refused(make.with_meta(make._set("bpf_skel.obj_name", name)))
    assert "$.meta.bpf_skel.obj_name" in str(err)


@pytest.mark.parametrize("name", ["sigsnoop_bpf", "my-prog_bpf", "x", "v1.2_bpf", "1st_bpf"])
def test_usual_obj_names_pass(name):
    pkg = parse_package(make.with_meta(make._set("bpf_skel.obj_name", name)))
    assert pkg.obj_name == name and "/" not in pkg.name


@pytest.mark.parametrize("name", ["../x", "a-b", "", "1abc", "a.b", "x" * 129])
def test_program_names_are_identifiers(name):
    err = refused(make.with_meta(make._set("bpf_skel.progs", [{"name": name, "attach": "tp"}])))
    assert "$.meta.bpf_skel.progs[0].name" in str(err)


@pytest.mark.parametrize("name", ["../x", "a/b", "", "a\0b"])
def test_map_names_are_not_paths(name):
    err = refused(make.with_meta(make._set("bpf_skel.maps", [{"name": name}])))
    assert "$.meta.bpf_skel.maps[0].name" in str(err)


def test_bare_object_name_comes_from_a_safe_file_name():
    btf, _ = make.good_btf()
    obj = make.elf_object([(".BTF", make.SHT_PROGBITS, btf, 0, 0)])
    pkg = parse_package(obj, source="/tmp/../my prog.bpf.o", name="../../x")
    assert pkg.obj_name == "my_prog_bpf"
    assert pkg.name == "program"


# -- ELF bounds ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("maker", "says"),
    [
        (make.symtab_bad_link, "string table"),
        (make.section_outside, "outside the file"),
        (make.huge_nobits, "claims"),
        (make.bad_shstrndx, "section name table"),
    ],
)
def test_elf_section_table_bounds(maker, says):
    assert says in str(refused(maker()))


@pytest.mark.parametrize("cut", [16, 63, 64, 100, 200])
def test_truncated_elf_is_one_line(cut):
    btf, _ = make.good_btf()
    obj = make.elf_object([(".BTF", make.SHT_PROGBITS, btf, 0, 0)])
    with pytest.raises(PackageError):
        ElfFile(obj[:cut]).section_data(ElfFile(obj).sections[1])


def test_programs_skip_symbols_in_special_sections():
    from lmp_tui.runtime.format import skeleton

    class FakeElf:
        sections = ElfFile(make.elf_object([(".BTF", make.SHT_PROGBITS, b"", 0, 0)])).sections
        symbols = [type("S", (), {"type": 2, "bind": 1, "section_index": 0xFFF1})()]

    assert skeleton.programs(FakeElf()) == []  # type: ignore[arg-type]


# -- hostile layouts (recordings) and the decoder ------------------------------------------------


def _int(name: str, offset: int, size: int = 4) -> Field:
    return Field(name, FieldKind.INT, offset, size, "int")


@pytest.mark.parametrize(
    "layout",
    [
        {"name": "e", "size": 4, "fields": [{**_int("x", 8).to_dict()}]},
        {"name": "e", "size": 4, "fields": [{**_int("x", -4).to_dict()}]},
        {"name": "e", "size": -1, "fields": []},
        {"name": "e", "size": 2**40, "fields": []},
        {"name": "e", "size": 4, "fields": [{**_int("x", 0, 3).to_dict()}]},
        {"name": "e", "size": 4, "fields": [{**_int("x", 0).to_dict(), "kind": "int128"}]},
        {"name": "e", "size": 4, "fields": [{**_int("x", 0).to_dict(), "offset": 1e400}]},
        {"name": "e", "size": 4, "fields": [{**_int("x", 0).to_dict(), "offset": "inf"}]},
        {"name": "e", "size": 4, "fields": [[1, 2]]},
        {"name": "e", "size": 4, "fields": 7},
        {"name": "e", "size": 4, "fields": [{**_int("x", 0).to_dict(), "enum": [[1]]}]},
        {
            "name": "e",
            "size": 8,
            "fields": [
                {
                    "name": "a",
                    "kind": "array",
                    "offset": 0,
                    "size": 8,
                    "dims": [2**40],
                    "elem": _int("", 0).to_dict(),
                }
            ],
        },  # fmt: skip
        {
            "name": "e",
            "size": 8,
            "fields": [
                {
                    "name": "a",
                    "kind": "array",
                    "offset": 0,
                    "size": 8,
                    "dims": [-2],
                    "elem": _int("", 0).to_dict(),
                }
            ],
        },  # fmt: skip
    ],
)
def test_hostile_recorded_layouts_are_refused(layout):
    with pytest.raises(LayoutError) as info:
        StructLayout.from_dict(layout)
    assert "\n" not in str(info.value)


def test_deeply_nested_recorded_layout_is_refused():
    field: dict[str, Any] = _int("x", 0).to_dict()
    for _ in range(5000):
        field = {"name": "s", "kind": "struct", "offset": 0, "size": 4, "members": [field]}
    with pytest.raises(LayoutError, match="nested"):
        StructLayout.from_dict({"name": "e", "size": 4, "fields": [field]})


@pytest.mark.parametrize(
    "fields",
    [
        (_int("x", 8),),
        (_int("x", -1),),
        (Field("x", FieldKind.FLOAT, 0, 3),),
        (Field("x", FieldKind.ARRAY, 0, 4, dims=(2,), elem=_int("", 0)),),
        (Field("x", FieldKind.ARRAY, 0, 4, dims=(1,), elem=None),),
    ],
)
def test_decoder_refuses_layouts_it_cannot_apply(fields):
    with pytest.raises(LayoutError):
        Decoder(StructLayout("e", 4, fields)).dtype  # noqa: B018


def test_decoder_counts_are_checked():
    dec = Decoder(StructLayout("e", 4, (_int("x", 0), _int("x", 0))))  # repeated names decode
    assert dec.rows(dec.array(b"\1\0\0\0")) == [{"x": 1}]
    for count in (-1, 2, 2**62):
        with pytest.raises(LayoutError):
            dec.array(b"\0" * 4, count)
    assert len(dec.array(b"", 0)) == 0
    empty = Decoder(StructLayout("e", 0, ()))
    with pytest.raises(LayoutError):
        empty.array(b"", 3)
    snap = SnapshotDecoder(StructLayout("k", 4, (_int("k", 0),)), StructLayout("v", 0, ()))
    for count in (-1, 5):
        with pytest.raises(LayoutError):
            snap.arrays(b"\0" * 8, count)


def test_layout_from_btf_refuses_bad_bool():
    b = BtfBuilder()
    big_bool = b.integer("_Bool", 16, boolean=True)
    btf = Btf.parse(b.build())
    with pytest.raises(LayoutError):
        layout_from_btf(btf, big_bool)


# -- parameters from a package -------------------------------------------------------------------


def _params_package(variables: list[dict[str, Any]], doc: dict[str, Any] | None = None) -> bytes:
    b = BtfBuilder()
    i32 = b.integer("int", 4, signed=True)
    char = b.integer("char", 1, signed=True, char=True)
    comm = b.array(char, 8)
    var_ids = []
    for i, v in enumerate(variables):
        var_ids.append((b.var(v["name"], comm if v.get("type") == "char[8]" else i32), i * 8, 8))
    b.datasec(".rodata", 8 * len(variables), var_ids)
    meta = make.meta(data_sections=[{"name": ".rodata", "variables": variables}])
    if doc is not None:
        meta["bpf_skel"]["doc"] = doc
    return make.package(b.build(), meta, **{".rodata": bytes(8 * len(variables))})


def test_help_texts_from_a_package_are_shown_as_written(capsys):
    pkg = parse_package(
        _params_package(
            [
                {"name": "pct", "type": "int", "cmdarg": {"help": "100% of %(prog)s %d"}},
                {"name": "comm", "type": "char[8]", "description": "a ] [ name"},
                {"name": "odd", "type": "a] b [c", "cmdarg": {"short": "o"}},
            ],
            doc={"brief": "50% %(prog)s", "details": "%s %("},
        )
    )
    text = argument_parser(pkg, prog="prog").format_help()
    assert "100% of %(prog)s %d" in text
    assert "50% %(prog)s" in text and "%s %(" in text
    assert "CHAR[8]" in text


@pytest.mark.parametrize(
    "variables",
    [
        [{"name": "verbose", "type": "int"}],
        [{"name": "x", "type": "int", "cmdarg": {"short": "h"}}],
        [
            {"name": "a", "type": "int", "cmdarg": {"long": "same"}},
            {"name": "b", "type": "int", "cmdarg": {"long": "same"}},
        ],
    ],  # fmt: skip
)
def test_option_clashes_are_one_line(variables):
    pkg = parse_package(_params_package(variables))
    with pytest.raises(PackageError) as info:
        parse_args(pkg, [])
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("long", ["-x", "a b", "a=b", "", "x" * 65, "--y"])
def test_option_names_are_checked(long):
    data = _params_package([{"name": "a", "type": "int", "cmdarg": {"long": long}}])
    assert "cmdarg.long" in str(refused(data))


@pytest.mark.parametrize("default", [[1, 2], {"a": 1}, "9" * 5000, 1e308, "nan"])
def test_hostile_defaults_are_parameter_errors(default):
    pkg = parse_package(
        _params_package([{"name": "a", "type": "int", "cmdarg": {"default": default}}])
    )
    with pytest.raises(ParameterError):
        parse_args(pkg, [])
    var = pkg.variables[0]
    for value in ([1], {"x": 1}, "x"):
        with pytest.raises(ParameterError):
            coerce(var.__class__(var.name, "double", var.section, 0, 8, var.type_id), value)


def test_a_variable_outside_its_section_is_refused():
    data = _params_package([{"name": "a", "type": "int"}])
    doc = json.loads(data)
    # The .rodata section shrunk to 4 bytes: variable a (8 bytes at 0) lies outside it.
    pkg = parse_package(data)
    obj = make.elf_object(
        [
            (".BTF", make.SHT_PROGBITS, pkg.elf.section_data(pkg.elf.section(".BTF")), 0, 0),
            (".rodata", make.SHT_PROGBITS, bytes(4), 0, 0),
        ]
    )
    assert "outside" in str(refused(pack_package(obj, doc["meta"])))


# -- every hub package still parses; every crafted one is refused in one line ---------------------


def test_hub_packages_still_parse_and_repack():
    """Every check, the typed schema included: lmp itself loads these ``shipped`` (no schema)."""
    paths = sorted(hub_dir().glob("*/package.json"))
    assert len(paths) >= 5
    for path in paths:
        pkg = load_package(path)
        pkg.export()
        again = parse_package(pack_package(pkg.obj, pkg.meta))
        assert again.meta == pkg.meta


def test_crafted_files_are_what_make_py_writes():
    on_disk = {p.name for p in DATA.glob("*.json")}
    assert on_disk == set(make.CASES)
    for name, maker in make.CASES.items():
        assert (DATA / name).read_bytes() == maker(), f"{name}: run make.py again"


def test_every_crafted_package_is_one_line_via_lmp_run():
    paths = sorted(DATA.glob("*.json"))
    procs = {
        p.name: subprocess.Popen(
            [*LMP, "run", str(p), "--duration", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for p in paths
    }
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=60)
        res = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
        assert_one_line_refusal(res)
        assert name in err


# -- found by the long fuzz run (tests/fuzz/long_run.py) ------------------------------------------


def test_a_variable_name_that_is_no_option_name_is_one_line(monkeypatch):
    """A byte flipped in the object's string table made a variable ``filte\\n_failed``: an
    option argparse itself asserted on while printing usage."""
    pkg = parse_package((hub_dir() / "opensnoop" / "package.json").read_bytes())
    bad = dataclasses.replace(pkg.variables[0], name="a\nb", cmdarg={})
    monkeypatch.setattr(Package, "variables", property(lambda self: [bad]))
    with pytest.raises(PackageError, match="cannot be an option name"):
        argument_parser(pkg)


@pytest.mark.parametrize(
    ("names", "says"), [(["a", ""], "has no name"), (["a", "a"], "repeats the name 'a'")]
)
def test_layout_field_names_are_present_and_unique(names, says):
    fields = [
        {"name": n, "kind": "int", "offset": 4 * i, "size": 4, "signed": False}
        for i, n in enumerate(names)
    ]
    with pytest.raises(LayoutError, match=says):
        StructLayout.from_dict({"name": "e", "size": 8, "fields": fields})


def test_an_exported_record_over_64_kib_is_one_line(monkeypatch):
    pkg = parse_package((hub_dir() / "opensnoop" / "package.json").read_bytes())
    spec = pkg.export()
    assert spec.layout is not None
    big = StructLayout(spec.layout.name, 1 << 20, spec.layout.fields)
    monkeypatch.setattr(Package, "export_layout", lambda self: big)
    with pytest.raises(PackageError, match="at most 64 KiB"):
        pkg.export()
