"""IP addresses show as addresses in text (plain output, the TUI), never in JSON.

The rule (lmp_tui/runtime/stream/addresses.py): a 4- or 16-byte integer or integer array named
like an address, with a family field beside it, or annotated with ``"format"`` in
``export_types``. Bytes are in memory (network) order.
"""

from __future__ import annotations

import ipaddress
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmp_tui.runtime.distribution.hub import find_builtin
from lmp_tui.runtime.errors import LayoutError
from lmp_tui.runtime.format.btf import Btf, BtfBuilder
from lmp_tui.runtime.format.layout import (
    Field,
    FieldKind,
    StructLayout,
    layout_from_export,
)
from lmp_tui.runtime.format.package import ExportSpec
from lmp_tui.runtime.stream.addresses import (
    IPV6_WIDTH,
    Address,
    address_strings,
    addresses,
    looks_like_address,
)
from lmp_tui.runtime.stream.batch import Batch
from lmp_tui.runtime.stream.decode import Decoded, Decoder, Decoders, json_line
from lmp_tui.runtime.stream.output import BatchPrinter, plain_strings
from lmp_tui.runtime.stream.query import Filter, Sort
from lmp_tui.runtime.stream.store import EventStore
from lmp_tui.tui.formatting import columns
from lmp_tui.tui.table_models import StoreRows
from lmp_tui.widgets.details import _layout_table

ROOT = Path(__file__).resolve().parents[1]
LMP = [sys.executable, "-m", "lmp_tui.cli"]  # as conftest's (not imported: tests/fuzz has one too)
WHEN = 1_700_000_000.0
LOOPBACK4 = bytes([127, 0, 0, 1])
LOOPBACK6 = bytes(15) + b"\x01"

# -- layouts, as a package's export_types and BTF give them ---------------------------------------


def exported(
    members: list[tuple[str, str, int]], size: int, formats: dict[str, str] | None = None
) -> StructLayout:
    """``struct event`` of ``members`` (name, type, offset); types: u8, u16, u32, u64, u128,
    u8[4], u8[16], u32[4], u64[2]. ``formats`` annotate members as export_types can."""
    b = BtfBuilder()
    u8 = b.integer("unsigned char", 1)
    u16 = b.integer("unsigned short", 2)
    u32 = b.integer("unsigned int", 4)
    u64 = b.integer("unsigned long long", 8)
    types = {
        "u8": u8,
        "u16": u16,
        "u32": u32,
        "u64": u64,
        "u128": b.integer("unsigned __int128", 16),
        "u8[4]": b.array(u8, 4),
        "u8[16]": b.array(u8, 16),
        "u32[4]": b.array(u32, 4),
        "u64[2]": b.array(u64, 2),
    }
    ev = b.struct("event", size, [(n, types[t], off) for n, t, off in members])
    formats = formats or {}
    export = {
        "name": "event",
        "type_id": ev,
        "members": [
            {"name": n, "type": t, **({"format": formats[n]} if n in formats else {})}
            for n, t, _ in members
        ],
    }
    return layout_from_export(Btf.parse(b.build()), export)


def u128_layout() -> StructLayout:
    """eunomia's tcpstates: ``unsigned __int128 saddr, daddr`` and a ``family``."""
    return exported(
        [("family", "u16", 0), ("saddr", "u128", 16), ("daddr", "u128", 32), ("pid", "u32", 48)],
        64,
    )


def u8_layout() -> StructLayout:
    """The Hub's tcpstates: ``__u8 saddr[16], daddr[16]`` and a ``family``."""
    return exported([("family", "u16", 0), ("saddr", "u8[16]", 2), ("daddr", "u8[16]", 18)], 34)


def u32_layout() -> StructLayout:
    return exported([("af", "u8", 0), ("src_ip", "u32", 4), ("dst_ip", "u32", 8)], 12)


