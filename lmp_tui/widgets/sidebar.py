"""``ProgramSidebar``: Hub programs grouped by category, with a search box.

Each program says whether this kernel can run it (``✓``) or not (``✗``, the reason is in its
details), and whether it is running (``▶``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from ..runtime.distribution.hub import HubProgram


@dataclass(frozen=True, slots=True)
class ProgramEntry:
    """A Hub program as listed: its availability is probed once."""

    program: HubProgram
    unavailable: str | None

    @property
    def name(self) -> str:
        return self.program.name

    @property
    def category(self) -> str:
        return self.program.category

    def rank(self, query: str) -> int | None:
        """How well it answers a search (0 best), None when it does not: its name starting
        with it, then containing it, then its category or summary (``sig`` finds sigsnoop
        before exitsnoop, whose summary mentions signals)."""
        q = query.strip().lower()
        name = self.name.lower()
        if name.startswith(q):
            return 0
        if q in name:
            return 1
        if q in self.category.lower() or q in self.program.summary.lower():
            return 2
        return None


class ProgramList(OptionList):
    """The options; Enter runs the highlighted program."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select", "Run", id="program.run"),
        Binding("j", "cursor_down", "Down", show=False, id="program.down"),
        Binding("k", "cursor_up", "Up", show=False, id="program.up"),
    ]


class ProgramSidebar(Vertical):
    """Search box and program list; posts ``ProgramHighlighted`` and ``ProgramChosen``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Search", show=False, id="sidebar.search"),
        # From the search box into the list it narrowed (the list handles ↓ itself).
        Binding("down", "to_list", "To the list", show=False, id="sidebar.to_list"),
    ]

    DEFAULT_CSS = """
    ProgramSidebar {
        width: 26;
        height: 1fr;
        background: $panel;
        & Input, & Input:focus {
            border: none; height: 1; padding: 0 1; margin: 0 0 1 0; background: $boost;
        }
        & ProgramList, & ProgramList:focus {
            height: 1fr; border: none; background: $panel; padding: 0;
        }
    }
    """

    class ProgramHighlighted(Message):
        def __init__(self, entry: ProgramEntry | None) -> None:
            super().__init__()
            self.entry = entry

    class ProgramChosen(Message):
        def __init__(self, entry: ProgramEntry) -> None:
            super().__init__()
            self.entry = entry

    def __init__(self, entries: Iterable[ProgramEntry], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.entries = sorted(entries, key=lambda e: (e.category, e.name))
        self.running: set[str] = set()
        self.query_text = ""

    def compose(self) -> ComposeResult:
        yield Input(placeholder="search programs", id="search")
        yield ProgramList(id="programs")

    def on_mount(self) -> None:
        self.rebuild()

    @property
    def option_list(self) -> ProgramList:
        return self.query_one(ProgramList)

    def visible_entries(self) -> list[ProgramEntry]:
        """All programs by category, or those a search finds, best answers first."""
        if not self.query_text.strip():
            return list(self.entries)
        ranked = [(r, e) for e in self.entries if (r := e.rank(self.query_text)) is not None]
        return [e for _, e in sorted(ranked, key=lambda item: (item[0], item[1].name))]

    def rebuild(self) -> None:
        """Redraw the options, keeping the highlighted program if it is still listed."""
        options = self.option_list
        current = options.highlighted_option
        keep = current.id if current is not None else None
        items: list[Option | None] = []
        category = None
        searching = bool(self.query_text.strip())
        for entry in self.visible_entries():
            if entry.category != category and not searching:
                category = entry.category
                items.append(
                    Option(
                        Text(category.upper(), style="bold"),
                        disabled=True,
                        id=f"category-{category}",
                    )
                )
            items.append(Option(self._prompt(entry), id=entry.name))
        if not items:
            items.append(Option(Text("no program matches", style="italic"), disabled=True))
        ids = [o.id if o is not None else None for o in items]
        if keep in ids:
            # Same program, new prompts (running marks): not a new highlight to announce.
            with options.prevent(OptionList.OptionHighlighted):
                options.set_options(items)
                options.highlighted = ids.index(keep)
            return
        options.set_options(items)
        options.highlighted = next(
            (i for i, o in enumerate(options.options) if not o.disabled), None
        )

    def _prompt(self, entry: ProgramEntry) -> Text:
        if entry.name in self.running:
            mark, style = "▶", "bold green"
        elif entry.unavailable:
            mark, style = "✗", "red"
        else:
            mark, style = "✓", "green"
        # One line per program: the ✗ says it cannot run, its details say why.
        return Text.assemble(
            (f" {mark} ", style),
            (entry.name, "bold" if not entry.unavailable else "dim"),
            no_wrap=True,
            overflow="ellipsis",
        )

    def set_running(self, names: set[str]) -> None:
        if names != self.running:
            self.running = set(names)
            self.rebuild()

    def entry(self, name: str | None) -> ProgramEntry | None:
        return next((e for e in self.entries if e.name == name), None)

    def highlight(self, name: str) -> None:
        options = self.option_list
        for i, option in enumerate(options.options):
            if option.id == name:
                options.highlighted = i

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_to_list(self) -> None:
        self.option_list.focus()

    def clear_search(self) -> None:
        """Every program again (after one found by a search was run)."""
        search = self.query_one("#search", Input)
        if search.value:
            search.value = ""
            self.query_text = ""
            self.rebuild()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.query_text = event.value
        self.rebuild()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.option_list.focus()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self.post_message(self.ProgramHighlighted(self.entry(event.option.id)))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if (entry := self.entry(event.option.id)) is not None:
            self.post_message(self.ProgramChosen(entry))
            self.clear_search()
