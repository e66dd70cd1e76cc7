"""What the kernel can run: the BTF name scan on hand-made BTF, and the probes on this kernel.

The kernel tests run as root with BPF, here and in CI. They are written to hold on any such
kernel: where this one lacks a feature (BPF trampolines, kprobes), the assertion goes through
the probe's own answer, so a kernel that has it expects None instead.
"""

from __future__ import annotations

import contextlib
import gzip
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, lmp
from hypothesis import given, settings
from hypothesis import strategies as st

from lmp_tui.runtime.distribution.hub import HubProgram
from lmp_tui.runtime.errors import LayoutError
from lmp_tui.runtime.format.btf import (
    BTF_MAGIC,
    Btf,
    BtfBuilder,
    Kind,
    NameIndex,
    names_of_kinds,
    scan_names,
    string_section,
)
from lmp_tui.runtime.kernel import probe

VMLINUX_H = str(ROOT / "lmp_tui/hub/include/x86")
DATA = Path(__file__).parent / "data"


def _clear_probe_caches() -> None:
    for fn in (
        probe._vmlinux_btf,
        probe.vmlinux_index,
        probe._module_indexes,
        probe.trampolines,
        probe.kprobe_multi,
        probe.prog_type_supported,
        probe.bpf_lsm_active,
    ):
        fn.cache_clear()


def kernel_like_btf() -> tuple[bytes, dict[str, int]]:
    """A tiny vmlinux: ``pid`` only as a member, ``task_struct`` only as a struct, one real
    function, one tracepoint typedef, one iterator and one LSM hook."""
    b = BtfBuilder()
    i32 = b.integer("int", 4, signed=True)
    pid_t = b.typedef("pid_t", i32)
    task = b.struct("task_struct", 8, [("pid", pid_t, 0), ("tgid", pid_t, 4)])
    proto = b.func_proto(i32, [("dfd", i32), ("task", b.ptr(task))])
    ids = {
        "do_unlinkat": b.func("do_unlinkat", proto),
        "btf_trace_sched_switch": b.typedef("btf_trace_sched_switch", b.ptr(proto)),
        "bpf_iter_task": b.func("bpf_iter_task", proto),
        "bpf_lsm_file_open": b.func("bpf_lsm_file_open", proto),
        "task_struct": task,
    }
    return b.build(), ids


@pytest.fixture
def fake_kernel(tmp_path, monkeypatch) -> Iterator[tuple[Path, dict[str, int]]]:
    """``probe`` reading a hand-made vmlinux BTF (and modules next to it) instead of the
    kernel's; the probes' caches are emptied before and after."""
    raw, ids = kernel_like_btf()
    btf_dir = tmp_path / "btf"
    btf_dir.mkdir()
    (btf_dir / "vmlinux").write_bytes(raw)
    monkeypatch.setattr(probe, "VMLINUX_BTF", btf_dir / "vmlinux")
    monkeypatch.setenv("LMP_CACHE_DIR", str(tmp_path / "cache"))
    _clear_probe_caches()
    yield btf_dir, ids
    _clear_probe_caches()


# -- the scan on hand-made BTF --------------------------------------------------------------------


def test_member_and_struct_names_are_not_functions():
    raw, ids = kernel_like_btf()
    index = scan_names(raw, (Kind.FUNC, Kind.TYPEDEF, Kind.STRUCT))
    assert index.find(Kind.FUNC, "pid") is None  # a member name
    assert index.find(Kind.FUNC, "task_struct") is None  # a struct name
    assert index.find(Kind.FUNC, "pid_t") is None  # a typedef name
    assert index.find(Kind.FUNC, "unlinkat") is None  # a substring of a function's name
    assert index.find(Kind.FUNC, "") is None
    assert index.find(Kind.FUNC, "do_unlinkat") == ids["do_unlinkat"]
    assert index.find(Kind.STRUCT, "task_struct") == ids["task_struct"]
    assert index.find(Kind.TYPEDEF, "btf_trace_sched_switch") == ids["btf_trace_sched_switch"]
    assert index.has_prefix(Kind.FUNC, "bpf_lsm_")
    assert not index.has_prefix(Kind.FUNC, "pid")
    assert index.next_id == len(Btf.parse(raw))
    assert names_of_kinds(raw, [Kind.FUNC])[Kind.FUNC] == {
        "do_unlinkat",
        "bpf_iter_task",
        "bpf_lsm_file_open",
    }


