"""``ReplayTimeline``: one line under a replay's view: state, speed, position / duration.

``▶ 1×  ━━━━━━━●──────────  0:12.0 / 0:59.5  P pause · ,/. ±5 s · </> speed · b start``.
Clicking the bar seeks there. It reads the ``ReplaySource``; the view's keys change it.
"""

from __future__ import annotations

from textual import events
from textual.content import Content
from textual.message import Message
from textual.widget import Widget

from ..runtime.stream.replay import ReplaySource
from ..tui.replay import CLOCK_LIMIT, clock, speed_label

HINT = "P pause · ,/. ±5 s · </> speed · b start"
MIN_BAR = 10


class ReplayTimeline(Widget):
    """Where a replay is, drawn as a bar; redrawn only when something it shows changed."""

    DEFAULT_CSS = """
    ReplayTimeline {
        height: 1;
        background: $panel;
        color: $text;
        padding: 0 1;
    }
    """

    class Seek(Message):
        """The user clicked the bar: go to ``seconds`` from the start."""

        def __init__(self, timeline: ReplayTimeline, seconds: float) -> None:
            super().__init__()
            self.timeline = timeline
            self.seconds = seconds

        @property
        def control(self) -> ReplayTimeline:
            return self.timeline

    def __init__(self, source: ReplaySource, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.source = source
        self.shown: tuple[object, ...] = ()
        self._bar = (0, 0)  # x and width of the bar, for clicks

    @property
    def state(self) -> tuple[str, str, float, float]:
        """What is drawn: mark, speed, position and duration (seconds, each within 0 and
        ``CLOCK_LIMIT`` whatever the replay says: a timeline draws any recording)."""
        s = self.source
        if s.closed:
            mark = "■"
        elif s.paused:
            mark = "❚❚"
        elif s.finished:
            mark = "■"
        else:
            mark = "▶"
        return mark, speed_label(s.speed), _seconds(s.position), _seconds(s.duration)

    def refresh_state(self) -> None:
        """Redraw if the replay moved or changed state."""
        if self.state != self.shown:
            self.refresh()

    def render(self) -> Content:
        mark, speed, position, duration = self.shown = self.state
        left = f"{mark:<2} {speed:>4}  "
        times = f"  {clock(position)} / {clock(duration)}"
        width = self.content_region.width or self.size.width
        hint = f"  {HINT}" if width - len(left) - len(times) - len(HINT) - 2 >= MIN_BAR else ""
        bar_width = max(width - len(left) - len(times) - len(hint), 1)
        fraction = position / duration if duration > 0 else (1.0 if self.source.finished else 0)
        knob = round(min(max(fraction, 0.0), 1.0) * (bar_width - 1))
        self._bar = (len(left), bar_width)
        return Content.assemble(
            (left, "bold"),
            ("━" * knob, "$accent"),
            ("●", "bold $accent"),
            ("─" * (bar_width - knob - 1), "$text-muted"),
            (times, "bold"),
            (hint, "$text-muted"),
        )

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        start, width = self._bar
        if offset is None or width <= 1 or not start <= offset.x < start + width:
            return
        fraction = (offset.x - start) / (width - 1)
        self.post_message(self.Seek(self, fraction * _seconds(self.source.duration)))


def _seconds(value: float) -> float:
    """``value`` to a tenth, within 0 and ``CLOCK_LIMIT`` (NaN is 0)."""
    return round(min(value, CLOCK_LIMIT), 1) if value > 0 else 0.0
