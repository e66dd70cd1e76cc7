"""Which Prometheus metrics a program's data makes, decided from its layout alone (no
configuration): the one answer the exporter, ``promtool`` checks and the Grafana dashboard use.

Naming follows Prometheus's conventions (https://prometheus.io/docs/practices/naming/):
``lmp_<program>_<what>_<base unit>``, counters end in ``_total``, sizes in bytes (pages are
multiplied by the page size), times in seconds.

- Every program: ``lmp_events_total``, ``lmp_kernel_drops_total``, ``lmp_shed_total`` and
  ``lmp_program_up``, labelled ``program``.
- An event stream: ``lmp_<program>_events_total`` labelled by its low-cardinality fields
  (``label_fields``): the label text (comm), enums, signals, syscalls, errno codes. Ids,
  addresses, ports, paths and numbers are never labels: each would make a series per value.
- An event stream that reports state (procstat: a key and gauges): each gauge per key,
  ``lmp_procstat_size_bytes{pid, comm}``; each counter per key as ``..._total``.
- A log2 or linear histogram map (runqlat): ``lmp_<program>_seconds`` (or ``_bytes``, or no
  unit), a real histogram per key.
- A map of counters (syscount, xdpstat): each value field per key, counters as ``_total``,
  running maxima as gauges.

Series per metric are bounded by ``series.SeriesCounts``: the top N values by event rate, plus ``other``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ..config import ExportEntry
from ..format.layout import Field, FieldKind, StructLayout
from ..format.package import ExportSpec
from ..format.roles import Meaning, Role, export_meanings, meanings
from ..stream.store.fields import describes_state, key_field, label_field, series_fields

Kind = Literal["counter", "gauge", "histogram"]

COMMON = (
    ("lmp_events_total", "counter", "Events the program delivered"),
    ("lmp_kernel_drops_total", "counter", "Events the kernel dropped: the ring buffer was full"),
    ("lmp_shed_total", "counter", "Events lmp shed because it fell behind"),
    ("lmp_program_up", "gauge", "1 while the program is loaded and attached, else 0"),
)
LABEL_ROLES = frozenset({Role.ENUM, Role.SIGNAL, Role.SYSCALL, Role.ERRNO})
"""Roles whose values are a small, fixed vocabulary: fit to be labels."""
_SUFFIX = re.compile(r"_(ns|us|ms|s|pages|bytes)$")


@dataclass(frozen=True, slots=True)
class Family:
    """One metric family: its name as exposed (``_total`` included for counters), type,
    help, label names, and the struct field its values come from (None: counts)."""

    name: str
    kind: Kind
    help: str
    labels: tuple[str, ...] = ()
    field: str = ""
    meaning: Meaning | None = None
    label_fields: tuple[str, ...] = ()
    """An event counter's (or configured family's) label fields, in ``labels``' order."""
    buckets: tuple[float, ...] = ()
    """A configured histogram's upper bounds, in base units."""
    per_event: bool = False
    """Folded from each event (the events counter, ``[[export]]`` tables), not from a key's
    latest values or a map."""
    configured: bool = False
    """From an ``[[export]]`` table rather than the layout's defaults."""


def metric_name(*parts: str) -> str:
    """``lmp_`` + parts joined by ``_``, made a valid Prometheus name; a part said twice in a
    row once (``bytes`` counted in bytes: ``lmp_xdpstat_bytes_total``)."""
    kept: list[str] = []
    for part in ("lmp", *parts):
        if part and (not kept or kept[-1] != part):
            kept.append(part)
    name = "_".join(kept)
    name = re.sub(r"[^a-zA-Z0-9_]", "_", name)
    return re.sub(r"_+", "_", name).strip("_")


def label_name(name: str, meaning: Meaning | None = None) -> str:
    """A valid label name. A key named by its type (``__u32``: ``__`` starts names Prometheus
    reserves) is named by what it holds: ``syscall``, else ``key``."""
    if name.startswith("__") or not re.match(r"[A-Za-z]", name):
        return "syscall" if meaning is not None and meaning.role == Role.SYSCALL else "key"
    return re.sub(r"[^a-zA-Z0-9_]", "_", name)