def record(layout: StructLayout, **values: Any) -> bytes:
    """One record: ints packed little-endian at their field's offset, bytes as they are."""
    rec = bytearray(layout.size)
    for name, value in values.items():
        f = layout.field(name)
        raw = value if isinstance(value, bytes) else value.to_bytes(f.size, "little")
        assert len(raw) <= f.size
        rec[f.offset : f.offset + len(raw)] = raw
    return bytes(rec)


def plain(layout: StructLayout, records: list[bytes]) -> list[dict[str, str]]:
    """``lmp run``'s plain output of these records, each line split back into its columns."""
    printer = BatchPrinter(ExportSpec("ringbuf", layout=layout))
    raw = b"".join(records)
    batch = Batch(WHEN, raw, len(records), layout.size)
    text = printer.text(Decoded(batch, Decoders(events=Decoder(layout))))
    header = printer.header()
    assert header is not None
    names = header.split()
    return [dict(zip(names, line.split(), strict=True)) for line in text.splitlines()]


def json_lines(layout: StructLayout, records: list[bytes]) -> list[str]:
    printer = BatchPrinter(ExportSpec("ringbuf", layout=layout), json_mode=True)
    batch = Batch(WHEN, b"".join(records), len(records), layout.size)
    return printer.text(Decoded(batch, Decoders(events=Decoder(layout)))).splitlines()


def rows_of(layout: StructLayout, records: list[bytes]) -> np.ndarray:
    return Decoder(layout).array(b"".join(records))


# -- the rule --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["saddr", "daddr", "addr", "ip", "src_ip", "dst_ip", "sip", "saddr_v6", "daddr6", "ipv4",
     "SADDR", "remote_addr", "ip6", "saddr_v4"],
)  # fmt: skip
def test_address_names(name):
    assert looks_like_address(name)


@pytest.mark.parametrize(
    "name", ["family", "pid", "sport", "address", "ipc", "v6", "6", "addrs", "comm", "ips"]
)
def test_names_that_are_not_addresses(name):
    assert not looks_like_address(name)


def test_u128_and_u8_16_with_family_are_addresses_by_family():
    for layout in (u128_layout(), u8_layout()):
        found = addresses(layout)
        assert sorted(a.field.name for a in found.values()) == ["daddr", "saddr"]
        assert all(a.version == 0 and a.family == 0 for a in found.values())
        assert all(a.width == IPV6_WIDTH for a in found.values())


def test_u32_with_family_is_ipv4_wide():
    found = addresses(u32_layout())
    assert [a.field.name for a in found.values()] == ["src_ip", "dst_ip"]
    assert {a.width for a in found.values()} == {15}


def test_a_name_without_a_family_is_not_enough():
    layout = exported([("saddr", "u32", 0), ("daddr", "u128", 16)], 32)
    assert addresses(layout) == {}


def test_only_address_sized_integer_fields():
    layout = exported(
        [("family", "u16", 0), ("addr", "u64", 8), ("saddr", "u8[4]", 16), ("ip", "u32[4]", 20),
         ("daddr", "u64[2]", 40)],
        56,
    )  # fmt: skip
    found = {a.field.name: a for a in addresses(layout).values()}
    assert sorted(found) == ["daddr", "ip", "saddr"]  # not the 8-byte addr


def test_annotations_fix_the_version_or_go_by_family():
    layout = exported(
        [("remote", "u32", 0), ("addr", "u32", 4), ("peer", "u128", 16), ("dst", "u8[16]", 32),
         ("local", "u8[16]", 48)],
        64,
        {"remote": "ipv4", "peer": "ipv6", "dst": "ip", "local": "ipv4"},
    )  # fmt: skip
    found = {a.field.name: a.version for a in addresses(layout).values()}
    # no family field: the name ``addr`` alone is not an address; ``ip`` goes by size
    assert found == {"remote": 4, "peer": 6, "dst": 6, "local": 4}
    with_family = exported(
        [("family", "u16", 0), ("peer", "u128", 16)], 32, {"peer": "ip"}
    )  # an address by family although its name does not say so
    assert [a.version for a in addresses(with_family).values()] == [0]


