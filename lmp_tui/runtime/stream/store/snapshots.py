"""``SnapshotStore``: the latest content of a sampled map (log2 histograms and the like), and the
rate it is sampled at."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...format.layout import Field, FieldKind, StructLayout
from ...lazy import np
from .fields import c_string, label_field
from .series import (
    DEFAULT_BUCKET_SECONDS,
    DEFAULT_SERIES_LENGTH,
    BucketAxis,
    clamp_time,
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
        self.entries: list[HistogramEntry] = []
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
        self.entries = entries
        self.snapshots += 1
        grand = sum(e.total for e in entries)
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
        column = self.axis.column_of(self.axis.bucket_of(time))
        if column is not None:
            self.counts[column] += new
        self.last_time = time
        self.generation += 1

    def rate(self) -> np.ndarray:
        return self.counts / self.axis.bucket_seconds

    def events_per_second(self) -> float:
        return self.last_rate

    def clear(self) -> None:
        """Forget every snapshot, in place."""
        self.entries = []
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
