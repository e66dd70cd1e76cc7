"""``ProgramMetrics``: a pipeline sink that keeps one program's metrics (``families``) and hands
them to prometheus-client at each scrape (it is a custom collector: the exposition, text or
OpenMetrics, is the library's, never ours).

A batch is folded in with numpy (label combinations counted with ``np.unique``; a Python call
per distinct combination, never per event); a scrape reads what was folded. The pipeline's
thread writes and the HTTP server's thread reads: one lock between them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.samples import Sample

from ..config import ExportEntry
from ..format.layout import FieldKind, StructLayout
from ..format.package import ExportSpec
from ..format.roles import Meaning, Role, export_meanings, meanings
from ..lazy import np
from ..stream.decode import Decoded, numpy_dtype
from ..stream.meaning import column_strings, to_base
from ..stream.store.fields import c_string, exit_field, key_field, label_field, thread_field
from ..stream.store.latest import LatestRows, ThreadTotals
from ..stream.store.snapshots import HistogramEntry, SnapshotStore
from .families import COMMON, Family, families
from .series import OTHER, LabelHasher, SeriesCounts

FOLD_EVENTS = 65_536
FOLD_SECONDS = 0.25
"""Events are folded in at least this many at a time, or this often, and at every scrape."""
DEFAULT_CAP = 500
"""Series per metric at most (plus one ``other``): what a flood of distinct values (a comm per
process of a fork bomb) may cost a Prometheus server."""


class ProgramMetrics:
    """One program's metrics. ``write``/``close`` make it a pipeline ``Sink``; ``collect``
    makes it a prometheus-client collector."""

    def __init__(
        self,
        program: str,
        spec: ExportSpec,
        cap: int = DEFAULT_CAP,
        exports: Sequence[ExportEntry] = (),
    ) -> None:
        self.program = program
        self.spec = spec
        self.cap = cap
        self.lock = threading.Lock()
        self.families: list[Family] = []
        self.event_metrics: list[EventMetric] = []
        """Metrics folded from events: the events counter, ``[[export]]`` tables."""
        self.reconfigure(exports)
        self.up = False
        self.events = 0
        self.drops = 0
        self.shed = 0
        self._pending: list[np.ndarray] = []
        self._pending_events = 0
        self._pending_since = 0.0
        self._pending_time = 0.0
        self.latest: LatestRows | None = None
        self.threads: ThreadTotals | None = None
        self.snapshots: SnapshotStore | None = None
        self._known: dict[str, Meaning] = {}
        layout = spec.layout
        if layout is not None:
            self._known = meanings(layout, program=program)
            if any(f.field and not f.per_event for f in self.families):  # procstat's
                self._keep_latest(layout)
        elif spec.key is not None and spec.value is not None:
            self.snapshots = SnapshotStore(spec.key, spec.value)
            self._cleared = bool(spec.sample is not None and spec.sample.clear_map)
            self._key_known = export_meanings(spec, program)["key"]
            self._key_dtype = numpy_dtype(spec.key.fields, spec.key.size)
            self._labelled = label_field(spec.value) is not None

    def _keep_latest(self, layout: StructLayout) -> None:
        key = key_field(layout)
        assert key is not None
        thread = thread_field(layout, key)
        ended = exit_field(layout)
        counters = [
            f.field for f in self.families if f.kind == "counter" and f.field and not f.per_event
        ]
        if thread is not None and counters:
            self.threads = ThreadTotals(key.name, thread.name, counters)
        dtype = numpy_dtype(layout.fields, layout.size)
        self.latest = LatestRows(
            layout, dtype, key.name, exit=ended.name if ended else None, exited_seconds=0.0
        )

    def reconfigure(self, exports: Sequence[ExportEntry]) -> None:
        """Take the ``[[export]]`` tables (again, on a reload): a table that did not change keeps
        its series and counts, the others start afresh; the defaults are not touched."""
        with self.lock:
            self.families = families(self.program, self.spec, exports)
            kept = {metric.family: metric for metric in self.event_metrics}
            self.event_metrics = [
                kept.get(f) or EventMetric(self.program, f, self.spec.layout, self.cap)
                for f in self.families
                if f.per_event
            ]

    # -- the pipeline's side ---------------------------------------------------------------------

    def write(self, item: Decoded) -> None:
        batch = item.batch
        with self.lock:
            self.events += batch.count
            self.drops += batch.drops
            self.shed += batch.shed
            if self.snapshots is not None and batch.snapshot:
                keys, values = item.snapshot
                self.snapshots.update(keys, values, batch.time, cleared=self._cleared)
            elif self.spec.layout is not None and batch.count and not batch.snapshot:
                self._hold(item.events, batch.time)

    def _hold(self, events: np.ndarray, time: float) -> None:
        """Keep a batch's events for the next fold: folding costs about as much for ten
        events as for ten thousand, and a batch is often a handful (each ring wakeup's)."""
        if not self._pending:
            self._pending_since = time
        self._pending.append(events)
        self._pending_events += len(events)
        self._pending_time = time
        if self._pending_events >= FOLD_EVENTS or time - self._pending_since >= FOLD_SECONDS:
            self._fold()

    def _fold(self) -> None:
        if not self._pending:
            return
        held, self._pending, self._pending_events = self._pending, [], 0
        # only the bytes the metrics read (opensnoop's label fields are 24 of its 292) when
        # they are to be copied together
        read = self._read_fields() if self.latest is None and len(held) > 1 else []
        folded = Folded.compact(held, read) if read else Folded.whole(held)
        for metric in self.event_metrics:
            metric.add(folded, self._pending_time)
        if self.latest is not None:
            arr, time = folded.events, self._pending_time
            if self.threads is not None:
                arr = self.threads.fold(arr, time)
            self.latest.add(arr, time)

    def _read_fields(self) -> list[str]:
        """The fields the event metrics read, in layout order."""
        read = {n for m in self.event_metrics for n in (*m.family.label_fields, m.family.field)}
        layout = self.spec.layout
        assert layout is not None
        return [f.name for f in layout.fields if f.name in read]

    def close(self) -> None:
        with self.lock:
            self.up = False

    # -- the scrape's side -----------------------------------------------------------------------

    def collect(self) -> Iterator[Metric]:
        with self.lock:
            self._fold()  # a scrape sees every event delivered so far
            label = {"program": self.program}
            for name, kind, help_ in COMMON:
                value = {
                    "lmp_events_total": self.events,
                    "lmp_kernel_drops_total": self.drops,
                    "lmp_shed_total": self.shed,
                    "lmp_program_up": int(self.up),
                }[name]
                metric_cls = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
                m = metric_cls(name.removesuffix("_total"), help_, labels=["program"])
                m.add_metric([label["program"]], value)
                yield m
            for metric in self.event_metrics:
                yield metric.collect()
            for family in self.families:
                if family.per_event:
                    continue
                if family.kind == "histogram":
                    yield self._histogram(family)
                elif self.snapshots is not None:
                    yield self._map_values(family)
                else:
                    yield self._per_key(family)

    def _per_key(self, family: Family) -> Metric:
        """A gauge or counter per live key, the ``cap`` largest by the first gauge; the other
        keys' gauges summed under ``other`` (a counter's sum would go down as keys come and
        go: they are left out)."""
        latest = self.latest
        assert latest is not None and family.meaning is not None
        counter = family.kind == "counter"
        m = scalar_family(family)
        slots = latest.arrival()
        slots = slots[np.isnan(latest.ended[slots])]  # a key that went away: its series too
        if not len(slots):
            return m
        rows = latest.rows[slots]
        first = next((f for f in self.families if f.kind == "gauge" and not f.per_event), family)
        rank = rows[first.field].astype(np.float64)
        order = np.argsort(-rank, kind="stable")
        top, rest = order[: self.cap], order[self.cap :]
        values = to_base(family.meaning, rows[family.field])
        layout = self.spec.layout
        assert layout is not None
        key = key_field(layout)
        text = label_field(layout)
        assert key is not None
        for i in top.tolist():
            labels = [str(int(rows[key.name][i]))]
            if text is not None:
                labels.append(c_string(bytes(rows[text.name][i])))
            m.add_metric(labels, float(values[i]))
        if len(rest) and not counter:
            m.add_metric([OTHER] * len(family.labels), float(values[rest].sum()))
        return m

    def _entries(self) -> list[HistogramEntry]:
        assert self.snapshots is not None
        return self.snapshots.cumulative_entries

    def _key_labels(self, entry: HistogramEntry) -> list[str]:
        """A map key's label values, as the TUI names them (``read`` for syscall 0), and its
        label text (comm) when the value has one."""
        key = self.spec.key
        assert key is not None
        row = np.zeros(1, self._key_dtype)
        out = []
        for i, f in enumerate(key.fields):
            if f.name.lower() in ("pad", "padding", "__pad"):
                continue
            row[f.name] = entry.key[f.name]
            out.append(column_strings(key, self._key_known, row, i)[0])
        if self._labelled:
            out.append(entry.label)
        return out

    def _histogram(self, family: Family) -> Metric:
        """Cumulative per key across reads (a map cleared at every read is summed), buckets
        in base units: a log2 slot i counts values up to 2^(i+1) - 1 of the map's unit."""
        m = HistogramMetricFamily(family.name, family.help, labels=list(family.labels))
        meaning = family.meaning or Meaning(Role.PLAIN)
        for entry in self._entries()[: self.cap]:
            if entry.slots is None:
                continue
            slots = np.asarray(entry.slots, np.float64)
            bounds = _bounds(self.spec, len(slots))
            edges = to_base(meaning, bounds)
            cumulative = np.cumsum(slots)
            buckets = [
                (_le(e), float(c)) for e, c in zip(edges.tolist(), cumulative.tolist(), strict=True)
            ]
            buckets.append(("+Inf", float(cumulative[-1]) if len(cumulative) else 0.0))
            # The map keeps counts, not the values: the sum is estimated at each bucket's middle.
            middles = to_base(meaning, _middles(self.spec, len(slots)))
            m.add_metric(self._key_labels(entry), buckets, float((slots * middles).sum()))
        return m

    def _map_values(self, family: Family) -> Metric:
        m = scalar_family(family)
        meaning = family.meaning or Meaning(Role.PLAIN)
        for entry in self._entries()[: self.cap]:
            value = entry.values.get(family.field)
            if isinstance(value, int | float):
                m.add_metric(self._key_labels(entry), float(to_base(meaning, np.asarray(value))))
        return m


@dataclass(frozen=True)
class Folded:
    """The events of one fold: ``events`` holds the fields the metrics read (whole records,
    or a compact copy of the bytes that hold those fields); ``records(at)`` is the whole
    records at those indices, for the label texts of values not seen before."""

    events: np.ndarray
    held: Sequence[np.ndarray]
    starts: np.ndarray
    """Where each held array begins in ``events``."""

    @classmethod
    def whole(cls, held: Sequence[np.ndarray]) -> Folded:
        events = held[0]
        if len(held) > 1:  # as bytes: numpy's structured concatenate is slow
            events = np.concatenate([a.view(np.uint8) for a in held]).view(events.dtype)
        return cls(events, [events], np.zeros(1, np.intp))

    @classmethod
    def compact(cls, held: Sequence[np.ndarray], names: Sequence[str]) -> Folded:
        full = held[0].dtype
        fields = full.fields
        assert fields is not None
        start = min(fields[n][1] for n in names)
        end = max(fields[n][1] + fields[n][0].itemsize for n in names)
        compact = np.dtype(
            {
                "names": list(names),
                "formats": [fields[n][0] for n in names],
                "offsets": [fields[n][1] - start for n in names],
                "itemsize": end - start,
            }
        )
        events = np.concatenate(
            [a.view(np.uint8).reshape(len(a), full.itemsize)[:, start:end] for a in held]
        ).view(compact)[:, 0]
        starts = np.cumsum([0] + [len(a) for a in held[:-1]])
        return cls(events, held, starts)

    def records(self, at: np.ndarray) -> np.ndarray:
        if len(self.held) == 1:
            return self.held[0][at]
        out = np.empty(len(at), self.held[0].dtype)
        which = np.searchsorted(self.starts, at, side="right") - 1
        for i in np.unique(which).tolist():
            mine = which == i
            out[mine] = self.held[i][at[mine] - self.starts[i]]
        return out


class EventMetric:
    """A family folded from each event, per label values under the series cap: a counter of
    events (the events counter) or of a field's sum, a gauge of a field's last value, or a
    histogram of a field into given buckets (``[[export]]`` tables)."""

    def __init__(self, program: str, family: Family, layout: StructLayout | None, cap: int) -> None:
        assert layout is not None  # configured() takes events only
        self.family = family
        self.layout = layout
        self.known = meanings(layout, program=program)
        self.indices = [layout.names.index(n) for n in family.label_fields]
        self.hashes = LabelHasher(
            [
                (layout.fields[i].name, layout.fields[i].kind == FieldKind.STRING)
                for i in self.indices
            ]
        )
        self.bounds = np.asarray(family.buckets, np.float64)
        width = len(self.bounds) + 2 if family.kind == "histogram" else 1  # + inf, + sum
        self.counts = SeriesCounts(cap, family.labels, width, latest=family.kind == "gauge")

    def add(self, folded: Folded, time: float) -> None:
        family, layout, arr = self.family, self.layout, folded.events

        def texts(rows: Any) -> list[tuple[str, ...]]:
            sample = folded.records(rows)
            columns = [column_strings(layout, self.known, sample, i) for i in self.indices]
            return list(zip(*columns, strict=True)) if columns else [()] * len(sample)

        values = None
        if family.field:
            v = to_base(family.meaning or Meaning(Role.PLAIN), arr[family.field])
            if family.kind == "histogram":
                values = np.zeros((len(v), len(self.bounds) + 2))
                # le: a value equal to a bound is in that bound's bucket
                values[np.arange(len(v)), np.searchsorted(self.bounds, v, side="left")] = 1
                values[:, -1] = v
            else:
                values = v.reshape(-1, 1)
        self.counts.add(self.hashes(arr), texts, time, values)

    def collect(self) -> Metric:
        family = self.family
        if family.kind != "histogram":
            m = scalar_family(family)
            name = family.name
            labels, numbers = self.counts.series()
            m.samples = [
                Sample(name, each, value)
                for each, value in zip(labels, numbers[:, 0].tolist(), strict=True)
            ]
            return m
        h = HistogramMetricFamily(family.name, family.help, labels=list(family.labels))
        edges = [*map(_le, self.bounds.tolist()), "+Inf"]
        every, numbers = self.counts.series()
        for values, row in zip(every, numbers, strict=True):
            cumulative = np.cumsum(row[:-1]).tolist()
            h.add_metric(
                [values[n] for n in family.labels],
                list(zip(edges, cumulative, strict=True)),
                float(row[-1]),
            )
        return h


def scalar_family(family: Family) -> CounterMetricFamily | GaugeMetricFamily:
    """An empty counter or gauge family for ``family`` (a counter's is named without
    ``_total``: prometheus-client adds it)."""
    if family.kind == "counter":
        return CounterMetricFamily(
            family.name.removesuffix("_total"), family.help, labels=list(family.labels)
        )
    return GaugeMetricFamily(family.name, family.help, labels=list(family.labels))


def _bounds(spec: ExportSpec, n: int) -> np.ndarray:
    """Each slot's upper bound in the map's unit: log2 (bcc's ``print_log2_hist``: slot i is
    2^i .. 2^(i+1) - 1) or linear (``sample.step`` wide)."""
    sample = spec.sample
    if sample is not None and sample.type == "linear_hist":
        step = float(getattr(sample, "step", 1) or 1)
        return (np.arange(n, dtype=np.float64) + 1) * step
    return np.exp2(np.arange(1, n + 1, dtype=np.float64)) - 1


def _middles(spec: ExportSpec, n: int) -> np.ndarray:
    upper = _bounds(spec, n)
    lower = np.concatenate(([0.0], upper[:-1] + 1))
    return (lower + upper) / 2


def _le(edge: float) -> str:
    return repr(float(edge))
