"""Layouts from BTF and batch decoding, against ecli's JSON mapping (spec 4.7)."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmp_tui.runtime.errors import LayoutError
from lmp_tui.runtime.format.btf import Btf, BtfBuilder
from lmp_tui.runtime.format.layout import (
    FieldKind,
    StructLayout,
    layout_from_btf,
    layout_from_export,
)
from lmp_tui.runtime.format.package import ExportSpec
from lmp_tui.runtime.stream.batch import Batch
from lmp_tui.runtime.stream.decode import (
    Decoded,
    Decoder,
    Decoders,
    c_strings,
    json_line,
    plain_value,
)
from lmp_tui.runtime.stream.output import BatchPrinter


def rich_btf() -> tuple[Btf, int]:
    """A struct with every kind the decoder handles."""
    b = BtfBuilder()
    i32 = b.integer("int", 4, signed=True)
    u64 = b.integer("unsigned long long", 8)
    u8 = b.integer("unsigned char", 1)
    char = b.integer("char", 1, signed=True, char=True)
    boolean = b.integer("_Bool", 1, boolean=True)
    i128 = b.integer("__int128", 16, signed=True)
    u128 = b.integer("unsigned __int128", 16)
    f32 = b.floating("float", 4)
    color = b.enum("color", 4, [("RED", 0), ("GREEN", 1), ("BLUE", 7)])
    inner = b.struct("inner", 8, [("a", i32, 0), ("b", i32, 4)])
    un = b.struct("u", 4, [("x", i32, 0), ("bytes", b.array(u8, 4), 0)], union=True)
    names = b.array(b.array(char, 4), 2)
    ev = b.struct(
        "event",
        112,
        [
            ("pid", i32, 0),
            ("ok", boolean, 4),
            ("tiny", u8, 5),
            ("color", color, 8),
            ("comm", b.array(char, 8), 12),
            ("big", u64, 24),
            ("neg128", i128, 32),
            ("u128", u128, 48),
            ("f", f32, 64),
            ("pair", b.array(i32, 2), 68),
            ("in", inner, 76),
            ("un", un, 84),
            ("names", names, 88),
            ("ptr", b.ptr(inner), 96),
            ("grid", b.array(b.array(u8, 2), 2), 104),
        ],
    )
    return Btf.parse(b.build()), ev


def one_record() -> bytes:
    rec = bytearray(112)
    struct.pack_into("<i?B", rec, 0, -5, True, 200)
    struct.pack_into("<I", rec, 8, 7)
    rec[12:20] = b"bash\0xyz"
    struct.pack_into("<Q", rec, 24, 0x123456789ABCDEF0)
    rec[32:48] = (-1237940039285380274899124224).to_bytes(16, "little", signed=True)
    rec[48:64] = (2**127 + 5).to_bytes(16, "little")
    struct.pack_into("<f", rec, 64, 1.5)
    struct.pack_into("<ii", rec, 68, 1, -2)
    struct.pack_into("<ii", rec, 76, 3, 4)
    struct.pack_into("<i", rec, 84, 0x01020304)
    rec[88:96] = b"ab\0\0cd\0\0"
    struct.pack_into("<Q", rec, 96, 0xFFFF800000001000)
    rec[104:108] = bytes([1, 2, 3, 4])
    return bytes(rec)


def test_layout_kinds():
    btf, ev = rich_btf()
    layout = layout_from_btf(btf, ev)
    kinds = {f.name: f.kind for f in layout.fields}
    assert kinds == {
        "pid": FieldKind.INT,
        "ok": FieldKind.BOOL,
        "tiny": FieldKind.INT,
        "color": FieldKind.ENUM,
        "comm": FieldKind.STRING,
        "big": FieldKind.INT,
        "neg128": FieldKind.INT128,
        "u128": FieldKind.INT128,
        "f": FieldKind.FLOAT,
        "pair": FieldKind.ARRAY,
        "in": FieldKind.STRUCT,
        "un": FieldKind.UNION,
        "names": FieldKind.ARRAY,
        "ptr": FieldKind.PTR,
        "grid": FieldKind.ARRAY,
    }
    assert StructLayout.from_dict(layout.to_dict()) == layout


def test_decode_matches_ecli_json_mapping():
    btf, ev = rich_btf()
    dec = Decoder(layout_from_btf(btf, ev))
    [row] = dec.rows(dec.array(one_record()))
    assert row["pid"] == -5
    assert row["ok"] is True
    assert row["tiny"] == 200
    assert row["color"] == "BLUE(7)"
    assert row["comm"] == "bash"
    assert row["big"] == 0x123456789ABCDEF0
    assert row["neg128"] == "-1237940039285380274899124224"
    assert row["u128"] == str(2**127 + 5)
    assert row["f"] == 1.5
    assert row["pair"] == [1, -2]
    assert row["in"] == {"a": 3, "b": 4, "__EUNOMIA_TYPE": "struct", "__EUNOMIA_TYPE_NAME": "inner"}
    assert row["un"]["x"] == 0x01020304 and row["un"]["bytes"] == [4, 3, 2, 1]
    assert row["un"]["__EUNOMIA_TYPE"] == "union"
    assert row["names"] == ["ab", "cd"]
    assert row["ptr"] == 0xFFFF800000001000
    assert row["grid"] == [[1, 2], [3, 4]]


def test_unknown_enum_and_unterminated_string():
    b = BtfBuilder()
    char = b.integer("char", 1, signed=True, char=True)
    e = b.enum("op", 4, [("A", 1)])
    s = b.struct("s", 8, [("op", e, 0), ("name", b.array(char, 4), 4)])
    dec = Decoder(layout_from_btf(Btf.parse(b.build()), s))
    [row] = dec.rows(dec.array(struct.pack("<I", 9) + b"abcd"))
    assert row == {"op": "<UNKNOWN_VARIANT>(9)", "name": "abcd"}


def test_json_line_sorted_compact():
    assert json_line({"tpid": 2, "comm": "cat", "pid": 1}) == '{"comm":"cat","pid":1,"tpid":2}'
    assert plain_value(True) == "true" and plain_value([1, 2]) == "[1,2]"
    assert plain_value({"b": 1, "a": 2}) == '{"a":2,"b":1}'


def test_export_checker_rules():
    b = BtfBuilder()
    i32 = b.integer("int", 4, signed=True)
    s = b.struct("event", 8, [("pid", i32, 0), ("ret", i32, 4)])
    btf = Btf.parse(b.build())
    export = {
        "name": "event",
        "type_id": s,
        "size": 8,
        "members": [{"name": "pid", "type": "int"}, {"name": "other", "type": "int"}],
    }
    # Members whose names differ are skipped, as ecli's checker does.
    assert layout_from_export(btf, export).names == ["pid"]
    with pytest.raises(LayoutError, match="members"):
        layout_from_export(btf, {**export, "members": export["members"][:1]})
    with pytest.raises(LayoutError, match="not struct"):
        layout_from_export(btf, {**export, "name": "other"})


def test_bitfields_are_refused():
    b = BtfBuilder()
    i32 = b.integer("int", 4, signed=True)
    s = b.struct("bits", 4, [("a", i32, 0)])
    raw = bytearray(b.build())
    btf = Btf.parse(bytes(raw))
    btf[s].members[0].bitfield_size = 3
    with pytest.raises(LayoutError, match="bitfield"):
        layout_from_btf(btf, s)


@given(st.lists(st.binary(min_size=112, max_size=112), max_size=20))
def test_any_bytes_decode_without_error(records):
    btf, ev = rich_btf()
    dec = Decoder(layout_from_btf(btf, ev))
    rows = dec.rows(dec.array(b"".join(records), len(records)))
    assert len(rows) == len(records)
    for row in rows:
        json_line(row)


def test_batch_decode_is_vectorised():
    btf, ev = rich_btf()
    dec = Decoder(layout_from_btf(btf, ev))
    arr = dec.array(one_record() * 1000)
    assert isinstance(arr, np.ndarray) and len(arr) == 1000
    assert dec.columns(arr)["comm"] == ["bash"] * 1000


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(min_size=112, max_size=112), min_size=1, max_size=20), st.booleans())
def test_batch_text_equals_the_per_event_reference(records, json_mode):
    """The column-at-a-time printer writes exactly what formatting each event alone writes, for
    any bytes: stale bytes after a NUL, invalid UTF-8, quotes, control characters, wide values
    that push later columns right, NaN floats, every kind of field."""
    btf, ev = rich_btf()
    decoder = Decoder(layout_from_btf(btf, ev))
    raw = b"".join(records)
    arr = decoder.array(raw)
    printer = BatchPrinter(ExportSpec("ringbuf", layout=decoder.layout), json_mode)
    when = 1_700_000_000.0
    if json_mode:
        expected = [json_line(row) for row in decoder.rows(arr)]
    else:
        assert printer.table is not None
        expected = [printer.table.row(list(row.values()), when) for row in decoder.rows(arr)]
    batch = Batch(when, raw, len(records), decoder.layout.size)
    text = printer.text(Decoded(batch, Decoders(events=decoder)))
    assert text == "".join(line + "\n" for line in expected)


@given(st.lists(st.binary(max_size=12), max_size=30))
def test_c_strings_cut_at_the_first_nul_like_c(values):
    col = np.array(values, dtype="S12")
    assert c_strings(col) == [v.split(b"\0", 1)[0].decode("utf-8", "replace") for v in values]
