"""Modal screens: the parameter form shown before a run, the list of every key binding, the
list of recordings (and wasm apps) to open, and an event table's column chooser."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.validation import ValidationResult, Validator
from textual.widgets import (
    Button,
    Checkbox,
    DataTable,
    Input,
    Label,
    OptionList,
    SelectionList,
    Static,
)
from textual.widgets.option_list import Option
from textual.widgets.selection_list import Selection

from ..runtime.errors import ParameterError
from ..runtime.format.params import Parameter
from ..runtime.kernel.attachments import Interface
from ..runtime.units import format_bytes, ring_size
from .replay import Openable
from .runner import RunSettings


class _Coerces(Validator):
    """Valid when the parameter takes the text, as ``lmp run`` would (a signal's name too)."""

    def __init__(self, parameter: Parameter) -> None:
        super().__init__()
        self.parameter = parameter

    def validate(self, value: str) -> ValidationResult:
        try:
            self.parameter.parse(value)
        except ParameterError as exc:
            return self.failure(str(exc))
        return self.success()


class FlagCheckbox(Checkbox, inherit_bindings=False):
    """A checkbox that toggles with space only, so Enter can submit the form."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_button", "Toggle", show=False, id="form.toggle"),
    ]


class _RingSize(Validator):
    def validate(self, value: str) -> ValidationResult:
        try:
            if value.strip():
                ring_size(value)
        except ParameterError as exc:
            return self.failure(str(exc))
        return self.success()


class _InterfaceName(Validator):
    def validate(self, value: str) -> ValidationResult:
        try:
            if value.strip():
                Interface.parse(value)
        except ParameterError as exc:
            return self.failure(str(exc))
        return self.success()


ResultT = TypeVar("ResultT")


class Dialog(ModalScreen[ResultT]):
    """A box in the middle of the screen, over the app: what every dialog here looks like."""

    DEFAULT_CSS = """
    Dialog {
        align: center middle;
        & > Vertical {
            width: 90;
            max-width: 100%;
            height: auto;
            max-height: 90%;
            background: $panel;
            border: thick $primary;
            padding: 0 1;
        }
    }
    """


class ParameterForm(Dialog[RunSettings | None]):
    """Typed inputs for a program's ``const volatile`` globals, the size of the buffer its
    events come through (when it has one) and the interface its XDP/TC programs attach to (when
    it has some); dismisses with the ``RunSettings``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
        Binding("enter,ctrl+s", "run", "Run", id="form.run"),
    ]

    DEFAULT_CSS = """
    ParameterForm {
        & > Vertical { width: 80; }
        & #form-title { text-style: bold; padding: 0 0 1 0; }
        & VerticalScroll { height: auto; max-height: 20; }
        & .param { height: auto; margin: 0 0 1 0; }
        & .param Label { text-style: bold; }
        & .param .help { color: $text-muted; }
        & .param Input { width: 1fr; }
        & #form-error { color: $error; height: auto; }
        & #buttons { height: auto; align-horizontal: right; }
        & Button { margin: 0 0 0 1; }
    }
    """

    def __init__(
        self,
        program: str,
        parameters: Iterable[Parameter],
        buffer_bytes: int = 0,
        interface: str = "",
    ) -> None:
        super().__init__()
        self.program = program
        self.parameters = list(parameters)
        self.buffer_bytes = buffer_bytes
        """The shipped size of the export buffer (0: it has none, no field for it)."""
        self.interface = interface
        """The interface the package's XDP/TC programs name ("": it has none, no field)."""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"Run {self.program}", id="form-title")
            with VerticalScroll():
                for p in self.parameters:
                    with Vertical(classes="param"):
                        yield Label(f"{p.label}  ({p.variable.type})")
                        if p.is_bool:
                            yield FlagCheckbox(p.help, bool(p.default), id=f"param-{p.name}")
                        else:
                            yield Input(
                                "" if p.default is None else str(p.default),
                                # Text, not Textual's "integer": that one drops what it
                                # does not take without a word (SIGUSR1 became 1).
                                validators=[_Coerces(p)],
                                id=f"param-{p.name}",
                            )
                            yield Static(p.help, classes="help")
                if self.buffer_bytes:
                    with Vertical(classes="param"):
                        yield Label("--ring-size  (bytes: 256K, 4M, ...)")
                        yield Input(
                            placeholder=format_bytes(self.buffer_bytes).replace(" ", ""),
                            validators=[_RingSize()],
                            id="ring-size",
                        )
                        yield Static(
                            f"the buffer events come through (shipped: "
                            f"{format_bytes(self.buffer_bytes)}); a power of 2 of pages, "
                            "rounded up",
                            classes="help",
                        )
                if self.interface:
                    with Vertical(classes="param"):
                        yield Label("--ifname  (interface name or index)")
                        yield Input(
                            placeholder=self.interface,
                            validators=[_InterfaceName()],
                            id="ifname",
                        )
                        yield Static(
                            f"where the XDP and TC programs attach (the package's: "
                            f"{self.interface})",
                            classes="help",
                        )
            yield Static(id="form-error")
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Run", variant="primary", id="run")

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).can_focus = False
        fields = self.query(".param Input, .param Checkbox")
        (fields.first() if fields else self.query_one("#run", Button)).focus()

    def settings(self) -> RunSettings:
        """The values, the ring size and the interface (raises ``ParameterError``)."""
        size = interface = None
        if self.buffer_bytes and (text := self.query_one("#ring-size", Input).value.strip()):
            size, _note = ring_size(text)
        if self.interface and (text := self.query_one("#ifname", Input).value.strip()):
            interface = Interface.parse(text)
        return RunSettings(self.values(), size, interface)

    def values(self) -> dict[str, Any]:
        """The coerced value of every parameter (raises ``ParameterError``)."""
        out: dict[str, Any] = {}
        for p in self.parameters:
            if p.is_bool:
                out[p.name] = self.query_one(f"#param-{p.name}", Checkbox).value
                continue
            text = self.query_one(f"#param-{p.name}", Input).value.strip()
            if text:
                out[p.name] = p.parse(text)
        return out

    def action_run(self) -> None:
        try:
            settings = self.settings()
        except ParameterError as exc:
            self.query_one("#form-error", Static).update(str(exc))
            return
        self.dismiss(settings)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_run()

    def on_input_changed(self, event: Input.Changed) -> None:
        """Say at once what is wrong with a value, not only on Run."""
        event.stop()
        result = event.validation_result
        error = self.query_one("#form-error", Static)
        error.update(
            "" if result is None or result.is_valid else "; ".join(result.failure_descriptions)
        )

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "run":
            self.action_run()
        else:
            self.action_cancel()


