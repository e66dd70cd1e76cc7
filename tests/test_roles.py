"""What fields mean (lmp_tui/runtime/format/roles.py): the package's annotations on
``export_types`` members, written by ``lmp build`` from member doc comments, and inference from
names, types and siblings, as upstream (libbpf-tools, eunomia examples) and Hub programs name them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT

from lmp_tui.runtime.author.build import build
from lmp_tui.runtime.author.doc_comments import parse_member_comment
from lmp_tui.runtime.distribution.hub import builtin_programs
from lmp_tui.runtime.errors import BuildError, LayoutError, PackageError
from lmp_tui.runtime.format.btf import Btf, BtfBuilder
from lmp_tui.runtime.format.layout import (
    Field,
    FieldKind,
    StructLayout,
    check_layout,
    layout_from_export,
)
from lmp_tui.runtime.format.package import load_package, parse_package
from lmp_tui.runtime.format.roles import (
    Meaning,
    Role,
    enum_prefix,
    export_meanings,
    meanings,
    unit_suffix,
)
from lmp_tui.runtime.stream.addresses import Address, addresses
from lmp_tui.runtime.stream.meaning import Endpoint, Transition, joined_endpoints, transitions

VMLINUX = ROOT / "lmp_tui/hub/include/x86"
DATA = Path(__file__).parent / "data"

# -- layouts by hand ------------------------------------------------------------------------------

_TYPES: dict[str, tuple[FieldKind, int, bool]] = {
    "i8": (FieldKind.INT, 1, True),
    "u8": (FieldKind.INT, 1, False),
    "u16": (FieldKind.INT, 2, False),
    "i32": (FieldKind.INT, 4, True),
    "u32": (FieldKind.INT, 4, False),
    "i64": (FieldKind.INT, 8, True),
    "u64": (FieldKind.INT, 8, False),
    "u128": (FieldKind.INT128, 16, False),
    "ptr": (FieldKind.PTR, 8, False),
    "f64": (FieldKind.FLOAT, 8, True),
    "bool": (FieldKind.BOOL, 1, False),
}


def struct(*members: str, **enums: tuple[tuple[str, int], ...]) -> StructLayout:
    """``struct("pid:i32", "comm:char16", "saddr:u8x16", "state:enum")``, packed in order;
    an ``enum`` member takes its enumerators from the keyword of its name."""
    fields, offset = [], 0
    for spec in members:
        name, kind = spec.split(":")
        if kind.startswith("char"):
            f = Field(name, FieldKind.STRING, offset, int(kind[4:]), f"char[{kind[4:]}]")
        elif "x" in kind:
            elem, count = kind.split("x")
            k, size, signed = _TYPES[elem]
            dims = (int(count),)
            f = Field(
                name,
                FieldKind.ARRAY,
                offset,
                size * dims[0],
                dims=dims,
                elem=Field("", k, 0, size, signed=signed),
            )
        elif kind == "enum":
            f = Field(name, FieldKind.ENUM, offset, 4, "enum e", enum_values=enums[name])
        else:
            k, size, signed = _TYPES[kind]
            f = Field(name, k, offset, size, kind, signed)
        fields.append(f)
        offset += f.size
    layout = StructLayout("event", offset, tuple(fields))
    check_layout(layout)
    return layout


def roles(layout: StructLayout, **context: Any) -> dict[str, str]:
    """Each field's meaning as ``role[/unit][ (names)]``, compact for tables of expectations."""
    out = {}
    for name, m in meanings(layout, **context).items():
        text = str(m.role) + (f"/{m.unit}" if m.unit else "") + (f" ({m.names})" if m.names else "")
        out[name] = text
    return out


# -- inference on upstream-style packages ---------------------------------------------------------

TCP_STATES = tuple(
    (f"TCP_{n}", v) for v, n in enumerate(["ESTABLISHED", "SYN_SENT", "FIN_WAIT1"], 1)
)


