"""Sampled maps: syscount's counters as a table, runqlat's histograms per interval with
percentiles; the toggles driven through the app with the demo sessions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_tui_pilot import make_app as make_pilot_app
from test_tui_pilot import wait_for
from textual.pilot import Pilot

from lmp_tui.app import LmpApp
from lmp_tui.runtime.distribution import hub
from lmp_tui.runtime.runs.manager import SessionRun
from lmp_tui.runtime.runs.scripted import ScriptedSource, snapshot_batch, snapshot_decoder
from lmp_tui.runtime.stream.query import Filter, Sort
from lmp_tui.runtime.stream.store import HistogramEntry, SnapshotStore
from lmp_tui.tui.screens import ParameterForm
from lmp_tui.widgets import HistogramPanel, ProgramView
from lmp_tui.widgets.histogram import (
    entry_title,
    is_aggregate,
    percentile_slot,
    percentiles,
    ranked,
    slot_bound,
)
from lmp_tui.widgets.map_table import MapRows, MapTable, default_sort

ROOT = Path(__file__).resolve().parent.parent


# -- percentiles ----------------------------------------------------------------------------------


def test_percentile_of_no_samples_is_none() -> None:
    assert percentile_slot([0] * 26, 99) is None
    assert percentile_slot([], 50) is None
    assert percentiles([0] * 26, "usecs") == ""


def test_percentiles_all_in_one_slot_are_that_slot() -> None:
    slots = [0] * 26
    slots[6] = 1000  # 64 -> 127 µs
    assert [percentile_slot(slots, p) for p in (50, 95, 99)] == [6, 6, 6]
    assert percentiles(slots, "usecs") == "p50 ≤ 128 µs  p95 ≤ 128 µs  p99 ≤ 128 µs"


def test_percentile_is_where_the_running_count_crosses() -> None:
    slots = [0] * 26
    slots[3], slots[4], slots[9] = 50, 45, 5  # 100 samples: 50 | 95 | 100
    assert percentile_slot(slots, 50) == 3
    assert percentile_slot(slots, 95) == 4
    assert percentile_slot(slots, 96) == 9
    assert percentile_slot(slots, 99) == 9
    assert percentiles(slots, "usecs") == "p50 ≤ 16 µs  p95 ≤ 32 µs  p99 ≤ 1 ms"


def test_percentile_of_slot_zero_and_of_other_units() -> None:
    assert percentile_slot([3], 99) == 0 and slot_bound(0, log2=True) == 2
    assert percentiles([0, 0, 0, 7], "bytes") == "p50 ≤ 16 bytes  p95 ≤ 16 bytes  p99 ≤ 16 bytes"
    assert slot_bound(5, log2=False) == 5


# -- the store's intervals ------------------------------------------------------------------------


def runqlat_store() -> tuple[SnapshotStore, Callable[[dict[int, list[int]], float], None]]:
    decoder = snapshot_decoder(hub.find_builtin("runqlat").package)
    key = decoder.key.layout.fields[0].name
    store = SnapshotStore(decoder.key.layout, decoder.value.layout)

    def feed(hists: dict[int, list[int]], time: float) -> None:
        comms = {0: ""}
        entries = [({key: k}, {"slots": s, "comm": comms.get(k, "bash")}) for k, s in hists.items()]
        batch = snapshot_batch(decoder, entries, time)
        store.update(*decoder.arrays(batch.records, batch.count), batch.time)

    return store, feed


def slots(**at: int) -> list[int]:
    out = [0] * 26
    for index, count in at.items():
        out[int(index[1:])] = count
    return out


def test_interval_histogram_is_this_snapshot_minus_the_last() -> None:
    store, feed = runqlat_store()
    feed({0: slots(s3=5), 7: slots(s2=1)}, 10.0)
    # the first snapshot: all of it is new
    assert store.interval_entries[0].slots.tolist() == slots(s3=5)
    assert store.interval_seconds is None
    feed({0: slots(s3=9, s5=2), 7: slots(s2=1)}, 12.0)
    by_key = {e.key["__u32"]: e for e in store.interval_entries}
    assert by_key[0].slots.tolist() == slots(s3=4, s5=2)
    assert by_key[7].total == 0
    assert store.cumulative_entries[0].slots.tolist() == slots(s3=9, s5=2)
    assert store.interval_seconds == 2.0


def test_a_cleared_map_sums_to_its_cumulative_view() -> None:
    decoder = snapshot_decoder(hub.find_builtin("runqlat").package)
    store = SnapshotStore(decoder.key.layout, decoder.value.layout)
    for time, count in ((1.0, 3), (2.0, 4)):
        batch = snapshot_batch(decoder, [({"__u32": 0}, {"slots": slots(s1=count)})], time)
        store.update(*decoder.arrays(batch.records, batch.count), batch.time, cleared=True)
    assert store.interval_entries[0].slots.tolist() == slots(s1=4)
    assert store.cumulative_entries[0].slots.tolist() == slots(s1=7)


def test_aggregate_is_all_first_then_ranked_by_count_or_p99() -> None:
    store, feed = runqlat_store()
    feed({0: slots(s3=100), 7: slots(s2=50), 9: slots(s2=5, s12=1)}, 1.0)
    entries = store.cumulative_entries
    aggregate = next(e for e in entries if e.key["__u32"] == 0)
    assert is_aggregate(aggregate)
    assert entry_title(aggregate, "usecs").startswith("all  (100 samples)  p50 ≤ 16 µs")
    assert [e.key["__u32"] for e in ranked(entries, "count")] == [0, 7, 9]
    assert [e.key["__u32"] for e in ranked(entries, "p99")] == [0, 9, 7]


# -- syscount's table -----------------------------------------------------------------------------


def syscount_store() -> tuple[SnapshotStore, Callable[[dict[int, dict[str, int]], float], None]]:
    decoder = snapshot_decoder(hub.find_builtin("syscount").package)
    store = SnapshotStore(decoder.key.layout, decoder.value.layout)

    def feed(rows: dict[int, dict[str, int]], time: float) -> None:
        batch = snapshot_batch(decoder, [({"__u32": k}, v) for k, v in rows.items()], time)
        store.update(*decoder.arrays(batch.records, batch.count), batch.time)

    return store, feed


def calls(count: int, errors: int = 0, total_ns: int = 0, max_ns: int = 0) -> dict[str, int]:
    return {"count": count, "errors": errors, "total_ns": total_ns, "max_ns": max_ns}


def test_syscount_table_names_syscalls_and_sorts_by_count() -> None:
    store, feed = syscount_store()
    feed({0: calls(10, 1, 2_000_000, 900_000), 257: calls(40), 1: calls(25)}, 1.0)
    model = MapRows(store, "syscount", "data")
    assert [c.name for c in model.columns()] == ["SYSCALL", "COUNT", "ERRORS", "TIME", "MAX"]
    sort = default_sort(model.formats)
    assert sort == Sort("COUNT", reverse=True)
    rows = model.texts(0, model.query(sort, Filter()))
    assert [r[0] for r in rows] == ["openat", "write", "read"]
    assert rows[2] == ["read", "10", "1", "2 ms", "900 µs"]
    assert [r[0] for r in model.texts(0, model.query(Sort("COUNT"), Filter()))][0] == "read"


def test_syscount_interval_shows_deltas_and_keeps_the_max() -> None:
    store, feed = syscount_store()
    feed({0: calls(1_000, 0, 5_000, 50)}, 1.0)
    feed({0: calls(1_250, 3, 8_000, 70), 3: calls(7)}, 2.0)
    model = MapRows(store, "syscount", "data")
    sort = default_sort(model.formats)
    rows = model.texts(0, model.query(sort, Filter()))
    assert rows == [["read", "250", "3", "3 µs", "70 ns"], ["close", "7", "0", "0 ns", "0 ns"]]
    generation = model.generation
    model.set_interval(False)
    assert model.generation != generation
    rows = model.texts(0, model.query(sort, Filter()))
    assert rows[0] == ["read", "1,250", "3", "8 µs", "70 ns"]


def test_counters_say_the_map_is_live() -> None:
    store, feed = syscount_store()
    feed({0: calls(100)}, 1.0)
    feed({0: calls(160), 1: calls(40)}, 3.0)
    assert store.rate_name == "count/s"
    assert store.total == 200 and store.events_per_second() == 50.0


def test_samples_between_snapshots_spread_over_the_interval() -> None:
    # A map read every 5 s: a steady rate, not a spike in one bucket out of five.
    store, feed = runqlat_store()
    feed({0: slots(s1=10)}, 100.0)
    feed({0: slots(s1=60)}, 105.0)
    assert store.rate()[-5:].tolist() == [10.0] * 5
    assert store.total == 60


# -- in the app -----------------------------------------------------------------------------------


def make_app(programs: tuple[str, ...] = ("runqlat", "syscount")) -> LmpApp:
    return make_pilot_app(programs=programs)


def loaded(run: SessionRun | None) -> bool:
    source = run.session.source if run is not None else None
    return isinstance(source, ScriptedSource) and source.done and not run.queued


async def start(pilot: Pilot, name: str) -> tuple[SessionRun, ProgramView]:
    app = pilot.app
    assert isinstance(app, LmpApp)
    before = set(app.runs)
    await pilot.press("0", "slash", *name, "enter", "enter")
    await pilot.pause()
    if isinstance(app.screen, ParameterForm):
        await pilot.press("enter")
    await wait_for(lambda: set(app.runs) - before != set())
    run = app.runs[(set(app.runs) - before).pop()]
    await wait_for(lambda: loaded(run))
    view = app.views[run.number]
    assert isinstance(view, ProgramView)
    main: Any = view.main_widget
    await wait_for(lambda: main is not None and main.up_to_date)
    await pilot.pause(0.1)
    return run, view


@pytest.mark.parametrize("size", [(80, 24), (160, 45)])
async def test_syscount_opens_as_a_table_whose_keys_toggle_and_sort(size: tuple[int, int]) -> None:
    app = make_app()
    async with app.run_test(size=size) as pilot:
        run, view = await start(pilot, "syscount")
        table = view.map_table
        assert isinstance(table, MapTable) and view.histogram is None
        assert app.focused is table.table
        assert table.interval and table.sort == Sort("COUNT", reverse=True)
        first = table.table.get_row_at(0)
        assert str(first[0]) == "read"  # the busiest syscall of the demo
        assert "last interval" in str(table.caption.render())
        await pilot.press("i")
        assert not table.interval and "since the start" in str(table.caption.render())
        await pilot.press("s")
        assert table.sort == Sort("ERRORS", reverse=True)
        await pilot.press("S")
        assert table.sort == Sort("ERRORS", reverse=False)
        # the status bar counts calls, not 0
        assert run.store.events_per_second() > 0 and run.store.total > 0


async def test_runqlat_toggles_interval_and_ranking() -> None:
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        _, view = await start(pilot, "runqlat")
        panel = view.histogram
        assert isinstance(panel, HistogramPanel) and app.focused is panel
        assert panel.interval and panel.rank == "count"
        titles = [line.text for line in panel._lines if line.kind == "title"]
        assert titles[0].startswith("all  (") and "p99 ≤" in titles[0]
        interval_total = sum(e.total for e in panel.store.interval_entries)
        await pilot.press("i")
        assert not panel.interval
        assert sum(e.total for e in panel.store.cumulative_entries) > interval_total
        assert "since the start" in panel._lines[0].text
        await pilot.press("s")
        assert panel.rank == "p99" and "ranked by p99" in panel._lines[0].text


def test_histogram_entry_title_of_a_pid() -> None:
    entry = HistogramEntry({"__u32": 733}, "bash", None, {})
    assert entry_title(entry, "usecs") == "key 733  bash  (0 samples)"
