"""``lmp-tui``: the Textual app that lists Hub programs, runs them and shows their events live.

Data flows one way: each running program's source is drained by a pump task into a queue, the
refresh timer decodes the queue into the program's store once per tick and posts one
``BatchDecoded`` to its view, and the views redraw from the store. Runs are numbered 1, 2, ...;
their views stay mounted in a ``ContentSwitcher`` so switching between them is instant.

A run is a Hub program (live), a recording (replay: the same views fed by a ``ReplaySource``,
no root or BPF needed) or a wasm app (its JSON lines as a table). ``r`` records the shown
program to a ``.lmprec`` file; ``o`` opens a recording, or a wasm app in the current directory.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.notifications import SeverityLevel
from textual.widgets import ContentSwitcher, Static

from .runtime.config import Config, config_path, load_config
from .runtime.distribution import hub
from .runtime.distribution.hub import HubProgram
from .runtime.errors import LmpError
from .runtime.format.params import parameters
from .runtime.kernel import probe
from .runtime.kernel.attach import package_interface
from .runtime.kernel.stats import ProgramCost
from .runtime.runs.manager import Run, RunManager, SessionRun
from .runtime.runs.replay import ReplaySession
from .runtime.runs.session import Session
from .runtime.stream.recording import Recorder
from .runtime.stream.rows import RowStore
from .runtime.stream.store import StoreConfig, make_store
from .runtime.untrusted import file_stem, shown
from .runtime.wasm.run import WasmRun
from .tui.commands import LmpCommands
from .tui.demo import demo_session
from .tui.formatting import human_bytes
from .tui.messages import BatchDecoded, ProgramStarted, ProgramStopped, RunSampled
from .tui.replay import WASM_SUFFIX, openable_files
from .tui.runner import RunSettings, SessionFactory, live_session
from .tui.screens import ColumnChooser, KeyInfo, KeysScreen, OpenScreen, ParameterForm, QuitScreen
from .tui.themes import ThemeFile, ansi_color, default_theme, discover_themes, no_color
from .widgets.details import ProgramDetails
from .widgets.event_table import EventTable, ProcessTable
from .widgets.footer import KeysFooter
from .widgets.histogram import HistogramPanel
from .widgets.map_table import MapTable
from .widgets.program_view import ProgramView
from .widgets.run_view import RunView
from .widgets.sidebar import ProgramEntry, ProgramList, ProgramSidebar
from .widgets.sparklines import SparklinePanel
from .widgets.status import Status, StatusBar, Tab, ViewTabs
from .widgets.top_keys import TopKeysTable
from .widgets.virtual_table import VirtualTable
from .widgets.wasm_view import WasmView

Availability = Callable[[HubProgram], "str | None"]
AnyRun = SessionRun | WasmRun
AnyView = ProgramView | WasmView
MAX_VIEWS = 9
DETAILS = "details"


def _availability(program: HubProgram) -> str | None:
    try:
        return program.unavailable()
    except LmpError as exc:
        return str(exc)


SIDEBAR_MIN_WIDTH = 120
"""Below this many columns a program's view hides the Hub list (``ctrl+b`` shows it)."""