class QuitScreen(Dialog[bool]):
    """Quitting now would cut a recording short: say which, and quit only when confirmed
    (``y``, Enter, or Ctrl-C / ``q`` again, as a second Ctrl-C means it in a shell)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,enter,q,ctrl+c", "answer(True)", "Quit", id="quit.yes", priority=True),
        Binding("n,escape", "answer(False)", "Stay", id="quit.no"),
    ]

    DEFAULT_CSS = """
    QuitScreen {
        & > Vertical { width: 70; }
        & #quit-question { text-style: bold; padding: 1 0 0 0; }
        & #quit-hint { color: $text-muted; padding: 1 0; }
    }
    """

    def __init__(self, recordings: list[str]) -> None:
        super().__init__()
        self.recordings = recordings

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Quit and stop recording?", id="quit-question")
            yield Static("\n".join(f"● {name}" for name in self.recordings), markup=False)
            yield Static(
                "y or Ctrl-C: quit (the file is closed, complete)   n or Esc: stay", id="quit-hint"
            )

    def action_answer(self, quit: bool) -> None:
        self.dismiss(quit)


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """One binding as the keys screen lists it."""

    where: str
    keys: str
    id: str
    description: str


class KeysScreen(Dialog[None]):
    """Every binding with its id, so it can be remapped under ``[keymap]`` in config.toml."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss", "Close", id="keys.close"),
    ]

    DEFAULT_CSS = """
    KeysScreen {
        & > Vertical { height: 90%; }
        & #keys-title { text-style: bold; }
        & #keys-hint { color: $text-muted; padding: 0 0 1 0; }
        & DataTable { height: 1fr; }
    }
    """

    def __init__(self, keys: list[KeyInfo], config_path: str) -> None:
        super().__init__()
        self.keys = keys
        self.config_path = config_path

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Keys", id="keys-title")
            yield Static(
                f"Remap any of them by id in {self.config_path}, e.g. "
                '[keymap] "program.stop" = "ctrl+x"',
                id="keys-hint",
                markup=False,
            )
            table: DataTable[str] = DataTable(cursor_type="row", zebra_stripes=True)
            yield table

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("where", "keys", "id", "does")
        for k in self.keys:
            table.add_row(k.where, k.keys, k.id, k.description)
        table.focus()

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)