def test_missing_on_hand_made_btf(fake_kernel):
    """No trampoline target in this BTF, so the trampoline probe cannot tell and says nothing."""
    assert probe.missing(probe.requirement_for("fentry/pid")) == (
        "kernel function pid does not exist on this kernel"
    )
    assert probe.missing(probe.requirement_for("fexit/task_struct")) == (
        "kernel function task_struct does not exist on this kernel"
    )
    assert probe.missing(probe.requirement_for("fentry/do_unlinkat")) is None
    assert probe.missing(probe.requirement_for("tp_btf/sched_switch")) is None
    assert probe.missing(probe.requirement_for("tp_btf/pid")) == (
        "raw tracepoint pid does not exist on this kernel"
    )
    assert probe.missing(probe.requirement_for("iter/task")) is None
    assert probe.missing(probe.requirement_for("iter/pid")) == (
        "BPF iterator pid does not exist on this kernel"
    )
    assert probe.missing(probe.requirement_for("lsm/bprm_check")) == (
        "LSM hook bprm_check does not exist on this kernel"
    )


def test_module_functions_are_found_in_split_btf(fake_kernel):
    """A module's BTF is split BTF: its names may point into vmlinux's strings or its own,
    whose offsets start where vmlinux's end."""
    btf_dir, ids = fake_kernel
    base_len = len(string_section((btf_dir / "vmlinux").read_bytes()))
    own = b"\0lmp_mod_func\0"
    types = struct.pack("<III", base_len + 1, (Kind.FUNC << 24) | 1, ids["do_unlinkat"] - 1)
    header = struct.pack("<HBBIIIII", BTF_MAGIC, 1, 0, 24, 0, len(types), len(types), len(own))
    (btf_dir / "lmp_mod").write_bytes(header + types + own)
    assert probe.kernel_has(Kind.FUNC, "lmp_mod_func") is True
    assert probe.missing(probe.requirement_for("fentry/lmp_mod_func")) is None
    assert probe.missing(probe.requirement_for("fentry/lmp_mod_nope")) == (
        "kernel function lmp_mod_nope does not exist on this kernel"
    )


def test_no_btf(fake_kernel):
    btf_dir, _ = fake_kernel
    (btf_dir / "vmlinux").unlink()
    assert probe.missing(probe.requirement_for("fentry/do_unlinkat")) == probe._NO_BTF
    assert probe.missing(probe.requirement_for("tp_btf/sched_switch")) == probe._NO_BTF
    # raw_tp attaches by name: without BTF there is nothing to check it against
    assert probe.missing(probe.requirement_for("raw_tp/sched_switch")) is None


def test_corrupt_btf_is_a_layout_error():
    raw, _ = kernel_like_btf()
    with pytest.raises(LayoutError):
        scan_names(raw[:-20], [Kind.FUNC])  # cut into the string section: header disagrees
    header = struct.Struct("<HBBIIIII")
    fields = list(header.unpack_from(raw))
    fields[5] -= 4  # the type section ends in the middle of a record
    with pytest.raises(LayoutError):
        scan_names(header.pack(*fields) + raw[header.size :], [Kind.FUNC])


# Names shared between kinds, so that the scan must tell them apart by kind.
_NAMES = st.sampled_from(["", "pid", "do_unlinkat", "task_struct", "btf_trace_x", "bpf_iter_t"])


