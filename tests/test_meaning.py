"""Values shown by meaning (lmp_tui/runtime/stream/meaning.py), and what plain ``lmp run``
output takes of it (names for codes, numbers for quantities) while JSON stays ecli's."""

from __future__ import annotations

import errno
import json
import mmap
import os
import re
import time
from typing import Any

import numpy as np
import pytest
from conftest import ROOT
from hypothesis import given
from hypothesis import strategies as st

from lmp_tui.runtime.distribution.hub import find_builtin
from lmp_tui.runtime.format.layout import Field, FieldKind, StructLayout
from lmp_tui.runtime.format.package import ExportSpec
from lmp_tui.runtime.format.roles import Meaning, Role, meanings
from lmp_tui.runtime.format.syscalls import syscall_name, syscall_names, syscall_number
from lmp_tui.runtime.stream import meaning as meaning_module
from lmp_tui.runtime.stream.batch import Batch
from lmp_tui.runtime.stream.decode import Decoded, Decoder, Decoders
from lmp_tui.runtime.stream.meaning import (
    MOUNT_FLAGS,
    OPEN_FLAGS,
    Endpoint,
    Transition,
    column_strings,
    ecli_enum_strings,
    endpoint_strings,
    errno_name,
    format_base,
    format_bytes,
    format_count,
    format_duration,
    format_rate,
    joined_endpoints,
    mount_flags,
    open_flags,
    parse_flags,
    per_distinct,
    timestamp_strings,
    to_base,
    transition_strings,
    transitions,
    umount_flags,
    unit_label,
    value_strings,
)
from lmp_tui.runtime.stream.output import BatchPrinter

WHEN = 1_700_000_000.0


def record(layout: StructLayout, **values: Any) -> bytes:
    rec = bytearray(layout.size)
    for name, value in values.items():
        f = layout.field(name)
        raw = (
            value
            if isinstance(value, bytes)
            else value.to_bytes(f.size, "little", signed=value < 0)
        )
        rec[f.offset : f.offset + len(raw)] = raw
    return bytes(rec)


def hub_layout(program: str) -> StructLayout:
    layout = find_builtin(program).package.export().layout
    assert layout is not None
    return layout


def rows(layout: StructLayout, *records: dict[str, Any]) -> np.ndarray:
    return Decoder(layout).array(b"".join(record(layout, **r) for r in records))


def shown(layout: StructLayout, *records: dict[str, Any], program: str = "") -> dict[str, list]:
    """Every field's display strings, as the TUI will ask for them."""
    arr = rows(layout, *records)
    known = meanings(layout, program=program)
    return {f.name: column_strings(layout, known, arr, i) for i, f in enumerate(layout.fields)}


def int_col(values: list[int], dtype: str = "<i8") -> np.ndarray:
    return np.array(values, dtype=dtype)


# -- sizes ----------------------------------------------------------------------------------------


def test_pages_are_bytes_at_this_kernels_page_size():
    procstat = hub_layout("procstat")
    got = shown(procstat, {"rssanon": (3 << 30) // mmap.PAGESIZE // 2, "vsize": 1, "size": 0})
    assert got["rssanon"] == ["1.5 GiB"]
    assert got["vsize"] == [format_bytes(mmap.PAGESIZE)]
    assert got["size"] == ["0 B"]
    assert got["pid"] == ["0"] and got["nvcsw"] == ["0"]  # an id and a counter: numbers


def test_pages_at_another_page_size_and_other_units():
    f = Field("rss", FieldKind.INT, 0, 8, "long", True)
    col = int_col([1, 256, 262144, -2])
    pages = Meaning(Role.GAUGE, "pages")
    assert value_strings(f, pages, col, page_size=4096) == ["4 KiB", "1 MiB", "1 GiB", "-8 KiB"]
    assert value_strings(f, pages, col, page_size=65536) == [
        "64 KiB",
        "16 MiB",
        "16 GiB",
        "-128 KiB",
    ]
    assert value_strings(f, Meaning(Role.GAUGE, "kib"), col) == [
        "1 KiB",
        "256 KiB",
        "256 MiB",
        "-2 KiB",
    ]
    assert value_strings(f, Meaning(Role.GAUGE, "bytes"), col) == [
        "1 B",
        "256 B",
        "256 KiB",
        "-2 B",
    ]
    assert value_strings(f, Meaning(Role.GAUGE), col) == ["1", "256", "262144", "-2"]


# -- durations ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (0, "ns", "0 ns"), (1, "ns", "1 ns"), (999, "ns", "999 ns"), (1000, "ns", "1 µs"),
        (1234, "ns", "1.2 µs"), (9_960, "ns", "10 µs"), (850, "us", "850 µs"),
        (999_499, "ns", "999 µs"), (999_600, "ns", "1 ms"), (1200, "us", "1.2 ms"),
        (1_197_514, "ns", "1.2 ms"), (12_345, "us", "12 ms"), (2300, "ms", "2.3 s"),
        (59.4, "s", "59 s"), (65, "s", "1m05s"), (3720, "s", "1h02m"), (180_000, "s", "2d02h"),
        (-1500, "us", "-1.5 ms"), (0.5, "ns", "0.5 ns"),
    ],
)  # fmt: skip
def test_durations_across_unit_boundaries(value, unit, text):
    assert format_duration(value, unit) == text


