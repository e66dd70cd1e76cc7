"""``SnapshotStore``: the latest content of a sampled map (log2 histograms and the like), what
changed since the snapshot before (per-interval deltas), and how fast its counts grow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...format.layout import Field, FieldKind, StructLayout
from ...format.roles import Role, meanings
from ...lazy import np
from .fields import c_string, label_field
from .series import (
    DEFAULT_BUCKET_SECONDS,
    DEFAULT_SERIES_LENGTH,
    BucketAxis,
    clamp_time,
    complete,
    roll_series,
)


@dataclass(frozen=True, slots=True)
class HistogramEntry:
    """One key of a sampled map: its histogram slots (if any) and other values."""

    key: dict[str, Any]
    label: str
    slots: np.ndarray | None
    values: dict[str, Any]

    @property
    def total(self) -> int:
        return int(self.slots.sum()) if self.slots is not None else 0

    @property
    def identity(self) -> tuple[Any, ...]:
        """The key as something hashable, to find the same key in another snapshot."""
        return tuple(v.tobytes() if isinstance(v, np.ndarray) else v for v in self.key.values())


def extreme(name: str) -> bool:
    """A running maximum or minimum (``max_ns``): not a total, so it has no per-interval delta."""
    return name.lower().startswith(("max", "min", "peak"))


def difference(current: HistogramEntry, previous: HistogramEntry | None) -> HistogramEntry:
    """What ``current`` counted since ``previous`` (the same key one snapshot earlier): slots
    and running totals subtracted, never below 0 (a key deleted and re-created restarts its
    counts); extremes and text kept as they are. No previous: all of it is new."""
    if previous is None:
        return current
    slots = current.slots
    if slots is not None and previous.slots is not None and len(previous.slots) == len(slots):
        slots = np.maximum(slots - previous.slots, 0)
    values = {
        name: _minus(name, v, previous.values.get(name)) for name, v in current.values.items()
    }
    return HistogramEntry(current.key, current.label, slots, values)


def accumulate(total: HistogramEntry | None, part: HistogramEntry) -> HistogramEntry:
    """``total`` with ``part`` added (a map cleared at every read sums to its cumulative view);
    extremes keep the larger."""
    if total is None:
        return part
    slots = part.slots
    if slots is not None and total.slots is not None and len(total.slots) == len(slots):
        slots = total.slots + slots
    values = dict(part.values)
    for name, v in part.values.items():
        before = total.values.get(name)
        if _number(v) and _number(before):
            values[name] = max(v, before) if extreme(name) else v + before
    return HistogramEntry(part.key, part.label or total.label, slots, values)


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _minus(name: str, current: Any, previous: Any) -> Any:
    if extreme(name) or not (_number(current) and _number(previous)):
        return current
    return max(current - previous, 0)


def rate_field(value: StructLayout) -> Field | None:
    """The value member whose growth says the map is live when it has no histogram: the first
    counter (syscount's ``count``, xdpstat's ``packets``), else the first integer."""
    ints = [f for f in value.fields if f.kind == FieldKind.INT]
    roles = meanings(value, part="value")
    counters = [f for f in ints if roles[f.name].role == Role.COUNTER and not extreme(f.name)]
    chosen = counters or ints
    return chosen[0] if chosen else None


def histogram_field(layout: StructLayout) -> Field | None:
    """The array of counters in a sampled map's value (``slots``), or None."""
    for f in layout.fields:
        if (
            f.kind == FieldKind.ARRAY
            and f.elem is not None
            and f.elem.kind == FieldKind.INT
            and len(f.dims) == 1
        ):
            return f
    return None


