"""NO_COLOR on the real bytes: ``lmp-tui --demo`` in a tmux pane, read back with the escape
sequences kept (``capture-pane -e``), not through ``run_test``, which skips the driver's output
filters (issue 14: Textual's Monochrome filter drew the mono theme black on black).

Under NO_COLOR the screen must use the terminal's own colours only (SGR 39/49, or none), show the
Hub, and mark the highlighted program by an attribute (reverse, underline) rather than a colour.
Without NO_COLOR the same reading must find colours, so the checks above are not vacuous.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

LMP_TUI = Path(sys.executable).parent / "lmp-tui"
WIDTH, HEIGHT = 80, 24
WAIT_S = 20.0

# -- reading capture-pane -e -------------------------------------------------------------------

Colour = tuple[str, object]  # ("default", None) | ("index", 0..15) | ("rgb", (r, g, b))
DEFAULT: Colour = ("default", None)
BLACK: Colour = ("rgb", (0, 0, 0))  # 38;5;16 and 38;2;0;0;0 alike
ATTRS = {1: "bold", 2: "dim", 3: "italic", 4: "underline", 5: "blink", 7: "reverse", 9: "strike"}
ATTRS_OFF = {
    22: {"bold", "dim"},
    23: {"italic"},
    24: {"underline"},
    25: {"blink"},
    27: {"reverse"},
    29: {"strike"},
}
SGR = re.compile(r"\x1b\[([0-9;:]*)m")
ESCAPE = re.compile(r"\x1b(?:\[[0-9;:?]*[A-Za-z]|\][^\x07]*\x07|[()][A-Za-z0-9])")


def _index_colour(n: int) -> Colour:
    """A 256-colour index: 0-15 are the terminal's palette, the rest have fixed RGB values."""
    if n < 16:
        return ("index", n)
    if n < 232:
        steps = (0, 95, 135, 175, 215, 255)
        n -= 16
        return ("rgb", (steps[n // 36], steps[n // 6 % 6], steps[n % 6]))
    grey = 8 + 10 * (n - 232)
    return ("rgb", (grey, grey, grey))


@dataclass
class Pen:
    fg: Colour = DEFAULT
    bg: Colour = DEFAULT
    attrs: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Cell:
    char: str
    fg: Colour
    bg: Colour
    attrs: frozenset[str]


def apply_sgr(pen: Pen, params: str) -> list[tuple[str, Colour]]:
    """Update ``pen`` by one SGR's parameters; return the colours it set, as ("fg"|"bg", colour)."""
    codes = [int(p) if p else 0 for p in re.split(r"[;:]", params)] if params else [0]
    set_here: list[tuple[str, Colour]] = []
    attrs = set(pen.attrs)
    i = 0
    while i < len(codes):
        code = codes[i]
        colour: Colour | None = None
        layer = "fg" if code in (38, 39) or 30 <= code <= 37 or 90 <= code <= 97 else "bg"
        if code == 0:
            pen.fg, pen.bg = DEFAULT, DEFAULT
            attrs.clear()
        elif code in ATTRS:
            attrs.add(ATTRS[code])
        elif code in ATTRS_OFF:
            attrs -= ATTRS_OFF[code]
        elif 30 <= code <= 37 or 40 <= code <= 47:
            colour = ("index", code % 10)
        elif 90 <= code <= 97 or 100 <= code <= 107:
            colour = ("index", code % 10 + 8)
        elif code in (39, 49):
            colour = DEFAULT
        elif code in (38, 48) and i + 1 < len(codes):
            if codes[i + 1] == 5 and i + 2 < len(codes):
                colour = _index_colour(codes[i + 2])
                i += 2
            elif codes[i + 1] == 2 and i + 4 < len(codes):
                colour = ("rgb", tuple(codes[i + 2 : i + 5]))
                i += 4
        if colour is not None:
            setattr(pen, layer, colour)
            set_here.append((layer, colour))
        i += 1
    pen.attrs = frozenset(attrs)
    return set_here


@dataclass
class Screen:
    raw: str
    rows: list[list[Cell]]
    sgrs: list[tuple[str, list[tuple[str, Colour]]]]  # each SGR's text and the colours it set

    @property
    def lines(self) -> list[str]:
        return ["".join(c.char for c in row) for row in self.rows]


def parse_capture(raw: str) -> Screen:
    """The cells of a ``capture-pane -p -e`` text. tmux writes an attribute only where it changes,
    and carries the pen over line ends, so the whole capture is read as one stream."""
    pen = Pen()
    rows: list[list[Cell]] = []
    sgrs: list[tuple[str, list[tuple[str, Colour]]]] = []
    for line in raw.split("\n"):
        row: list[Cell] = []
        pos = 0
        while pos < len(line):
            match = SGR.match(line, pos)
            if match:
                sgrs.append((match.group(0), apply_sgr(pen, match.group(1))))
                pos = match.end()
                continue
            other = ESCAPE.match(line, pos)
            if other:
                pos = other.end()
                continue
            row.append(Cell(line[pos], pen.fg, pen.bg, pen.attrs))
            pos += 1
        rows.append(row)
    return Screen(raw, rows, sgrs)


def same_colour_problems(screen: Screen) -> list[str]:
    """Where text would be drawn in its own background colour: an SGR that sets both layers to
    one colour, a printed character whose foreground and background are one non-default colour,
    or any cell, blank or not, black on black (38;5;16 on 48;5;16, 38;2;0;0;0 on 48;2;0;0;0)."""
    problems = []
    for text, colours in screen.sgrs:
        fgs = {c for layer, c in colours if layer == "fg" and c != DEFAULT}
        bgs = {c for layer, c in colours if layer == "bg" and c != DEFAULT}
        if fgs & bgs:
            problems.append(f"SGR {text!r} sets foreground and background to {fgs & bgs}")
    for y, row in enumerate(screen.rows):
        for x, cell in enumerate(row):
            if cell.fg == cell.bg == BLACK or (
                not cell.char.isspace() and cell.fg != DEFAULT and cell.fg == cell.bg
            ):
                problems.append(f"{cell.char!r} at {x},{y} is {cell.fg} on {cell.bg}")
                break  # one per row is enough to read
    return problems


def coloured_cells(screen: Screen) -> list[tuple[int, int, Cell]]:
    return [
        (x, y, cell)
        for y, row in enumerate(screen.rows)
        for x, cell in enumerate(row)
        if cell.fg != DEFAULT or cell.bg != DEFAULT
    ]


SIDEBAR_PROGRAM = re.compile(r"^ \S ([a-z][a-z0-9_]*)(?= )")  # " ✓ sigsnoop  ..."
VISIBLE_WITHOUT_COLOUR = {"reverse", "underline"}


def marked_programs(screen: Screen) -> list[str]:
    """The Hub programs in the sidebar whose name is drawn in reverse or underlined."""
    marked = []
    for row, line in zip(screen.rows, screen.lines, strict=True):
        match = SIDEBAR_PROGRAM.match(line)
        if not match:
            continue
        name = row[match.start(1) : match.end(1)]
        if all(VISIBLE_WITHOUT_COLOUR & cell.attrs for cell in name):
            marked.append(match.group(1))
    return marked


def test_the_reading_sees_the_issue_14_bytes() -> None:
    """The checks flag what issue 14 saw, so a pass below means something."""
    before = (
        "\x1b[48;5;16m \x1b[2m\x1b[38;5;16msearch programs\x1b[0m\x1b[38;5;16m\x1b[48;5;16m\n"
        "\x1b[38;5;16m ✓ \x1b[1msigsnoop\x1b[0m\x1b[38;5;16m\x1b[48;5;16m  ▕\n"
    )
    screen = parse_capture(before)
    assert screen.lines[1].startswith(" ✓ sigsnoop")
    cell = screen.rows[1][4]  # the "i" of sigsnoop: the pen carried over from line 1
    assert (cell.fg, cell.bg) == (("rgb", (0, 0, 0)), ("rgb", (0, 0, 0)))
    assert same_colour_problems(screen)
    assert same_colour_problems(parse_capture("\x1b[38;2;0;0;0;48;2;0;0;0mx"))
    assert same_colour_problems(parse_capture("\x1b[31;41mx"))
    assert not same_colour_problems(parse_capture("\x1b[1;7mx\x1b[0m\x1b[39m\x1b[49m y"))
    marked = parse_capture(" ✓ \x1b[1msigsnoop\x1b[0m ▕\n\x1b[1;4m ✓ exitsnoop  \x1b[0m▕\n")
    assert marked_programs(marked) == ["exitsnoop"]


# -- lmp-tui in tmux -----------------------------------------------------------------------------


class Pane:
    """``lmp-tui --demo`` alone on a private tmux server (its own socket), 80x24."""

    def __init__(self, home: Path, no_color: bool) -> None:
        self.socket = f"lmp-nocolor-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.socket_path = ""
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(home),
            "LMP_CONFIG_DIR": str(home / "config"),  # no user config: the default theme
            "TERM": "xterm-256color",
            **({"NO_COLOR": "1"} if no_color else {}),
        }
        assignments = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        # env -i: nothing from the runner's environment (COLORTERM, COLUMNS, TEXTUAL_*, a
        # NO_COLOR of its own); the pane stays after an early exit so its message can be read.
        self.command = (
            f"cd {shlex.quote(str(home))} && env -i {assignments} "
            f"{shlex.quote(str(LMP_TUI))} --demo; echo lmp-tui exited $?; sleep 60"
        )

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            timeout=10,
            env={**os.environ, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"},
        )
        return done.stdout

    def start(self) -> None:
        size = ["-x", str(WIDTH), "-y", str(HEIGHT)]
        self.tmux("new-session", "-d", "-s", "lmp", *size, self.command)
        self.socket_path = self.tmux("display-message", "-p", "#{socket_path}").strip()
        assert self.tmux("display-message", "-p", "-t", "lmp", "#{pane_width}x#{pane_height}") == (
            f"{WIDTH}x{HEIGHT}\n"
        )

    def text(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "lmp")

    def escaped(self) -> str:
        return self.tmux("capture-pane", "-p", "-e", "-t", "lmp")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "lmp", *keys)

    def settled(self, ready: Callable[[Screen], bool], what: str) -> Screen:
        """The screen once ``ready`` holds and two captures 0.2 s apart agree (bounded)."""
        deadline = time.monotonic() + WAIT_S
        last = None
        while time.monotonic() < deadline:
            raw = self.escaped()
            if ready(parse_capture(raw)):
                if raw == last:
                    return parse_capture(raw)
                last = raw
            time.sleep(0.2)
        raise AssertionError(f"timed out after {WAIT_S:.0f} s waiting for {what}:\n{self.text()}")

    def stop(self) -> None:
        self.tmux("kill-server")
        if self.socket_path:  # tmux 3.3 leaves it behind when killed
            Path(self.socket_path).unlink(missing_ok=True)


@pytest.fixture
def pane_factory(tmp_path: Path) -> Iterator[Callable[[bool], Pane]]:
    assert shutil.which("tmux"), "tmux is needed (setup.sh installs it: apt-get install tmux)"
    assert LMP_TUI.exists(), f"{LMP_TUI}: install the project (pip install -e .)"
    panes: list[Pane] = []

    def start(no_color: bool) -> Pane:
        pane = Pane(tmp_path, no_color)
        panes.append(pane)
        pane.start()
        return pane

    try:
        yield start
    finally:
        for pane in panes:
            pane.stop()


def hub_drawn(screen: Screen) -> bool:
    text = "\n".join(screen.lines)
    return "sigsnoop" in text and "Quit" in text


def test_no_color_is_readable_in_the_terminal_s_own_colours(
    pane_factory: Callable[[bool], Pane],
) -> None:
    pane = pane_factory(True)
    screen = pane.settled(hub_drawn, "the Hub list")
    text = "\n".join(screen.lines)
    assert "sigsnoop" in text and "opensnoop" in text, text
    assert not same_colour_problems(screen), "\n".join(same_colour_problems(screen)[:10])
    coloured = coloured_cells(screen)
    assert not coloured, (
        f"{len(coloured)} cells have a colour under NO_COLOR, e.g. {coloured[:3]}\n{screen.raw}"
    )
    # The highlighted program stands out by an attribute, and it is the one the details show.
    marked = marked_programs(screen)
    assert len(marked) == 1, (marked, screen.raw)
    title = screen.lines[:3]  # the details' title: "   ▕ opensnoop  file"
    assert any(line.lstrip(" ▕").startswith(marked[0] + " ") for line in title), (marked, title)
    # The mark moves with the cursor.
    pane.keys("Down")
    moved = pane.settled(
        lambda s: hub_drawn(s) and marked_programs(s) not in ([], marked), "the mark to move"
    )
    assert len(marked_programs(moved)) == 1, moved.raw
    assert not coloured_cells(moved) and not same_colour_problems(moved)


def test_without_no_color_the_same_reading_finds_colours(
    pane_factory: Callable[[bool], Pane],
) -> None:
    pane = pane_factory(False)
    screen = pane.settled(hub_drawn, "the Hub list")
    assert "sigsnoop" in "\n".join(screen.lines)
    colours = {c for _, _, cell in coloured_cells(screen) for c in (cell.fg, cell.bg)}
    assert len(colours - {DEFAULT}) >= 3, (colours, screen.raw)
    assert not same_colour_problems(screen), "\n".join(same_colour_problems(screen)[:10])