def test_duration_columns_and_the_hub():
    tcp = hub_layout("tcpstates")
    got = shown(tcp, {"delta_us": 1500, "ts_us": 5}, {"delta_us": 2_300_000, "ts_us": 6})
    assert got["delta_us"] == ["1.5 ms", "2.3 s"]
    assert got["ts_us"] == ["5", "6"]  # timestamps need an origin: timestamp_strings
    boot = hub_layout("bootstrap")
    assert shown(boot, {"duration_ns": 1_197_514})["duration_ns"] == ["1.2 ms"]


# -- codes ----------------------------------------------------------------------------------------


def test_errno_names_for_negative_values_only():
    assert [errno_name(v) for v in (-2, -13, 0, 3, -9999)] == [
        "ENOENT",
        "EACCES",
        "0",
        "3",
        "-9999",
    ]
    assert errno_name(-errno.EDEADLK) == "EDEADLK"  # not Python's alias EDEADLOCK
    f = Field("ret", FieldKind.INT, 0, 4, "int", True)
    col = int_col([-2, 3, -2, 0], "<i4")
    assert value_strings(f, Meaning(Role.ERRNO), col) == ["ENOENT", "3", "ENOENT", "0"]


def test_open_flags_match_this_machines_constants():
    cases = {
        os.O_RDONLY: "O_RDONLY",
        os.O_RDONLY | os.O_CLOEXEC: "O_RDONLY|O_CLOEXEC",
        os.O_WRONLY | os.O_CREAT | os.O_TRUNC: "O_WRONLY|O_CREAT|O_TRUNC",
        os.O_RDWR | os.O_APPEND | os.O_NONBLOCK: "O_RDWR|O_APPEND|O_NONBLOCK",
        os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW: "O_RDONLY|O_DIRECTORY|O_NOFOLLOW",
        os.O_RDWR | os.O_TMPFILE: "O_RDWR|O_TMPFILE",  # not O_DIRECTORY, its part
        os.O_WRONLY | os.O_SYNC: "O_WRONLY|O_SYNC",
        os.O_WRONLY | os.O_DSYNC: "O_WRONLY|O_DSYNC",
        os.O_PATH | os.O_EXCL | os.O_NOCTTY: "O_RDONLY|O_EXCL|O_NOCTTY|O_PATH",
        os.O_DIRECT | os.O_NOATIME | os.O_ASYNC: "O_RDONLY|O_ASYNC|O_DIRECT|O_NOATIME",
        0o100000: "O_RDONLY|O_LARGEFILE",
        3: "O_ACCMODE",
        os.O_CREAT | 0x40000000: "O_RDONLY|O_CREAT|0x40000000",  # unknown bits: one hex rest
    }
    assert {v: open_flags(v) for v in cases} == cases
    # every name's value is the kernel's on x86_64, as Python has them (bar O_LARGEFILE: 0 here)
    for name, value in OPEN_FLAGS:
        if hasattr(os, name) and name != "O_LARGEFILE":
            assert getattr(os, name) == value, name


def test_open_flags_of_a_signed_int_column():
    f = Field("flags", FieldKind.INT, 0, 4, "int", True)
    col = int_col([0o2000000, -0x80000000], "<i4")
    got = value_strings(f, Meaning(Role.FLAGS, names="open"), col)
    assert got == ["O_RDONLY|O_CLOEXEC", "O_RDONLY|0x80000000"]
    assert value_strings(f, Meaning(Role.FLAGS), col) == ["0x80000", "0x80000000"]


