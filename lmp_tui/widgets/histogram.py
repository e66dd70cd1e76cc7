"""``HistogramPanel``: the log2 (or linear) histograms of a sampled map, one block per key.

Redrawn whenever a new snapshot arrives (each sampling interval). A Line API widget: lines are
described once per snapshot and drawn only when on screen. It shows the last interval (this
snapshot minus the one before) or everything so far (``i``), with p50/p95/p99 in each title;
the aggregate (``all``) first, then the keys ranked by count or by p99 (``s``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

from rich.segment import Segment
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..runtime.lazy import np
from ..runtime.stream.meaning import format_duration
from ..runtime.stream.store import HistogramEntry, SnapshotStore

EIGHTHS = " ▏▎▍▌▋▊▉"
RANGE_WIDTH = 23
COUNT_WIDTH = 9
PERCENTILES = (50, 95, 99)
# A sample map's ``unit`` as eunomia packages write it, to the time unit it means.
_TIME_UNITS = {
    "ns": "ns", "nsec": "ns", "nsecs": "ns",
    "us": "us", "usec": "us", "usecs": "us",
    "ms": "ms", "msec": "ms", "msecs": "ms",
    "s": "s", "sec": "s", "secs": "s",
}  # fmt: skip

Rank = Literal["count", "p99"]


@dataclass(frozen=True, slots=True)
class _Line:
    kind: str  # "title" | "header" | "slot" | "text"
    text: str = ""
    low: int = 0
    high: int = 0
    count: int = 0
    peak: int = 0


def slot_range(index: int, log2: bool) -> tuple[int, int]:
    """The value range a slot counts: [2^i, 2^(i+1)) for log2 (slot 0 is 0 -> 1)."""
    if not log2:
        return index, index + 1
    low = 0 if index == 0 else 1 << index
    return low, (1 << (index + 1)) - 1 if index else 1


def bar(count: int, peak: int, width: int) -> str:
    """A horizontal bar ``count/peak`` of ``width`` cells, in eighths of a cell."""
    if width <= 0 or peak <= 0:
        return " " * max(width, 0)
    eighths = round(count / peak * width * 8)
    full, part = divmod(eighths, 8)
    text = "█" * full + (EIGHTHS[part] if part else "")
    return text.ljust(width)


def percentile_slot(slots: Sequence[int] | np.ndarray, percent: float) -> int | None:
    """The slot where the running count first reaches ``percent`` of all samples (None when
    there are none): the percentile lies in that slot's range."""
    counts = np.asarray(slots, dtype=np.int64)
    total = int(counts.sum())
    if total <= 0:
        return None
    # The smallest slot with at least ceil(total * p / 100) samples at or below it.
    needed = -(-total * percent // 100)
    return int(np.searchsorted(np.cumsum(counts), max(needed, 1)))


def slot_bound(index: int, log2: bool) -> int:
    """The bound every value of slot ``index`` is below or at: 2^(i+1) for log2 (a round number,
    as the range ``64 -> 127`` is ``≤ 128``), the slot itself for a linear histogram."""
    return 1 << (index + 1) if log2 else index


def format_bound(value: int, unit: str) -> str:
    """``128 µs``, ``1 ms`` for a time unit; ``4,096 bytes`` otherwise."""
    time_unit = _TIME_UNITS.get(unit.lower())
    if time_unit is not None:
        return format_duration(value, time_unit)
    return f"{value:,} {unit}".rstrip()


def percentiles(slots: Sequence[int] | np.ndarray, unit: str, log2: bool = True) -> str:
    """``p50 ≤ 16 µs  p95 ≤ 64 µs  p99 ≤ 128 µs``, or empty without samples."""
    parts = []
    for p in PERCENTILES:
        index = percentile_slot(slots, p)
        if index is None:
            return ""
        parts.append(f"p{p} ≤ {format_bound(slot_bound(index, log2), unit)}")
    return "  ".join(parts)


def is_aggregate(entry: HistogramEntry) -> bool:
    """The map's key for everything at once: runqlat's key 0 without a comm (when not per
    process), or a key its program labels ``all``."""
    if entry.label == "all":
        return True
    values = list(entry.key.values())
    return len(values) == 1 and values[0] == 0 and not entry.label


def entry_title(entry: HistogramEntry, unit: str = "", log2: bool = True) -> str:
    if is_aggregate(entry):
        key = "all"
        label = ""
    else:
        # A scalar key is named after its type (``__u32``): call it what it is, a key.
        items = list(entry.key.items())
        if len(items) == 1 and items[0][0].startswith("__"):
            items = [("key", items[0][1])]
        key = ", ".join(f"{k} {v}" for k, v in items)
        label = f"  {entry.label}" if entry.label else ""
    spread = percentiles(entry.slots, unit, log2) if entry.slots is not None else ""
    spread = f"  {spread}" if spread else ""
    return f"{key}{label}  ({entry.total:,} samples){spread}"


def p99_rank(entry: HistogramEntry) -> int:
    """The slot p99 falls in (-1 without samples): what ranking by p99 sorts on."""
    if entry.slots is None:
        return -1
    index = percentile_slot(entry.slots, 99)
    return -1 if index is None else index


def ranked(entries: Sequence[HistogramEntry], rank: Rank) -> list[HistogramEntry]:
    """The aggregate first, then the busiest (or slowest, by p99) keys first; ties by key."""

    def order(entry: HistogramEntry) -> tuple[int, ...]:
        if rank == "p99":
            return (not is_aggregate(entry), -p99_rank(entry), -entry.total)
        return (not is_aggregate(entry), -entry.total)

    return sorted(entries, key=order)  # stable: the store's key order breaks ties


class HistogramPanel(ScrollView, can_focus=True):
    """Every key of the latest snapshot: a title, then one line per non-empty slot range."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("i", "toggle_interval", "Interval/total", id="maps.interval"),
        Binding("s", "toggle_rank", "Rank by p99/count", id="maps.rank"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "histogram-panel--title",
        "histogram-panel--header",
        "histogram-panel--bar",
        "histogram-panel--count",
    }

    DEFAULT_CSS = """
    HistogramPanel {
        height: 1fr;
        background: $surface;
        & > .histogram-panel--title { color: $text; text-style: bold; background: $panel; }
        & > .histogram-panel--header { color: $text-muted; }
        & > .histogram-panel--bar { color: $spark; }
        & > .histogram-panel--count { color: $text; }
    }
    """

    @property
    def up_to_date(self) -> bool:
        """It shows the store's latest snapshot."""
        return self._seen_generation == self.store.generation

    def __init__(
        self,
        store: SnapshotStore,
        unit: str = "",
        log2: bool = True,
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.store = store
        self.unit = unit or "value"
        self.log2 = log2
        self.interval = True
        """Show what the last interval counted (else everything so far)."""
        self.rank: Rank = "count"
        self._lines: list[_Line] = []
        self._seen_generation = -1

    def on_mount(self) -> None:
        self.refresh_histograms(force=True)

    def refresh_histograms(self, force: bool = False) -> None:
        if not force and self.store.generation == self._seen_generation:
            return
        self._seen_generation = self.store.generation
        store = self.store
        entries = store.interval_entries if self.interval else store.cumulative_entries
        self._lines = self._describe(ranked(entries, self.rank))
        self.virtual_size = Size(0, len(self._lines))
        self.refresh()

    def _describe(self, entries: list[HistogramEntry]) -> list[_Line]:
        if not entries:
            waiting = (
                "waiting for the first snapshot…"
                if not self.store.snapshots
                else ("the map is empty (nothing sampled yet)")
            )
            return [_Line("text", waiting)]
        lines = [_Line("text", self.mode_text())]
        idle = 0
        for entry in entries:
            quiet = self.interval and entry.slots is not None and not entry.total
            if quiet and not is_aggregate(entry):
                idle += 1  # many keys sleep through an interval: say how many, once
                continue
            lines.append(_Line("title", entry_title(entry, self.unit, self.log2)))
            if entry.slots is None:
                lines += [_Line("text", f"{k} = {v}") for k, v in entry.values.items()]
                continue
            nonzero = np.flatnonzero(entry.slots)
            if not len(nonzero):
                lines.append(_Line("text", "(no samples)"))
                continue
            lines.append(_Line("header"))
            peak = int(entry.slots.max())
            for i in range(int(nonzero[-1]) + 1):
                low, high = slot_range(i, self.log2)
                lines.append(
                    _Line("slot", low=low, high=high, count=int(entry.slots[i]), peak=peak)
                )
            lines.append(_Line("text"))
        if idle:
            lines.append(_Line("text", f"{idle} more key(s) with no samples this interval"))
        return lines

    def mode_text(self) -> str:
        """What the panel shows: ``last 5 s · ranked by count``."""
        seconds = self.store.interval_seconds
        if not self.interval:
            what = "everything since the start"
        elif seconds is None:
            what = "first snapshot (everything so far)"
        else:
            what = f"last interval ({seconds:g} s)"
        # No key names here: they can be remapped; the footer shows the ones in effect.
        return f"{what} · ranked by {self.rank}"

    def action_toggle_interval(self) -> None:
        self.interval = not self.interval
        self.refresh_histograms(force=True)

    def action_toggle_rank(self) -> None:
        self.rank = "p99" if self.rank == "count" else "count"
        self.refresh_histograms(force=True)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = int(self.scroll_offset.y) + y
        base = self.rich_style
        if index >= len(self._lines):
            return Strip.blank(width, base)
        line = self._lines[index]
        if line.kind == "title":
            style = self.get_component_rich_style("histogram-panel--title")
            return Strip([Segment(" " + line.text, style)]).crop_extend(0, width, style)
        bar_width = max(width - RANGE_WIDTH - COUNT_WIDTH - 8, 4)
        if line.kind == "header":
            style = self.get_component_rich_style("histogram-panel--header")
            text = f" {self.unit.rjust(RANGE_WIDTH - 2)}  : {'count'.ljust(COUNT_WIDTH)} "
            text += "distribution"
            return Strip([Segment(text, style)]).crop_extend(0, width, base)
        if line.kind == "text":
            style = self.get_component_rich_style("histogram-panel--header")
            return Strip([Segment(" " + line.text, style)]).crop_extend(0, width, base)
        count_style = self.get_component_rich_style("histogram-panel--count")
        bar_style = self.get_component_rich_style("histogram-panel--bar")
        span = f"{line.low:>10} -> {line.high:<10}"
        segments = [
            Segment(f" {span:<{RANGE_WIDTH - 1}} : ", count_style),
            Segment(f"{line.count:<{COUNT_WIDTH}} ", count_style),
            Segment("|", count_style),
            Segment(bar(line.count, line.peak, bar_width), bar_style),
            Segment("|", count_style),
        ]
        return Strip(segments).crop_extend(0, width, base)
