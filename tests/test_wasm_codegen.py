"""The C that ``lmp gen-wasm-skel`` writes prints what ``lmp run -j`` prints.

A layout with every field kind (nested arrays, arrays of structs, unions, enums, 128-bit integers,
floats, strings without a NUL) is turned into ``<stem>.wasm.h`` plus ``print_event``, compiled for
wasm32-wasi with a record embedded, run by the wasm host, and compared with the Python decoder's
row for the same bytes. No kernel needed.
"""

from __future__ import annotations

import io
import json
import random
import struct
import subprocess

import pytest

from lmp_tui.runtime.author.templates import templates_root
from lmp_tui.runtime.author.wasm_build import c_string, event_handler, event_header, wasi_sysroot
from lmp_tui.runtime.format.layout import Field, FieldKind, StructLayout
from lmp_tui.runtime.stream.decode import Decoder
from lmp_tui.runtime.wasm.host import run_wasm

K = FieldKind
POINT = (Field("x", K.INT, 0, 1, "u8"), Field("y", K.INT, 1, 1, "u8"))
LAYOUT = StructLayout(
    "sample",
    96,
    (
        Field("a", K.INT, 0, 4, "int", signed=True),
        Field("b", K.INT, 8, 8, "unsigned long long"),
        Field("f", K.FLOAT, 16, 8, "double", signed=True),
        Field("g", K.FLOAT, 24, 4, "float", signed=True),
        Field("flag", K.BOOL, 28, 1, "bool"),
        Field("e", K.ENUM, 32, 4, "enum e", signed=True, enum_values=(("NEG", -1), ("ONE", 1))),
        Field("name", K.STRING, 36, 8, "char[8]"),
        Field(
            "grid",
            K.ARRAY,
            44,
            12,
            "short[2][3]",
            dims=(2, 3),
            elem=Field("", K.INT, 0, 2, "short", signed=True),
        ),
        Field(
            "pts",
            K.ARRAY,
            56,
            4,
            "struct point[2]",
            dims=(2,),
            elem=Field("", K.STRUCT, 0, 2, "point", members=POINT),
        ),
        Field(
            "u",
            K.UNION,
            60,
            4,
            "word",
            members=(Field("i", K.INT, 0, 4, "u32"), Field("c", K.STRING, 0, 4, "char[4]")),
        ),
        Field("big", K.INT128, 64, 16, "__int128", signed=True),
        Field("p", K.PTR, 80, 8, "void *"),
        # 88..96: tail padding
    ),
)

HARNESS = """
#include <stdio.h>
#include <string.h>
#include "lmp-wasm-app.h"
#include "sample.wasm.h"

static unsigned char records[][96] = {
@@RECORDS@@
};

@@HANDLER@@
int main(void)
{
	for (size_t i = 0; i < sizeof(records) / sizeof(records[0]); i++)
		handle_event(NULL, records[i], sizeof(records[i]));
	/* a record cut short by the host reads as zeros past its end */
	handle_event(NULL, records[0], 10);
	return 0;
}
"""


def record(rng: random.Random, name: bytes, enum: int, big: int) -> bytes:
    raw = bytearray(rng.randbytes(96))
    struct.pack_into("<i", raw, 32, enum)
    raw[36:44] = name.ljust(8, b"\0")
    raw[28] = rng.choice([0, 1])
    struct.pack_into("<d", raw, 16, rng.uniform(-1e6, 1e6))
    struct.pack_into("<f", raw, 24, 1.5)
    raw[64:80] = big.to_bytes(16, "little", signed=True)
    raw[60:64] = b"ab\0d"
    return bytes(raw)


@pytest.fixture(scope="module")
def printed(tmp_path_factory) -> tuple[list[bytes], list[dict]]:
    rng = random.Random(7)
    records = [
        record(rng, b'a"b\\c\x01z!', -1, -(1 << 100)),  # no NUL: all 8 bytes, escaped
        record(rng, b"short", 1, (1 << 127) - 1),
        record(rng, b"", 5, 0),  # an enum value with no name
    ]
    tmp = tmp_path_factory.mktemp("codegen")
    (tmp / "sample.wasm.h").write_text(event_header(LAYOUT, "sample"))
    rows = ",\n".join("\t{" + ", ".join(f"0x{b:02x}" for b in r) + "}" for r in records)
    source = HARNESS.replace("@@RECORDS@@", rows).replace("@@HANDLER@@", event_handler(LAYOUT))
    (tmp / "harness.c").write_text(source)
    out = tmp / "harness.wasm"
    cmd = [
        "clang",
        "--target=wasm32-wasi",
        f"--sysroot={wasi_sysroot()}",
        "-O2",
        "-Wall",
        "-Werror",
        "-Wno-unused-function",
        f"-I{templates_root() / 'wasm'}",
        f"-I{tmp}",
        str(tmp / "harness.c"),
        "-o",
        str(out),
    ]
    subprocess.run(cmd, check=True)
    stdout, stderr = io.StringIO(), io.StringIO()
    assert run_wasm(out.read_bytes(), [], stdout, stderr) == 0, stderr.getvalue()
    return records, [json.loads(line) for line in stdout.getvalue().splitlines()]


def test_generated_printing_matches_the_decoder(printed):
    records, rows = printed
    decoder = Decoder(LAYOUT)
    expected = decoder.rows(decoder.array(b"".join(records), len(records)))
    assert rows[: len(records)] == expected


def test_fields_come_in_struct_order_with_ecli_encodings(printed):
    _, rows = printed
    first = rows[0]
    assert list(first) == [f.name for f in LAYOUT.fields]
    assert first["name"] == 'a"b\\c\x01z!'
    assert first["e"] == "NEG(-1)" and rows[2]["e"] == "<UNKNOWN_VARIANT>(5)"
    assert first["big"] == str(-(1 << 100)) and rows[1]["big"] == str((1 << 127) - 1)
    assert first["g"] == 1.5
    assert first["u"]["c"] == "ab" and first["u"]["__EUNOMIA_TYPE"] == "union"
    assert len(first["grid"]) == 2 and len(first["grid"][0]) == 3
    assert first["pts"][1]["__EUNOMIA_TYPE_NAME"] == "point"


def test_a_short_record_reads_as_zeros(printed):
    records, rows = printed
    short = rows[-1]
    assert short["a"] == struct.unpack_from("<i", records[0])[0]
    assert short["b"] == int.from_bytes(records[0][8:10], "little")
    assert short["name"] == "" and short["big"] == "0" and short["flag"] is False


def test_the_header_keeps_the_bpf_layout():
    text = event_header(LAYOUT, "sample")
    assert "struct __attribute__((packed)) sample {" in text
    assert "char __pad0[4];" in text  # between a (4 bytes) and b (at 8)
    assert "int16_t grid[2][3];" in text
    assert "_Static_assert(sizeof(struct sample) == 96," in text


def test_c_string_escapes():
    assert c_string('a"b\\c\nd\x01') == 'a\\"b\\\\c\\nd\\001'