def test_mount_and_umount_flags():
    assert mount_flags(0) == "0"
    assert mount_flags(4096 | 16384) == "MS_BIND|MS_REC"
    assert mount_flags(1 | 2 | 4 | 8 | 32) == "MS_RDONLY|MS_NOSUID|MS_NODEV|MS_NOEXEC|MS_REMOUNT"
    assert mount_flags(0xC0ED0000 | 1) == "MS_MGC_VAL|MS_RDONLY"
    assert mount_flags(1 << 9) == "0x200"  # no MS_ name for bit 9
    assert mount_flags(1 << 40 | 1 << 18) == "MS_PRIVATE|0x10000000000"
    assert umount_flags(2 | 8) == "MNT_DETACH|UMOUNT_NOFOLLOW"
    assert umount_flags(0x30) == "0x30"
    assert dict(MOUNT_FLAGS)["MS_NOUSER"] == 1 << 31


def test_mountsnoop_flags_follow_the_op():
    mount = hub_layout("mountsnoop")
    got = shown(
        mount, {"op": 0, "flags": 4096 | 16384}, {"op": 1, "flags": 2}, {"op": 0, "flags": 2}
    )
    assert got["flags"] == ["MS_BIND|MS_REC", "MNT_DETACH", "MS_NOSUID"]
    assert got["op"] == ["MOUNT", "UMOUNT", "MOUNT"]


@given(st.integers(0, 2**32 - 1))
def test_open_flags_decode_to_their_value(value):
    text = open_flags(value)
    assert parse_flags(text, "open") == value
    assert all(re.fullmatch(r"O_[A-Z]+|__O_[A-Z]+|0x[0-9a-f]+", n) for n in text.split("|"))


@given(st.integers(0, 2**64 - 1))
def test_mount_flags_decode_to_their_value(value):
    text = mount_flags(value)
    assert parse_flags(text, "mount") == value
    names = text.split("|")
    assert len(names) == len(set(names))  # no bit named twice
    assert parse_flags(umount_flags(value), "umount") == value


def test_parse_flags_refuses_what_it_cannot_read():
    with pytest.raises(ValueError, match="'O_BOGUS' is not a open flag"):
        parse_flags("O_RDONLY|O_BOGUS", "open")


def test_signals_syscalls_and_enums():
    f = Field("sig", FieldKind.INT, 0, 4, "int", True)
    col = int_col([9, 10, 0, 99], "<i4")
    assert value_strings(f, Meaning(Role.SIGNAL), col) == ["SIGKILL", "SIGUSR1", "0", "99"]
    nr = Field("__u32", FieldKind.INT, 0, 4, "__u32")
    got = value_strings(nr, Meaning(Role.SYSCALL), int_col([110, 257, 400], "<u4"))
    assert got == ["getppid", "openat", "400"]
    states = (("LMP_TCP_ESTABLISHED", 1), ("LMP_TCP_FIN_WAIT1", 4))
    e = Field("state", FieldKind.ENUM, 0, 4, "enum s", enum_values=states)
    m = meanings(StructLayout("s", 4, (e,)))["state"]
    col = int_col([4, 1, 9], "<u4")
    assert value_strings(e, m, col) == ["FIN_WAIT1", "ESTABLISHED", "9"]
    assert ecli_enum_strings(e, m, col) == [
        "FIN_WAIT1(4)",
        "ESTABLISHED(1)",
        "<UNKNOWN_VARIANT>(9)",
    ]


def test_integer_enumerations_by_table():
    i32 = Field("newstate", FieldKind.INT, 0, 4, "int", True)
    col = int_col([1, 4, 12, 77], "<i4")
    got = value_strings(i32, Meaning(Role.ENUM, names="tcp_state"), col)
    assert got == ["ESTABLISHED", "FIN_WAIT1", "NEW_SYN_RECV", "77"]
    proto = Field("p", FieldKind.INT, 0, 2, "__u16")
    got = value_strings(
        proto, Meaning(Role.ENUM, names="eth_proto"), int_col([0x800, 0x86DD, 0x1234], "<u2")
    )
    assert got == ["IPv4", "IPv6", "0x1234"]
    got = value_strings(proto, Meaning(Role.ENUM, names="ip_proto"), int_col([6, 17, 58, 0], "<u2"))
    assert got == ["TCP", "UDP", "ICMPv6", "0"]
    got = value_strings(proto, Meaning(Role.ENUM, names="family"), int_col([2, 10, 999], "<u2"))
    assert got == ["AF_INET", "AF_INET6", "999"]


