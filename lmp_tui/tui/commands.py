"""The command palette's commands (ctrl+p): run, show, stop, record, replay, open, theme.

A ``Provider``, as Textual's own commands are: ``discover`` lists what makes sense now (the
running programs, the shown replay...), ``search`` fuzzy-matches the same list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from ..runtime.runs.manager import SPEEDS, SessionRun
from ..widgets.program_view import ProgramView
from .replay import openable_files, speed_label

if TYPE_CHECKING:
    from ..app import LmpApp


@dataclass(frozen=True, slots=True)
class Command:
    title: str
    help: str
    run: Callable[[], Any]


def commands(app: LmpApp) -> Iterator[Command]:
    """Everything the palette offers in the app's present state, in the order it lists them."""
    for number, each in sorted(app.runs.items()):
        yield Command(
            f"View {number}: {each.name}",
            f"Show {each.name} ({each.state})",
            partial(app.show_view, number),
        )
        if each.state == "running":
            yield Command(
                f"Stop {each.name} ({number})",
                "Detach it from the kernel",
                partial(app.stop_later, each),
            )
    for entry in app.entries:
        yield Command(
            f"Run {entry.name}",
            entry.program.summary or entry.category,
            partial(app.choose_program, entry),
        )
    for name in app.lmp_themes:
        yield Command(
            f"Theme: {name}", f"Use the {name} theme", partial(setattr, app, "theme", name)
        )
    run = app.current_run
    if isinstance(run, SessionRun) and run.recordable:
        if run.recorder is not None:
            yield Command(
                f"Stop recording {run.name}",
                f"Close {run.recorder.path.name}",
                app.action_record,
            )
        else:
            yield Command(
                f"Record {run.name}",
                f"Record its events to a .lmprec file in {app.recordings_dir()} (r)",
                app.action_record,
            )
    if isinstance(run, SessionRun) and run.replay is not None and run.state == "running":
        view = app.views[run.number]
        assert isinstance(view, ProgramView)
        yield Command(
            "Replay: pause or resume",
            "Hold the replay where it is (P)",
            view.action_replay_pause,
        )
        yield Command("Replay: back to the start", "Seek to 0:00 (b)", view.action_replay_start)
        for speed in SPEEDS:
            yield Command(
                f"Replay speed {speed_label(speed)}",
                "Replay paced by the recorded times" if speed else "As fast as possible",
                partial(setattr, run.replay, "speed", speed),
            )
    yield Command(
        "Open recording…",
        "Replay a .lmprec file or a built-in demo, or run a .wasm app from here (o)",
        app.action_open,
    )
    folder = app.recordings_dir() if app.settings.recordings_dir else None
    for choice in openable_files(recordings_dir=folder):
        verb = "Run" if choice.kind == "wasm app" else "Replay"
        yield Command(
            f"{verb} {choice.path.name}",
            f"{choice.kind} ({choice.origin}): {choice.path}",
            partial(app.open_path, choice.path),
        )


class LmpCommands(Provider):
    @property
    def lmp_app(self) -> LmpApp:
        return cast("LmpApp", self.app)  # the only app this provider is registered with

    async def discover(self) -> Hits:
        for command in commands(self.lmp_app):
            yield DiscoveryHit(command.title, command.run, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in commands(self.lmp_app):
            if (score := matcher.match(command.title)) > 0:
                yield Hit(score, matcher.highlight(command.title), command.run, help=command.help)