@st.composite
def random_btf(draw: st.DrawFn) -> bytes:
    """Valid BTF of every kind the parser knows, each type referring only to earlier ones."""
    b = BtfBuilder()
    ids = [b.integer("int", 4, signed=True)]
    for _ in range(draw(st.integers(0, 25))):
        name = draw(_NAMES)
        ref = draw(st.sampled_from(ids))
        kind = draw(st.sampled_from(list(Kind)[1:]))
        n = draw(st.integers(0, 3))
        match kind:
            case Kind.INT:
                tid = b.integer(name, draw(st.sampled_from([1, 2, 4, 8, 16])))
            case Kind.PTR:
                tid = b.ptr(ref)
            case Kind.ARRAY:
                tid = b.array(ids[0], n, ids[0])
            case Kind.STRUCT | Kind.UNION:
                members = [(draw(_NAMES), ids[0], 4 * i) for i in range(n)]
                tid = b.struct(name, 4 * n, members, union=kind is Kind.UNION)
            case Kind.ENUM:
                tid = b.enum(name, 4, [(draw(_NAMES), i) for i in range(n)])
            case Kind.ENUM64:
                tid = b.enum64(name, 8, [(draw(_NAMES), i << 40) for i in range(n)])
            case Kind.FWD:
                tid = b.fwd(name, union=draw(st.booleans()))
            case Kind.TYPEDEF:
                tid = b.typedef(name, ref)
            case Kind.VOLATILE | Kind.CONST | Kind.RESTRICT | Kind.TYPE_TAG:
                tid = b.modifier(kind, ref)
            case Kind.FUNC_PROTO:
                tid = b.func_proto(ref, [(draw(_NAMES), ids[0]) for _ in range(n)])
            case Kind.FUNC:
                tid = b.func(name, b.func_proto(ids[0], []), linkage=draw(st.integers(0, 2)))
            case Kind.VAR:
                tid = b.var(name, ids[0])
            case Kind.DATASEC:
                tid = b.datasec(name, 4 * n, [(ids[0], 4 * i, 4) for i in range(n)])
            case Kind.FLOAT:
                tid = b.floating(name, draw(st.sampled_from([4, 8])))
            case Kind.DECL_TAG:
                tid = b.decl_tag(name, ref)
            case _:
                continue
        ids.append(tid)
    return b.build()


@settings(max_examples=300, deadline=None)
@given(random_btf())
def test_scan_agrees_with_the_parser(raw):
    btf = Btf.parse(raw)
    kinds = list(Kind)[1:]
    names = names_of_kinds(raw, kinds)
    index = scan_names(raw, kinds)
    assert index.next_id == len(btf)
    for kind in kinds:
        assert names[kind] == {t.name for t in btf.types[1:] if t.kind == kind and t.name}
        for name in names[kind]:
            found = btf.find(name, kind)
            assert found is not None and index.find(kind, name) == found.id


@given(random_btf(), st.binary(min_size=1, max_size=16), st.integers(0, 400))
def test_scan_of_corrupted_btf_raises_layout_error_only(raw, noise, where):
    data = bytearray(raw)
    where = min(where, len(data) - 1)
    data[where : where + len(noise)] = noise
    with contextlib.suppress(LayoutError):
        index = scan_names(bytes(data), [Kind.FUNC, Kind.STRUCT])
        index.names(Kind.FUNC)


# -- this kernel ----------------------------------------------------------------------------------


def _kernel_config() -> str:
    try:
        return gzip.decompress(Path("/proc/config.gz").read_bytes()).decode()
    except OSError:
        return ""


def test_fentry_names_bpf_trampolines():
    """fentry needs BPF trampolines: this kernel refuses to load any fentry program (EPERM,
    with an empty verifier log), so the reason names them. A kernel with trampolines gets
    None: the function exists."""
    why = probe.missing(probe.requirement_for("fentry/do_unlinkat"))
    if probe.trampolines() is False:
        assert why == "this kernel has no BPF trampolines, which fentry programs attach through"
    else:
        assert probe.trampolines() is True
        assert why is None
    fexit = probe.missing(probe.requirement_for("fexit/do_unlinkat"))
    assert fexit == (why and why.replace("fentry programs", "fexit programs"))


