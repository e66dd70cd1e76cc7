"""Fixed-length time series on one axis of buckets: events and the mean of each numeric field per
bucket, and per key (a pid) the latest value of each, for sparklines and top-N tables."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ...format.layout import Field
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


class FieldSeries:
    """Events per bucket, and the mean of each numeric field per bucket, over all events."""

    def __init__(self, fields: Sequence[Field], axis: BucketAxis) -> None:
        self.fields = list(fields)
        self.axis = axis
        self.counts = np.zeros(axis.length, np.float64)
        self.sums = np.zeros((len(self.fields), axis.length), np.float64)

    def roll(self, shift: int) -> None:
        if shift:
            roll_series(self.counts, shift, 0.0)
            roll_series(self.sums, shift, 0.0)

    def clear(self) -> None:
        self.counts[:] = 0.0
        self.sums[:] = 0.0

    def add(self, arr: np.ndarray, column: int) -> None:
        self.counts[column] += len(arr)
        for i, f in enumerate(self.fields):
            self.sums[i, column] += float(arr[f.name].sum(dtype=np.float64))

    def rate(self) -> np.ndarray:
        """Events per second, per bucket."""
        return self.counts / self.axis.bucket_seconds

    def mean(self, name: str) -> np.ndarray:
        """Mean of field ``name`` per bucket (NaN where a bucket has no events)."""
        i = [f.name for f in self.fields].index(name)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.counts > 0, self.sums[i] / np.maximum(self.counts, 1), np.nan)


@dataclass(frozen=True, slots=True)
class KeyStat:
    """One key's latest values, for a top-N table."""

    key: int
    label: str
    value: float
    events: int


class KeyedSeries:
    """The latest value of each numeric field per key (pid), per bucket, for ``max_keys`` keys.

    Buckets with no event for a key carry its previous value forward, so a sparkline of a
    gauge (rss, vsize) stays flat instead of dropping to zero between samples. When full, the
    key seen longest ago makes room for a new one.
    """

    def __init__(
        self,
        key: Field,
        label: Field | None,
        fields: Sequence[Field],
        axis: BucketAxis,
        max_keys: int = DEFAULT_MAX_KEYS,
    ) -> None:
        self.key = key
        self.label = label
        self.fields = [f for f in fields if f.name != key.name]
        self.names = [f.name for f in self.fields]
        self.axis = axis
        self.max_keys = max_keys
        n, m = max_keys, len(self.fields)
        self.values = np.full((n, m, axis.length), np.nan)
        self.latest = np.full((n, m), np.nan)
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
            roll_series(self.values, shift, self.latest)

    def clear(self) -> None:
        """Forget every key (in place: views keep their reference to this object)."""
        self.values[:] = np.nan
        self.latest[:] = np.nan
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
        self.events[row] = 0
        self.labels[row] = ""
        self.seen[row] = time
        return row

    def add(self, arr: np.ndarray, column: int, time: float) -> None:
        if not len(arr) or not self.fields:
            return
        keys = arr[self.key.name]
        # The last event of each key in this batch wins: unique over the reversed column.
        uniq, first_rev, counts = np.unique(keys[::-1], return_index=True, return_counts=True)
        last = len(arr) - 1 - first_rev
        rows = np.fromiter(
            (self._row_for(int(k), time) for k in uniq.tolist()), np.int64, len(uniq)
        )
        picked = arr[last]
        vals = np.column_stack([picked[n].astype(np.float64) for n in self.names])
        self.latest[rows] = vals
        self.values[rows, :, column] = vals
        self.events[rows] += counts
        self.seen[rows] = time
        if self.label is not None:
            for row, raw in zip(rows.tolist(), picked[self.label.name].tolist(), strict=True):
                self.labels[row] = c_string(raw)

    def series(self, key: int, name: str) -> np.ndarray:
        """Field ``name`` of ``key`` per bucket (NaN before the key was first seen)."""
        row = self._rows.get(key)
        if row is None:
            return np.full(self.axis.length, np.nan)
        return self.values[row, self.names.index(name)].copy()

    def latest_value(self, key: int, name: str) -> float:
        row = self._rows.get(key)
        return math.nan if row is None else float(self.latest[row, self.names.index(name)])

    def label_of(self, key: int) -> str:
        row = self._rows.get(key)
        return "" if row is None else self.labels[row]

    def top(self, name: str, n: int = 10) -> list[KeyStat]:
        """The ``n`` keys with the largest latest value of ``name``."""
        if not self._rows:
            return []
        rows = np.fromiter(self._rows.values(), np.int64, len(self._rows))
        vals = self.latest[rows, self.names.index(name)]
        vals = np.where(np.isnan(vals), -np.inf, vals)
        # Largest first; ties by key so the order is stable from one tick to the next.
        order = np.lexsort((self.keys[rows], -vals))[:n]
        return [
            KeyStat(
                int(self.keys[r]),
                self.labels[r],
                float(self.latest[r, self.names.index(name)]),
                int(self.events[r]),
            )
            for r in rows[order].tolist()
        ]
