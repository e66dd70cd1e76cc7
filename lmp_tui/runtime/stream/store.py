"""Bounded stores for decoded records: what views read, whatever draws them.

Data flows one way: source -> decoder -> store -> views. A store takes whole numpy arrays (one
per batch, never one call per event), keeps the newest ``capacity`` rows in a ring and keeps
fixed-length time series: events per bucket, the mean of every numeric field, and for layouts
with a key field (``pid``...) the latest value of every numeric field per key. A
``SnapshotStore`` keeps the latest content of a sampled map (log2 histograms and the like).

Queries (``select``) filter and sort the ring with numpy and return row indices, so a view
formats only the rows it shows. Nothing here knows about a UI: the CLI, a recorder or a test
can use it as well.
"""

from __future__ import annotations

import math
import re
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..format.layout import Field, FieldKind, StructLayout
from ..format.package import ExportSpec
from ..lazy import np
from .decode import Decoded, numpy_dtype

DEFAULT_CAPACITY = 10_000
DEFAULT_BUCKET_SECONDS = 1.0
DEFAULT_SERIES_LENGTH = 120
DEFAULT_MAX_KEYS = 512

KEY_FIELD_NAMES = ("pid", "tgid", "tid")
LABEL_FIELD_NAMES = ("comm", "task", "name")
SIGNAL_FIELD_NAMES = frozenset({"sig", "signal", "signo", "signum"})
SERIES_KINDS = frozenset({FieldKind.INT, FieldKind.FLOAT, FieldKind.BOOL})


# -- field semantics -------------------------------------------------------------------------------


def is_signal_field(f: Field) -> bool:
    """An integer field that holds a signal number (shown and filtered by signal name)."""
    return f.kind == FieldKind.INT and f.name.lower() in SIGNAL_FIELD_NAMES


def signal_name(number: int) -> str:
    """``SIGUSR1`` for 10; real-time signals as ``SIGRTMIN+n``; unknown numbers as digits."""
    try:
        return signal.Signals(number).name
    except ValueError:
        rtmin, rtmax = int(signal.SIGRTMIN), int(signal.SIGRTMAX)
        if rtmin < number <= rtmax:
            return f"SIGRTMIN+{number - rtmin}"
        return str(number)


def parse_signal(text: str) -> int:
    """A signal number from ``10``, ``SIGUSR1``, ``usr1`` or ``SIGRTMIN+2``."""
    t = text.strip().upper()
    if re.fullmatch(r"[+-]?\d+", t):
        return int(t)
    name = t if t.startswith("SIG") else "SIG" + t
    if m := re.fullmatch(r"SIGRTMIN\+(\d+)", name):
        return int(signal.SIGRTMIN) + int(m.group(1))
    try:
        return int(signal.Signals[name])
    except KeyError:
        raise ValueError(f"{text!r} is not a signal name or number") from None


def series_fields(layout: StructLayout) -> list[Field]:
    """Fields that make a time series: scalar numbers, bools (pointers and enums do not)."""
    return [f for f in layout.fields if f.kind in SERIES_KINDS and not is_signal_field(f)]


def key_field(layout: StructLayout) -> Field | None:
    """The field that names what an event describes (a pid), or None."""
    for name in KEY_FIELD_NAMES:
        for f in layout.fields:
            if f.name == name and f.kind == FieldKind.INT:
                return f
    return None


def label_field(layout: StructLayout) -> Field | None:
    """A text field that labels a key (``comm``), or None."""
    for name in LABEL_FIELD_NAMES:
        for f in layout.fields:
            if f.name == name and f.kind == FieldKind.STRING:
                return f
    return None


