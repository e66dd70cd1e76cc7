"""``SparklinePanel``: two lines per series — its name and unit with the min–max of what is
drawn, then the sparkline over time and the latest value, formatted by the field's meaning."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from rich.segment import Segment
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from ..runtime.format.roles import PLAIN, Meaning, Role
from ..runtime.lazy import np
from ..runtime.stream.meaning import format_base, format_rate, to_base, unit_label

BARS = "▁▂▃▄▅▆▇█"
VALUE_WIDTH = 10
"""``1023.9 MiB``, ``1.2k/s``: the widest value a meaning formats to, about."""
RATE = Meaning(Role.COUNTER)
"""What a series named ``events/s`` (or ``samples/s``) means: a count per second."""


@dataclass(frozen=True, slots=True)
class Series:
    """A named run of values, oldest first (NaN where there was no data), in the field's own
    unit (pages, µs; a counter's per second), and what they mean."""

    name: str
    values: np.ndarray
    unit: str = ""
    meaning: Meaning | None = None

    @property
    def latest(self) -> float:
        finite = self.values[~np.isnan(self.values)]
        return float(finite[-1]) if len(finite) else math.nan


def series_meaning(s: Series, known: Mapping[str, Meaning]) -> Meaning:
    """The series' own meaning, else its field's in ``known``, else a rate for ``…/s``."""
    if s.meaning is not None:
        return s.meaning
    if s.name in known:
        return known[s.name]
    return RATE if s.name.endswith("/s") else PLAIN


def format_value(meaning: Meaning, value: float) -> str:
    """One drawn value as its meaning says: ``1.5 GiB``, ``1.2 ms``, ``340/s``."""
    if math.isnan(value):
        return "–"
    base = float(to_base(meaning, np.asarray(value)))
    if meaning.role == Role.COUNTER:
        return format_rate(meaning, base)
    return format_base(meaning, base)


def scale_text(meaning: Meaning, lo: float, hi: float) -> str:
    """``1.2 GiB–1.5 GiB``, ``0–340/s``: the range a sparkline's bars span."""
    low, high = format_value(meaning, lo), format_value(meaning, hi)
    if low == high:
        return high
    # A rate's unit once, at the end: "0–340/s", not "0/s–340/s".
    return f"{low.removesuffix('/s')}–{high}"


def drawn_window(values: np.ndarray, width: int) -> tuple[float, float] | None:
    """The min and max of the last ``width`` values (what ``sparkline`` scales to)."""
    window = values[-width:] if width > 0 else values[:0]
    finite = window[~np.isnan(window)]
    if not len(finite):
        return None
    return float(finite.min()), float(finite.max())


def sparkline(values: np.ndarray, width: int) -> str:
    """The last ``width`` values as bar characters, scaled to their own min..max."""
    if width <= 0:
        return ""
    window = values[-width:]
    finite = window[~np.isnan(window)]
    if not len(finite):
        return " " * width
    lo, hi = float(finite.min()), float(finite.max())
    span = hi - lo
    chars = []
    for v in window.tolist():
        if math.isnan(v):
            chars.append(" ")
        elif span == 0:
            chars.append(BARS[0] if hi == 0 else BARS[3])
        else:
            chars.append(BARS[round((v - lo) / span * (len(BARS) - 1))])
    return "".join(chars).rjust(width)


class SparklinePanel(Widget, can_focus=True):
    """A title line, then a sparkline per series; the highlighted series can be chosen."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "Previous series", show=False, id="panel.up"),
        Binding("down", "move(1)", "Next series", show=False, id="panel.down"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "sparkline-panel--title",
        "sparkline-panel--label",
        "sparkline-panel--bars",
        "sparkline-panel--value",
        "sparkline-panel--highlight",
    }

    DEFAULT_CSS = """
    SparklinePanel {
        height: auto;
        background: $surface;
        & > .sparkline-panel--title { color: $text; text-style: bold; background: $panel; }
        & > .sparkline-panel--label { color: $text-muted; }
        & > .sparkline-panel--bars { color: $spark; }
        & > .sparkline-panel--value { color: $text; }
        & > .sparkline-panel--highlight { background: $boost; }
        &:focus > .sparkline-panel--highlight { background: $primary 35%; }
    }
    """

    highlighted: reactive[int] = reactive(0, init=False)

    class SeriesHighlighted(Message):
        """The highlighted series changed (the top-N table ranks by it)."""

        def __init__(self, panel: SparklinePanel, name: str) -> None:
            super().__init__()
            self.panel = panel
            self.name = name

        @property
        def control(self) -> SparklinePanel:
            return self.panel

    def __init__(
        self,
        title: str = "",
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.title = title
        self.series: list[Series] = []
        self.selectable_from = 0
        """Series before this index (events/s) are not offered to the top-N ranking."""
        self.meanings: Mapping[str, Meaning] = {}
        """What each field means, for series that do not say (``Series.meaning``)."""

    def update(
        self,
        title: str,
        series: list[Series],
        selectable_from: int = 0,
        meanings: Mapping[str, Meaning] | None = None,
    ) -> None:
        resized = len(series) != len(self.series)
        self.title, self.series, self.selectable_from = title, series, selectable_from
        self.meanings = meanings if meanings is not None else {}
        if resized:
            self.highlighted = max(min(self.highlighted, len(series) - 1), selectable_from)
            self.refresh(layout=True)
        else:
            self.refresh()

    @property
    def highlighted_name(self) -> str | None:
        if 0 <= self.highlighted < len(self.series):
            return self.series[self.highlighted].name
        return None

    def highlight(self, name: str) -> None:
        for i, s in enumerate(self.series):
            if s.name == name:
                self.highlighted = i

    def watch_highlighted(self) -> None:
        self.refresh()
        if (name := self.highlighted_name) is not None:
            self.post_message(self.SeriesHighlighted(self, name))

    def action_move(self, delta: int) -> None:
        if self.series:
            lo = min(self.selectable_from, len(self.series) - 1)
            self.highlighted = max(lo, min(self.highlighted + delta, len(self.series) - 1))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return 2 * len(self.series) + 1

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        if y == 0:
            style = self.get_component_rich_style("sparkline-panel--title")
            return Strip([Segment(f" {self.title}"[:width], style)]).extend_cell_length(
                width, style
            )
        index, second = divmod(y - 1, 2)
        if index >= len(self.series):
            return Strip.blank(width, base)
        s = self.series[index]
        meaning = series_meaning(s, self.meanings)
        label = self.get_component_rich_style("sparkline-panel--label")
        bars = self.get_component_rich_style("sparkline-panel--bars")
        value = self.get_component_rich_style("sparkline-panel--value")
        if index == self.highlighted and index >= self.selectable_from:
            extra = self.get_component_rich_style("sparkline-panel--highlight")
            label, bars, value = label + extra, bars + extra, value + extra
        spark_width = max(width - VALUE_WIDTH - 3, 0)
        if second:
            segments = [
                Segment(" ", bars),
                Segment(sparkline(s.values, spark_width), bars),
                Segment(" " + format_value(meaning, s.latest).rjust(VALUE_WIDTH) + " ", value),
            ]
        else:
            unit = unit_label(meaning)
            name = s.name if not unit or s.name.endswith(unit) else f"{s.name} ({unit})"
            span = drawn_window(s.values, spark_width)
            scale = scale_text(meaning, *span) if span is not None else ""
            room = max(width - len(name) - 3, 0)
            # A scale cut short would read as another number: shown whole or not at all.
            scale = scale if len(scale) <= room else ""
            segments = [
                Segment(f" {name} ", value),
                Segment(scale.rjust(room) + " ", label),
            ]
        return Strip(segments).crop_extend(0, width, base)
