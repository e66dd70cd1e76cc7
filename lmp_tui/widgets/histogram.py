"""``HistogramPanel``: the log2 (or linear) histograms of a sampled map, one block per key.

Redrawn whenever a new snapshot arrives (each sampling interval). A Line API widget: lines are
described once per snapshot and drawn only when on screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.segment import Segment
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..runtime.lazy import np
from ..runtime.stream.store import HistogramEntry, SnapshotStore

EIGHTHS = " ▏▎▍▌▋▊▉"
RANGE_WIDTH = 23
COUNT_WIDTH = 9


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


def entry_title(entry: HistogramEntry) -> str:
    # A scalar key is named after its type (``__u32``): call it what it is, a key.
    items = list(entry.key.items())
    if len(items) == 1 and items[0][0].startswith("__"):
        items = [("key", items[0][1])]
    key = ", ".join(f"{k} {v}" for k, v in items)
    label = f"  {entry.label}" if entry.label else ""
    return f"{key}{label}  ({entry.total:,} samples)"


class HistogramPanel(ScrollView, can_focus=True):
    """Every key of the latest snapshot: a title, then one line per non-empty slot range."""

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
        self._lines: list[_Line] = []
        self._seen_generation = -1

    def on_mount(self) -> None:
        self.refresh_histograms(force=True)

    def refresh_histograms(self, force: bool = False) -> None:
        if not force and self.store.generation == self._seen_generation:
            return
        self._seen_generation = self.store.generation
        self._lines = self._describe(self.store.entries)
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
        lines: list[_Line] = []
        for entry in entries:
            lines.append(_Line("title", entry_title(entry)))
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
        return lines

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