def unit_suffix(meaning: Meaning) -> str:
    """The base unit a value is exposed in: ``bytes``, ``seconds``, or none."""
    if meaning.unit in ("pages", "bytes", "kib"):
        return "bytes"
    if meaning.unit in ("ns", "us", "ms", "s"):
        return "seconds"
    return ""


def stem(name: str) -> str:
    """A field's name without a unit suffix: ``total_ns`` -> ``total``, ``delta_us`` -> ``delta``."""
    return _SUFFIX.sub("", name)


def value_name(program: str, f: Field, meaning: Meaning, counter: bool = False) -> str:
    """``lmp_procstat_size_bytes``, ``lmp_syscount_time_seconds_total``."""
    unit = unit_suffix(meaning)
    base = stem(f.name)
    if base == "total" and unit == "seconds":  # syscount's total_ns: the time spent
        base = "time"
    return metric_name(program, base, unit, "total" if counter else "")


def label_fields(layout: StructLayout, known: dict[str, Meaning]) -> list[Field]:
    """The fields an event counter is labelled by: the label text (comm) and fields whose
    values come from a small vocabulary (enums, signals, syscalls, errno codes)."""
    label = label_field(layout)
    return [
        f
        for f in layout.fields
        if f is label
        or (
            f.kind in (FieldKind.INT, FieldKind.ENUM)
            and known.get(f.name, Meaning(Role.PLAIN)).role in LABEL_ROLES
        )
    ]


def families(program: str, spec: ExportSpec, exports: Sequence[ExportEntry] = ()) -> list[Family]:
    """The program's own families (``COMMON`` ones are the exporter's): the layout's defaults,
    then the ``[[export]]`` tables for it that fit its layout (``configured``)."""
    return _defaults(program, spec) + configured(program, spec, exports)[0]


def _defaults(program: str, spec: ExportSpec) -> list[Family]:
    if spec.layout is not None:
        return _event_families(program, spec.layout)
    if spec.key is not None and spec.value is not None:
        return _map_families(program, spec)
    return []


def configured(
    program: str, spec: ExportSpec, exports: Sequence[ExportEntry]
) -> tuple[list[Family], list[str]]:
    """The ``[[export]]`` tables for ``program`` as families, and what is wrong with the
    others (a field the layout does not have, a value that is not a number): one line each."""
    out: list[Family] = []
    problems: list[str] = []
    taken = {f.name for f in _defaults(program, spec)}
    for entry in exports:
        if entry.program != program:
            continue
        family, problem = _configured(program, spec, entry)
        if family is not None and family.name in taken:
            problem = f"{family.name} is already exported"
            family = None
        if family is None:
            problems.append(f"[[export]] {program} {entry.metric}: {problem}")
            continue
        taken.add(family.name)
        out.append(family)
    return out, problems


def _configured(program: str, spec: ExportSpec, entry: ExportEntry) -> tuple[Family | None, str]:
    layout = spec.layout
    if layout is None:
        return None, f"{program} reports a map, not events: [[export]] is for events"
    names = layout.names
    for name in (*entry.labels, *([entry.value] if entry.value else [])):
        if name not in names:
            return None, f"no field {name!r} (it has {', '.join(names)})"
    labels = tuple(label_name(n) for n in entry.labels)
    if len(set(labels)) != len(labels):
        return None, f"labels {', '.join(entry.labels)} make the same label name twice"
    known = meanings(layout, program=program)
    meaning: Meaning | None = None
    if entry.value is not None:
        value = layout.fields[names.index(entry.value)]
        if value.kind not in (FieldKind.INT, FieldKind.FLOAT, FieldKind.BOOL, FieldKind.ENUM):
            return None, f"value {entry.value!r} is not a number"
        meaning = known.get(entry.value, Meaning(Role.PLAIN))
    unit = unit_suffix(meaning) if meaning is not None else ""
    suffix = "" if not unit or entry.metric.endswith(unit) else unit
    counter = entry.kind == "counter"
    name = metric_name(
        program, entry.metric.removesuffix("_total"), suffix, "total" if counter else ""
    )
    what = f"{entry.value} of {program} events" if entry.value else f"{program} events"
    return Family(
        name,
        entry.kind,  # type: ignore[arg-type]  # checked against EXPORT_KINDS in config
        entry.help or (f"{what}, by {', '.join(entry.labels)}" if entry.labels else what),
        labels,
        entry.value or "",
        meaning,
        label_fields=entry.labels,
        buckets=entry.buckets,
        per_event=True,
        configured=True,
    ), ""