def test_syscall_table_is_the_syscount_readme_table():
    """One table in the code; the README documents the same one."""
    readme = (ROOT / "lmp_tui/hub/syscount/README.md").read_text()
    documented = {int(n): name for n, name in re.findall(r"\| (\d+) \| `(\w+)`", readme)}
    assert syscall_names("x86_64") == documented
    assert (
        syscall_name(110, "x86_64") == "getppid" and syscall_number("sys_openat", "x86_64") == 257
    )
    assert syscall_names("aarch64") == {} and syscall_name(110, "aarch64") == "110"


def test_ids_whole_and_kernel_pointers_in_hex():
    tcp = hub_layout("tcpstates")
    got = shown(tcp, {"skaddr": 0xFFFF888812345678, "pid": 123456})
    assert got["skaddr"] == ["0xffff888812345678"]
    assert got["pid"] == ["123456"]  # never 123k


# -- addresses, ports, timestamps -----------------------------------------------------------------

LOOPBACK6 = bytes(15) + b"\x01"


def test_hub_tcpstates_endpoints():
    tcp = hub_layout("tcpstates")
    assert joined_endpoints(tcp) == [Endpoint("saddr", "sport"), Endpoint("daddr", "dport")]
    arr = rows(
        tcp,
        {"family": 2, "saddr": bytes([127, 0, 0, 1]), "sport": 36273, "dport": 80,
         "daddr": bytes([10, 0, 0, 2])},
        {"family": 10, "saddr": LOOPBACK6, "sport": 443, "daddr": bytes(16), "dport": 5},
        {"family": 1, "saddr": b"\x07", "sport": 1},
    )  # fmt: skip
    assert endpoint_strings(tcp, arr, Endpoint("saddr", "sport")) == [
        "127.0.0.1:36273",
        "[::1]:443",
        "[7,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]:1",  # an unknown family: the raw value, as before
    ]
    assert endpoint_strings(tcp, arr, Endpoint("daddr", "dport"))[:2] == ["10.0.0.2:80", "[::]:5"]


def test_upstream_endpoints_pair_by_side():
    u128 = Field("", FieldKind.INT128, 0, 16)
    fields = (
        Field("family", FieldKind.INT, 0, 2, "__u16"),
        Field("lport", FieldKind.INT, 2, 2, "__u16"),
        Field("src_port", FieldKind.INT, 4, 2, "__u16"),
        Field("saddr", u128.kind, 16, 16, "unsigned __int128"),
        Field("laddr", u128.kind, 32, 16, "unsigned __int128"),
        Field("daddr", u128.kind, 48, 16, "unsigned __int128"),  # no dport: left alone
    )
    layout = StructLayout("event", 64, fields)
    assert joined_endpoints(layout) == [Endpoint("saddr", "src_port"), Endpoint("laddr", "lport")]
    assert Endpoint("saddr", "src_port").name == "saddr:src_port"


# -- transitions ----------------------------------------------------------------------------------

# include/net/tcp_states.h numbers
ESTABLISHED, SYN_SENT, FIN_WAIT1, CLOSE = 1, 2, 4, 7


def test_hub_tcpstates_states_join_into_one_transition():
    tcp = hub_layout("tcpstates")
    assert transitions(tcp) == [Transition("oldstate", "newstate")]
    assert Transition("oldstate", "newstate").name == "oldstate→newstate"
    arr = rows(
        tcp,
        {"oldstate": CLOSE, "newstate": SYN_SENT},
        {"oldstate": SYN_SENT, "newstate": ESTABLISHED},
        {"oldstate": CLOSE, "newstate": SYN_SENT},
        {"oldstate": ESTABLISHED, "newstate": 99},  # no name: the number, as the field shows it
    )
    assert transition_strings(tcp, arr, Transition("oldstate", "newstate")) == [
        "CLOSE → SYN_SENT",
        "SYN_SENT → ESTABLISHED",
        "CLOSE → SYN_SENT",
        "ESTABLISHED → 99",
    ]
    assert transition_strings(tcp, arr[:0], Transition("oldstate", "newstate")) == []


