"""package.json parsing and every kind of bad package (one clear error each)."""

from __future__ import annotations

import base64
import json
import zlib

import pytest

from lmp_tui.runtime.distribution.hub import find_builtin
from lmp_tui.runtime.errors import PackageError
from lmp_tui.runtime.format.package import pack_package, parse_package


@pytest.fixture(scope="module")
def sigsnoop():
    return find_builtin("sigsnoop").package


def test_sigsnoop_package(sigsnoop):
    assert sigsnoop.obj_name == "sigsnoop_bpf"
    assert sigsnoop.export_layout().names == ["pid", "tpid", "sig", "ret", "comm"]
    assert sigsnoop.export_layout().size == 32
    names = [v.name for v in sigsnoop.variables]
    assert names == ["filtered_pid", "target_signal", "failed_only", "kill_only"]
    rodata = {v.name: v.offset for v in sigsnoop.variables}
    assert len(set(rodata.values())) == 4  # the DATASEC fix-up gave real offsets
    assert {p.attach for p in sigsnoop.progs} >= {"tracepoint/signal/signal_generate"}


def test_repack_round_trip(sigsnoop):
    again = parse_package(pack_package(sigsnoop.obj, sigsnoop.meta))
    assert again.obj == sigsnoop.obj and again.meta == sigsnoop.meta


def doc(sigsnoop, **changes):
    d = {
        "bpf_object": base64.b64encode(zlib.compress(sigsnoop.obj)).decode(),
        "bpf_object_size": len(sigsnoop.obj),
        "meta": sigsnoop.meta,
    }
    d.update(changes)
    return json.dumps(d).encode()


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p: b"{not json", "invalid JSON"),
        (lambda p: b"[1, 2]", "not an object"),
        (lambda p: doc(p, bpf_object_size=12), "Unmatched size"),
        (lambda p: doc(p, bpf_object=base64.b64encode(b"\x78\x9cgarbage").decode()), "zlib"),
        (lambda p: doc(p, bpf_object="%%%"), "base64"),
        (
            lambda p: json.dumps({"name": "x", "load_ebpf_script": "", "data_sz": 1}).encode(),
            "v0.1",
        ),
        (lambda p: json.dumps({"bpf_object": "", "meta": {"export_types": {}}}).encode(), "v0.2"),
        (lambda p: b"\0asm\x01\0\0\0", "WebAssembly"),
        (lambda p: b"\x7fELF\x02\x01\x01" + bytes(57), "ELF"),
    ],
)
def test_bad_packages_say_what_is_wrong(sigsnoop, mutate, message):
    with pytest.raises(PackageError, match=message):
        parse_package(mutate(sigsnoop), source="bad.json")


def test_non_bpf_elf_is_refused():
    import sys

    with open(sys.executable, "rb") as f:
        data = f.read()
    with pytest.raises(PackageError, match="not a BPF object"):
        parse_package(data, source="python")
