"""Event-table columns by meaning: sizes in bytes, addresses joined with their ports, errno
names, a time column first, a default set per program and a chooser (``c``) that the config
file remembers."""

from __future__ import annotations

import struct
import time
from pathlib import Path

from test_tui_pilot import make_app, start, view
from textual.widgets import SelectionList

from lmp_tui.runtime.config import Config, TuiSettings, load_config
from lmp_tui.runtime.distribution.hub import find_builtin
from lmp_tui.runtime.format.layout import Field, FieldKind, StructLayout
from lmp_tui.runtime.lazy import np
from lmp_tui.runtime.stream.decode import Decoder
from lmp_tui.runtime.stream.query import Filter, Sort
from lmp_tui.runtime.stream.store import EventStore
from lmp_tui.tui.column_sets import DEFAULT_COLUMNS, default_columns, with_choice
from lmp_tui.tui.formatting import columns, time_column
from lmp_tui.tui.screens import ColumnChooser
from lmp_tui.tui.table_models import StoreRows

PAGE = 4096
WHEN = 1_700_000_000.0


def i32(name: str, offset: int) -> Field:
    return Field(name, FieldKind.INT, offset, 4, "int", signed=True)


def i64(name: str, offset: int) -> Field:
    return Field(name, FieldKind.INT, offset, 8, "long long", signed=True)


def u16(name: str, offset: int) -> Field:
    return Field(name, FieldKind.INT, offset, 2, "__u16")


def comm(offset: int) -> Field:
    return Field("comm", FieldKind.STRING, offset, 16, "char[16]")


def procstat_like() -> StructLayout:
    return StructLayout(
        "event",
        36,
        (i32("pid", 0), comm(4), i64("rssanon", 20), i64("vsize", 28)),
    )


def tcpstates_like() -> StructLayout:
    u8 = Field("", FieldKind.INT, 0, 1, "__u8")
    addr = {"kind": FieldKind.ARRAY, "size": 16, "type_name": "__u8[16]", "dims": (16,)}
    return StructLayout(
        "event",
        38,
        (
            u16("family", 0),
            u16("sport", 2),
            u16("dport", 4),
            Field("saddr", offset=6, elem=u8, **addr),  # type: ignore[arg-type]
            Field("daddr", offset=22, elem=u8, **addr),  # type: ignore[arg-type]
        ),
    )


def opensnoop_like() -> StructLayout:
    return StructLayout("event", 8, (i32("pid", 0), i32("ret", 4)))


def store_of(layout: StructLayout, records: list[bytes], when: float = WHEN) -> EventStore:
    store = EventStore(layout, 16)
    store.append(Decoder(layout).array(b"".join(records)), when)
    return store


def cells(model: StoreRows) -> list[dict[str, str]]:
    count = model.query(Sort(), Filter())
    return [dict(zip(model.shown, row, strict=True)) for row in model.texts(0, count)]


def test_pages_show_as_bytes_with_units() -> None:
    layout = procstat_like()
    name = b"python3".ljust(16, b"\0")
    gib = 1536 * 1024 * 1024 // PAGE  # 1.5 GiB of pages
    record = struct.pack("<i16sqq", 4242, name, gib, 2 * gib)
    found = {c.name: c for c in columns(layout, page_size=PAGE)}
    size, vsize = found["rssanon"], found["vsize"]
    rows = Decoder(layout).array(record)
    assert size.texts(rows) == ["1.5 GiB"] and vsize.texts(rows) == ["3 GiB"]
    # numbers by meaning stay right-aligned, and sortable by their raw value
    assert size.numeric and size.sortable and size.width >= len("1023.5 MiB")


def test_ids_are_never_abbreviated() -> None:
    layout = procstat_like()
    model = StoreRows(store_of(layout, [struct.pack("<i16sqq", 4_194_303, b"x", 1, 1)]))
    assert cells(model)[0]["pid"] == "4194303"


def test_errno_names() -> None:
    layout = opensnoop_like()
    model = StoreRows(store_of(layout, [struct.pack("<ii", 1, -2), struct.pack("<ii", 1, 3)]))
    assert [c["ret"] for c in cells(model)] == ["ENOENT", "3"]