def c_string(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


# -- time series -----------------------------------------------------------------------------------


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


def _roll(values: np.ndarray, shift: int, fill: float | np.ndarray) -> None:
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
            _roll(self.counts, shift, 0.0)
            _roll(self.sums, shift, 0.0)

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
            _roll(self.values, shift, self.latest)

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


# -- the event store -------------------------------------------------------------------------------


@dataclass(slots=True)
class FrozenRows:
    """A copy of a store's rows at one moment (what a paused view shows).

    The copy keeps the store's slots, so the indices of a view shown at that moment stay
    valid for it: pausing needs no query.
    """

    layout: StructLayout
    rows: np.ndarray
    order: np.ndarray
    """Slots of the stored rows, oldest first."""
    generation: int = 0

    def arrival(self) -> np.ndarray:
        return self.order


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
        self.series = FieldSeries(series_fields(layout), self.axis)
        kf = key_field(layout)
        self.keyed = (
            KeyedSeries(kf, label_field(layout), series_fields(layout), self.axis, max_keys)
            if kf is not None
            else None
        )

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
        if self.keyed is not None:
            self.keyed.clear()
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
        column = self.axis.column_of(bucket)
        if column is None or not len(arr):
            return
        self.series.add(arr, column)
        if self.keyed is not None:
            self.keyed.add(arr, column, time)

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
        return float(self.series.rate()[-2])


# -- sampled maps ----------------------------------------------------------------------------------


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
            _roll(self.counts, shift, 0.0)
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


@dataclass
class StoreConfig:
    """How big the stores of a run are."""

    capacity: int = DEFAULT_CAPACITY
    bucket_seconds: float = DEFAULT_BUCKET_SECONDS
    series_length: int = DEFAULT_SERIES_LENGTH
    max_keys: int = DEFAULT_MAX_KEYS


# -- feeding a store ------------------------------------------------------------------------------


class StoreSink:
    """Batches for a view's store: queued as they arrive, decoded into the store in bulk when
    the view asks (``flush``, once per screen refresh). Beyond ``shed_limit`` queued records
    the oldest batches are shed and counted, so a view that falls behind never holds up the
    run (nor grows without bound)."""

    def __init__(self, store: EventStore | SnapshotStore, spec: ExportSpec, shed_limit: int):
        self.store = store
        self.shed_limit = shed_limit
        self.cleared = bool(spec.sample is not None and spec.sample.clear_map)
        self._queue: list[Decoded] = []
        self._queued = 0

    def write(self, item: Decoded) -> None:
        self._queue.append(item)
        self._queued += item.batch.count
        while self._queued > self.shed_limit and len(self._queue) > 1:
            dropped = self._queue.pop(0).batch
            self._queued -= dropped.count
            if isinstance(self.store, EventStore):
                self.store.add_shed(dropped.count + dropped.shed)
                self.store.drops += dropped.drops

    @property
    def queued(self) -> int:
        """Records waiting for the next ``flush``."""
        return self._queued

    def discard(self) -> None:
        """Forget what is queued (a replay that jumped elsewhere)."""
        self._queue, self._queued = [], 0

    def flush(self) -> tuple[int, int]:
        """Decode everything queued into the store: (batches, records) taken."""
        if not self._queue:
            return 0, 0
        items, self._queue, self._queued = self._queue, [], 0
        return len(items), self.apply(items)

    def apply(self, items: list[Decoded]) -> int:
        """Decode ``items`` into the store now; the records taken."""
        store = self.store
        taken = 0
        for item in items:
            batch = item.batch
            taken += batch.count
            if isinstance(store, EventStore):
                store.append(item.events, batch.time, batch.drops, batch.shed)
            elif batch.snapshot:
                keys, values = item.snapshot
                store.update(keys, values, batch.time, cleared=self.cleared)
        return taken

    def close(self) -> None:
        self.flush()


def make_store(spec: ExportSpec, config: StoreConfig) -> EventStore | SnapshotStore | None:
    """The store that fits what a run exports (None when it exports nothing)."""
    if spec.key is not None and spec.value is not None:
        return SnapshotStore(
            spec.key,
            spec.value,
            bucket_seconds=config.bucket_seconds,
            series_length=config.series_length,
        )
    if spec.layout is not None:
        return EventStore(
            spec.layout,
            config.capacity,
            bucket_seconds=config.bucket_seconds,
            series_length=config.series_length,
            max_keys=config.max_keys,
        )
    return None