@pytest.mark.parametrize(
    ("member", "fmt", "why"),
    [
        (("a", "u32", 0), "ipv6", "needs 16 bytes"),
        (("a", "u64", 0), "ipv4", "4 or 16 bytes"),
        (("a", "u32", 0), "ipv5", "unknown format"),
    ],
)
def test_bad_annotations_are_refused(member, fmt, why):
    with pytest.raises(LayoutError, match=why):
        exported([member], 16, {member[0]: fmt})


# -- plain output ------------------------------------------------------------------------------------


def test_u128_addresses_print_by_family():
    layout = u128_layout()
    mapped = ipaddress.IPv6Address("::ffff:10.0.0.1").packed
    lines = plain(
        layout,
        [
            record(layout, family=2, saddr=LOOPBACK4, daddr=bytes([10, 1, 2, 3]), pid=1),
            record(layout, family=10, saddr=LOOPBACK6, daddr=mapped, pid=2),
            record(layout, family=7, saddr=LOOPBACK4, daddr=b"", pid=3),
        ],
    )
    assert [(r["SADDR"], r["DADDR"]) for r in lines] == [
        ("127.0.0.1", "10.1.2.3"),
        ("::1", str(ipaddress.IPv6Address(mapped))),
        # an unknown family: the raw value as before, the u128 read little-endian
        (str(int.from_bytes(LOOPBACK4, "little")), "0"),
    ]


def test_u8_16_addresses_print_by_family():
    layout = u8_layout()
    lines = plain(
        layout,
        [
            record(layout, family=2, saddr=LOOPBACK4 + b"\xff" * 12, daddr=bytes(16)),
            record(layout, family=10, saddr=LOOPBACK6, daddr=bytes(16)),
            record(layout, family=0, saddr=LOOPBACK4),
        ],
    )
    assert [(r["SADDR"], r["DADDR"]) for r in lines] == [
        ("127.0.0.1", "0.0.0.0"),  # only the first 4 bytes count for AF_INET
        ("::1", "::"),
        ("[127,0,0,1,0,0,0,0,0,0,0,0,0,0,0,0]", "[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]"),
    ]


def test_u32_addresses_are_network_order():
    layout = u32_layout()
    lines = plain(
        layout,
        [
            record(layout, af=2, src_ip=bytes([192, 168, 1, 20]), dst_ip=LOOPBACK4),
            record(layout, af=10, src_ip=LOOPBACK4),  # 4 bytes cannot hold an IPv6 address
        ],
    )
    assert [(r["SRC_IP"], r["DST_IP"]) for r in lines] == [
        ("192.168.1.20", "127.0.0.1"),
        (str(int.from_bytes(LOOPBACK4, "little")), "0"),
    ]


def test_annotated_addresses_print_without_a_family():
    layout = exported(
        [("remote", "u32", 0), ("addr", "u32", 4), ("peer", "u128", 16)],
        32,
        {"remote": "ipv4", "peer": "ipv6"},
    )
    [line] = plain(layout, [record(layout, remote=LOOPBACK4, addr=LOOPBACK4, peer=LOOPBACK6)])
    assert line == {
        "TIME": line["TIME"],
        "REMOTE": "127.0.0.1",
        "ADDR": str(int.from_bytes(LOOPBACK4, "little")),  # not annotated, no family
        "PEER": "::1",
    }


def test_address_columns_are_wide_enough_to_stay_aligned():
    layout = u8_layout()
    printer = BatchPrinter(ExportSpec("ringbuf", layout=layout))
    assert printer.table is not None
    assert printer.table.header == "TIME     FAMILY " + "SADDR".ljust(39) + " DADDR".ljust(41)
    text = printer.text(
        Decoded(
            Batch(WHEN, record(layout, family=10, saddr=b"\xfe\x80" + b"\xab" * 14), 1, 34),
            Decoders(events=Decoder(layout)),
        )
    )
    wide = "fe80:abab:abab:abab:abab:abab:abab:abab"
    assert len(wide) == 39
    assert text.index("::") == printer.table.offsets[2]  # DADDR starts on its column


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=16, max_size=16), st.booleans())
def test_any_16_bytes_with_af_inet6_is_that_ipv6_address(raw, as_u128):
    layout = u128_layout() if as_u128 else u8_layout()
    rows = rows_of(layout, [record(layout, family=10, saddr=raw)])
    address = addresses(layout)[1]
    [text] = address_strings(address, rows, lambda col: pytest.fail("not an address"))
    assert text == str(ipaddress.IPv6Address(raw))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.binary(min_size=4, max_size=4), st.sampled_from([2, 10, 0])),
                min_size=1, max_size=40))  # fmt: skip