def test_eunomia_tcpstates_u128_addresses_with_a_family():
    """eunomia-bpf's tcpstates example: ``unsigned __int128 saddr, daddr``, ``int`` states."""
    layout = struct(
        "skaddr:u64", "ts_us:u64", "delta_us:u64", "pid:u32", "oldstate:i32", "newstate:i32",
        "family:u16", "sport:u16", "dport:u16", "saddr:u128", "daddr:u128", "task:char16",
    )  # fmt: skip
    assert roles(layout) == {
        "skaddr": "id/hex",
        "ts_us": "timestamp/us",
        "delta_us": "duration/us",
        "pid": "id",
        "oldstate": "enum (tcp_state)",
        "newstate": "enum (tcp_state)",
        "family": "enum (family)",
        "sport": "port",
        "dport": "port",
        "saddr": "ipaddr",
        "daddr": "ipaddr",
        "task": "text",
    }


def by_family(layout: StructLayout, *names: str) -> dict[int, Address]:
    """``names`` as addresses whose version each event's family field picks."""
    family = layout.names.index("family")
    return {
        layout.names.index(n): Address(layout.field(n), layout.names.index(n), family, 0)
        for n in names
    }


def test_libbpf_tools_tcpstates_joins_addresses_ports_and_states():
    """libbpf-tools' tcpstates.h as upstream orders it: ``unsigned __int128`` addresses first,
    the family that says which version they hold after the states."""
    layout = struct(
        "saddr:u128", "daddr:u128", "skaddr:u64", "ts_us:u64", "delta_us:u64", "pid:u32",
        "oldstate:i32", "newstate:i32", "family:u16", "sport:u16", "dport:u16", "task:char16",
    )  # fmt: skip
    got = roles(layout)
    assert got["saddr"] == got["daddr"] == "ipaddr"
    assert (got["ts_us"], got["delta_us"]) == ("timestamp/us", "duration/us")
    assert got["oldstate"] == got["newstate"] == "enum (tcp_state)"
    assert addresses(layout) == by_family(layout, "saddr", "daddr")  # by each event's family
    assert joined_endpoints(layout) == [Endpoint("saddr", "sport"), Endpoint("daddr", "dport")]
    assert transitions(layout) == [Transition("oldstate", "newstate")]


def test_libbpf_tools_u8_and_u32_array_addresses_with_a_family():
    """``__u8 saddr[16]`` (the Hub's, and eunomia's unions) and ``__u32 saddr[4]``
    (libbpf-tools' tcppktlat): addresses by the family too, whatever the element type."""
    for elem in ("u8x16", "u32x4"):
        layout = struct(
            f"saddr:{elem}", f"daddr:{elem}", "delta_us:u64", "pid:i32", "tid:i32", "dport:u16",
            "sport:u16", "family:u16", "comm:char16",
        )  # fmt: skip
        got = roles(layout)
        assert (got["saddr"], got["daddr"], got["delta_us"]) == ("ipaddr", "ipaddr", "duration/us")
        assert addresses(layout) == by_family(layout, "saddr", "daddr"), elem


def test_upstream_codes_errno_flags_and_signals():
    """The codes of libbpf-tools' opensnoop, killsnoop and mountsnoop, by their names."""
    opensnoop = roles(struct("ts:u64", "pid:u32", "ret:i32", "flags:i32", "fname:char255"))
    assert (opensnoop["ret"], opensnoop["flags"]) == ("errno", "flags (open)")
    killsnoop = roles(struct("pid:u32", "tpid:u32", "sig:i32", "ret:i32", "comm:char16"))
    assert (killsnoop["sig"], killsnoop["ret"]) == ("signal", "errno")
    mountsnoop = roles(struct("flags:u64", "ret:i32", "src:char8", "dest:char8"))
    assert (mountsnoop["flags"], mountsnoop["ret"]) == ("flags (mount)", "errno")