class LmpApp(App[None]):
    """Hub programs on the left; the highlighted program's details or a running view on the right."""

    TITLE = "lmp-tui"
    COMMANDS = App.COMMANDS | {LmpCommands}
    AUTO_FOCUS = "#programs"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]

    CSS = """
    Screen { layout: vertical; }
    #body { height: 1fr; }
    #main { width: 1fr; height: 1fr; }
    #notice { height: 1; background: $warning 30%; color: $text; padding: 0 1; display: none; }
    #notice.-shown { display: block; }
    #views { height: 1fr; }
    Screen.-narrow ProgramSidebar { width: 20; }
    #body.-sidebar-hidden ProgramSidebar { display: none; }
    /* Toasts above the status bar and the footer, never over them. */
    ToastRack { margin-bottom: 2; }
    /* Narrow terminals: panels replace the table when shown (p), instead of sitting beside it. */
    Screen.-narrow ProgramView {
        & .panels { display: none; }
        &.-show-panels .panels { display: block; width: 1fr; border-left: none; }
        &.-show-panels EventTable, &.-show-panels HistogramPanel { display: none; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="app.quit"),
        # As in htop and top: Ctrl-C quits (Textual's own only says how to); before any widget
        # (an input box would copy with it).
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True, id="app.interrupt"),
        Binding("question_mark", "keys", "Help", id="app.keys"),
        Binding("x", "stop", "Stop", id="program.stop"),
        Binding("r", "record", "Record", id="program.record"),
        Binding("o", "open", "Open", id="app.open"),
        Binding("ctrl+w", "close_view", "Close view", show=False, id="view.close"),
        Binding("right_square_bracket", "next_view", "Next view", id="view.next"),
        Binding("left_square_bracket", "previous_view", "Prev view", id="view.previous"),
        Binding("0", "show_programs", "Programs", show=False, id="view.programs"),
        Binding("ctrl+b", "toggle_sidebar", "Sidebar", show=False, id="app.sidebar"),
        Binding("ctrl+t", "next_theme", "Next theme", show=False, id="app.theme"),
        *(
            Binding(str(n), f"show_view({n})", f"View {n}", show=False, id=f"view.{n}")
            for n in range(1, MAX_VIEWS + 1)
        ),
    ]

    def __init__(
        self,
        config: Config | None = None,
        *,
        programs: Iterable[HubProgram] | None = None,
        session_factory: SessionFactory = live_session,
        availability: Availability = _availability,
        bpf_problem: str | None = None,
        probe_bpf: bool = True,
        themes: dict[str, ThemeFile] | None = None,
        replays: Iterable[Path] = (),
        wasm: tuple[Path, list[str]] | None = None,
        hosts: Sequence[str] = (),
    ) -> None:
        super().__init__(ansi_color=ansi_color())
        self.hosts = list(hosts)
        """Where programs run when they do not run here (``--host``)."""
        self.initial_replays = [Path(p) for p in replays]
        self.initial_wasm = wasm
        self.config = config or load_config()
        self.session_factory = session_factory
        if bpf_problem is None and probe_bpf:
            bpf_problem = probe.can_use_bpf()
        self.bpf_problem = bpf_problem
        listed = list(programs) if programs is not None else hub.builtin_programs()
        # The machine's reason is said once, in the notice line; each program points to it.
        machine = "BPF is unavailable (the line at the top says why)"
        self.entries = [
            ProgramEntry(p, machine if self.bpf_problem else availability(p)) for p in listed
        ]
        self.settings = self.config.tui
        self.store_config = StoreConfig(
            capacity=self.settings.row_limit, series_length=self.settings.series_seconds
        )
        self.runs = RunManager(
            MAX_VIEWS, on_stopped=self._run_stopped, on_sampled=self._run_sampled
        )
        self.views: dict[int, AnyView] = {}
        self._announced: set[int] = set()  # recordings whose "saved" was said
        self.current: int | None = None
        self.lmp_themes = themes if themes is not None else discover_themes()
        for theme_file in self.lmp_themes.values():
            self.register_theme(theme_file.theme)
            if theme_file.css:
                where = str(theme_file.path) if theme_file.path else f"<theme {theme_file.name}>"
                self.stylesheet.add_source(theme_file.css, read_from=(where, "theme"))
        self.theme_problem: str | None = None
        # NO_COLOR wins over a configured theme, as no-color.org asks of every program.
        wanted = default_theme() if no_color() else self.settings.theme or default_theme()
        if wanted not in self.available_themes:
            fallback = "dark" if "dark" in self.lmp_themes else next(iter(self.lmp_themes))
            self.theme_problem = f"no theme named {wanted!r}; using {fallback!r}"
            wanted = fallback
        self.theme = wanted

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return {"spark": "#7fd962"}

    # -- layout --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        # The app keeps its own references: queries from the app search the active screen,
        # which may be a modal one while messages about programs keep arriving.
        self.body = Horizontal(id="body")
        self.sidebar_pinned: bool | None = None
        """Shown (True) or hidden (False) by ``ctrl+b``; None: automatic (``place_sidebar``)."""
        self.sidebar = ProgramSidebar(self.entries, id="sidebar")
        self.notice = Static(id="notice", markup=False)
        self.tabs = ViewTabs(id="tabs")
        self.switcher = ContentSwitcher(initial=DETAILS, id="views")
        self.details = ProgramDetails(id=DETAILS)
        self.status_bar = StatusBar(id="status")
        with self.body:
            yield self.sidebar
            with Vertical(id="main"):
                yield self.notice
                yield self.tabs
                with self.switcher:
                    yield self.details
        yield self.status_bar
        yield KeysFooter()

    def on_mount(self) -> None:
        self.set_keymap(self.config.keymap)
        if self.hosts:
            self.notice.update(f"⇄ programs run on {', '.join(self.hosts)} (ssh)")
            self.notice.add_class("-shown")
        elif self.bpf_problem:
            self.notice.update(f"⚠ BPF unavailable: {self.bpf_problem}")
            self.notice.add_class("-shown")
        for problem in (self.config.problem, self.theme_problem):
            if problem:
                self.notify(problem, severity="warning", timeout=8)
        self.set_interval(1 / self.settings.refresh_rate, self.tick, name="refresh")
        self.sidebar.option_list.focus()
        self.details.show(self.sidebar.entry(self._highlighted_name()))
        self.update_chrome()
        for path in self.initial_replays:
            self.open_recording(path)
        if self.initial_wasm is not None:
            self.open_wasm(*self.initial_wasm)
        if self.bpf_problem and not self.initial_replays and self.initial_wasm is None:
            # Nothing can run here: offer the recordings (the built-in demos first) instead.
            self.action_open()
        # What exists now (the DOM, styles, the Hub's packages) lives as long as the app: keep
        # it out of the collector's full passes, which otherwise stall a busy app for 100 ms.
        self.call_after_refresh(gc.freeze)
        if not self.is_headless:
            loop = asyncio.get_running_loop()
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signal.SIGTERM, lambda: self.call_next(self.action_quit))
            # Not through the event loop: once the terminal is gone, Textual's writer thread dies
            # on EIO and the loop itself soon blocks for good on the writer's full queue.
            signal.signal(signal.SIGHUP, self._hung_up)

    def _hung_up(self, signum: int, frame: object) -> None:
        """The terminal went away (a closed SSH session, a killed tmux): release every program,
        close the recordings, and go without restoring a terminal nobody reads."""
        # release_all joins drain threads and detaches links: bounded, but never wait on it
        # for longer than a user would wait for a hung-up tool to go
        threading.Timer(2.5, os._exit, (128 + signum,)).start()
        self.runs.release_all()
        os._exit(128 + signum)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Notifications carry names, paths and errors from packages, files and servers: plain
        text (a ``[`` in a file name is not markup), one line, no control characters."""
        super().notify(
            shown(message, 400), title=title, severity=severity, timeout=timeout, markup=markup
        )

    def _highlighted_name(self) -> str | None:
        option = self.sidebar.option_list.highlighted_option
        return option.id if option is not None else None

    @property
    def current_run(self) -> AnyRun | None:
        run = self.runs.get(self.current) if self.current is not None else None
        return run if isinstance(run, SessionRun | WasmRun) else None

    def view_of(self, run: Run) -> AnyView | None:
        return self.views.get(run.number)

    # -- the refresh tick ----------------------------------------------------------------------

    def tick(self) -> None:
        """Decode what arrived since the last tick; one ``BatchDecoded`` per program."""
        for run in list(self.runs.values()):
            batches, records = run.flush()
            if batches and (view := self.view_of(run)) is not None:
                view.post_message(BatchDecoded(run, records))
            recorder = run.recorder if isinstance(run, SessionRun) else None
            if isinstance(run, SessionRun) and recorder is not None and not recorder.active:
                run.stop_recording()  # it stopped by itself: size limit or a failed write
                self._announce_saved(recorder)
                if (view := self.view_of(run)) is not None:
                    view.update_status()

    # -- starting and stopping -----------------------------------------------------------------

    def on_program_sidebar_program_highlighted(
        self, event: ProgramSidebar.ProgramHighlighted
    ) -> None:
        if event.entry == self.details.entry and self.current is not None:
            return  # the list's first highlight, after a replay or app opened at start was shown
        self.details.show(event.entry)
        if self.sidebar.option_list.has_focus:
            self.action_show_programs(focus=False)

    def on_program_sidebar_program_chosen(self, event: ProgramSidebar.ProgramChosen) -> None:
        self.choose_program(event.entry)

    def choose_program(self, entry: ProgramEntry) -> None:
        """Run ``entry``, after the parameter form when it has parameters."""
        if entry.unavailable:
            self.notify(
                f"{entry.name} cannot run here: {entry.unavailable}", severity="error", timeout=8
            )
            return
        if self._free_number() is None:
            self.notify(f"at most {MAX_VIEWS} views: close one first (ctrl+w)", severity="warning")
            return
        package = entry.program.package
        try:
            params = parameters(package)
            spec = package.export()
        except LmpError as exc:
            self.notify(f"{entry.name}: {exc}", severity="error", timeout=8)
            return
        interface = package_interface(package)
        if not params and not interface:
            self.start_program(entry.program)
            return

        def submitted(settings: RunSettings | None) -> None:
            if settings is not None:
                self.start_program(entry.program, settings)

        buffer = package.buffer_bytes(spec) if spec.kind != "sample" else 0
        self.push_screen(ParameterForm(entry.name, params, buffer, interface), submitted)

    def start_program(self, program: HubProgram, settings: RunSettings | None = None) -> None:
        settings = settings or RunSettings()
        self.run_worker(self._start(program, settings), group="start", exit_on_error=False)

    async def _start(self, program: HubProgram, settings: RunSettings) -> None:
        session: Session | None = None
        try:
            session = self.session_factory(program, settings)
            # Loading and attaching takes a while (BTF, verifier; an ssh login): keep the UI
            # responsive.
            await started_in_thread(session)
            store = make_store(session.spec, self.store_config, program.name)
        except Exception as exc:
            if session is not None:
                session.close()
            # An LmpError is the user's one line; anything else is a bug, said the same way.
            why = str(exc) if isinstance(exc, LmpError) else f"{type(exc).__name__}: {exc}"
            self.notify(f"{program.name}: {why}", severity="error", timeout=10)
            return
        number = self._free_number()
        if number is None:
            session.close()
            self.notify(f"at most {MAX_VIEWS} views: close one first (ctrl+w)", severity="warning")
            return
        for note in session.notes:
            self.notify(f"{program.name}: {note}", severity="warning", timeout=8)
        label = program.name if session.fleet is None else session.fleet.label
        self._started(SessionRun(number, session, store, label=label))

    def _started(self, run: SessionRun | WasmRun) -> None:
        self.runs.start(run)
        self.post_message(ProgramStarted(run))

    def _free_number(self) -> int | None:
        return self.runs.free_number()

    # -- replays and wasm apps ------------------------------------------------------------------

    def open_path(self, path: Path | None) -> None:
        """Open a recording (replay) or a ``.wasm`` app."""
        if path is None:
            return
        if path.suffix == WASM_SUFFIX:
            self.open_wasm(path, [])
        else:
            self.open_recording(path)

    def open_recording(self, path: Path, *, paused: bool = False) -> None:
        """Replay ``path`` in a view of its own, as the program looked live."""
        self.run_worker(
            self._open_recording(Path(path), paused), group="start", exit_on_error=False
        )

    async def _open_recording(self, path: Path, paused: bool) -> None:
        if self._free_number() is None:
            self.notify(f"at most {MAX_VIEWS} views: close one first (ctrl+w)", severity="warning")
            return
        session: ReplaySession | None = None
        try:
            session = await asyncio.to_thread(ReplaySession, path)
            await asyncio.to_thread(session.index)  # the timeline's length; the file's tail
            if paused:
                session.source.pause(True)
            store = make_store(session.spec, self.store_config, session.name)
        except Exception as exc:  # a bug too is said in one line; the live programs go on
            if session is not None:
                session.close()
            if isinstance(exc, OSError):
                why = f"{path}: {exc.strerror or exc}"
            else:
                why = str(exc) if isinstance(exc, LmpError) else f"{type(exc).__name__}: {exc}"
            self.notify(shown(why, 300), severity="error", timeout=10)
            return
        if session.problem:
            self.notify(session.problem, severity="warning", timeout=10)
        number = self._free_number()
        if number is None:
            session.close()
            self.notify(f"at most {MAX_VIEWS} views: close one first (ctrl+w)", severity="warning")
            return
        self._started(SessionRun(number, session, store))

    def open_wasm(self, path: Path, argv: list[str]) -> None:
        """Run a wasm app; each JSON line it prints becomes a row of its table."""
        busy = next((r for r in self.runs.values() if isinstance(r, WasmRun) and r.alive), None)
        if busy is not None:
            self.notify(
                f"{busy.name} is still running: one wasm app at a time (stop it with x)",
                severity="warning",
            )
            return
        number = self._free_number()
        if number is None:
            self.notify(f"at most {MAX_VIEWS} views: close one first (ctrl+w)", severity="warning")
            return
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            self.notify(f"{path}: {exc.strerror or exc}", severity="error", timeout=10)
            return
        self._started(
            WasmRun(number, Path(path), data, list(argv), RowStore(self.settings.row_limit))
        )

    def action_open(self, problem: str | None = None) -> None:
        """List the recordings (demos first) and wasm apps here; Enter opens one."""
        if isinstance(self.screen, OpenScreen):
            return
        folder = self.recordings_dir() if self.settings.recordings_dir else None
        choices = openable_files(recordings_dir=folder)
        self.push_screen(OpenScreen(choices, problem or self.bpf_problem), self.open_path)

    # -- recording -----------------------------------------------------------------------------

    def recordings_dir(self) -> Path:
        if self.settings.recordings_dir:
            return Path(self.settings.recordings_dir).expanduser()
        return Path.cwd()

    def recording_path(self, program: str) -> Path:
        """``<program>-YYYYmmdd-HHMMSS.lmprec`` in the recordings directory (made if missing)."""
        folder = self.recordings_dir()
        folder.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        stem = file_stem(program)  # a package's name is data: never a path
        path, n = folder / f"{stem}-{stamp}.lmprec", 2
        while path.exists():
            path, n = folder / f"{stem}-{stamp}-{n}.lmprec", n + 1
        return path

    def action_record(self) -> None:
        """Start recording the shown program, or stop and say where it went."""
        run = self.current_run
        if not isinstance(run, SessionRun) or not run.recordable:
            self.bell()
            return
        if run.recorder is not None:
            recorder = run.stop_recording()
            if recorder is not None:
                self._announce_saved(recorder)
        else:
            try:
                path = self.recording_path(run.name)
                run.start_recording(path)
            except LmpError as exc:
                self.notify(str(exc), severity="error", timeout=10)
            except OSError as exc:
                where = exc.filename or self.recordings_dir()
                self.notify(f"cannot record to {where}: {exc.strerror}", severity="error")
            else:
                self.notify(f"recording {run.name} to {path}", timeout=4)
        self.refresh_bindings()
        if (view := self.views.get(run.number)) is not None:
            view.update_status()

    def _announce_saved(self, recorder: Recorder) -> None:
        if id(recorder) in self._announced:
            return
        self._announced.add(id(recorder))
        why = f" ({recorder.stopped_reason})" if recorder.stopped_reason else ""
        self.notify(
            f"saved {recorder.path}: {recorder.events:,} events, "
            f"{human_bytes(recorder.bytes)}{why}",
            severity="warning" if why else "information",
            timeout=8,
        )

    async def on_program_started(self, message: ProgramStarted) -> None:
        run = message.run
        view: AnyView
        if isinstance(run, WasmRun):
            view = WasmView(run, id=f"view-{run.number}")
        elif isinstance(run, SessionRun):
            view = ProgramView(run, id=f"view-{run.number}")
        else:
            return
        self.views[run.number] = view
        await self.switcher.add_content(view, set_current=False)
        self.call_after_refresh(gc.freeze)  # the view lives as long as the run: as at start
        self.show_view(run.number)

    def _run_stopped(self, run: Run, error: str | None) -> None:
        self.post_message(ProgramStopped(run, error))

    def _run_sampled(self, run: Run, hint: str | None) -> None:
        self.post_message(RunSampled(run, hint))

    def on_run_sampled(self, message: RunSampled) -> None:
        if message.hint:
            self.notify(message.hint, severity="warning", timeout=15)
        self.show_tabs()  # not the whole chrome: the footer's keys did not change
        self.update_status()

    async def stop_run(self, run: Run) -> None:
        """Detach the program, let its pump take what the kernel still held, then stop."""
        await self.runs.stop(run)

    def stop_later(self, run: Run) -> None:
        self.run_worker(self.runs.stop(run), exit_on_error=False)

    async def stop_all(self) -> None:
        await self.runs.stop_all()

    def on_program_stopped(self, message: ProgramStopped) -> None:
        run = message.run
        if message.error:
            self.notify(f"{run.name} stopped: {message.error}", severity="error", timeout=10)
        if isinstance(run, SessionRun) and run.last_recording is not None:
            self._announce_saved(run.last_recording)
        if (view := self.view_of(run)) is not None:
            view.refresh_data()
        self.update_chrome()

    def on_unmount(self) -> None:
        # The last word: whatever still runs is detached before the process goes.
        self.runs.release_all()

    # -- switching views -----------------------------------------------------------------------

    def show_view(self, number: int) -> None:
        if number not in self.runs:
            return
        self.current = number
        self.switcher.current = f"view-{number}"
        self.views[number].focus_main()
        self.update_chrome()

    def action_show_view(self, number: int) -> None:
        if number in self.runs:
            self.show_view(number)
        else:
            self.bell()

    def _cycle(self, step: int) -> None:
        numbers = sorted(self.runs)
        if not numbers:
            return
        if self.current not in numbers:
            self.show_view(numbers[0 if step > 0 else -1])
            return
        i = numbers.index(self.current)
        self.show_view(numbers[(i + step) % len(numbers)])

    def action_next_view(self) -> None:
        self._cycle(1)

    def action_previous_view(self) -> None:
        self._cycle(-1)

    def action_show_programs(self, focus: bool = True) -> None:
        self.current = None
        self.switcher.current = DETAILS
        if focus:
            self.sidebar_pinned = None
            self.sidebar.option_list.focus()
        self.update_chrome()

    def action_toggle_sidebar(self) -> None:
        self.sidebar_pinned = self.body.has_class("-sidebar-hidden")
        self.place_sidebar()

    def place_sidebar(self) -> None:
        """The Hub list beside a program's view only where the view keeps room for its table
        and panels (``SIDEBAR_MIN_WIDTH``), unless ``ctrl+b`` said otherwise."""
        shown = self.sidebar_pinned
        if shown is None:
            shown = self.current is None or self.size.width >= SIDEBAR_MIN_WIDTH
        self.body.set_class(not shown, "-sidebar-hidden")

    def on_resize(self) -> None:
        self.place_sidebar()

    async def action_stop(self) -> None:
        run = self.current_run
        if run is None or run.state != "running":
            self.bell()
            return
        await self.stop_run(run)

    async def action_close_view(self) -> None:
        run = self.current_run
        if run is None:
            return
        numbers = sorted(self.runs)
        index = numbers.index(run.number)
        await self.runs.remove(run)
        await self.views.pop(run.number).remove()
        # The closed view was frozen out of the collector (on_program_started): let a full
        # pass free it, then freeze what remains.
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        rest = sorted(self.runs)
        if rest:
            self.show_view(rest[min(index, len(rest) - 1)])
        else:
            self.action_show_programs()

    async def action_quit(self) -> None:
        """Quit at once, unless that would cut a recording short: then ask first."""
        recording = [
            run.recorder.path.name
            for run in self.runs.values()
            if isinstance(run, SessionRun) and run.recorder is not None and run.recorder.active
        ]
        if recording and not isinstance(self.screen, QuitScreen):
            self.push_screen(QuitScreen(recording), self._quit_if)
            return
        await self.stop_all()
        self.exit()

    async def _quit_if(self, confirmed: bool | None) -> None:
        if confirmed:
            await self.stop_all()
            self.exit()

    def action_next_theme(self) -> None:
        names = list(self.lmp_themes)
        index = names.index(self.theme) + 1 if self.theme in names else 0
        self.theme = names[index % len(names)]
        self.notify(f"theme: {self.theme}", timeout=2)

    def action_keys(self) -> None:
        self.push_screen(KeysScreen(self.key_infos(), str(self.config.path or config_path())))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer view and stop keys only when there is something to act on."""
        if action in ("stop", "close_view"):
            return self.current_run is not None
        if action == "record":
            run = self.current_run
            return isinstance(run, SessionRun) and run.recordable
        if action in ("next_view", "previous_view"):
            return bool(self.runs)
        return True

    # -- chrome --------------------------------------------------------------------------------

    def update_chrome(self) -> None:
        self.place_sidebar()
        self.show_tabs()
        self.refresh_bindings()
        self.sidebar.set_running(
            {r.name for r in self.runs.values() if r.state == "running" and r.kind == "live"}
        )
        self.update_status()

    def show_tabs(self) -> None:
        tabs = [
            Tab(
                n,
                r.name,
                r.state == "running",
                r.kind,
                cost.brief() if (cost := cost_of(r)) else "",
                isinstance(r, SessionRun) and r.made_up,
            )
            for n, r in sorted(self.runs.items())
        ]
        self.tabs.show(tabs, self.current)

    def update_status(self) -> None:
        """The shown view's status (it keeps it current), else a word about the runs."""
        view = self.views.get(self.current) if self.current is not None else None
        self.status_bar.cost = cost_of(self.current_run) if view is not None else None
        if view is not None:
            self.status_bar.show(view.status)
            return
        running = sum(r.state == "running" for r in self.runs.values())
        if self.bpf_problem:
            notice = "BPF unavailable — o opens a recording or a demo"
        elif running:
            notice = f"{running} program{'s' if running != 1 else ''} running — press a number"
            notice += " to show one"
        else:
            notice = ""
        self.status_bar.show(Status(notice=notice))

    def on_run_view_status_changed(self, event: RunView.StatusChanged) -> None:
        if event.view is self.views.get(self.current if self.current is not None else -1):
            self.status_bar.show(event.view.status)

    # -- command palette and keys --------------------------------------------------------------

    def key_infos(self) -> list[KeyInfo]:
        """Every binding with an id, with the keys in force after the keymap."""
        owners: list[tuple[str, type]] = [
            ("app", App),
            ("app", LmpApp),
            ("programs", ProgramSidebar),
            ("programs", ProgramList),
            ("view", ProgramView),
            ("events", VirtualTable),
            ("events", EventTable),
            ("processes", ProcessTable),
            ("maps", MapTable),
            ("maps", HistogramPanel),
            ("panels", SparklinePanel),
            ("panels", TopKeysTable),
            ("form", ParameterForm),
            ("columns", ColumnChooser),
            ("quit", QuitScreen),
            ("keys", KeysScreen),
            ("open", OpenScreen),
        ]
        infos: list[KeyInfo] = []
        seen: set[str] = set()
        for where, owner in owners:
            for binding in owner.__dict__.get("BINDINGS", []):
                if not isinstance(binding, Binding):
                    continue
                ident = binding.id or binding.action
                if ident in seen:
                    continue
                seen.add(ident)
                keys = self._keymap.get(binding.id, binding.key) if binding.id else binding.key
                infos.append(
                    KeyInfo(where, self.keys_shown(keys), ident, binding.description or ident)
                )
        infos.append(
            KeyInfo(
                "app",
                self.keys_shown(self.COMMAND_PALETTE_BINDING),
                "command_palette",
                "Command palette",
            )
        )
        return infos

    def keys_shown(self, keys: str) -> str:
        """Keys as people write them (``?``, ``]``, ``.``, ``shift+→``), not Textual's names
        (``question_mark``, ``right_square_bracket``, ``full_stop``)."""
        # " or " between them: a comma may be one of the keys.
        return " or ".join(
            self.get_key_display(Binding(key.strip(), "")) for key in keys.split(",") if key
        )