class OpenScreen(Dialog[Path | None]):
    """Recordings to replay (the built-in demos first) and wasm apps to run; Enter opens one.

    Where BPF is unavailable the app shows it at start, saying why in one line.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Close", id="open.cancel"),
    ]

    DEFAULT_CSS = """
    OpenScreen {
        & #open-title { text-style: bold; }
        & #open-problem { color: $warning; }
        & #open-hint { color: $text-muted; padding: 0 0 1 0; }
        & OptionList, & OptionList:focus {
            height: auto; max-height: 20; border: none; background: $panel;
        }
    }
    """

    def __init__(self, choices: list[Openable], problem: str | None = None) -> None:
        super().__init__()
        self.choices = choices
        self.problem = problem

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Open a recording", id="open-title")
            if self.problem:
                yield Static(f"⚠ BPF unavailable: {self.problem}", id="open-problem", markup=False)
                hint = "Programs cannot run here, but recordings replay anywhere: pick one."
            else:
                hint = "Replays need neither root nor BPF. Enter opens, Esc closes."
            yield Static(hint, id="open-hint", markup=False)
            options = [Option(c.label, id=str(i)) for i, c in enumerate(self.choices)]
            if not options:
                options = [Option("no recordings found", disabled=True)]
            yield OptionList(*options, id="open-list")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.dismiss(self.choices[int(event.option.id)].path)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ColumnChooser(Dialog[None]):
    """Every column of an event table with a checkbox, in the layout's order: each toggle
    shows or hides its column at once (``choose`` gets the checked names)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,c", "close", "Close", id="columns.close"),
    ]

    DEFAULT_CSS = """
    ColumnChooser {
        & > Vertical { width: 48; }
        & #columns-title { text-style: bold; }
        & #columns-hint { color: $text-muted; padding: 0 0 1 0; }
        & SelectionList, & SelectionList:focus {
            height: auto; max-height: 20; border: none; background: $panel;
        }
    }
    """

    def __init__(
        self,
        program: str,
        names: list[str],
        shown: list[str],
        choose: Callable[[list[str]], None],
    ) -> None:
        super().__init__()
        self.program = program
        self.names = names
        self.shown = set(shown)
        self.choose = choose

    def compose(self) -> ComposeResult:
        with Vertical():
            title = f"Columns of {self.program}" if self.program else "Columns"
            yield Static(title, id="columns-title", markup=False)
            yield Static("Space toggles (remembered per program). Esc closes.", id="columns-hint")
            yield SelectionList[str](
                *[Selection(n, n, n in self.shown) for n in self.names], id="columns-list"
            )

    def on_mount(self) -> None:
        self.query_one(SelectionList).focus()

    def on_selection_list_selected_changed(self, event: SelectionList.SelectedChanged[str]) -> None:
        event.stop()
        picked = set(event.selection_list.selected)
        self.choose([n for n in self.names if n in picked])

    def action_close(self) -> None:
        self.dismiss(None)
