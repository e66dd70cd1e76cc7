"""The exporter's series cap: top values by rate get a series, the rest add up under ``other``;
counters never go down while exposed; the fold hashes label bytes, not what follows a NUL."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lmp_tui.runtime.export.series import OTHER, SeriesCounts, label_hashes

DTYPE = np.dtype([("comm", "S8"), ("sig", "<i4")])
FIELDS = [("comm", True), ("sig", False)]


def rows(comms: list[bytes], sig: int = 10) -> np.ndarray:
    out = np.zeros(len(comms), DTYPE)
    out["comm"] = comms
    out["sig"] = sig
    return out


def feed(counts: SeriesCounts, arr: np.ndarray, time: float) -> None:
    def texts(at: np.ndarray) -> list[tuple[str, ...]]:
        sample = arr[at]
        return [(c.decode(), str(s)) for c, s in zip(sample["comm"], sample["sig"], strict=True)]

    counts.add(label_hashes(arr, FIELDS), texts, time)


def exposed(counts: SeriesCounts) -> dict[str, float]:
    labels, numbers = counts.series()
    return {each["comm"]: float(row[0]) for each, row in zip(labels, numbers, strict=True)}


def test_bytes_after_a_nul_do_not_make_another_value() -> None:
    raw = np.zeros(2, DTYPE)
    raw.view(np.uint8).reshape(2, -1)[0, :8] = list(b"bash\0xyz")
    raw.view(np.uint8).reshape(2, -1)[1, :8] = list(b"bash\0\0\0\0")
    a, b = label_hashes(raw, FIELDS)
    assert a == b
    assert (
        label_hashes(rows([b"bash"], 10), FIELDS)[0] != label_hashes(rows([b"bash"], 12), FIELDS)[0]
    )


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=8), st.binary(max_size=8)), min_size=1, max_size=30))
def test_a_string_hashes_as_its_bytes_before_the_first_nul(
    texts: list[tuple[bytes, bytes]],
) -> None:
    """Whatever follows a NUL (garbage a ring buffer's reserved slot held) changes nothing;
    what comes before it does."""
    dirty, clean = np.zeros(len(texts), DTYPE), np.zeros(len(texts), DTYPE)
    for i, (text, garbage) in enumerate(texts):
        text = text.split(b"\0")[0]
        raw = (text + b"\0" + garbage)[:8].ljust(8, b"\0")
        dirty.view(np.uint8).reshape(len(texts), -1)[i, :8] = list(raw)
        clean.view(np.uint8).reshape(len(texts), -1)[i, :8] = list(text.ljust(8, b"\0"))
    assert (label_hashes(dirty, FIELDS) == label_hashes(clean, FIELDS)).all()
    firsts = [text.split(b"\0")[0] for text, _ in texts]
    hashes = label_hashes(clean, FIELDS)
    assert len(set(hashes.tolist())) == len(set(firsts))


def test_first_values_are_admitted_until_the_cap_then_other() -> None:
    counts = SeriesCounts(2, ("comm", "sig"))
    feed(counts, rows([b"a", b"a", b"b", b"c", b"d"]), 0.0)
    assert exposed(counts) == {"a": 2, "b": 1, OTHER: 2}
    other = next(labels for labels in counts.series()[0] if labels["comm"] == OTHER)
    assert other == {"comm": OTHER, "sig": OTHER}


def test_a_busier_value_takes_the_place_of_one_that_went_quiet() -> None:
    counts = SeriesCounts(2, ("comm", "sig"))
    feed(counts, rows([b"a"] * 50 + [b"b"] * 50), 0.0)
    for second in range(1, 30):  # b goes quiet, c is busy
        feed(counts, rows([b"a"] * 50 + [b"c"] * 100), float(second))
    shown = exposed(counts)
    assert set(shown) == {"a", "c", OTHER}
    assert shown["a"] == 50 * 30  # never pushed out: its counter only went up
    # c counts from its admission; its events before went to other, with b's last ones
    assert shown["c"] < 100 * 29 and shown["c"] + shown[OTHER] == 100 * 29


def test_values_of_about_the_same_rate_do_not_flap() -> None:
    counts = SeriesCounts(1, ("comm", "sig"))
    feed(counts, rows([b"a"] * 100), 0.0)  # a first, then b at 1.2 times its rate
    for second in range(1, 120):
        feed(counts, rows([b"a"] * 100 + [b"b"] * 120), float(second))
        assert set(exposed(counts)) == {"a", OTHER}


def test_waiting_values_that_go_idle_are_forgotten() -> None:
    counts = SeriesCounts(1, ("comm", "sig"))
    feed(counts, rows([b"a", b"b", b"c"]), 0.0)  # b waits; c finds no room
    assert len(counts._free) == 0
    for second in range(1, 900):
        feed(counts, rows([b"a"]), float(second))
    assert len(counts._free) == 1  # b, idle for long, made room
    feed(counts, rows([b"d"] * 10), 901.0)
    assert "d" in {text[0] for text in counts._by_text}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.integers(0, 40), min_size=0, max_size=60),
        min_size=1,
        max_size=25,
    ),
    st.integers(0, 6),
)
def test_counters_never_go_down_and_never_exceed_the_cap(
    batches: list[list[int]], cap: int
) -> None:
    counts = SeriesCounts(cap, ("comm", "sig"))
    before: dict[str, float] = {}
    total = 0
    for second, values in enumerate(batches):
        feed(counts, rows([f"p{v}".encode() for v in values]), float(second))
        total += len(values)
        now = exposed(counts)
        assert len(now) <= cap + 1
        for name, value in now.items():
            if name in before:  # a series still exposed only counts up
                assert value >= before[name]
        assert now.get(OTHER, 0) >= before.get(OTHER, 0)
        assert sum(now.values()) <= total
        before = now


def test_a_gauge_that_gets_a_series_shows_its_last_value_at_once() -> None:
    gauge = SeriesCounts(1, ("comm", "sig"), latest=True)

    def feed_values(comms: list[bytes], values: list[float], time: float) -> None:
        arr = rows(comms)

        def texts(at: np.ndarray) -> list[tuple[str, ...]]:
            return [(arr["comm"][i].decode(), str(arr["sig"][i])) for i in at]

        gauge.add(label_hashes(arr, FIELDS), texts, time, np.asarray(values)[:, None])

    feed_values([b"a"], [1.0], 0.0)
    for second in range(1, 30):  # a goes quiet; b is busy, its last value 7
        feed_values([b"b"] * 10, [float(second)] * 9 + [7.0], float(second))
    labels, numbers = gauge.series()
    assert [each["comm"] for each in labels] == ["b"]
    assert numbers[0, 0] == 7.0


def test_a_clock_stepped_back_does_not_stop_the_ranking() -> None:
    counts = SeriesCounts(1, ("comm", "sig"))
    feed(counts, rows([b"a"]), 1000.0)
    feed(counts, rows([b"b"] * 50), 10.0)  # the wall clock went back 990 s
    for second in range(11, 40):
        feed(counts, rows([b"b"] * 50), float(second))
    assert set(exposed(counts)) == {"b", OTHER}  # ranked again from the new times


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.integers(0, 11), max_size=50), min_size=1, max_size=8))
def test_values_whose_hashes_share_their_low_bits_are_counted_apart(
    batches: list[list[int]],
) -> None:
    """The table that finds most events' slots maps a hash by its low bits: values that
    share them (here twelve values on three places) must still each count their own."""
    counts = SeriesCounts(limit=12, names=["comm"])
    truth: dict[str, int] = {}
    for second, batch in enumerate(batches):
        ids = np.array(batch, np.uint64)
        hashes = (ids % np.uint64(3)) | (ids << np.uint64(40))

        def texts(at: np.ndarray, ids: np.ndarray = ids) -> list[tuple[str, ...]]:
            return [(f"v{i}",) for i in ids[at].tolist()]

        counts.add(hashes, texts, float(second))
        for i in batch:
            truth[f"v{i}"] = truth.get(f"v{i}", 0) + 1
    assert exposed(counts) == truth