def test_libbpf_tools_opensnoop_flags_by_their_fname_sibling():
    layout = struct(
        "ts:u64", "pid:u32", "uid:u32", "ret:i32", "flags:i32", "callers:u64x2", "comm:char16",
        "fname:char255",
    )  # fmt: skip
    assert roles(layout) == {
        "ts": "timestamp/ns",
        "pid": "id",
        "uid": "id",
        "ret": "errno",
        "flags": "flags (open)",
        "callers": "plain",
        "comm": "text",
        "fname": "text",
    }


def test_flags_by_the_program_name_else_unnamed():
    layout = struct("pid:i32", "flags:i32")
    assert meanings(layout, program="opensnoop")["flags"].flags_kind == "open"
    assert meanings(layout, program="mountsnoop")["flags"].flags_kind == "mount"
    plain = meanings(layout)["flags"]
    assert plain.role == Role.FLAGS and plain.flags_kind == ""


def test_libbpf_tools_mountsnoop_flags_beside_fs_src_dest():
    layout = struct(
        "delta:u64", "flags:u64", "pid:u32", "tid:u32", "mnt_ns:u32", "ret:i32", "comm:char16",
        "fs:char8", "src:char8", "dest:char8", "data:char8", "op:enum",
        op=(("MOUNT", 0), ("UMOUNT", 1)),
    )  # fmt: skip
    got = roles(layout)
    assert got["flags"] == "flags (mount)"
    assert got["delta"] == "duration/ns"  # bpf_ktime_get_ns() differences
    assert got["mnt_ns"] == "id"  # a namespace inode, not nanoseconds
    assert got["ret"] == "errno" and got["op"] == "enum"


def test_sigsnoop_and_killsnoop():
    layout = struct("pid:i32", "tpid:i32", "sig:i32", "ret:i32", "comm:char16")
    assert roles(layout) == {
        "pid": "id",
        "tpid": "id",
        "sig": "signal",
        "ret": "errno",
        "comm": "text",
    }


def test_an_unsigned_ret_is_no_errno():
    assert meanings(struct("ret:u32"))["ret"].role == Role.PLAIN


def test_c_enum_states_strip_the_common_prefix():
    states = (("LMP_TCP_ESTABLISHED", 1), ("LMP_TCP_FIN_WAIT1", 4), ("LMP_TCP_CLOSE", 7))
    m = meanings(struct("newstate:enum", newstate=states))["newstate"]
    assert m == Meaning(Role.ENUM, prefix="LMP_TCP_")


@pytest.mark.parametrize(
    ("names", "prefix"),
    [
        (["LMP_TCP_FIN_WAIT1", "LMP_TCP_FIN_WAIT2", "LMP_TCP_CLOSE"], "LMP_TCP_"),
        (["MNT_OP_MOUNT", "MNT_OP_UMOUNT"], "MNT_OP_"),
        (["MNT_OP_MOUNT"], "MNT_OP_"),
        (["RED", "GREEN"], ""),
        (["KIND_1", "KIND_2"], ""),  # 1 and 2 alone would not read as names
        (["A_B_1", "A_B_X"], "A_"),
        (["FOO_BAR", "FOO_BAZ"], "FOO_"),  # up to an underscore, never into a word
        ([], ""),
    ],
)
def test_enum_prefix(names, prefix):
    assert enum_prefix((n, i) for i, n in enumerate(names)) == prefix


@pytest.mark.parametrize(
    ("name", "unit"),
    [("delta_us", "us"), ("ts_ns", "ns"), ("lat_ms", "ms"), ("max_nsec", "ns"), ("up_secs", "s"),
     ("rss_kb", "kib"), ("tx_bytes", "bytes"), ("nr_pages", "pages"), ("status", ""), ("ns", "ns"),
     ("bonus", ""), ("sport", "")],
)  # fmt: skip
def test_unit_suffix(name, unit):
    assert unit_suffix(name) == unit


