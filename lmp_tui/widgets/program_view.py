"""``ProgramView``: everything about one running program, built from what it exports.

Event programs get a filter box, an ``EventTable`` and panels (events/s and a sparkline per
numeric field; per key when the layout has one, with a ``TopKeysTable`` to pick the key).
Sampled maps get a ``HistogramPanel`` (histograms) or a ``MapTable`` (counters, as syscount's
``default_kv`` map), under a sparkline of how fast their counts grow. Views stay mounted while
hidden, so switching back is instant and finds the table as it was left; hidden views skip
redraws until shown again.
A replay's view is the same, with a ``ReplayTimeline`` and keys to pause, seek and change speed.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Input, Static

from ..runtime.errors import LmpError
from ..runtime.runs.manager import SessionRun
from ..runtime.stream.query import Filter, parse_filter
from ..runtime.stream.store import EventStore, SnapshotStore
from .event_table import EventTable, ProcessTable
from .histogram import HistogramPanel
from .map_table import MapTable
from .run_view import RunView
from .sparklines import Series, SparklinePanel
from .timeline import ReplayTimeline
from .top_keys import TopKeysTable

FILTER_HINT = "filter: field op value, e.g. comm~bash pid>100 sig=SIGUSR1"


class ProgramView(RunView):
    """One running program's table and panels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", id="events.filter"),
        # t, not k: k moves up, as in vim, k9s and bpftop.
        Binding("t", "pick_key", "Top keys", id="panel.keys"),
        Binding("p", "toggle_panels", "Panels", id="view.panels"),
        Binding("escape", "back", "Back", id="view.back"),
        # Replays only (space pauses the table, arrows move its cursor: these keys are free).
        Binding("P", "replay_pause", "Pause replay", id="replay.pause"),
        Binding("full_stop,shift+right", "replay_seek(5)", "+5 s", show=False, id="replay.forward"),
        Binding("comma,shift+left", "replay_seek(-5)", "-5 s", show=False, id="replay.back"),
        Binding("b,shift+home", "replay_start", "To start", show=False, id="replay.start"),
        Binding("greater_than_sign", "replay_speed(1)", "Faster", show=False, id="replay.faster"),
        Binding("less_than_sign", "replay_speed(-1)", "Slower", show=False, id="replay.slower"),
    ]

    DEFAULT_CSS = """
    ProgramView {
        height: 1fr;
        & #filter, & #filter:focus { border: none; height: 1; padding: 0 1; background: $boost; }
        & #filter.-invalid { color: $error; }
        & #filter-error { height: auto; max-height: 2; color: $error; padding: 0 1; display: none; }
        & #filter-error.-shown { display: block; }
        & .body { height: 1fr; }
        & .panels { width: 44; height: 1fr; background: $surface; border-left: vkey $panel; }
        &.-hide-panels .panels { display: none; }
        & .empty { padding: 1 2; color: $text-muted; }
    }
    """

    run: SessionRun

    def __init__(self, run: SessionRun, *, id: str | None = None) -> None:
        super().__init__(run, id=id)
        self.key: int | None = None
        self._stale = False
        # The parts are made here, not in compose, so they exist from the first tick on.
        store = run.store
        sample = run.session.spec.sample
        self.sparklines = SparklinePanel(id="sparklines")
        self.events: EventTable | None = None
        self.top_keys: TopKeysTable | None = None
        self.histogram: HistogramPanel | None = None
        self.map_table: MapTable | None = None
        self.filter_box = Input(placeholder=FILTER_HINT, id="filter")
        self.filter_error = Static(id="filter-error")
        replay = run.replay
        self.timeline = ReplayTimeline(replay, id="timeline") if replay is not None else None
        if isinstance(store, EventStore):
            table = ProcessTable if store.latest is not None else EventTable
            self.events = table(store, id="events")
            if replay is not None:  # space pauses the playback, as P does: one pause
                self.events.pause_instead = self.action_replay_pause
            if store.keyed is not None:
                self.top_keys = TopKeysTable(store.keyed, id="top-keys")
        elif isinstance(store, SnapshotStore) and store.hist is None:
            # Counters without a histogram (syscount, xdpstat): a table, one row per key.
            self.map_table = MapTable(
                store, program=run.name, map_name=run.session.spec.map_name, id="map-table"
            )
        elif isinstance(store, SnapshotStore):
            self.histogram = HistogramPanel(
                store,
                unit=sample.unit if sample else "",
                log2=sample is None or sample.type == "log2_hist",
                id="histogram",
            )

    # -- composition ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        if self.events is not None:
            yield self.filter_box
            yield self.filter_error
            with Horizontal(classes="body"):
                yield self.events
                with VerticalScroll(classes="panels"):
                    yield self.sparklines
                    if self.top_keys is not None:
                        yield self.top_keys
        elif (sampled := self.histogram or self.map_table) is not None:
            with Vertical(classes="body"):
                yield self.sparklines
                yield sampled
        else:
            yield Static(
                f"{self.run.name} exports no events or maps: it runs until stopped.",
                classes="empty",
            )
        if self.timeline is not None:
            yield self.timeline

    @property
    def main_widget(self) -> EventTable | HistogramPanel | MapTable | None:
        return self.events or self.histogram or self.map_table

    @property
    def table(self) -> EventTable:
        assert self.events is not None, f"{self.run.name} has no events table"
        return self.events

    @property
    def shown_table(self) -> EventTable | None:
        return self.events

    def focus_main(self) -> None:
        if (widget := self.main_widget) is not None:
            widget.focus()

    # -- data ----------------------------------------------------------------------------------

    def refresh_data(self) -> None:
        if self.timeline is not None:
            self.timeline.refresh_state()
        store = self.run.store
        if isinstance(store, EventStore) and self.events is not None:
            self.events.refresh_rows()
            self._refresh_panels(store)
        elif isinstance(store, SnapshotStore):
            if self.histogram is not None:
                self.histogram.refresh_histograms()
            if self.map_table is not None:
                self.map_table.refresh_rows()
            # Histograms count samples; counters their first counter's growth (calls/s).
            name = store.rate_name
            self.sparklines.update(f"{self.run.name}: {name}", [Series(name, store.rate())], 1)
        super().refresh_data()

    def _refresh_panels(self, store: EventStore) -> None:
        panel = self.sparklines
        keyed = store.keyed
        skip = {keyed.key.name} if keyed is not None else set()
        if keyed is not None and self.key is not None and self.key in keyed:
            label = keyed.label_of(self.key)
            title = f"{keyed.key.name} {self.key}" + (f" ({label})" if label else "")
            if store.latest is not None and store.latest.exited(self.key):
                title += " exited"
            # this key's own events, not the program's
            series = [Series("events/s", keyed.rate(self.key))]
            series += [Series(name, keyed.series(self.key, name)) for name in keyed.names]
        else:
            title = "all events"
            series = [Series("events/s", store.series.rate())]
            fleet = self.run.session.fleet
            if fleet is not None:  # a view of several hosts: each one's rate
                length = len(series[0].values)
                series += [Series(f"{h} ev/s", v) for h, v in fleet.host_series(length).items()]
            series += [
                Series(f.name, store.series.series(f.name))
                for f in store.series.fields
                if f.name not in skip
            ]
        panel.update(title, series, 1, meanings=store.meanings)
        if self.top_keys is not None:
            self.top_keys.refresh_keys()

    # -- key and ranking -----------------------------------------------------------------------

    def choose_key(self, key: int | None) -> None:
        """Watch one key (None: all): the panels show its series and the table only its rows
        (a ``pid=N`` term in the filter box, where the user sees it and can edit it)."""
        self.key = key
        store = self.run.store
        if isinstance(store, EventStore) and store.keyed is not None and self.events is not None:
            name = store.keyed.key.name
            terms = [t for t in self.filter_box.value.split() if not _is_term_on(t, name)]
            if key is not None:
                terms.append(f"{name}={key}")
            self.filter_box.value = " ".join(terms)
            self.apply_filter(self.filter_box.value)
        if self.top_keys is not None:
            self.top_keys.chosen = key
        self.refresh_data()

    def on_top_keys_table_key_chosen(self, event: TopKeysTable.KeyChosen) -> None:
        event.stop()
        self.choose_key(event.key)

    def on_virtual_table_row_chosen(self, event: EventTable.RowChosen) -> None:
        event.stop()
        store = self.run.store
        if isinstance(store, EventStore) and store.keyed is not None:
            value = event.values.get(store.keyed.key.name)
            if value is not None and value.strip().isdigit():
                self.choose_key(int(value))
                if self.screen.has_class("-narrow"):  # the panels take the table's place
                    self.add_class("-show-panels")
                    self.remove_class("-hide-panels")

    def on_sparkline_panel_series_highlighted(
        self, event: SparklinePanel.SeriesHighlighted
    ) -> None:
        event.stop()
        if self.top_keys is not None:
            self.top_keys.rank_by(event.name)

    # -- filter --------------------------------------------------------------------------------

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "filter":
            return
        event.stop()
        self.apply_filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "filter":
            return
        event.stop()
        if self.apply_filter(event.value):
            self.focus_main()

    def apply_filter(self, text: str) -> bool:
        error, box = self.filter_error, self.filter_box
        try:
            where = parse_filter(text, self.table.store.layout) if text.strip() else Filter()
        except LmpError as exc:
            box.add_class("-invalid")
            error.update(str(exc))
            error.add_class("-shown")
            return False
        box.remove_class("-invalid")
        error.remove_class("-shown")
        table = self.table
        table.set_filter(where)
        if not where and table.sort.field is None:
            table.following = True  # every row again, in arrival order: follow the newest
        self._key_from(where)
        return True

    def _key_from(self, where: Filter) -> None:
        """A ``pid=N`` typed in the filter watches N; removing it goes back to all keys."""
        keyed = self.table.store.keyed
        if keyed is None:
            return
        wanted = [
            c.value for c in where.conditions if c.field == keyed.key.name and c.op in ("=", "==")
        ]
        key = int(wanted[0]) if len(wanted) == 1 else None
        if key != self.key:
            self.key = key
            if self.top_keys is not None:
                self.top_keys.chosen = key
            self.refresh_data()

    # -- actions -------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer only what this view has: no filter for histograms, no keys without a key."""
        store = self.run.store
        if action == "filter":
            return isinstance(store, EventStore)
        if action == "pick_key":
            return isinstance(store, EventStore) and store.keyed is not None
        if action == "back":  # shown in the footer only when there is somewhere to go back to
            return (
                self.key is not None
                or bool(self.filter_box.value)
                or self.has_class("-show-panels")
                or not self._main_focused()
            )
        if action.startswith("replay_"):
            return self.run.replay is not None and self.run.state == "running"
        return True

    def action_filter(self) -> None:
        if self.events is not None:
            self.filter_box.focus()

    def action_pick_key(self) -> None:
        if self.top_keys is not None:
            self.remove_class("-hide-panels")
            self.add_class("-show-panels")
            self.top_keys.focus()

    def action_toggle_panels(self) -> None:
        if self.screen.has_class("-narrow"):
            self.toggle_class("-show-panels")
            self.remove_class("-hide-panels")
        else:
            self.toggle_class("-hide-panels")
            self.remove_class("-show-panels")
        if not self.has_class("-show-panels") or not self.screen.has_class("-narrow"):
            self.focus_main()

    def action_back(self) -> None:
        """Esc, as in k9s: from the panels back to the table; from the filter box, or the
        table while filtered, back to every row (the watched key goes with the filter)."""
        if self.has_class("-show-panels"):
            self.remove_class("-show-panels")
        elif self.filter_box.value or self.key is not None:
            self.filter_box.value = ""
            self.apply_filter("")  # the watched key goes with its term
            self.choose_key(None)
        self.focus_main()

    def _main_focused(self) -> bool:
        widget = self.main_widget
        return widget is not None and widget.has_focus_within

    # -- replay --------------------------------------------------------------------------------

    def action_replay_pause(self) -> None:
        replay = self.run.replay
        if replay is not None:
            replay.pause(not replay.paused)
            self._replay_moved()

    def action_replay_speed(self, step: int) -> None:
        if self.run.replay is not None:
            self.run.set_speed(step)
            self._replay_moved()

    def action_replay_seek(self, delta: float) -> None:
        replay = self.run.replay
        if replay is not None:
            self.seek(replay.position + delta)

    def action_replay_start(self) -> None:
        self.seek(0.0)

    def seek(self, seconds: float) -> None:
        """Go to ``seconds`` into the replay: the views show what the recording had by then."""
        if self.run.replay is None or self.run.state != "running":
            return
        self.run.seek(seconds)
        self.refresh_data()
        self._replay_moved()

    def on_replay_timeline_seek(self, event: ReplayTimeline.Seek) -> None:
        event.stop()
        self.seek(event.seconds)

    def _replay_moved(self) -> None:
        if self.timeline is not None:
            self.timeline.refresh_state()
        self.update_status()


def _is_term_on(term: str, field: str) -> bool:
    """``term`` is a condition on ``field`` (``pid=12``, ``pid>3``)."""
    return term.startswith(field) and term[len(field) :][:1] in ("=", "!", "<", ">", "~")