def test_upstream_integer_states_join_by_their_table():
    """libbpf-tools' tcpstates: ``int oldstate, newstate``, named by the kernel's table."""
    fields = (
        Field("family", FieldKind.INT, 0, 2, "__u16"),
        Field("sport", FieldKind.INT, 2, 2, "__u16"),
        Field("oldstate", FieldKind.INT, 4, 4, "int", True),
        Field("newstate", FieldKind.INT, 8, 4, "int", True),
    )
    layout = StructLayout("event", 12, fields)
    assert transitions(layout) == [Transition("oldstate", "newstate")]
    arr = rows(layout, {"oldstate": ESTABLISHED, "newstate": FIN_WAIT1})
    assert transition_strings(layout, arr, transitions(layout)[0]) == ["ESTABLISHED → FIN_WAIT1"]


def test_transitions_need_two_sides_of_one_enum():
    states = (("S_UP", 1), ("S_DOWN", 2))
    other = (("K_A", 1), ("K_B", 2))

    def enum(name: str, offset: int, values: tuple[tuple[str, int], ...] = states) -> Field:
        return Field(name, FieldKind.ENUM, offset, 4, "enum e", enum_values=values)

    def pairs(*fields: Field) -> list[Transition]:
        return transitions(StructLayout("event", 4 * len(fields), fields))

    # old/new, prev/next, from/to, any case, with or without an underscore
    assert pairs(enum("prev_state", 0), enum("next_state", 4)) == [
        Transition("prev_state", "next_state")
    ]
    assert pairs(enum("NewLink", 0), enum("OldLink", 4)) == [Transition("OldLink", "NewLink")]
    assert pairs(enum("from", 0), enum("to", 4)) == [Transition("from", "to")]
    # not one enum, no partner, another suffix, or no enum at all: left alone
    assert pairs(enum("oldstate", 0), enum("newstate", 4, other)) == []
    assert pairs(enum("oldstate", 0), enum("state", 4)) == []
    assert pairs(enum("oldstate", 0), enum("newmode", 4)) == []
    ids = (Field("old_pid", FieldKind.INT, 0, 4, "int", True),)
    assert pairs(*ids, Field("new_pid", FieldKind.INT, 4, 4, "int", True)) == []


def test_a_python_call_per_distinct_transition_not_per_event(monkeypatch):
    tcp = hub_layout("tcpstates")
    way = [(CLOSE, SYN_SENT), (SYN_SENT, ESTABLISHED), (ESTABLISHED, FIN_WAIT1)]
    arr = rows(tcp, *[{"oldstate": o, "newstate": n} for o, n in way] * 2000)
    sizes: list[int] = []
    real = meaning_module.value_strings

    def counted(f: Field, m: Meaning, col: np.ndarray, **kw: Any) -> list[str]:
        sizes.append(len(col))
        return real(f, m, col, **kw)

    monkeypatch.setattr(meaning_module, "value_strings", counted)
    got = transition_strings(tcp, arr, Transition("oldstate", "newstate"))
    assert got[:3] == ["CLOSE → SYN_SENT", "SYN_SENT → ESTABLISHED", "ESTABLISHED → FIN_WAIT1"]
    assert got[3:6] == got[:3] and len(got) == len(arr)
    assert sizes == [len(way), len(way)]  # each side once, for the distinct pairs only


def test_timestamps_relative_and_wall():
    m = Meaning(Role.TIMESTAMP, "us")
    col = np.array([5_000_000, 5_001_500, 7_000_000], dtype="<u8")
    assert timestamp_strings(m, col) == ["0.000", "0.002", "2.000"]
    assert timestamp_strings(m, col, origin=4_000_000) == ["1.000", "1.002", "3.000"]
    offset = 1_700_000_000.0  # wall time at CLOCK_MONOTONIC 0
    wall = timestamp_strings(m, col, wall=True, offset=offset)
    clock = time.strftime("%H:%M:%S", time.localtime(offset + 5))
    assert wall[:2] == [f"{clock}.000", f"{clock}.001"]
    assert timestamp_strings(m, col[:0]) == []


# -- scales ---------------------------------------------------------------------------------------