def test_ids_pointers_and_kernel_object_addresses():
    layout = struct(
        "pid:i32", "tid:i32", "ppid:i32", "uid:u32", "gid:u32", "tgid:i32", "tpid:i32",
        "prev_pid:i32", "cgroup_id:u64", "skaddr:u64", "sk:u64", "inode_addr:u64", "task:ptr",
    )  # fmt: skip
    got = meanings(layout)
    assert {n for n, m in got.items() if m.role == Role.ID and not m.hex} == {
        "pid", "tid", "ppid", "uid", "gid", "tgid", "tpid", "prev_pid", "cgroup_id",
    }  # fmt: skip
    assert {n for n, m in got.items() if m.hex} == {"skaddr", "sk", "inode_addr", "task"}


def test_a_4_byte_addr_without_family_stays_a_number():
    """A ``__u32 daddr`` may be an IPv4 address (addresses.py needs a family to say so):
    never shown as a kernel pointer."""
    assert meanings(struct("daddr:u32"))["daddr"].role == Role.PLAIN


def test_timestamps_and_durations_with_their_units():
    layout = struct(
        "ts:u64", "timestamp:u64", "start_ts:u64", "ts_us:u64", "delta_us:u64", "duration_ns:u64",
        "lat:u64", "latency_ms:u64", "total_ns:u64", "runtime:u64", "elapsed:f64",
    )  # fmt: skip
    assert roles(layout) == {
        "ts": "timestamp/ns",
        "timestamp": "timestamp/ns",
        "start_ts": "timestamp/ns",
        "ts_us": "timestamp/us",
        "delta_us": "duration/us",
        "duration_ns": "duration/ns",
        "lat": "duration/ns",
        "latency_ms": "duration/ms",
        "total_ns": "duration/ns",
        "runtime": "duration/ns",
        "elapsed": "duration/ns",
    }


def test_memory_in_pages_and_bytes():
    procstat = struct(
        "pid:i32", "comm:char16", "nvcsw:i64", "nivcsw:i64", "vsize:i64", "size:i64",
        "rssanon:i64", "rssfile:i64", "vswap:i64",
    )  # fmt: skip
    got = roles(procstat)
    assert got["nvcsw"] == got["nivcsw"] == "counter"
    assert {got[n] for n in ("vsize", "size", "rssanon", "rssfile", "vswap")} == {"gauge/pages"}
    sizes = roles(struct("size:u64", "len:u32", "bytes:u64", "io_bytes:u64", "rss_kb:u64"))
    assert sizes == {
        "size": "gauge/bytes",  # no rss* sibling: bytes
        "len": "gauge/bytes",
        "bytes": "gauge/bytes",
        "io_bytes": "gauge/bytes",
        "rss_kb": "gauge/kib",
    }


def test_sampled_map_values_are_running_totals():
    value = struct("count:u64", "errors:u64", "packets:u64", "bytes:u64", "total_ns:u64")
    assert roles(value, part="value") == {
        "count": "counter",
        "errors": "counter",
        "packets": "counter",
        "bytes": "counter/bytes",
        "total_ns": "duration/ns",
    }
    assert roles(value)["count"] == "plain"  # an event's count is no running total


def test_a_single_integer_key_is_a_syscall_in_syscount_else_an_id():
    key = StructLayout("__u32", 4, (Field("__u32", FieldKind.INT, 0, 4, "__u32"),))
    assert meanings(key, program="syscount", part="key")["__u32"].role == Role.SYSCALL
    assert meanings(key, map_name="syscalls", part="key")["__u32"].role == Role.SYSCALL
    assert meanings(key, program="runqlat", part="key")["__u32"].role == Role.ID
    event = struct("pid:i32", "id:i64", "syscall_nr:i32")
    assert roles(event, program="syscall_trace") == {
        "pid": "id",
        "id": "syscall",
        "syscall_nr": "syscall",
    }
    assert roles(event)["id"] == "id"


def test_protocols_and_texts():
    got = roles(struct("eth_proto:u16", "ip_proto:u8", "pad:u8", "comm:char16", "ok:bool"))
    assert got == {
        "eth_proto": "enum (eth_proto)",
        "ip_proto": "enum (ip_proto)",
        "pad": "plain",
        "comm": "text",
        "ok": "plain",
    }


# -- every Hub program ----------------------------------------------------------------------------

