"""Fixed-length time series on one axis of buckets, for sparklines and top-N tables: events per
bucket, the mean of each gauge and duration and the rate of each counter over all events, and per
key (a pid) its events and the latest value of each (a counter's as its rate).

What a view reads ends at the newest *complete* bucket: the newest one is still filling, and
drawn it would dip at the right edge of every graph. Values stay in the field's own unit (pages,
µs); ``stream.meaning`` turns them into bytes and seconds for display."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ...format.layout import Field
from ...format.roles import PLAIN, Meaning, Role
from ...lazy import np
from .fields import c_string

DEFAULT_BUCKET_SECONDS = 1.0
DEFAULT_SERIES_LENGTH = 120
DEFAULT_MAX_KEYS = 512
TIME_LIMIT = 1e12
"""Seconds either side of 1970 beyond which a batch's time is not a wall-clock time."""


def clamp_time(time: float, last: float | None) -> float:
    """A batch's time as a store takes it: one that is not a wall-clock time (NaN, infinite,
    beyond ``TIME_LIMIT``: a source gone wrong, a damaged recording) is the last one's, or 0
    before any. Earlier ones than the last are kept as they are (a clock that stepped back):
    they land in an older bucket, or in none once it has scrolled out."""
    if isinstance(time, int | float) and -TIME_LIMIT <= time <= TIME_LIMIT:  # False for NaN
        return float(time)
    return last if last is not None else 0.0


class BucketAxis:
    """A shared time axis of fixed-width buckets; column ``-1`` is the newest bucket."""

    def __init__(self, length: int, bucket_seconds: float) -> None:
        if length < 2 or bucket_seconds <= 0:
            raise ValueError("a series needs at least two buckets of positive width")
        self.length = length
        self.bucket_seconds = bucket_seconds
        self.newest: int | None = None

    def bucket_of(self, time: float) -> int:
        return math.floor(time / self.bucket_seconds)

    def clear(self) -> None:
        self.newest = None

    def shift_for(self, bucket: int) -> int:
        """How many columns to roll so that ``bucket`` is the newest (0 if it already is)."""
        if self.newest is None:
            self.newest = bucket
            return 0
        shift = bucket - self.newest
        if shift <= 0:
            return 0
        self.newest = bucket
        return shift

    def column_of(self, bucket: int) -> int | None:
        """The column of ``bucket`` (negative index), None if it has scrolled out."""
        assert self.newest is not None
        back = self.newest - bucket
        return -1 - back if 0 <= back < self.length else None


def roll_series(values: np.ndarray, shift: int, fill: float | np.ndarray) -> None:
    """Shift a series array left by ``shift`` columns in place, filling the new columns."""
    length = values.shape[-1]
    if shift >= length:
        values[...] = fill if np.isscalar(fill) else np.asarray(fill)[..., None]
        return
    values[..., :-shift] = values[..., shift:].copy()
    values[..., -shift:] = fill if np.isscalar(fill) else np.asarray(fill)[..., None]


def complete(values: np.ndarray) -> np.ndarray:
    """``values`` (buckets on the last axis) up to the newest complete bucket, as a copy."""
    return values[..., :-1].copy()


def counter_mask(names: Sequence[str], meaning: Mapping[str, Meaning]) -> np.ndarray:
    """Which of ``names`` are running totals, whose series is a rate."""
    return np.array([meaning[n].role == Role.COUNTER for n in names], dtype=bool)


class FieldSeries:
    """Events per bucket over all events; per bucket the mean of each gauge and duration, and
    the rate of each counter: the increases of its running totals, per second."""

    def __init__(
        self,
        fields: Sequence[Field],
        axis: BucketAxis,
        meaning: Mapping[str, Meaning] | None = None,
    ) -> None:
        self.fields = list(fields)
        self.names = [f.name for f in self.fields]
        self.meaning = {n: (meaning or {}).get(n, PLAIN) for n in self.names}
        self.axis = axis
        self.counts = np.zeros(axis.length, np.float64)
        self.sums = np.zeros((len(self.fields), axis.length), np.float64)
        """Per bucket, a gauge's or duration's sum, a counter's increase."""
        self.counter = counter_mask(self.names, self.meaning)
        self._last = np.full(len(self.fields), np.nan)
        """Each counter's last value, for a store with no key to tell running totals apart."""

    def roll(self, shift: int) -> None:
        if shift:
            roll_series(self.counts, shift, 0.0)
            roll_series(self.sums, shift, 0.0)

    def clear(self) -> None:
        self.counts[:] = 0.0
        self.sums[:] = 0.0
        self._last[:] = np.nan

    def add(
        self, arr: np.ndarray, column: int, increases: Mapping[str, float] | None = None
    ) -> None:
        """Count a batch in bucket ``column``. ``increases`` are the counters' increases over
        every key (``KeyedSeries.add``); without them each counter is one running total."""
        self.counts[column] += len(arr)
        for i, f in enumerate(self.fields):
            if self.counter[i]:
                step = (
                    increases.get(f.name, 0.0)
                    if increases is not None
                    else self._increase(i, arr[f.name])
                )
                self.sums[i, column] += step
            else:
                self.sums[i, column] += float(arr[f.name].sum(dtype=np.float64))

    def _increase(self, i: int, column: np.ndarray) -> float:
        values = column.astype(np.float64)
        previous = self._last[i]
        steps = np.diff(values) if math.isnan(previous) else np.diff(values, prepend=previous)
        self._last[i] = values[-1]
        # A running total that went down started again (a reset): its drop is no rate.
        return float(steps[steps > 0].sum())

    def rate(self) -> np.ndarray:
        """Events per second, per complete bucket."""
        return complete(self.counts) / self.axis.bucket_seconds

    def series(self, name: str) -> np.ndarray:
        """What a sparkline draws for field ``name``, per complete bucket: a gauge's or
        duration's mean (NaN where a bucket has no events), a counter's rate per second."""
        i = self.names.index(name)
        if self.counter[i]:
            return complete(self.sums[i]) / self.axis.bucket_seconds
        counts, sums = complete(self.counts), complete(self.sums[i])
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)

    mean = series
    """The older name of ``series``."""