def test_addresses_and_ports_join_into_one_column() -> None:
    layout = tcpstates_like()
    v4 = struct.pack("<HHH", 2, 36273, 80) + bytes([127, 0, 0, 1]) + bytes(12) + bytes(16)
    v6 = struct.pack("<HHH", 10, 80, 5000) + bytes(15) + b"\x01" + bytes(16)
    model = StoreRows(store_of(layout, [v4, v6]), "tcpstates")
    names = [c.name for c in model.available]
    assert names.index("saddr:sport") == names.index("saddr") - 1  # beside its address
    # the joined columns replace the separate ones in the default view
    assert "saddr:sport" in model.shown and "saddr" not in model.shown
    assert "sport" not in model.shown and "daddr:dport" in model.shown
    shown = cells(model)
    assert [r["saddr:sport"] for r in shown] == ["127.0.0.1:36273", "[::1]:80"]
    assert [r["daddr:dport"] for r in shown] == ["0.0.0.0:80", "[::]:5000"]
    assert not next(s for s in model.columns() if s.name == "saddr:sport").sortable


def hub_layout(program: str) -> StructLayout:
    layout = find_builtin(program).package.export().layout
    assert layout is not None
    return layout


def tcpstates_record(layout: StructLayout, old: int, new: int, delta_us: int) -> bytes:
    """One Hub tcpstates event from 127.0.0.1:36273 to 127.0.0.1:80."""
    record = bytearray(layout.size)
    values = {"oldstate": old, "newstate": new, "delta_us": delta_us, "family": 2}
    values |= {"sport": 36273, "dport": 80}
    for name, value in values.items():
        f = layout.field(name)
        record[f.offset : f.offset + f.size] = value.to_bytes(f.size, "little")
    for name in ("saddr", "daddr"):
        f = layout.field(name)
        record[f.offset : f.offset + 4] = bytes([127, 0, 0, 1])
    return bytes(record)


def test_tcpstates_shows_one_transition_column_like_bccs() -> None:
    """bcc's ``COMM LADDR:LPORT RADDR:RPORT OLDSTATE -> NEWSTATE MS``: the states without
    their ``LMP_TCP_`` prefix in one column, the time spent in the old one with its unit."""
    layout = hub_layout("tcpstates")
    records = [tcpstates_record(layout, 2, 1, 1500), tcpstates_record(layout, 1, 4, 2_300_000)]
    model = StoreRows(store_of(layout, records), "tcpstates")
    assert model.shown == [
        "time", "comm", "saddr:sport", "daddr:dport", "oldstate→newstate", "delta_us",
    ]  # fmt: skip
    shown = cells(model)
    assert [r["oldstate→newstate"] for r in shown] == [
        "SYN_SENT → ESTABLISHED",
        "ESTABLISHED → FIN_WAIT1",
    ]
    assert [r["delta_us"] for r in shown] == ["1.5 ms", "2.3 s"]
    assert shown[0]["saddr:sport"] == "127.0.0.1:36273"
    # the parts stay in the chooser, after the joined column; only they sort
    names = [c.name for c in model.available]
    assert names.index("oldstate→newstate") + 1 == names.index("oldstate")
    assert "newstate" in names
    sortable = {c.name: c.sortable for c in model.available}
    assert not sortable["oldstate→newstate"] and sortable["oldstate"]
    width = next(c.width for c in model.available if c.name == "oldstate→newstate")
    assert width >= len("ESTABLISHED → FIN_WAIT1")


def test_without_a_default_set_the_parts_of_a_transition_hide() -> None:
    layout = hub_layout("tcpstates")
    model = StoreRows(store_of(layout, [tcpstates_record(layout, 7, 2, 0)]))
    assert "oldstate→newstate" in model.shown
    assert not {"oldstate", "newstate", "saddr", "sport"} & set(model.shown)
    assert cells(model)[0]["oldstate→newstate"] == "CLOSE → SYN_SENT"


def test_default_sets_name_columns_their_programs_offer() -> None:
    for program, wanted in DEFAULT_COLUMNS.items():
        layout = hub_layout(program)
        offered = {c.name for c in [time_column(layout), *columns(layout, program)]}
        assert set(wanted) <= offered, program