HUB = {
    ("bootstrap", "event"): {
        "pid": "id", "ppid": "id", "exit_code": "plain", "duration_ns": "duration/ns*",
        "comm": "text", "filename": "text", "exit_event": "plain",
    },
    ("exitsnoop", "event"): {
        "pid": "id", "ppid": "id", "tid": "id", "exit_code": "plain", "sig": "signal*",
        "core_dump": "plain", "duration_ns": "duration/ns*", "comm": "text",
    },
    ("mountsnoop", "event"): {
        "pid": "id", "tid": "id", "mnt_ns": "id*", "ret": "errno*", "delta_ns": "duration/ns*",
        "flags": "flags (mount)*", "op": "enum", "comm": "text", "fs": "text", "src": "text",
        "dest": "text", "data": "text",
    },
    ("opensnoop", "event"): {
        "pid": "id", "tid": "id", "uid": "id", "ret": "errno*", "flags": "flags (open)*",
        "comm": "text", "fname": "text",
    },
    ("procstat", "event"): {
        "pid": "id*", "tid": "id*", "comm": "text", "nvcsw": "counter*", "nivcsw": "counter*",
        "exited": "plain",
        **{n: "gauge/pages*" for n in ("vsize", "size", "rssanon", "rssfile", "rssshmem",
                                       "vswap", "vdata", "vstk", "vpte")},
    },
    ("runqlat", "key"): {"__u32": "id"},
    ("runqlat", "value"): {"slots": "plain", "comm": "text"},
    ("runqslower", "event"): {
        "pid": "id", "prev_pid": "id", "delta_us": "duration/us*", "task": "text",
        "prev_task": "text",
    },
    ("sigsnoop", "event"): {
        "pid": "id", "tpid": "id", "sig": "signal*", "ret": "errno", "comm": "text",
    },
    ("syscount", "key"): {"__u32": "syscall"},
    ("syscount", "value"): {
        "count": "counter", "errors": "counter", "total_ns": "duration/ns", "max_ns": "duration/ns",
    },
    ("tcpstates", "event"): {
        "skaddr": "id/hex*", "ts_us": "timestamp/us*", "delta_us": "duration/us*", "pid": "id",
        "oldstate": "enum", "newstate": "enum", "family": "enum (family)", "sport": "port*",
        "dport": "port*", "saddr": "ipaddr*", "daddr": "ipaddr*", "comm": "text",
    },
    ("xdpstat", "key"): {"eth_proto": "enum (eth_proto)", "ip_proto": "enum (ip_proto)",
                         "pad": "plain"},
    ("xdpstat", "value"): {"packets": "counter", "bytes": "counter/bytes"},
}  # fmt: skip
"""Every Hub program's fields: ``*`` marks what its header declares."""


def test_every_hub_program_has_a_meaning_for_every_field():
    seen = set()
    for prog in builtin_programs():
        for part, known in export_meanings(prog.package.export(), prog.package.name).items():
            got = {name: roles_text(m) for name, m in known.items()}
            assert got == HUB[(prog.name, part)], prog.name
            seen.add((prog.name, part))
    assert seen == set(HUB)


def roles_text(m: Meaning) -> str:
    text = str(m.role) + (f"/{m.unit}" if m.unit else "") + (f" ({m.names})" if m.names else "")
    return text + ("*" if m.declared else "")


def test_hub_enums_lose_their_prefix():
    tcp = next(p for p in builtin_programs() if p.name == "tcpstates").package.export().layout
    assert tcp is not None
    assert meanings(tcp)["newstate"].prefix == "LMP_TCP_"


# -- annotations ----------------------------------------------------------------------------------