class SnapshotStore:
    """The latest snapshot of a sampled map, and a series of counts per bucket."""

    def __init__(
        self,
        key: StructLayout,
        value: StructLayout,
        *,
        bucket_seconds: float = DEFAULT_BUCKET_SECONDS,
        series_length: int = DEFAULT_SERIES_LENGTH,
    ) -> None:
        self.key_layout = key
        self.value_layout = value
        self.hist = histogram_field(value)
        self.label = label_field(value)
        self.counted = rate_field(value) if self.hist is None else None
        """What ``total`` and the rate count without a histogram (syscount: calls)."""
        self.entries: list[HistogramEntry] = []
        """The map as last read."""
        self.interval_entries: list[HistogramEntry] = []
        """What each key counted between the last two snapshots."""
        self.cumulative_entries: list[HistogramEntry] = []
        """Everything each key counted (a map cleared at each read: the sum of its reads)."""
        self.interval_seconds: float | None = None
        """Time between the last two snapshots (None after the first)."""
        self.snapshots = 0
        self.total = 0
        self.drops = 0
        self.shed = 0
        self.generation = 0
        self.last_time: float | None = None
        self.axis = BucketAxis(series_length, bucket_seconds)
        self.counts = np.zeros(series_length, np.float64)
        self._previous_total: int | None = None
        self._previous_time: float | None = None
        self.last_rate = 0.0
        """Samples per second between the last two snapshots."""

    def update(
        self, keys: np.ndarray, values: np.ndarray, time: float, *, cleared: bool = False
    ) -> None:
        """Replace the snapshot with the map's content at ``time``."""
        time = clamp_time(time, self.last_time)
        entries = []
        for k, v in zip(keys, values, strict=True):
            key = {f.name: _scalar(k[f.name], f) for f in self.key_layout.fields}
            slots = np.asarray(v[self.hist.name], np.int64) if self.hist is not None else None
            label = c_string(bytes(v[self.label.name])) if self.label is not None else ""
            rest = {
                f.name: _scalar(v[f.name], f)
                for f in self.value_layout.fields
                if f is not self.hist and f is not self.label
            }
            entries.append(HistogramEntry(key, label, slots, rest))
        entries.sort(key=_entry_order)
        self._keep_intervals(entries, time, cleared)
        self.entries = entries
        self.snapshots += 1
        grand = sum(self._count(e) for e in entries)
        new = (
            grand
            if cleared or self._previous_total is None
            else max(grand - self._previous_total, 0)
        )
        self._previous_total = grand
        self.total += new
        previous, self._previous_time = self._previous_time, time
        self.last_rate = (
            new / (time - previous) if previous is not None and time > previous else 0.0
        )
        shift = self.axis.shift_for(self.axis.bucket_of(time))
        if shift:
            roll_series(self.counts, shift, 0.0)
        self._spread(new, previous, time)
        self.last_time = time
        self.generation += 1

    def _spread(self, new: int, previous: float | None, time: float) -> None:
        """Count ``new`` over the buckets since the last snapshot, as the samples arrived then:
        a map read every 5 s draws a steady rate, not a spike every fifth bucket."""
        last = self.axis.bucket_of(time)
        first = last if previous is None else min(self.axis.bucket_of(previous) + 1, last)
        buckets = range(first, last + 1)
        for bucket in buckets:
            column = self.axis.column_of(bucket)
            if column is not None:
                self.counts[column] += new / len(buckets)

    @property
    def rate_name(self) -> str:
        """What the rate counts: ``samples/s`` of a histogram, ``count/s`` of counters."""
        return f"{self.counted.name}/s" if self.counted is not None else "samples/s"

    def _count(self, entry: HistogramEntry) -> int:
        if self.counted is None:
            return entry.total
        value = entry.values.get(self.counted.name, 0)
        return int(value) if _number(value) else 0

    def _keep_intervals(self, entries: list[HistogramEntry], time: float, cleared: bool) -> None:
        """Per-interval and cumulative views of the new snapshot ``entries``."""
        before = {e.identity: e for e in self.cumulative_entries}
        if cleared:
            # The map restarts at every read: the snapshot is the interval; sum for the total.
            self.interval_entries = entries
            summed = [accumulate(before.get(e.identity), e) for e in entries]
            # A key that counted nothing this time is not in the read, but it still counted.
            now = {e.identity for e in entries}
            kept = [e for e in self.cumulative_entries if e.identity not in now]
            self.cumulative_entries = sorted(summed + kept, key=_entry_order)
        else:
            last = {e.identity: e for e in self.entries}
            self.interval_entries = [difference(e, last.get(e.identity)) for e in entries]
            self.cumulative_entries = entries
        previous = self.last_time
        self.interval_seconds = time - previous if previous is not None else None

    def rate(self) -> np.ndarray:
        """Samples per second, per complete bucket (the newest one is still filling)."""
        return complete(self.counts) / self.axis.bucket_seconds

    def events_per_second(self) -> float:
        return self.last_rate

    def clear(self) -> None:
        """Forget every snapshot, in place."""
        self.entries = []
        self.interval_entries = []
        self.cumulative_entries = []
        self.interval_seconds = None
        self.snapshots = self.total = self.drops = self.shed = 0
        self.last_time = None
        self.axis.clear()
        self.counts[:] = 0.0
        self._previous_total = None
        self._previous_time = None
        self.last_rate = 0.0
        self.generation += 1


def _entry_order(entry: HistogramEntry) -> tuple[tuple[int, Any], ...]:
    """Numbers in numeric order, anything else by its text."""
    return tuple((0, v) if isinstance(v, int | float) else (1, str(v)) for v in entry.key.values())


def _scalar(value: Any, f: Field) -> Any:
    if f.kind == FieldKind.STRING:
        return c_string(bytes(value))
    if isinstance(value, np.generic):
        return value.item()
    return value