def test_any_4_bytes_with_af_inet_is_that_ipv4_address(values):
    """In one batch of mixed families, each event goes by its own."""
    layout = u32_layout()
    rows = rows_of(layout, [record(layout, af=fam, src_ip=raw) for raw, fam in values])
    address = addresses(layout)[1]
    texts = address_strings(address, rows, lambda col: [f"raw {v}" for v in col.tolist()])
    assert texts == [
        str(ipaddress.IPv4Address(raw)) if fam == 2 else f"raw {int.from_bytes(raw, 'little')}"
        for raw, fam in values
    ]


def test_an_empty_batch():
    layout = u8_layout()
    address = addresses(layout)[1]
    assert address_strings(address, rows_of(layout, []), lambda col: []) == []


# -- JSON stays ecli's -----------------------------------------------------------------------------


def test_json_keeps_integers_and_arrays():
    """``lmp run -j`` stays ``ecli run -j``: the decoder's rows, integers and arrays."""
    for layout, family, src in (
        (u128_layout(), "family", "saddr"),
        (u8_layout(), "family", "saddr"),
        (u32_layout(), "af", "src_ip"),
    ):
        records = [
            record(layout, **{family: 2, src: LOOPBACK4}),
            record(layout, **{family: 10, src: LOOPBACK6 if layout.field(src).size == 16 else b""}),
        ]
        expected = [json_line(row) for row in Decoder(layout).rows(rows_of(layout, records))]
        assert json_lines(layout, records) == expected
        assert "127.0.0.1" not in "".join(expected) and "::" not in "".join(expected)
    layout = u128_layout()
    [line] = json_lines(layout, [record(layout, family=2, saddr=LOOPBACK4, pid=5)])
    loopback = int.from_bytes(LOOPBACK4, "little")
    assert line == f'{{"daddr":"0","family":2,"pid":5,"saddr":"{loopback}"}}'
    layout = u8_layout()
    [line] = json_lines(layout, [record(layout, family=2, saddr=LOOPBACK4)])
    assert '"saddr":[127,0,0,1,0,0,0,0,0,0,0,0,0,0,0,0]' in line


# -- layouts in recordings --------------------------------------------------------------------------


def test_the_annotation_round_trips_and_old_layouts_load():
    layout = exported([("remote", "u32", 0), ("peer", "u128", 16)], 32, {"remote": "ipv4"})
    d = layout.to_dict()
    assert d["fields"][0]["format"] == "ipv4" and "format" not in d["fields"][1]
    again = StructLayout.from_dict(d)
    assert again == layout and again.field("remote").format == "ipv4"
    for f in d["fields"]:
        f.pop("format", None)  # as a recording made before the annotation existed
    old = StructLayout.from_dict(d)
    assert [f.format for f in old.fields] == ["", ""]
    assert addresses(old) == {}


def test_a_recorded_bad_annotation_is_refused():
    d = StructLayout("e", 8, (Field("a", FieldKind.INT, 0, 8, "u64"),)).to_dict()
    d["fields"][0]["format"] = "ipv4"
    with pytest.raises(LayoutError, match="4 or 16 bytes"):
        StructLayout.from_dict(d)


def test_hub_tcpstates_shows_addresses_by_family():
    layout = find_builtin("tcpstates").package.export().layout
    assert layout is not None
    found = {a.field.name: a for a in addresses(layout).values()}
    assert sorted(found) == ["daddr", "saddr"]
    assert all(layout.fields[a.family or 0].name == "family" for a in found.values())