def _event_families(program: str, layout: StructLayout) -> list[Family]:
    known = meanings(layout, program=program)
    by = label_fields(layout, known)
    labels = tuple(label_name(f.name) for f in by)
    out = [
        Family(
            metric_name(program, "events_total"),
            "counter",
            f"{program} events, by {', '.join(labels)}" if labels else f"{program} events",
            labels,
            label_fields=tuple(f.name for f in by),
            per_event=True,
        )
    ]
    key = key_field(layout)
    if key is None or not describes_state(layout, known):
        return out
    label = label_field(layout)
    keyed = (label_name(key.name),) + ((label_name(label.name),) if label is not None else ())
    for f in series_fields(layout, known):
        m = known[f.name]
        if m.role == Role.GAUGE:
            out.append(
                Family(
                    value_name(program, f, m), "gauge", f"{f.name} per {key.name}", keyed, f.name, m
                )
            )
        elif m.role == Role.COUNTER:
            name = value_name(program, f, m, counter=True)
            out.append(Family(name, "counter", f"{f.name} per {key.name}", keyed, f.name, m))
    return out


def _map_families(program: str, spec: ExportSpec) -> list[Family]:
    from ..stream.store.snapshots import extreme, histogram_field

    assert spec.key is not None and spec.value is not None
    known = export_meanings(spec, program)
    labels = map_labels(spec, known["key"])
    label = label_field(spec.value)
    hist = histogram_field(spec.value)
    if hist is not None:
        unit = _unit_of(spec.sample.unit if spec.sample is not None else "")
        m = Meaning(Role.DURATION, unit) if unit else Meaning(Role.PLAIN)
        name = metric_name(program, unit_suffix(m) or "value")
        what = spec.sample.unit if spec.sample is not None else "values"
        return [Family(name, "histogram", f"{program} {what}", labels, hist.name, m)]
    # A map of counters holds running totals (as the TUI's interval view reads them), but
    # for its running maxima.
    out = []
    for f in spec.value.fields:
        if f.kind not in (FieldKind.INT, FieldKind.FLOAT) or f is label:
            continue
        m = known["value"].get(f.name, Meaning(Role.PLAIN))
        counter = not extreme(f.name)
        kind: Kind = "counter" if counter else "gauge"
        name = value_name(program, f, m, counter=counter)
        out.append(Family(name, kind, f"{f.name} per key", labels, f.name, m))
    return out


def map_labels(spec: ExportSpec, key_known: dict[str, Meaning]) -> tuple[str, ...]:
    """A sampled map's series labels: its key's fields (by what they hold) and a label text."""
    assert spec.key is not None and spec.value is not None
    labels = tuple(label_name(f.name, key_known.get(f.name)) for f in _key_fields(spec.key))
    label = label_field(spec.value)
    return labels + ((label_name(label.name),) if label is not None else ())


def _key_fields(key: StructLayout) -> list[Field]:
    """A map key's fields worth a label (not padding)."""
    return [f for f in key.fields if f.name.lower() not in ("pad", "padding", "__pad")]


def _unit_of(sample_unit: str) -> str:
    """A histogram's unit (``usecs``, ``nsecs``, ``msecs``) as a meaning's unit."""
    return {
        "nsecs": "ns",
        "usecs": "us",
        "msecs": "ms",
        "secs": "s",
        "ns": "ns",
        "us": "us",
        "ms": "ms",
    }.get(sample_unit.lower(), "")