def exported(members: list[tuple[str, str]], notes: dict[str, dict[str, Any]]) -> StructLayout:
    """``struct event`` of 8-byte members (``u64`` or ``i64``) through BTF and ``export_types``,
    the members annotated with ``notes``."""
    b = BtfBuilder()
    types = {"u64": b.integer("unsigned long long", 8), "i64": b.integer("long long", 8, True)}
    types["u8[16]"] = b.array(b.integer("unsigned char", 1), 16)
    sizes = {"u64": 8, "i64": 8, "u8[16]": 16}
    offsets, offset = [], 0
    for _, t in members:
        offsets.append(offset)
        offset += sizes[t]
    ev = b.struct(
        "event", offset, [(n, types[t], o) for (n, t), o in zip(members, offsets, strict=True)]
    )
    export = {
        "name": "event",
        "type_id": ev,
        "members": [{"name": n, "type": t, **notes.get(n, {})} for n, t in members],
    }
    return layout_from_export(Btf.parse(b.build()), export)


def test_annotations_override_inference_and_round_trip():
    notes = {
        "size": {"role": "counter"},
        "resident": {"role": "gauge", "unit": "pages"},
        "mode": {"flags": "open"},
        "wait": {"unit": "us"},
        "delta_us": {"role": "gauge"},
    }
    layout = exported(
        [("size", "u64"), ("resident", "u64"), ("mode", "i64"), ("wait", "u64"),
         ("delta_us", "u64"), ("pid", "i64")],
        notes,
    )  # fmt: skip
    got = meanings(layout)
    assert got["size"] == Meaning(Role.COUNTER, declared=True)  # inferred: a gauge of bytes
    assert got["resident"] == Meaning(Role.GAUGE, "pages", declared=True)
    assert got["mode"] == Meaning(Role.FLAGS, names="open", declared=True)
    assert got["wait"] == Meaning(Role.DURATION, "us", declared=True)  # a unit says the role
    assert got["delta_us"] == Meaning(Role.GAUGE, declared=True)  # not the inferred us
    assert got["pid"] == Meaning(Role.ID)
    again = StructLayout.from_dict(json.loads(json.dumps(layout.to_dict())))
    assert again == layout
    assert meanings(again) == got


def test_layouts_without_annotations_keep_their_dict():
    """Old recordings load, and new ones without annotations are written as before."""
    layout = struct("pid:i32", "comm:char16")
    d = layout.to_dict()
    assert all(set(f) <= {"name", "kind", "offset", "size", "type", "signed"} for f in d["fields"])
    assert StructLayout.from_dict(d) == layout
    annotated = Field("rss", FieldKind.INT, 0, 8, "long", role="gauge", unit="pages")
    assert annotated.to_dict()["role"] == "gauge" and "flags" not in annotated.to_dict()


@pytest.mark.parametrize(
    ("note", "message"),
    [
        ({"role": "speed"}, "unknown role 'speed' (one of id, gauge"),
        ({"unit": "furlongs"}, "unknown unit 'furlongs'"),
        ({"flags": "fcntl"}, "unknown flags 'fcntl' (one of open, mount)"),
        ({"role": "duration", "unit": "pages"}, "role 'duration' takes unit ns or us or ms or s"),
        ({"role": "errno", "unit": "ns"}, "role 'errno' takes no unit"),
        ({"role": "gauge", "flags": "open"}, "flags 'open' needs role 'flags', not 'gauge'"),
        ({"role": "text"}, "role 'text' does not fit this 8-byte int"),
        ({"role": 3}, "role must be a string, not 3"),
    ],
)
def test_bad_annotations_are_refused_in_one_line(note, message):
    with pytest.raises(LayoutError) as err:
        exported([("x", "u64")], {"x": note})
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_an_ipaddr_role_needs_address_bytes():
    exported([("peer", "u8[16]")], {"peer": {"role": "ipaddr"}})
    with pytest.raises(LayoutError, match="role 'ipaddr' does not fit"):
        exported([("peer", "u64")], {"peer": {"role": "ipaddr"}})


def test_recorded_layouts_are_checked_too():
    d = struct("pid:i32").to_dict()
    d["fields"][0]["role"] = "nonsense"
    with pytest.raises(LayoutError, match="unknown role 'nonsense'"):
        StructLayout.from_dict(d)