def cost_of(run: Run | None) -> ProgramCost | None:
    """The BPF cost of ``run`` over the last second, when it has one (a live program)."""
    return run.cost if isinstance(run, SessionRun) else None


class _Arguments(argparse.ArgumentParser):
    """``lmp-tui``'s options: a bad one is one line on stderr and status 2, said before the
    screen is taken over (argparse would print its usage too)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message}\n")


def _rows_option(text: str) -> int:
    """``--rows N``: what ``row_limit`` in the config file may be."""
    from .runtime.config import setting_problem

    try:
        rows = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if problem := setting_problem("row_limit", rows):
        raise argparse.ArgumentTypeError(problem.replace("row_limit = ", "", 1))
    return rows


def _config_option(text: str) -> Path:
    """``--config FILE``: a file named on purpose must be there (a missing default one just
    means defaults)."""
    path = Path(text).expanduser()
    if not path.is_file():
        what = "is not a file" if path.exists() else "does not exist"
        raise argparse.ArgumentTypeError(f"{shown(text)} {what}")
    return path


async def started_in_thread(session: Session) -> None:
    """``session.start()`` in a worker thread. If the app gives up waiting (it quits), the
    session is closed once it has started, whichever comes first: nothing it loaded or
    spawned (an ssh and the program behind it) outlives the app."""
    lock = threading.Lock()
    state = {"started": False, "abandoned": False}

    def start() -> None:
        session.start()
        with lock:
            state["started"] = True
            if state["abandoned"]:
                session.close()

    try:
        await asyncio.to_thread(start)
    except asyncio.CancelledError:
        with lock:
            state["abandoned"] = True
            if state["started"]:
                session.close()
        raise


def arguments(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """``lmp-tui``'s options, and the wasm app's arguments (after ``--``)."""
    parser = _Arguments(
        prog="lmp-tui",
        description="Run eBPF programs from the Hub and watch their events live.",
        allow_abbrev=False,  # --web passes the other options on by their full names
    )
    parser.add_argument(
        "--config",
        type=_config_option,
        metavar="FILE",
        help=f"config file (default {config_path()})",
    )
    parser.add_argument("--theme", help="theme name (a themes/*.tcss file or a Textual theme)")
    parser.add_argument("--rows", type=_rows_option, metavar="N", help="events kept per program")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="replay made-up events instead of loading BPF (no root needed)",
    )
    parser.add_argument(
        "--replay",
        action="append",
        type=Path,
        default=[],
        metavar="FILE.lmprec",
        help="open a recording in its own view (no root or BPF needed; may be repeated)",
    )
    parser.add_argument(
        "--run",
        type=Path,
        metavar="APP.wasm",
        help="run a wasm app; each JSON line it prints is a table row (its arguments after --)",
    )
    parser.add_argument(
        "--host",
        action="append",
        default=[],
        metavar="[USER@]HOST[:PORT]",
        help="run programs on HOST over ssh (its lmp record -o -) instead of here; repeated, "
        "one view merges the hosts with a host column",
    )
    parser.add_argument(
        "--remote-lmp",
        default="lmp",
        metavar="COMMAND",
        help="the lmp command on the hosts (default: lmp, found on their PATH)",
    )
    parser.add_argument(
        "--ssh",
        default="ssh",
        metavar="COMMAND",
        help="the ssh client and its options for --host (default: ssh)",
    )
    parser.add_argument(
        "--web",
        action="store_true",
        help="serve this app to a browser (textual-serve) instead of running it here",
    )
    parser.add_argument(
        "--listen",
        default="127.0.0.1:8000",
        metavar="HOST:PORT",
        help="where --web serves (default 127.0.0.1:8000)",
    )
    app_args: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, app_args = argv[:cut], argv[cut + 1 :]
    args = parser.parse_args(argv)
    if app_args and args.run is None:
        parser.error("arguments after -- are for a wasm app: give it with --run APP.wasm")
    return args, app_args


def main(argv: list[str] | None = None) -> int:
    from textual.dom import DOMNode

    from .runtime.config import check_keymap, declared_binding_ids

    args, app_args = arguments(list(sys.argv[1:] if argv is None else argv))
    config = load_config(args.config)
    overrides = {"theme": args.theme, "row_limit": args.rows}
    tui = replace(config.tui, **{k: v for k, v in overrides.items() if v is not None})
    # [keymap] ids no binding has are dropped and said with the file's other problems, which
    # the app shows once as it starts
    config = check_keymap(replace(config, tui=tui), declared_binding_ids(DOMNode))
    opens: dict[str, Any] = {
        "replays": args.replay,
        "wasm": (args.run, app_args) if args.run is not None else None,
    }
    if args.web:
        from .web import serve

        return serve(args.listen, sys.argv[1:] if argv is None else argv)
    if args.host:
        from .tui.runner import remote_sessions

        app = LmpApp(
            config,
            session_factory=remote_sessions(args.host, args.remote_lmp, args.ssh),
            availability=lambda _: None,  # what runs there is for their kernels to say
            probe_bpf=False,
            hosts=args.host,
            **opens,
        )
    elif args.demo:
        app = LmpApp(
            config,
            session_factory=demo_session,
            availability=lambda _: None,
            probe_bpf=False,
            **opens,
        )
    else:
        app = LmpApp(config, **opens)
    # Imports done (``lmp_tui.stops``): a SIGINT from now on is Textual's to turn into a quit;
    # SIGTERM and SIGHUP are the app's once it is mounted, and do what they do by default until
    # then. A SIGHUP the parent ignores (nohup) stays ignored.
    for sig, handler in (
        (signal.SIGINT, signal.default_int_handler),
        (signal.SIGTERM, signal.SIG_DFL),
        (signal.SIGHUP, signal.SIG_DFL),
    ):
        if sig != signal.SIGHUP or signal.getsignal(sig) is not signal.SIG_IGN:
            signal.signal(sig, handler)
    try:
        app.run()
    finally:
        for run in app.runs.values():
            run.stop()
    return app.return_code or 0


if __name__ == "__main__":
    sys.exit(main())