@dataclass(frozen=True, slots=True)
class KeyStat:
    """One key's latest values, for a top-N table."""

    key: int
    label: str
    value: float
    """The ranked field's latest value (NaN when ranked by events)."""
    events: int
    rate: float = 0.0
    """Events per second in the newest complete bucket."""


class KeyedSeries:
    """Per key (pid), for ``max_keys`` keys: events per bucket, and the latest value of each
    gauge and duration per bucket, and each counter's rate (its increase since the key's
    previous event over the time between them).

    Buckets with no event for a key carry a gauge's previous value forward, so a sparkline of
    rss stays flat instead of dropping to zero between samples; a counter's rate covers every
    bucket since the key's previous event, filled when the next one comes. When full, the key
    seen longest ago makes room for a new one.
    """

    def __init__(
        self,
        key: Field,
        label: Field | None,
        fields: Sequence[Field],
        axis: BucketAxis,
        max_keys: int = DEFAULT_MAX_KEYS,
        meaning: Mapping[str, Meaning] | None = None,
    ) -> None:
        self.key = key
        self.label = label
        self.fields = [f for f in fields if f.name != key.name]
        self.names = [f.name for f in self.fields]
        self.meaning = {n: (meaning or {}).get(n, PLAIN) for n in self.names}
        self.gauges = [n for n in self.names if self.meaning[n].role == Role.GAUGE]
        """What keys can be ranked by besides their events: levels, not ids nor rates."""
        self.counter = counter_mask(self.names, self.meaning)
        self.axis = axis
        self.max_keys = max_keys
        n, m = max_keys, len(self.fields)
        self.values = np.full((n, m, axis.length), np.nan)
        self.latest = np.full((n, m), np.nan)
        """Each key's latest raw values (a counter's running total, not its rate)."""
        self.counts = np.zeros((n, axis.length), np.float64)
        self.keys = np.zeros(n, np.int64)
        self.labels: list[str] = [""] * n
        self.events = np.zeros(n, np.int64)
        self.seen = np.full(n, -np.inf)
        self._rows: dict[int, int] = {}
        self.evicted = 0

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, key: int) -> bool:
        return key in self._rows

    def roll(self, shift: int) -> None:
        if shift:
            # Gauges carry forward; a counter's new buckets wait for the key's next event.
            fill = self.latest.copy()
            fill[:, self.counter] = np.nan
            roll_series(self.values, shift, fill)
            roll_series(self.counts, shift, 0.0)

    def clear(self) -> None:
        """Forget every key (in place: views keep their reference to this object)."""
        self.values[:] = np.nan
        self.latest[:] = np.nan
        self.counts[:] = 0.0
        self.keys[:] = 0
        self.labels = [""] * self.max_keys
        self.events[:] = 0
        self.seen[:] = -np.inf
        self._rows.clear()
        self.evicted = 0

    def _row_for(self, key: int, time: float) -> int:
        row = self._rows.get(key)
        if row is not None:
            return row
        if len(self._rows) < self.max_keys:
            row = len(self._rows)
        else:
            row = int(np.argmin(self.seen))
            del self._rows[int(self.keys[row])]
            self.evicted += 1
        self._rows[key] = row
        self.keys[row] = key
        self.values[row] = np.nan
        self.latest[row] = np.nan
        self.counts[row] = 0.0
        self.events[row] = 0
        self.labels[row] = ""
        self.seen[row] = time
        return row

    def add(self, arr: np.ndarray, column: int, time: float) -> dict[str, float]:
        """Take a batch that arrived at ``time`` into bucket ``column``; the increase of each
        counter over all keys (what ``FieldSeries`` makes the all-events rate of)."""
        if not len(arr):
            return {}
        keys = arr[self.key.name]
        # The last event of each key in this batch wins: unique over the reversed column.
        uniq, first_rev, counts = np.unique(keys[::-1], return_index=True, return_counts=True)
        last = len(arr) - 1 - first_rev
        rows = np.fromiter(
            (self._row_for(int(k), time) for k in uniq.tolist()), np.int64, len(uniq)
        )
        self.counts[rows, column] += counts
        self.events[rows] += counts
        picked = arr[last]
        increases: dict[str, float] = {}
        if self.fields:
            vals = np.column_stack([picked[n].astype(np.float64) for n in self.names])
            if self.counter.any():
                increases = self._add_rates(rows, vals, column, time)
            levels = np.flatnonzero(~self.counter)
            self.values[rows[:, None], levels[None, :], column] = vals[:, levels]
            self.latest[rows] = vals
        self.seen[rows] = time
        if self.label is not None:
            for row, raw in zip(rows.tolist(), picked[self.label.name].tolist(), strict=True):
                self.labels[row] = c_string(raw)
        return increases

    def _add_rates(
        self, rows: np.ndarray, vals: np.ndarray, column: int, time: float
    ) -> dict[str, float]:
        """Each counter's rate since each key's previous event, over the buckets between."""
        counters = np.flatnonzero(self.counter)
        previous = self.seen[rows]  # a new key's is now: no rate before its second event
        elapsed = time - previous
        with np.errstate(invalid="ignore", divide="ignore"):
            delta = vals[:, counters] - self.latest[rows][:, counters]
            # A total that went down is a new one (a pid reused): no rate from the old.
            ok = (elapsed[:, None] > 0) & (delta >= 0)
            rate = np.where(ok, delta / np.where(elapsed > 0, elapsed, 1.0)[:, None], np.nan)
        length, newest = self.axis.length, self.axis.newest
        assert newest is not None
        now = length + column
        before = length - 1 - (newest - np.floor(previous / self.axis.bucket_seconds))
        at = np.arange(length)[None, :]
        # From the bucket after the previous event's to this one's; this one's at least.
        span = ((at > before[:, None]) | (at == now)) & (at <= now)
        for j, c in enumerate(counters.tolist()):
            fill = span & ok[:, j, None]
            self.values[rows, c, :] = np.where(fill, rate[:, j, None], self.values[rows, c, :])
        totals = np.where(ok, delta, 0.0).sum(axis=0)
        return {self.names[c]: float(t) for c, t in zip(counters.tolist(), totals, strict=True)}

    def end(self, keys: np.ndarray) -> None:
        """``keys`` ended: their levels are no longer carried forward (a graph stops where
        the process did) and they rank last by a gauge."""
        rows = [r for k in keys.tolist() if (r := self._rows.get(int(k))) is not None]
        if rows:
            self.latest[rows] = np.nan

    def series(self, key: int, name: str) -> np.ndarray:
        """Field ``name`` of ``key`` per complete bucket (NaN before the key was first seen):
        a gauge's latest value, a counter's rate per second."""
        row = self._rows.get(key)
        if row is None:
            return np.full(self.axis.length - 1, np.nan)
        return complete(self.values[row, self.names.index(name)])

    def rate(self, key: int) -> np.ndarray:
        """Events of ``key`` per second, per complete bucket."""
        row = self._rows.get(key)
        if row is None:
            return np.zeros(self.axis.length - 1)
        return complete(self.counts[row]) / self.axis.bucket_seconds

    def latest_value(self, key: int, name: str) -> float:
        row = self._rows.get(key)
        return math.nan if row is None else float(self.latest[row, self.names.index(name)])

    def label_of(self, key: int) -> str:
        row = self._rows.get(key)
        return "" if row is None else self.labels[row]

    def top(self, name: str | None = None, n: int = 10) -> list[KeyStat]:
        """The ``n`` keys with the largest latest value of gauge ``name``, or with the most
        events when ``name`` is None."""
        if not self._rows:
            return []
        rows = np.fromiter(self._rows.values(), np.int64, len(self._rows))
        if name is None:
            vals = np.full(len(rows), np.nan)
            rank = self.events[rows].astype(np.float64)
        else:
            vals = self.latest[rows, self.names.index(name)]
            rank = np.where(np.isnan(vals), -np.inf, vals)
        # Largest first; ties by key so the order is stable from one tick to the next.
        order = np.lexsort((self.keys[rows], -rank))[:n]
        newest = self.counts[:, -2] / self.axis.bucket_seconds
        return [
            KeyStat(
                int(self.keys[r]),
                self.labels[r],
                float(vals[i]),
                int(self.events[r]),
                float(newest[r]),
            )
            for i, r in zip(order.tolist(), rows[order].tolist(), strict=True)
        ]
