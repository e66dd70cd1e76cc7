"""The bounded stores: ring, series, keyed series, snapshots, filter and sort."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmp_tui.runtime.distribution import hub
from lmp_tui.runtime.runs.scripted import pack, snapshot_batch, snapshot_decoder
from lmp_tui.runtime.stream.decode import Decoder
from lmp_tui.runtime.stream.query import FilterError, RowView, Sort, parse_filter, select
from lmp_tui.runtime.stream.store import EventStore, SnapshotStore, parse_signal, signal_name


@pytest.fixture(scope="module")
def sig_decoder() -> Decoder:
    return Decoder(hub.find_builtin("sigsnoop").package.export_layout())


@pytest.fixture(scope="module")
def proc_decoder() -> Decoder:
    return Decoder(hub.find_builtin("procstat").package.export_layout())


def _arr(decoder: Decoder, rows: list[dict]) -> np.ndarray:
    return decoder.array(pack(decoder, rows))


def test_ring_keeps_the_newest_rows_in_arrival_order(sig_decoder: Decoder) -> None:
    store = EventStore(sig_decoder.layout, capacity=5)
    for t in range(3):
        store.append(_arr(sig_decoder, [{"pid": t * 3 + i} for i in range(3)]), 100.0 + t)
    assert store.total == 9 and len(store) == 5 and store.evicted == 4
    assert store.rows["pid"][store.arrival()].tolist() == [4, 5, 6, 7, 8]


def test_a_batch_larger_than_the_ring_keeps_its_tail(sig_decoder: Decoder) -> None:
    store = EventStore(sig_decoder.layout, capacity=4)
    store.append(_arr(sig_decoder, [{"pid": i} for i in range(10)]), 1.0)
    assert store.rows["pid"][store.arrival()].tolist() == [6, 7, 8, 9]


@settings(max_examples=60, deadline=None)
@given(capacity=st.integers(1, 20), sizes=st.lists(st.integers(0, 30), max_size=12))
def test_ring_matches_a_list(capacity: int, sizes: list[int]) -> None:
    decoder = Decoder(hub.find_builtin("sigsnoop").package.export_layout())
    store = EventStore(decoder.layout, capacity=capacity)
    expected: list[int] = []
    n = 0
    for t, size in enumerate(sizes):
        pids = list(range(n, n + size))
        n += size
        store.append(_arr(decoder, [{"pid": p} for p in pids]), float(t))
        expected += pids
    assert store.rows["pid"][store.arrival()].tolist() == expected[-capacity:]
    assert store.total == len(expected)


def test_rate_per_complete_bucket_and_no_series_of_ids(sig_decoder: Decoder) -> None:
    store = EventStore(sig_decoder.layout, capacity=100, series_length=10)
    store.append(_arr(sig_decoder, [{"tpid": 10}, {"tpid": 20}]), 1000.2)
    store.append(_arr(sig_decoder, [{"tpid": 30}]), 1000.7)
    store.append(_arr(sig_decoder, [{"tpid": 5}] * 4), 1002.1)
    # The bucket of 1002 is still filling: what views read ends at 1001.
    rate = store.series.rate()
    assert len(rate) == 9 and rate[-2:].tolist() == [3.0, 0.0]
    assert store.events_per_second() == 0.0  # the newest complete bucket (1001) was empty
    # Pids and signal numbers have no mean worth drawing.
    assert not {"tpid", "pid", "sig"} & {f.name for f in store.series.fields}


def test_keyed_series_carry_forward_and_top(proc_decoder: Decoder) -> None:
    store = EventStore(proc_decoder.layout, capacity=100, series_length=6)
    store.append(
        _arr(
            proc_decoder,
            [
                {"pid": 1, "comm": "a", "rssanon": 10},
                {"pid": 2, "comm": "b", "rssanon": 50},
                {"pid": 1, "comm": "a", "rssanon": 12},
            ],
        ),
        10.0,
    )
    store.append(_arr(proc_decoder, [{"pid": 1, "comm": "a", "rssanon": 40}]), 13.0)
    store.append(_arr(proc_decoder, []), 14.0)  # completes the bucket of 13
    keyed = store.keyed
    assert keyed is not None and keyed.key.name == "pid"
    series = keyed.series(1, "rssanon")
    assert series[-4:].tolist() == [12.0, 12.0, 12.0, 40.0]
    assert math.isnan(series[0]) and len(series) == 5
    assert keyed.series(2, "rssanon")[-1] == 50.0  # carried forward
    top = keyed.top("rssanon", 5)
    assert [(s.key, s.label, s.value, s.events) for s in top] == [
        (2, "b", 50.0, 1),
        (1, "a", 40.0, 3),
    ]


def test_keyed_series_evicts_the_key_seen_longest_ago(proc_decoder: Decoder) -> None:
    store = EventStore(proc_decoder.layout, capacity=10, max_keys=2)
    for t, pid in enumerate([1, 2, 3]):
        store.append(_arr(proc_decoder, [{"pid": pid, "rssanon": pid}]), float(t))
    assert store.keyed is not None
    assert 1 not in store.keyed and 2 in store.keyed and 3 in store.keyed
    assert store.keyed.evicted == 1


def test_filter_and_sort(sig_decoder: Decoder) -> None:
    store = EventStore(sig_decoder.layout, capacity=100)
    rows = [
        {"pid": 50, "sig": 10, "comm": "bash"},
        {"pid": 150, "sig": 17, "comm": "bash"},
        {"pid": 300, "sig": 10, "comm": "sshd"},
        {"pid": 200, "sig": 10, "comm": "zsh-bash"},
    ]
    store.append(_arr(sig_decoder, rows), 1.0)
    where = parse_filter("comm~bash pid>100", store.layout)
    assert store.rows["pid"][select(store, Sort(), where)].tolist() == [150, 200]
    assert store.rows["pid"][select(store, Sort("pid", True), where)].tolist() == [200, 150]
    by_sig = parse_filter("sig=SIGUSR1", store.layout)
    assert store.rows["pid"][select(store, Sort("comm"), by_sig)].tolist() == [50, 300, 200]
    assert store.rows["pid"][select(store, Sort(None, True))].tolist() == [200, 300, 150, 50]
    assert store.rows["pid"][
        select(store, Sort(), parse_filter("comm!~bash", store.layout))
    ].tolist() == [300]


def test_reverse_sort_keeps_ties_in_arrival_order(sig_decoder: Decoder) -> None:
    store = EventStore(sig_decoder.layout, capacity=10)
    store.append(_arr(sig_decoder, [{"pid": i, "sig": s} for i, s in enumerate([1, 2, 1, 2])]), 1.0)
    assert store.rows["pid"][select(store, Sort("sig", True))].tolist() == [1, 3, 0, 2]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nope=1", "no field 'nope'"),
        ("pid~1", "is a number"),
        ("comm>a", "is text"),
        ("pid>", "needs a value"),
        ("pid", "expected field, operator and value"),
        ("sig=SIGBOGUS", "not a signal"),
        ("pid=abc", "not a number"),
    ],
)
def test_bad_filters_say_why(sig_decoder: Decoder, text: str, message: str) -> None:
    with pytest.raises(FilterError, match=message):
        parse_filter(text, sig_decoder.layout)


def test_signal_names() -> None:
    assert signal_name(10) == "SIGUSR1" and signal_name(9) == "SIGKILL"
    assert parse_signal("usr1") == 10 == parse_signal("SIGUSR1") == parse_signal("10")
    assert signal_name(999) == "999"


def test_frozen_rows_do_not_change(sig_decoder: Decoder) -> None:
    store = EventStore(sig_decoder.layout, capacity=3)
    store.append(_arr(sig_decoder, [{"pid": 1}, {"pid": 2}]), 1.0)
    frozen = store.freeze()
    store.append(_arr(sig_decoder, [{"pid": 3}, {"pid": 4}]), 2.0)
    assert frozen.rows["pid"][select(frozen)].tolist() == [1, 2]
    assert store.rows["pid"][select(store)].tolist() == [2, 3, 4]


def test_snapshot_store_histograms() -> None:
    program = hub.find_builtin("runqlat")
    decoder = snapshot_decoder(program.package)
    key = decoder.key.layout.fields[0].name
    slots = [0] * 26
    slots[3] = 5
    first = snapshot_batch(
        decoder,
        [({key: 7}, {"slots": slots, "comm": "bash"}), ({key: 0}, {"slots": [1] * 26, "comm": ""})],
        10.0,
    )
    store = SnapshotStore(decoder.key.layout, decoder.value.layout)
    store.update(*decoder.arrays(first.records, first.count), first.time)
    assert [e.key[key] for e in store.entries] == [0, 7]
    assert store.entries[1].label == "bash" and store.entries[1].slots.tolist()[3] == 5
    assert store.total == 31
    slots[3] = 9
    second = snapshot_batch(
        decoder,
        [({key: 7}, {"slots": slots, "comm": "bash"}), ({key: 0}, {"slots": [1] * 26, "comm": ""})],
        12.0,
    )
    store.update(*decoder.arrays(second.records, second.count), second.time)
    assert store.total == 35 and store.events_per_second() == 2.0


@settings(max_examples=150, deadline=None)
@given(
    capacity=st.integers(1, 40),
    batches=st.lists(
        st.lists(st.tuples(st.integers(1, 6), st.integers(0, 3), st.sampled_from(["a", "bb", ""])),
                 max_size=50),
        max_size=12,
    ),
    field=st.sampled_from([None, "pid", "sig", "comm"]),
    reverse=st.booleans(),
    filtered=st.booleans(),
    clear_at=st.integers(-1, 12),
)  # fmt: skip
def test_a_kept_view_always_equals_the_query_from_scratch(
    sig_decoder, capacity, batches, field, reverse, filtered, clear_at
):
    """RowView merges arrivals into its kept order; whatever arrives, evicts or resets, it shows
    exactly what select() computes over the whole store (ties in arrival order)."""
    store = EventStore(sig_decoder.layout, capacity)
    sort = Sort(field, reverse)
    where = (
        parse_filter("sig>0", sig_decoder.layout)
        if filtered
        else parse_filter("", sig_decoder.layout)
    )
    view = RowView(store, sort, where)
    for i, batch in enumerate(batches):
        if i == clear_at:
            store.clear()
        rows = [{"pid": p, "tpid": 1, "sig": g, "ret": 0, "comm": c} for p, g, c in batch]
        store.append(_arr(sig_decoder, rows), float(i))
        assert view.update().tolist() == select(store, sort, where).tolist()


def test_a_sort_by_a_long_text_field_keeps_only_its_window(sig_decoder, monkeypatch):
    """A merge copies the kept keys: a sort keeps SORT_WINDOW_BYTES of them, the newest rows."""
    from lmp_tui.runtime.stream import query

    monkeypatch.setattr(query, "SORT_WINDOW_BYTES", 24 * 10)  # comm is 16 bytes + 8: 10 rows
    store = EventStore(sig_decoder.layout, 100)
    view = RowView(store, Sort("comm"))
    rows = [{"pid": i, "tpid": 1, "sig": 1, "ret": 0, "comm": f"c{99 - i:02}"} for i in range(50)]
    store.append(_arr(sig_decoder, rows), 1.0)
    shown = store.rows[view.update()]
    assert view.window == 10
    assert shown["pid"].tolist() == list(range(49, 39, -1))  # the newest ten, sorted by comm
    monkeypatch.undo()
    assert RowView(store, Sort("comm")).window is None  # the real budget holds this store