def test_fentry_on_a_member_name_says_the_function_does_not_exist():
    """``pid`` is a struct member in the kernel's BTF, no function."""
    assert probe.kernel_has(Kind.FUNC, "pid") is False
    assert probe.missing(probe.requirement_for("fentry/pid")) == (
        "kernel function pid does not exist on this kernel"
    )


def test_kprobes():
    why = probe.missing(probe.requirement_for("kprobe/do_unlinkat"))
    if probe.KPROBE_PMU.exists():
        assert why is None
    else:
        assert why == "this kernel has no kprobe support (CONFIG_KPROBES is off)"
        assert probe.missing(probe.requirement_for("kretsyscall/openat")) == why
        assert probe.missing(probe.requirement_for("kprobe.multi/do_*")) == why


def test_kprobe_multi_probe_agrees_with_the_config():
    config = _kernel_config()
    if "CONFIG_FPROBE" not in config:
        pytest.skip("no /proc/config.gz to compare with")
    assert probe.kprobe_multi() is ("CONFIG_FPROBE=y" in config)


def test_btf_tracepoints():
    assert probe.missing(probe.requirement_for("tp_btf/sched_switch")) is None
    assert probe.missing(probe.requirement_for("raw_tp/sched_switch")) is None
    assert probe.missing(probe.requirement_for("tp_btf/no_such_tp")) == (
        "raw tracepoint no_such_tp does not exist on this kernel"
    )


def test_tracepoints():
    assert probe.missing(probe.requirement_for("tracepoint/syscalls/sys_enter_openat")) is None
    assert probe.missing(probe.requirement_for("tp/sched/sched_lmp_nope")) == (
        "tracepoint sched/sched_lmp_nope does not exist on this kernel"
    )


def test_missing_does_not_mount_tracefs(monkeypatch, tmp_path):
    """Without tracefs, ``missing`` assumes the tracepoint is there (we may mount it; ``lmp run``
    will) and mounts nothing."""
    monkeypatch.setattr(probe, "TRACEFS", tmp_path / "tracing")
    monkeypatch.setattr(probe, "DEBUG_TRACEFS", tmp_path / "debug" / "tracing")
    assert probe.missing(probe.requirement_for("tracepoint/syscalls/sys_enter_openat")) is None
    assert not (tmp_path / "tracing").exists()
    monkeypatch.setattr(
        probe, "capabilities", lambda: (1 << probe.CAP_BPF) | (1 << probe.CAP_PERFMON)
    )
    assert probe.missing(probe.requirement_for("tp/sched/sched_switch")) == (
        probe._TRACEFS_UNMOUNTED
    )


def test_lsm_iter_struct_ops_and_program_types():
    lsm = probe.missing(probe.requirement_for("lsm/file_open"))
    if probe.bpf_lsm_active() is False:
        assert lsm == "this kernel has no active BPF LSM (bpf is not in its lsm= list)"
    elif probe.trampolines() is False:
        assert lsm == "this kernel has no BPF trampolines, which lsm programs attach through"
    else:
        assert lsm is None
    assert probe.missing(probe.requirement_for("lsm/lmp_no_such_hook")) == (
        "LSM hook lmp_no_such_hook does not exist on this kernel"
    )
    # iterators need no trampoline
    assert probe.missing(probe.requirement_for("iter/task")) is None
    assert probe.missing(probe.requirement_for("iter/lmp_nope")) == (
        "BPF iterator lmp_nope does not exist on this kernel"
    )
    for section in ("struct_ops/x", "xdp", "xdp.frags", "tc", "tcx/ingress", "classifier"):
        assert probe.missing(probe.requirement_for(section)) is None, section
    assert probe.missing(probe.requirement_for("perf_event")) is None
    assert probe.missing(probe.requirement_for("uprobe//bin/sh:main")) is None