# -- lmp build: member doc comments ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "tags"),
    [
        ("///< the socket @role id @unit hex", {"role": "id", "unit": "hex"}),
        ("/// Resident memory.\n/// @role gauge @unit pages", {"role": "gauge", "unit": "pages"}),
        ("/** @flags open */", {"flags": "open"}),
        ("///< plain words, @brief ignored", {}),
        ("/// \\role counter", {"role": "counter"}),
    ],
)
def test_member_comment_tags(raw, tags):
    assert parse_member_comment(raw) == tags


def test_a_tag_without_value_is_refused():
    with pytest.raises(BuildError, match="@unit needs a value"):
        parse_member_comment("///< @role gauge @unit", "rss")


@pytest.fixture(scope="module")
def roles_pkg(tmp_path_factory):
    out = tmp_path_factory.mktemp("roles_pkg")
    return build(DATA / "roles_pkg", outdir=out, vmlinux=VMLINUX, log=lambda _: None)


def test_build_writes_member_doc_comments_as_keys(roles_pkg):
    members = roles_pkg.meta["export_types"][0]["members"]
    assert members == [
        {"name": "pid", "type": "int"},
        {"name": "resident", "type": "long long", "role": "gauge", "unit": "pages"},
        {"name": "sk", "type": "unsigned long long", "role": "id", "unit": "hex"},
        {"name": "mode", "type": "int", "flags": "open"},
        {"name": "wait", "type": "unsigned long long", "unit": "us"},
        {"name": "peer", "type": "unsigned int", "format": "ipv4"},
        {"name": "comm", "type": "char[16]"},
    ]
    layout = load_package(roles_pkg.package_json).export().layout
    assert layout is not None
    got = {n: (str(m.role), m.unit, m.names, m.declared) for n, m in meanings(layout).items()}
    assert got == {
        "pid": ("id", "", "", False),
        "resident": ("gauge", "pages", "", True),
        "sk": ("id", "hex", "", True),
        "mode": ("flags", "", "open", True),
        "wait": ("duration", "us", "", True),
        "peer": ("ipaddr", "", "", True),
        "comm": ("text", "", "", False),
    }


def test_a_package_with_a_bad_annotation_is_refused_at_load(roles_pkg, tmp_path):
    doc = json.loads(roles_pkg.package_json.read_text())
    doc["meta"]["export_types"][0]["members"][1]["unit"] = "parsecs"
    bad = tmp_path / "package.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(PackageError) as err:
        load_package(bad)
    message = str(err.value)
    assert "field 'resident': unknown unit 'parsecs'" in message and "\n" not in message
    # the schema and eunomia's loaders ignore the keys: unannotated, it loads
    del doc["meta"]["export_types"][0]["members"][1]["unit"]
    parse_package(json.dumps(doc).encode())


def copy_pkg(tmp_path: Path, header: str) -> Path:
    src = tmp_path / "src"
    shutil.copytree(DATA / "roles_pkg", src)
    (src / "roles.h").write_text(header)
    return src


HEADER = """#ifndef __ROLES_H
#define __ROLES_H
struct event {
	int pid;
	long long resident;%s
	unsigned long long sk;
	int mode;
	unsigned long long wait;
	unsigned int peer;
	char comm[16];
};
#endif
"""


def test_a_trailing_plain_doc_comment_is_refused(tmp_path):
    """clang gives ``int a; /// x`` to the member after ``a``: refused, naming both."""
    src = copy_pkg(tmp_path, HEADER % "\t/// @role gauge @unit pages")
    with pytest.raises(BuildError) as err:
        build(src, outdir=tmp_path / "out", vmlinux=VMLINUX, log=lambda _: None)
    assert "roles.h:5: the /// comment after member 'resident' documents the next member" in str(
        err.value
    )


def test_a_bad_tag_fails_the_build(tmp_path):
    src = copy_pkg(tmp_path, HEADER % "\t///< @role gauge @unit seconds")
    with pytest.raises(BuildError, match="field 'resident': unknown unit 'seconds'"):
        build(src, outdir=tmp_path / "out", vmlinux=VMLINUX, log=lambda _: None)
