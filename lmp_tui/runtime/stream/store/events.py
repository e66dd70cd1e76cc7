"""``EventStore``: the newest ``capacity`` events of a run in a numpy ring, with their series."""

from __future__ import annotations

from ...format.layout import StructLayout
from ...format.roles import Role, meanings
from ...lazy import np
from ..decode import numpy_dtype
from .fields import describes_state, exit_field, key_field, label_field, series_fields, thread_field
from .frozen import FrozenRows
from .latest import LatestRows, ThreadTotals
from .series import (
    DEFAULT_BUCKET_SECONDS,
    DEFAULT_MAX_KEYS,
    DEFAULT_SERIES_LENGTH,
    BucketAxis,
    FieldSeries,
    KeyedSeries,
    clamp_time,
)

DEFAULT_CAPACITY = 10_000


class EventStore:
    """The newest ``capacity`` events of one program, plus their time series.

    ``append`` takes a whole decoded batch. ``generation`` changes whenever rows change, so
    views can tell whether they need to redraw.
    """

    def __init__(
        self,
        layout: StructLayout,
        capacity: int = DEFAULT_CAPACITY,
        *,
        bucket_seconds: float = DEFAULT_BUCKET_SECONDS,
        series_length: int = DEFAULT_SERIES_LENGTH,
        max_keys: int = DEFAULT_MAX_KEYS,
        program: str = "",
        map_name: str = "",
    ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.layout = layout
        self.dtype = numpy_dtype(layout.fields, layout.size)
        self.capacity = capacity
        self.rows = np.zeros(capacity, self.dtype)
        self.times = np.zeros(capacity, np.float64)
        self.size = 0
        self.written = 0
        """Rows ever written to the ring: the row written n-th lives at ``rows[n % capacity]``
        while ``n >= written - size``. Views follow the store by these numbers."""
        self.resets = 0
        """Times the store was emptied (``clear``): numbers start again from 0."""
        self.total = 0
        self.drops = 0
        self.shed = 0
        self.generation = 0
        self.last_time: float | None = None
        self.axis = BucketAxis(series_length, bucket_seconds)
        self.meanings = meanings(layout, program=program, map_name=map_name)
        """What each field means (the program's name settles some), for series and views."""
        fields = series_fields(layout, self.meanings)
        self.series = FieldSeries(fields, self.axis, self.meanings)
        kf = key_field(layout)
        self.keyed = (
            KeyedSeries(kf, label_field(layout), fields, self.axis, max_keys, self.meanings)
            if kf is not None
            else None
        )
        tf = thread_field(layout, kf)
        ef = exit_field(layout)
        self.exit = ef.name if ef is not None else None
        counters = [f.name for f in fields if self.meanings[f.name].role == Role.COUNTER]
        self.threads_fold = (
            ThreadTotals(kf.name, tf.name, counters)
            if kf is not None and tf is not None and counters
            else None
        )
        """Threads' running totals summed per process, for the series and the latest rows."""
        state = kf is not None and describes_state(layout, self.meanings)
        self.latest = (
            LatestRows(layout, self.dtype, kf.name, exit=self.exit)
            if state and kf is not None
            else None
        )
        """Each key's latest row (procstat: a process), when events describe state."""
        self.latest_threads = (
            LatestRows(layout, self.dtype, tf.name, exit=self.exit, ends_by=kf.name)
            if self.latest is not None and kf is not None and tf is not None
            else None
        )
        """Each thread's latest row, for a table that shows threads."""

    def __len__(self) -> int:
        return self.size

    @property
    def evicted(self) -> int:
        """Events that fell off the end of the ring (still counted in ``total``)."""
        return self.total - self.size

    def append(self, arr: np.ndarray, time: float, drops: int = 0, shed: int = 0) -> None:
        """Add one batch of decoded events that arrived at ``time`` (wall-clock seconds), with
        the events the kernel dropped and those lmp shed since the batch before."""
        self.drops += drops
        self.shed += shed
        time = clamp_time(time, self.last_time)
        self.last_time = time if self.last_time is None else max(self.last_time, time)
        n = len(arr)
        if n:
            self._write(arr, time)
            self.total += n
        self._add_series(arr, time)
        self.generation += 1

    def clear(self) -> None:
        """Empty the store and its series in place (a replay seeking back starts over)."""
        self.size = self.written = self.total = self.drops = self.shed = 0
        self.resets += 1
        self.last_time = None
        self.axis.clear()
        self.series.clear()
        for part in (self.keyed, self.threads_fold, self.latest, self.latest_threads):
            if part is not None:
                part.clear()
        self.generation += 1

    def add_shed(self, count: int) -> None:
        """Count events the UI dropped before they reached the store."""
        self.shed += count
        self.generation += 1

    @property
    def head(self) -> int:
        """The slot the next row goes to (the oldest row's, once the ring is full)."""
        return self.written % self.capacity

    def _write(self, arr: np.ndarray, time: float) -> None:
        cap, n = self.capacity, len(arr)
        if n > cap:
            self.written += n - cap  # rows that would be overwritten within this batch
            arr, n = arr[-cap:], cap
        start = self.written % cap
        first = min(n, cap - start)
        self.rows[start : start + first] = arr[:first]
        self.times[start : start + first] = time
        if first < n:
            self.rows[: n - first] = arr[first:]
            self.times[: n - first] = time
        self.written += n
        self.size = min(self.size + n, cap)

    def _add_series(self, arr: np.ndarray, time: float) -> None:
        bucket = self.axis.bucket_of(time)
        shift = self.axis.shift_for(bucket)
        self.series.roll(shift)
        if self.keyed is not None:
            self.keyed.roll(shift)
        if self.latest_threads is not None:
            self.latest_threads.add(arr, time)  # threads' own totals
        if self.threads_fold is not None:
            arr = self.threads_fold.fold(arr, time)
        if self.latest is not None:
            self.latest.add(arr, time)
        if self.exit is not None and len(arr):
            ends = arr[self.exit].astype(bool)
            if ends.any():
                # A last report is an end, not a sample: series stop there, not draw it.
                self._end(arr[ends])
                arr = arr[~ends]
        column = self.axis.column_of(bucket)
        if column is None or not len(arr):
            return
        # The keys' counters make the all-events rates: one running total per key.
        increases = self.keyed.add(arr, column, time) if self.keyed is not None else None
        self.series.add(arr, column, increases)

    def _end(self, last: np.ndarray) -> None:
        """Keys whose last report ``last`` holds have ended."""
        if self.keyed is not None:
            keys = last[self.keyed.key.name]
            self.keyed.end(keys)
            if self.threads_fold is not None:
                self.threads_fold.end(keys)

    def arrival(self) -> np.ndarray:
        """Indices into ``rows`` of the stored events, oldest first."""
        if self.size < self.capacity:
            return np.arange(self.size)
        return np.concatenate((np.arange(self.head, self.capacity), np.arange(0, self.head)))

    def freeze(self) -> FrozenRows:
        return FrozenRows(self.layout, self.rows.copy(), self.arrival(), self.generation)

    def events_per_second(self) -> float:
        """The rate over the newest complete bucket (the current one is still filling)."""
        if self.axis.newest is None:
            return 0.0
        return float(self.series.rate()[-1])