def test_requirements_by_section():
    r = probe.requirement_for
    assert r("fmod_ret.s/x") == probe.Requirement("fentry", "x", "fmod_ret.s")
    assert r("lsm.s/file_open") == probe.Requirement("lsm", "file_open", "lsm.s")
    assert r("iter.s/task") == probe.Requirement("iter", "task", "iter.s")
    assert r("xdp") == probe.Requirement("prog_type", "xdp", "xdp")
    assert r("tcx/egress") == probe.Requirement("prog_type", "sched_cls", "tcx")
    assert r("perf_event") == probe.Requirement("prog_type", "perf_event", "perf_event")
    assert r("uretprobe/bin/sh:main") == probe.Requirement("uprobe", "bin/sh:main", "uretprobe")
    assert r("socket") is None and r("cgroup/skb") is None


def test_a_fentry_package_is_refused_in_one_line(tmp_path, no_leaks):
    """``lmp run`` and the list (``HubProgram.unavailable``, which ``lmp list`` and the sidebar
    use) give the same reason."""
    built = lmp("build", str(DATA / "fentry_pkg"), "-o", str(tmp_path), "--vmlinux", VMLINUX_H)
    assert built.returncode == 0, built.stderr
    res = lmp("run", str(tmp_path / "package.json"), "--duration", "1")
    listed = HubProgram("fentry_pkg", tmp_path, "test", "").unavailable()
    if probe.trampolines():  # a kernel with trampolines runs it: nothing to refuse
        assert res.returncode == 0 and listed is None, res.stderr
        return
    assert res.returncode == 1
    assert "Traceback" not in res.stderr
    reason = "fentry/do_unlinkat needs BPF trampolines, which fentry programs attach through"
    assert res.stderr.strip().splitlines() == [f"lmp: cannot run fentry_pkg: {reason}"]
    assert listed == reason


def test_the_name_index_is_kept_between_processes(tmp_path, monkeypatch):
    """The kernel's index is scanned once and read back after (a scan costs 20-40 ms of every
    start); what is read back answers as the scan did, and a damaged file is scanned again."""
    monkeypatch.setenv("LMP_CACHE_DIR", str(tmp_path))
    _clear_probe_caches()
    scanned = probe.vmlinux_index(Kind.TYPEDEF)
    [kept] = (tmp_path / "btf-index").iterdir()
    _clear_probe_caches()
    loaded = probe.vmlinux_index(Kind.TYPEDEF)
    assert scanned is not None and loaded is not None and loaded is not scanned
    for name in ("btf_trace_sched_switch", "pid_t", "no_such_typedef_lmp"):
        assert loaded.find(Kind.TYPEDEF, name) == scanned.find(Kind.TYPEDEF, name)
    assert loaded.find(Kind.TYPEDEF, "btf_trace_sched_switch") is not None
    for damaged in (kept.read_bytes()[:-3], b"junk", kept.read_bytes()[:20]):
        kept.write_bytes(damaged)
        _clear_probe_caches()
        again = probe.vmlinux_index(Kind.TYPEDEF)
        assert again is not None and again.find(Kind.TYPEDEF, "pid_t") == scanned.find(
            Kind.TYPEDEF, "pid_t"
        )
    _clear_probe_caches()


def test_a_dumped_index_loads_only_for_its_strings():
    raw, _ = kernel_like_btf()
    index = scan_names(raw, (Kind.FUNC,))
    data = index.dump(Kind.FUNC)
    strings = string_section(raw)
    again = NameIndex.load(strings, Kind.FUNC, data)
    assert again is not None and again.find(Kind.FUNC, "do_unlinkat") == index.find(
        Kind.FUNC, "do_unlinkat"
    )
    assert NameIndex.load(strings[:4], Kind.FUNC, data) is None  # offsets outside the strings
    assert NameIndex.load(strings, Kind.FUNC, data[:-1]) is None
