"""Series by meaning: which fields are drawn, counters as rates per key, complete buckets only,
top keys ranked by events or a gauge with pids in full, sparkline labels with units and scale."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lmp_tui.runtime.distribution import hub
from lmp_tui.runtime.format.roles import Meaning, Role, meanings
from lmp_tui.runtime.runs.scripted import pack
from lmp_tui.runtime.stream.decode import Decoder
from lmp_tui.runtime.stream.meaning import PAGE_SIZE, format_bytes
from lmp_tui.runtime.stream.store import EventStore
from lmp_tui.runtime.stream.store.fields import series_fields
from lmp_tui.widgets.sparklines import RATE, format_value, scale_text


def _decoder(name: str) -> Decoder:
    layout = hub.find_builtin(name).package.export_layout()
    assert layout is not None
    return Decoder(layout)


@pytest.fixture(scope="module")
def proc() -> Decoder:
    return _decoder("procstat")


def _arr(decoder: Decoder, rows: list[dict[str, object]]) -> np.ndarray:
    return decoder.array(pack(decoder, rows))


def _names(decoder: Decoder, program: str) -> set[str]:
    layout = decoder.layout
    return {f.name for f in series_fields(layout, meanings(layout, program=program))}


def test_procstat_draws_memory_and_switch_rates_not_ids(proc: Decoder) -> None:
    names = _names(proc, "procstat")
    assert not {"pid", "tgid", "comm"} & names
    assert {"rssanon", "rssfile", "rssshmem", "vsize", "nvcsw", "nivcsw"} <= names


def test_tcpstates_draws_durations_only() -> None:
    names = _names(_decoder("tcpstates"), "tcpstates")
    excluded = {"skaddr", "sport", "dport", "ts_us", "oldstate", "newstate", "family"}
    assert not (excluded | {"saddr", "daddr", "pid", "comm"}) & names
    assert names == {"delta_us"}


def test_a_counter_is_a_rate_per_key(proc: Decoder) -> None:
    store = EventStore(proc.layout, capacity=100, series_length=10, program="procstat")
    store.append(_arr(proc, [{"pid": 7, "comm": "a", "nvcsw": 100}]), 10.0)
    store.append(_arr(proc, [{"pid": 8, "comm": "b", "nvcsw": 5_000}]), 10.5)
    store.append(_arr(proc, [{"pid": 7, "comm": "a", "nvcsw": 160}]), 11.0)
    store.append(_arr(proc, [{"pid": 8, "comm": "b", "nvcsw": 5_000}]), 12.0)  # bucket 11 done
    keyed = store.keyed
    assert keyed is not None
    assert keyed.series(7, "nvcsw")[-1] == 60.0  # (160 - 100) / 1 s, not the total 160
    assert math.isnan(keyed.series(7, "nvcsw")[-2])  # one sample: no rate yet
    # Over all events, the increases of every key's total: pid 8's 5000 is no rate.
    assert store.series.series("nvcsw")[-1] == 60.0
    assert store.series.series("nvcsw")[-2] == 0.0
    # A gauge stays a level, in pages as the kernel counts them.
    assert keyed.latest_value(7, "nvcsw") == 160.0


def test_a_counter_rate_covers_the_buckets_since_the_key_was_last_seen(proc: Decoder) -> None:
    store = EventStore(proc.layout, capacity=100, series_length=10, program="procstat")
    store.append(_arr(proc, [{"pid": 7, "nvcsw": 100}]), 10.0)
    store.append(_arr(proc, [{"pid": 7, "nvcsw": 130}]), 13.0)
    store.append(_arr(proc, []), 14.0)
    assert store.keyed is not None
    assert store.keyed.series(7, "nvcsw")[-3:].tolist() == [10.0, 10.0, 10.0]


def test_a_counter_that_goes_down_starts_again(proc: Decoder) -> None:
    store = EventStore(proc.layout, capacity=100, series_length=10, program="procstat")
    store.append(_arr(proc, [{"pid": 7, "nvcsw": 900}]), 10.0)
    store.append(_arr(proc, [{"pid": 7, "nvcsw": 10}]), 11.0)  # the pid was reused
    store.append(_arr(proc, [{"pid": 7, "nvcsw": 40}]), 12.0)
    store.append(_arr(proc, []), 13.0)
    assert store.keyed is not None
    assert store.keyed.series(7, "nvcsw")[-1] == 30.0
    assert store.series.series("nvcsw")[-2:].tolist() == [0.0, 30.0]


def test_views_never_read_the_bucket_still_filling(proc: Decoder) -> None:
    store = EventStore(proc.layout, capacity=100, series_length=10, program="procstat")
    store.append(_arr(proc, [{"pid": 7, "rssanon": 10}] * 3), 10.2)
    store.append(_arr(proc, [{"pid": 7, "rssanon": 99}]), 11.1)  # bucket 11: still filling
    assert store.keyed is not None
    assert store.series.rate()[-1] == 3.0
    assert store.series.series("rssanon")[-1] == 10.0
    assert store.keyed.series(7, "rssanon")[-1] == 10.0
    assert store.keyed.rate(7)[-1] == 3.0
    assert len(store.series.rate()) == len(store.keyed.series(7, "rssanon")) == 9
    assert store.events_per_second() == 3.0


def test_top_keys_rank_by_events_or_a_gauge(proc: Decoder) -> None:
    store = EventStore(proc.layout, capacity=100, program="procstat")
    store.append(
        _arr(
            proc,
            [{"pid": 16123, "comm": "big", "rssanon": 400_000}]
            + [{"pid": 2, "comm": "busy", "rssanon": 10}] * 3,
        ),
        10.0,
    )
    keyed = store.keyed
    assert keyed is not None
    assert [s.key for s in keyed.top()] == [2, 16123]
    assert [s.key for s in keyed.top("rssanon")] == [16123, 2]
    assert "pid" not in keyed.gauges and "nvcsw" not in keyed.gauges
    assert "rssanon" in keyed.gauges


async def test_top_keys_table_shows_pids_whole_and_gauges_in_bytes(proc: Decoder) -> None:
    from textual.app import App, ComposeResult

    from lmp_tui.widgets.top_keys import TopKeysTable

    store = EventStore(proc.layout, capacity=100, program="procstat")
    store.append(
        _arr(
            proc,
            [{"pid": 16123, "comm": "big", "rssanon": 393_216}]
            + [{"pid": 2, "comm": "busy", "rssanon": 10}] * 3,
        ),
        10.0,
    )
    assert store.keyed is not None
    table = TopKeysTable(store.keyed)

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield table

    async with Host().run_test() as pilot:
        await pilot.pause()
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        assert [r[0] for r in rows] == ["all", "2", "16123"]  # by events
        table.rank_by("pid")  # an id ranks nothing: still by events
        table.rank_by("nvcsw")
        assert table.rank_field == ""
        table.rank_by("rssanon")
        await pilot.pause()
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        assert rows[1][0] == "16123"
        assert rows[1][2] == format_bytes(393_216 * PAGE_SIZE)  # 1.5 GiB at 4 KiB pages


def test_sparkline_values_and_scales_by_meaning() -> None:
    pages = Meaning(Role.GAUGE, "pages")
    page = float(PAGE_SIZE)
    low, high = 1.2 * 2**30 / page, 1.5 * 2**30 / page
    assert scale_text(pages, low, high) == "1.2 GiB–1.5 GiB"
    assert scale_text(RATE, 0.0, 340.0) == "0–340/s"
    assert format_value(Meaning(Role.DURATION, "us"), 1200.0) == "1.2 ms"
    assert format_value(Meaning(Role.COUNTER), 60.0) == "60/s"
    assert format_value(pages, math.nan) == "–"