# -- the TUI -----------------------------------------------------------------------------------------


def test_tui_cells_show_addresses():
    layout = u8_layout()
    store = EventStore(layout, 16)
    records = [
        record(layout, family=2, saddr=LOOPBACK4, daddr=LOOPBACK4),
        record(layout, family=10, saddr=LOOPBACK6),
        record(layout, family=3, saddr=b"\x01"),
    ]
    store.append(rows_of(layout, records), WHEN)
    model = StoreRows(store)
    assert model.query(Sort(), Filter()) == 3
    names = [c.name for c in model.columns()]
    assert names[0] == "time"  # the arrival time comes first in every event table
    saddr, daddr = names.index("saddr"), names.index("daddr")
    cells = [[row[saddr], row[daddr]] for row in model.texts(0, 3)]
    assert cells == [
        ["127.0.0.1", "127.0.0.1"],
        ["::1", "::"],
        ["[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]", "[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]"],
    ]
    specs = {c.name: c for c in model.columns()}
    assert not specs["saddr"].numeric and specs["saddr"].width >= 15


def test_tui_u32_address_is_text_not_a_number():
    layout = u32_layout()
    [_af, src, dst] = columns(layout)
    assert isinstance(src.address, Address) and not src.numeric
    rows = rows_of(layout, [record(layout, af=2, src_ip=LOOPBACK4, dst_ip=LOOPBACK4)])
    assert src.texts(rows) == ["127.0.0.1"] == dst.texts(rows)


def test_details_pane_says_how_addresses_show():
    layout = u8_layout()
    table = _layout_table("fields", layout, addresses(layout))
    kinds = list(table.columns[2].cells)
    assert kinds == ["int", "array (IP by family)", "array (IP by family)"]


def test_plain_strings_unchanged_for_other_fields():
    """Columns that are not addresses print as before (ecli's plain dumper)."""
    layout = u8_layout()
    rows = rows_of(layout, [record(layout, family=2, saddr=LOOPBACK4)])
    names = rows.dtype.names or ()
    assert plain_strings(layout.fields[0], rows[names[0]]) == ["2"]


# -- the kernel --------------------------------------------------------------------------------------


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def _connect(family: socket.AddressFamily, host: str) -> tuple[int, int]:
    """A whole TCP connection over loopback; its (listener, client) ports."""
    with socket.socket(family, socket.SOCK_STREAM) as listener:
        listener.bind((host, 0))
        listener.listen()
        port = listener.getsockname()[1]
        with socket.create_connection((host, port)) as client:
            cport = client.getsockname()[1]
            served, _ = listener.accept()
        served.close()
    return port, cport


@pytest.mark.usefixtures("no_leaks")
def test_hub_tcpstates_prints_loopback_addresses():
    proc = subprocess.Popen(
        [*LMP, "run", "tcpstates", "--duration", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    watchdog = threading.Timer(90, proc.kill)
    watchdog.start()
    try:
        assert proc.stderr is not None
        said = ""
        while "waiting for events" not in said:  # attached: connections are seen from now
            line = proc.stderr.readline()
            assert line, said + proc.stderr.read()
            said += line
        wanted = {(2, "127.0.0.1"): _connect(socket.AF_INET, "127.0.0.1")}
        if _ipv6_loopback():
            wanted[(10, "::1")] = _connect(socket.AF_INET6, "::1")
        time.sleep(0.5)  # a poll or two: then Ctrl-C, which drains what the kernel holds
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + signal.SIGINT, err
    header, *lines = out.splitlines()
    names = header.split()
    rows = [dict(zip(names, line.split(), strict=False)) for line in lines]
    for (family, host), (port, cport) in wanted.items():
        mine = [r for r in rows if {r["SPORT"], r["DPORT"]} == {str(port), str(cport)}]
        assert mine, f"no events of the {host} connection in:\n{out}"
        for r in mine:
            assert (r["FAMILY"], r["SADDR"], r["DADDR"]) == (str(family), host, host), r
