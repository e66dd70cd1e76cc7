"""``ProgramDetails``: what a Hub program is, reports and takes, before anything runs."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from ..runtime.errors import LmpError
from ..runtime.format.layout import StructLayout
from ..runtime.format.package import Package
from ..runtime.format.params import parameters
from ..runtime.format.roles import Meaning, export_meanings
from ..runtime.stream.addresses import Address, addresses
from ..runtime.units import format_bytes
from .sidebar import ProgramEntry

WELCOME = """\
[b]lmp-tui[/b] runs eBPF programs from the Hub and shows their events live.

Pick a program on the left (↑/↓, [b]/[/b] to search) to see its fields and parameters,
then press [b]Enter[/b] to run it. Several programs can run at once: switch views with
[b]1[/b]–[b]9[/b], [b]][/b] / [b][[/b], or the command palette ([b]ctrl+p[/b]). [b]?[/b] lists every key.

[b]r[/b] records the shown program to a .lmprec file; [b]o[/b] replays a recording (the built-in
demos too: no root or BPF needed) or runs a .wasm app from the current directory.
"""


def _layout_table(
    title: str,
    layout: StructLayout,
    shown: dict[int, Address] | None = None,
    meaning: dict[str, Meaning] | None = None,
) -> Table:
    """Fields with their C type, kind and meaning (``gauge, pages``: what the views show them
    as); ``shown`` says which event fields show as IP addresses (a sampled map's entries print
    as ecli prints them, without)."""
    table = Table(
        title=title,
        title_justify="left",
        title_style="bold",
        expand=False,
        show_edge=False,
        pad_edge=False,
        header_style="bold",
    )
    table.add_column("field")
    table.add_column("type")
    table.add_column("kind")
    table.add_column("meaning")
    shown, meaning = shown or {}, meaning or {}
    for i, f in enumerate(layout.fields):
        kind = f"{f.kind} ({a.description})" if (a := shown.get(i)) else str(f.kind)
        said = m.description if (m := meaning.get(f.name)) is not None else ""
        table.add_row(f.name, f.type_name, kind, said)
    return table


class ProgramDetails(VerticalScroll):
    """Summary, availability, output, fields and parameters of the highlighted program."""

    DEFAULT_CSS = """
    ProgramDetails {
        height: 1fr;
        padding: 0 1;
        background: $surface;
        & > Static { width: 1fr; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.entry: ProgramEntry | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text.from_markup(WELCOME), id="details-body")

    def show(self, entry: ProgramEntry | None) -> None:
        self.entry = entry
        body = self.query_one("#details-body", Static)
        body.update(self.describe(entry) if entry is not None else Text.from_markup(WELCOME))
        self.scroll_home(animate=False)

    @staticmethod
    def describe(entry: ProgramEntry) -> RenderableType:
        program = entry.program
        parts: list[RenderableType] = []
        title = Text.assemble((program.name, "bold"), "  ", (program.category, "italic"))
        parts.append(title)
        try:
            package = program.package
        except LmpError as exc:
            parts.append(Text(f"✗ cannot load: {exc}", style="red"))
            return Group(*parts)
        summary = program.summary or package.description
        parts.append(Text(summary))
        if package.description and package.description != summary:
            parts.append(Text(package.description, style="dim"))
        if entry.unavailable:
            parts.append(Text(f"✗ cannot run here: {entry.unavailable}", style="bold red"))
        else:
            parts.append(Text("✓ runs on this kernel", style="green"))
        parts.append(Text(""))
        parts.extend(ProgramDetails._output(program.name, package))
        params = parameters(package)
        parts.append(Text(""))
        if params:
            table = Table(
                title="parameters (Enter opens the form)",
                title_justify="left",
                title_style="bold",
                show_edge=False,
                pad_edge=False,
                header_style="bold",
            )
            table.add_column("option")
            table.add_column("type")
            table.add_column("default")
            table.add_column("help", ratio=1)
            for p in params:
                table.add_row(
                    p.label, p.variable.type, "" if p.default is None else str(p.default), p.help
                )
            parts.append(table)
        else:
            parts.append(Text("no parameters", style="dim"))
        return Group(*parts)

    @staticmethod
    def _output(name: str, package: Package) -> list[RenderableType]:
        try:
            spec = package.export()
        except LmpError as exc:
            return [Text(f"output: cannot resolve what it exports: {exc}", style="red")]
        meaning = export_meanings(spec, program=name)
        if spec.kind == "sample" and spec.sample is not None and spec.key and spec.value:
            s = spec.sample
            return [
                Text(
                    f"output: map {spec.map_name!r} sampled every {s.interval_ms} ms "
                    f"({s.type}, unit {s.unit})"
                ),
                _layout_table("key", spec.key, meaning=meaning.get("key")),
                _layout_table("value", spec.value, meaning=meaning.get("value")),
            ]
        layout = spec.layout
        if layout is None:
            return [Text("output: none (the program exports no events)", style="dim")]
        buffer = format_bytes(package.buffer_bytes(spec))
        via = {"ringbuf": "ring buffer", "perf": "perf buffer"}[spec.kind]
        per_cpu = " per CPU" if spec.kind == "perf" else ""
        where = f" via {via} {spec.map_name!r}, {buffer}{per_cpu}"
        return [
            Text(f"output: events of struct {layout.name} ({layout.size} bytes){where}"),
            _layout_table("fields", layout, addresses(layout), meaning.get("event")),
        ]
