"""Latest state per key (procstat's process table): threads' running totals summed per process,
rows marked when their process exits and let go later, ids reused, capacity."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lmp_tui.runtime.distribution import hub
from lmp_tui.runtime.stream.store import EventStore, LatestRows, ThreadTotals
from lmp_tui.runtime.stream.store.latest import EXITED_SECONDS

T0 = 1_700_000_000.0


def procstat_store() -> EventStore:
    spec = hub.find_builtin("procstat").package.export()
    assert spec.layout is not None
    return EventStore(spec.layout, program="procstat")


def events(store: EventStore, *rows: dict[str, object]) -> np.ndarray:
    arr = np.zeros(len(rows), store.dtype)
    for i, row in enumerate(rows):
        for name, value in row.items():
            arr[i][name] = value
    return arr


def ev(pid: int, tid: int, nvcsw: int = 0, size: int = 100, exited: bool = False) -> dict:
    return {"pid": pid, "tid": tid, "comm": b"app", "nvcsw": nvcsw, "size": size, "exited": exited}


def listed(rows: LatestRows, *names: str) -> list[tuple]:
    return [tuple(r) for r in rows.rows[rows.arrival()][list(names)].tolist()]


def test_procstat_lists_processes_with_their_threads_switches_added_up() -> None:
    store = procstat_store()
    assert store.latest is not None and store.latest_threads is not None
    store.append(events(store, ev(10, 10, 5), ev(10, 11, 7), ev(20, 20, 1, size=50)), T0)
    store.append(events(store, ev(10, 11, 9, size=120)), T0 + 1)
    # One row per process: the newest memory, switches of both threads (5 + 9).
    assert listed(store.latest, "pid", "nvcsw", "size") == [(10, 14, 120), (20, 1, 50)]
    # Threads on demand: each with its own total.
    assert listed(store.latest_threads, "tid", "nvcsw") == [(10, 5), (11, 9), (20, 1)]
    # The process's switch rate is the sum's: +2 in the second bucket, not 9 - 5.
    assert store.keyed is not None
    store.append(events(store), T0 + 2)  # closes the bucket of T0 + 1
    rate = store.keyed.series(10, "nvcsw")
    assert rate[-1] == 2.0


def test_an_exited_process_is_marked_keeps_its_values_and_goes_later() -> None:
    store = procstat_store()
    latest = store.latest
    assert latest is not None and store.latest_threads is not None and store.keyed is not None
    store.append(events(store, ev(10, 10, 5, size=300), ev(10, 11, 2, size=300), ev(20, 20)), T0)
    # Older kernels have no mm at exit: the last report's memory is zero, the row keeps 300.
    store.append(events(store, ev(10, 10, 6, size=0, exited=True)), T0 + 1)
    assert latest.exited(10) and not latest.exited(20)
    assert listed(latest, "pid", "size", "exited") == [(10, 300, True), (20, 100, False)]
    # Every thread of the process is marked, not only the one that reported the end.
    assert listed(store.latest_threads, "tid", "exited") == [(10, True), (11, True), (20, False)]
    # Its graph stops: no value carried past the end, and the end is no sample of 0 pages.
    store.append(events(store, ev(20, 20)), T0 + 3)
    size = store.keyed.series(10, "size")
    assert size[-1] != size[-1] and 0 not in size  # NaN after the end
    store.append(events(store, ev(20, 20)), T0 + 1 + EXITED_SECONDS + 0.5)
    assert 10 not in latest and 20 in latest
    assert listed(store.latest_threads, "tid") == [(20,)]


def test_a_pid_reused_after_its_process_ended_is_a_new_row() -> None:
    store = procstat_store()
    latest = store.latest
    assert latest is not None
    store.append(events(store, ev(10, 10, 50)), T0)
    store.append(events(store, ev(10, 10, 51, exited=True)), T0 + 1)
    store.append(events(store, ev(10, 10, 3, size=7)), T0 + 2)
    assert not latest.exited(10)
    assert listed(latest, "pid", "nvcsw", "size", "exited") == [(10, 3, 7, False)]
    assert latest.first[latest.arrival()][0] == T0 + 2


def test_a_process_seen_only_at_its_exit_is_listed_as_exited() -> None:
    store = procstat_store()
    assert store.latest is not None
    store.append(events(store, ev(30, 30, 4, size=9, exited=True)), T0)
    assert listed(store.latest, "pid", "size", "exited") == [(30, 9, True)]


def test_when_full_an_ended_row_makes_room_first() -> None:
    store = procstat_store()
    rows = LatestRows(store.layout, store.dtype, "pid", exit="exited", capacity=3)
    rows.add(events(store, ev(1, 1), ev(2, 2), ev(3, 3)), T0)
    rows.add(events(store, ev(1, 1, exited=True)), T0 + 1)
    rows.add(events(store, ev(2, 2)), T0 + 2)
    rows.add(events(store, ev(3, 3)), T0 + 2.5)
    rows.add(events(store, ev(4, 4)), T0 + 3)  # 1 ended: it goes, though reported after 2, 3
    assert sorted(k for (k,) in listed(rows, "pid")) == [2, 3, 4]
    rows.add(events(store, ev(5, 5)), T0 + 4)  # none ended: the one reported longest ago
    assert sorted(k for (k,) in listed(rows, "pid")) == [3, 4, 5]


def test_a_store_cleared_for_a_seek_forgets_processes_and_threads() -> None:
    store = procstat_store()
    store.append(events(store, ev(10, 10, 5), ev(10, 11, 7)), T0)
    store.clear()
    store.append(events(store, ev(10, 11, 8)), T0 + 1)
    assert store.latest is not None
    assert listed(store.latest, "pid", "nvcsw") == [(10, 8)]


thread_events = st.lists(st.tuples(st.integers(0, 5), st.integers(0, 1000)), max_size=40)


@settings(max_examples=200, deadline=None)
@given(st.lists(thread_events, min_size=1, max_size=6))
def test_fold_matches_adding_up_each_threads_latest_total(batches) -> None:  # noqa: ANN001
    """Property: after every batch each event's counter is its process's sum, over the
    threads seen so far, of each thread's newest total (a thread belongs to pid tid % 3)."""
    store = procstat_store()
    fold = ThreadTotals("pid", "tid", ["nvcsw"], capacity=64)
    newest: dict[int, int] = {}
    for batch in batches:
        arr = events(store, *(ev(tid % 3, tid, total) for tid, total in batch))
        out = fold.fold(arr, T0)
        for tid, total in batch:
            newest[tid] = total
        for row in out:
            pid = int(row["pid"])
            expected = sum(t for tid, t in newest.items() if tid % 3 == pid)
            assert row["nvcsw"] == expected