def test_a_time_column_comes_first() -> None:
    layout = opensnoop_like()
    model = StoreRows(store_of(layout, [struct.pack("<ii", 1, 0)], when=WHEN + 0.7))
    [spec, *_] = model.columns()
    assert (spec.name, spec.sortable) == ("time", False)
    expected = time.strftime("%H:%M:%S", time.localtime(WHEN))
    assert cells(model)[0]["time"] == expected


def test_a_field_called_time_keeps_its_name() -> None:
    layout = StructLayout("event", 8, (i64("time", 0),))
    model = StoreRows(store_of(layout, [struct.pack("<q", 5)]))
    assert model.shown == ["TIME", "time"]


def test_paused_rows_keep_their_times() -> None:
    layout = opensnoop_like()
    store = EventStore(layout, 1)
    store.append(Decoder(layout).array(struct.pack("<ii", 1, 0)), WHEN)
    model = StoreRows(store)
    model.query(Sort(), Filter())
    model.freeze(True)
    store.append(Decoder(layout).array(struct.pack("<ii", 2, 0)), WHEN + 3600)
    model.query(Sort(), Filter())
    assert model.texts(0, 1)[0][0] == time.strftime("%H:%M:%S", time.localtime(WHEN))


def test_default_sets_per_program() -> None:
    available = ["time", "pid", "comm", "nvcsw", "size", "vsize", "vswap"]
    assert default_columns("procstat", available, {}, "time") == [
        "time",
        "pid",
        "comm",
        "size",
        "vsize",
        "vswap",
    ]
    assert default_columns("other", available, {"nvcsw": "x"}, "time") == [
        n for n in available if n != "nvcsw"
    ]


def test_a_newly_checked_column_goes_back_to_its_place() -> None:
    available = ["time", "a", "b", "c"]
    assert with_choice(["time", "c"], ["time", "b", "c"], available) == ["time", "b", "c"]
    assert with_choice(["c", "time"], ["time"], available) == ["time"]


def test_a_choice_that_names_nothing_falls_back_to_the_default() -> None:
    model = StoreRows(store_of(opensnoop_like(), []), "opensnoop", ["gone"])
    assert model.shown == model.default == ["time", "pid", "ret"]


# -- the chooser ------------------------------------------------------------------------------------


async def test_c_hides_a_column_and_a_restart_remembers_it(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    config = Config(tui=TuiSettings(theme="dark"), path=path)
    app = make_app(config=config)
    async with app.run_test(size=(120, 40)) as pilot:
        run = await start(pilot, "sigsnoop")
        table = view(app, run).table
        assert table.column_names == ["time", "pid", "tpid", "sig", "ret", "comm"]
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, ColumnChooser)
        chooser = app.screen.query_one(SelectionList)
        assert chooser.highlighted == 0
        await pilot.press("down", "space")  # pid off
        await pilot.pause()
        assert table.column_names == ["time", "tpid", "sig", "ret", "comm"]  # at once
        await pilot.press("escape")
        await pilot.pause()
        assert app.focused is table
        assert table.row_values(0)["pid"].isdigit()  # hidden, still there
    assert load_config(path).tui.columns == {"sigsnoop": ["time", "tpid", "sig", "ret", "comm"]}

    app = make_app(config=load_config(path))
    async with app.run_test(size=(120, 40)) as pilot:
        run = await start(pilot, "sigsnoop")
        assert view(app, run).table.column_names == ["time", "tpid", "sig", "ret", "comm"]


def test_numbers_are_numpy_sorted_not_text_sorted() -> None:
    layout = procstat_like()
    records = [struct.pack("<i16sqq", p, b"x", s, 0) for p, s in ((1, 300), (2, 5), (3, 4000))]
    model = StoreRows(store_of(layout, records))
    count = model.query(Sort("rssanon", reverse=True), Filter())
    order = [row[model.shown.index("pid")] for row in model.texts(0, count)]
    assert order == ["3", "1", "2"]
    assert np.all(model.store.times[:3] == WHEN)
