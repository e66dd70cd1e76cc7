"""lmp build: metadata as ecc writes it, doc comments without libclang, and the shipped Hub."""

from __future__ import annotations

import ctypes
import json
from pathlib import Path

import pytest
from conftest import ROOT

from lmp_tui.runtime.author.build import BUILD_STAMP_KEY, build
from lmp_tui.runtime.author.doc_comments import DocComments, doc_comments
from lmp_tui.runtime.distribution.hub import builtin_programs, hub_cflags, hub_dir
from lmp_tui.runtime.format.package import load_package
from lmp_tui.runtime.kernel import libbpf

VMLINUX = ROOT / "lmp_tui/hub/include/x86"
DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def execwatch(tmp_path_factory):
    out = tmp_path_factory.mktemp("execwatch")
    return build(DATA / "execwatch", outdir=out, vmlinux=VMLINUX, log=lambda _: None)


def test_skeleton_metadata(execwatch):
    meta = json.loads(execwatch.skel_json.read_text())
    skel = meta["bpf_skel"]
    assert skel["obj_name"] == "execwatch_bpf"
    assert skel["doc"] == {"description": "Exec watcher for tests", "version": "1.2.3"}
    rodata = skel["data_sections"][0]
    assert rodata["name"] == ".rodata"
    assert [(v["name"], v["type"]) for v in rodata["variables"]] == [
        ("targ_pid", "pid_t"),
        ("targ_comm", "char[16]"),
        ("stamp_base", "unsigned long long"),
        ("verbose_events", "bool"),
    ]
    assert rodata["variables"][0]["cmdarg"] == {"default": 0, "short": "p", "long": "pid"}
    bss = skel["data_sections"][1]["variables"]
    assert {"name": "__eunomia_dummy_event_ptr", "type": "struct event *"} in bss
    assert skel["progs"] == [
        {
            "attach": "tp/sched/sched_process_exec",
            "link": True,
            "name": "handle_exec",
            "description": "Runs on every exec",
        }
    ]
    event = meta["export_types"][0]
    assert event["name"] == "event" and event["size"] == 64
    assert event["members"] == [
        {"name": "ids", "type": "composite"},
        {"name": "kind", "type": "enum"},
        {"name": "comm", "type": "char[16]"},
        {"name": "stamp", "type": "unsigned __int128"},
        {"name": "ns", "type": "unsigned long long"},
    ]


def test_package_json_is_compact_with_sorted_keys(execwatch):
    text = execwatch.package_json.read_text()
    assert text.startswith('{"bpf_object":"eJ')  # zlib stream 78 9c, base64
    doc = json.loads(text)
    assert list(doc) == ["bpf_object", "bpf_object_size", "meta"]
    assert json.dumps(doc, sort_keys=True, separators=(",", ":")) == text


def test_internal_map_names_match_libbpf(execwatch):
    """Our map names for .rodata/.bss are the ones libbpf gives when it opens the object."""
    pkg = load_package(execwatch.package_json)
    lib = libbpf.lib()
    buf = ctypes.create_string_buffer(pkg.obj, len(pkg.obj))
    opts = libbpf.BpfObjectOpenOpts(
        sz=ctypes.sizeof(libbpf.BpfObjectOpenOpts), object_name=b"execwatch_bpf"
    )
    obj = lib.bpf_object__open_mem(buf, len(pkg.obj), ctypes.byref(opts))
    assert obj
    try:
        names, m = set(), None
        while m := lib.bpf_object__next_map(obj, m):
            names.add(lib.bpf_map__name(m).decode())
    finally:
        lib.bpf_object__close(obj)
    assert {m.name for m in pkg.maps} == names


def doc_comments_of(tmp_path: Path, body: str) -> DocComments:
    source = tmp_path / "prog.bpf.c"
    source.write_text('#include "vmlinux.h"\n#include <bpf/bpf_helpers.h>\n' + body)
    args = ["-target", "bpf", "-D__TARGET_ARCH_x86", f"-I{VMLINUX}"]
    return doc_comments(source, args)


def test_doc_comments_of_maps_globals_programs_and_licence(tmp_path):
    docs = doc_comments_of(
        tmp_path,
        """
/// Trace run queue latency
/// @sample {"interval": 1000, "type": "log2_hist", "unit": "usecs"}
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, u32);
	__type(value, u64);
} hists SEC(".maps");

/// @cmdarg {"default": false, "short": "f", "long": "failed"}
const volatile bool targ_failed = false;

/// @when !kill_only
SEC("tracepoint/signal/signal_generate")
int sig_trace(struct trace_event_raw_signal_generate *ctx)
{
	return 0;
}

/// @flag
const volatile int x;

/// Count signals
/// @version 1.0
char LICENSE[] SEC("license") = "GPL";
""",
    )
    assert docs.maps["hists"] == {
        "description": "Trace run queue latency",
        "sample": {"interval": 1000, "type": "log2_hist", "unit": "usecs"},
    }
    assert docs.variables["targ_failed"] == {
        "cmdarg": {"default": False, "short": "f", "long": "failed"}
    }
    assert docs.functions["sig_trace"] == {"when": "!kill_only"}
    assert docs.variables["x"] == {"flag": True}
    assert docs.license == {"description": "Count signals", "version": "1.0"}


def test_braces_in_strings_and_comments_do_not_hide_later_options(tmp_path):
    # A scanner that counts braces lost every option after the first "{" in a string.
    docs = doc_comments_of(
        tmp_path,
        """
const char fmt[] = "{ unbalanced";

static __always_inline int helper(void)
{
	const char *s = "}}} {";  /* and { in a comment */
	return s[0];
}

/// Only this pid
/// @cmdarg {"default": 0, "short": "p", "long": "pid"}
const volatile int targ_pid = 0;
""",
    )
    assert docs.variables == {
        "targ_pid": {
            "description": "Only this pid",
            "cmdarg": {"default": 0, "short": "p", "long": "pid"},
        }
    }


@pytest.mark.parametrize("prog", [p.name for p in builtin_programs()])
def test_shipped_hub_package_is_fresh(prog, tmp_path):
    """CI rebuilds every built-in program: the shipped package must match but for the stamp."""
    shipped = json.loads((hub_dir() / prog / "package.json").read_text())
    fresh = build(
        hub_dir() / prog,
        outdir=tmp_path,
        vmlinux=VMLINUX,
        extra_cflags=hub_cflags(),
        log=lambda _: None,
    )
    rebuilt = json.loads(fresh.package_json.read_text())
    shipped["meta"].pop(BUILD_STAMP_KEY, None)
    rebuilt["meta"].pop(BUILD_STAMP_KEY, None)
    assert rebuilt == shipped, f"{prog}: shipped package.json is stale: run `make hub`"


@pytest.mark.parametrize("prog", builtin_programs(), ids=lambda p: p.name)
def test_the_catalogs_attach_points_are_the_packages(prog):
    """The sidebar says what runs here from the catalog, before any package is parsed."""
    assert prog.attach == tuple(p.attach for p in prog.package.progs if not p.optional), (
        f"{prog.name}: lmp_tui/hub/catalog.json is stale: run `make hub`"
    )