def test_unit_labels_base_values_and_rates():
    pages, counter = Meaning(Role.GAUGE, "pages"), Meaning(Role.COUNTER)
    us = Meaning(Role.DURATION, "us")
    assert [unit_label(m) for m in (pages, counter, Meaning(Role.COUNTER, "bytes"), us)] == [
        "B", "/s", "B/s", "µs",
    ]  # fmt: skip
    assert unit_label(Meaning(Role.ID)) == unit_label(Meaning(Role.GAUGE)) == ""
    assert to_base(pages, np.array([2]), page_size=4096).tolist() == [8192.0]
    assert to_base(us, np.array([1500])).tolist() == [0.0015]
    assert format_base(pages, 1.5 * (1 << 30)) == "1.5 GiB"
    assert format_base(us, 0.0015) == "1.5 ms"
    assert format_base(counter, 1234) == "1.2k"
    assert format_rate(counter, 35) == "35/s"
    assert format_rate(Meaning(Role.COUNTER, "bytes"), 1.5 * (1 << 20)) == "1.5 MiB/s"
    assert [format_count(x) for x in (0, 5, 850, 999.4, 999.6, 12_500, 3.2e9)] == [
        "0", "5", "850", "999", "1k", "12k", "3.2G",
    ]  # fmt: skip


def test_a_python_call_per_distinct_value_not_per_event():
    calls: list[int] = []
    col = np.array([3, 1, 3, 3, 1] * 1000)

    def text(v: int) -> str:
        calls.append(v)
        return f"<{v}>"

    assert per_distinct(col, text)[:5] == ["<3>", "<1>", "<3>", "<3>", "<1>"]
    assert sorted(calls) == [1, 3]


# -- plain lmp run output -------------------------------------------------------------------------


def printed(program: str, *records: dict[str, Any], json_mode: bool = False) -> list[str]:
    spec = find_builtin(program).package.export()
    layout = spec.layout
    assert layout is not None
    raw = b"".join(record(layout, **r) for r in records)
    printer = BatchPrinter(ExportSpec("ringbuf", layout=layout), json_mode, program)
    batch = Batch(WHEN, raw, len(records), layout.size)
    text = printer.text(Decoded(batch, Decoders(events=Decoder(layout))))
    return ([] if json_mode else [printer.header() or ""]) + text.splitlines()


def test_plain_output_names_codes():
    header, ok, failed = printed(
        "opensnoop",
        {"pid": 7, "ret": 3, "flags": os.O_RDONLY | os.O_CLOEXEC, "fname": b"/etc/passwd"},
        {"pid": 7, "ret": -2, "flags": os.O_WRONLY | os.O_CREAT, "fname": b"/nope"},
    )
    assert header.split() == ["TIME", "PID", "TID", "UID", "RET", "FLAGS", "COMM", "FNAME"]
    assert ok.split()[1:] == ["7", "0", "0", "3", "O_RDONLY|O_CLOEXEC", "/etc/passwd"]
    assert failed.split()[1:] == ["7", "0", "0", "ENOENT", "O_WRONLY|O_CREAT", "/nope"]


def test_plain_output_keeps_quantities_and_ids_as_numbers():
    _, line = printed(
        "tcpstates",
        {"skaddr": 0xFFFF888812345678, "ts_us": 1234, "delta_us": 1500, "oldstate": 1,
         "newstate": 4, "family": 2, "sport": 36273, "saddr": bytes([127, 0, 0, 1])},
    )  # fmt: skip
    assert line.split()[1:10] == [
        str(0xFFFF888812345678), "1234", "1500", "0", "ESTABLISHED(1)", "FIN_WAIT1(4)", "2",
        "36273", "0",
    ]  # fmt: skip
    assert "127.0.0.1" in line
    _, procstat = printed("procstat", {"pid": 1, "comm": b"x", "rssanon": 393216})
    assert procstat.split()[8] == "393216"  # rssanon in pages, as ecli prints them
    _, sig = printed("sigsnoop", {"pid": 1, "sig": 10, "ret": -3})
    assert sig.split()[3:5] == ["10", "ESRCH"]  # signals stay numbers, as bcc's sigsnoop


def test_json_output_is_ecli_integers():
    [line] = printed("opensnoop", {"ret": -2, "flags": os.O_CLOEXEC}, json_mode=True)
    row = json.loads(line)
    assert row["ret"] == -2 and row["flags"] == os.O_CLOEXEC
    [tcp] = printed("tcpstates", {"newstate": 4, "skaddr": 5}, json_mode=True)
    assert json.loads(tcp)["newstate"] == "LMP_TCP_FIN_WAIT1(4)" and json.loads(tcp)["skaddr"] == 5
