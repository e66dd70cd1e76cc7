"""Themes: ``.tcss`` files whose ``$variables`` are a palette and whose rules restyle the app.

A theme file looks like any Textual stylesheet::

    /* A comment saying what the theme is for. */
    $dark: true;
    $primary: #4ea1ff;
    $background: #0f1419;
    $spark: #7fd962;              /* any other variable becomes a CSS variable */

    VirtualTable > .virtual-table--header { text-style: bold; }

The palette (``$primary``, ``$background``... the names of ``textual.theme.Theme`` fields,
plus ``$dark`` and ``$ansi``) becomes a Textual theme named after the file. Its rules are scoped
to that theme (``App.-theme-<name>``), so every theme is loaded once and switching themes is
just ``App.theme = name``.

Theme files are looked up, later ones winning: the checkout's ``themes/`` (a source tree or an
editable install, recognised by its ``pyproject.toml``), inside the package (``lmp_tui/themes``),
``<prefix>/share/lmp-tui/themes`` (a wheel's data files), and ``<config dir>/themes`` (the
user's own). If none is found the built-in palette below keeps the app usable.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from textual.theme import Theme

from ..runtime.config import config_dir

DEFAULT_THEME = "dark"
NO_COLOR_THEME = "mono"


def no_color() -> bool:
    """The user asked for no colour (https://no-color.org).

    Textual's own test, word for word (``App.__init__``: ``environ.pop("NO_COLOR", None) is not
    None``): set, even to an empty string. Testing anything else (no-color.org's "non-empty")
    would leave ``NO_COLOR=`` with Textual's filter but without :func:`ansi_color`'s fix below.
    """
    return "NO_COLOR" in os.environ


def default_theme() -> str:
    """Monochrome when the user asked for no colour, else dark."""
    return NO_COLOR_THEME if no_color() else DEFAULT_THEME


def ansi_color() -> bool | None:
    """The ``ansi_color`` to give ``App.__init__``: ``True`` under NO_COLOR, else ``None``.

    Why (issue 14, black on black): with NO_COLOR set, ``App.__init__`` adds an output filter
    once, chosen by the theme current at that moment::

        self._filters.append(NoColor() if self.native_ansi_color else Monochrome())

    ``native_ansi_color`` is ``ansi_color`` if given, else ``current_theme.ansi``. An app that
    picks its theme after ``super().__init__()`` is still on ``textual-dark`` (``ansi=False``)
    there, so it gets ``Monochrome`` for good, and switching to the mono theme later does not
    swap it (``_watch_ansi_color``/``_refresh_truecolor_filter`` only toggle the
    ``ANSIToTruecolor`` filter). ``Monochrome`` maps each colour through
    ``Color.from_rich_color(c).monochrome``: the terminal default (``ansi_default``, every colour
    of the mono theme) is ``Color(0, 0, 0, ansi=-1)``, and ``.monochrome`` keeps r, g, b and drops
    the ``ansi`` mark, so foreground and background both leave as #000000 (SGR 38;5;16 and
    48;5;16 on a 256-colour terminal). ``run_test`` renders without the driver's filters, which
    is why no snapshot saw it.

    ``ansi_color=True`` makes the filter ``NoColor`` instead, which replaces every colour by the
    terminal's default (SGR 39/49) and keeps bold, underline and reverse: readable on any
    palette, with emphasis and cursors by attributes (``themes/mono.tcss``). It also turns the
    ``ANSIToTruecolor`` filter off, which has nothing left to convert.
    """
    return True if no_color() else None


PALETTE = (
    "primary",
    "secondary",
    "warning",
    "error",
    "success",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
)
_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_DECLARATION = re.compile(r"^\s*\$([\w-]+)\s*:\s*([^;]+?)\s*;[ \t]*$", re.M)

FALLBACK_THEME = Theme(
    name="dark",
    primary="#4ea1ff",
    secondary="#8a7cff",
    accent="#ffb454",
    warning="#ffb454",
    error="#f07178",
    success="#7fd962",
    foreground="#d8dee9",
    background="#0f1419",
    surface="#151b22",
    panel="#1c2530",
    dark=True,
    variables={"spark": "#7fd962"},
)


@dataclass(frozen=True)
class ThemeFile:
    """A parsed theme file: the Textual theme and its scoped rules."""

    name: str
    path: Path | None
    theme: Theme
    css: str


def theme_dirs() -> list[Path]:
    package = Path(__file__).resolve().parent.parent
    checkout = package.parent
    dirs = [checkout / "themes"] if (checkout / "pyproject.toml").is_file() else []
    return [
        *dirs,
        package / "themes",
        Path(sys.prefix) / "share" / "lmp-tui" / "themes",
        config_dir() / "themes",
    ]


def parse_theme(name: str, text: str, path: Path | None = None) -> ThemeFile:
    """Split a theme file into its palette (a ``Theme``) and its rules (scoped CSS)."""
    body = _COMMENT.sub(lambda m: "\n" * m.group().count("\n"), text)
    palette: dict[str, str] = {}
    variables: dict[str, str] = {}
    dark, ansi = True, False
    for key, value in _DECLARATION.findall(body):
        if key == "dark":
            dark = value.lower() == "true"
        elif key == "ansi":
            ansi = value.lower() == "true"
        elif key in PALETTE:
            palette[key] = value
        else:
            variables[key] = value
    rules = _DECLARATION.sub("", body).strip()
    theme = Theme(
        name=name,
        primary=palette.pop("primary", "#4ea1ff"),
        dark=dark,
        ansi=ansi,
        variables=variables,
        **palette,  # type: ignore[arg-type]  # the colour names of PALETTE: all str
    )
    css = f"App.-theme-{name} {{\n{rules}\n}}\n" if rules else ""
    return ThemeFile(name, path, theme, css)


def discover_themes(dirs: list[Path] | None = None) -> dict[str, ThemeFile]:
    """Every ``*.tcss`` theme found, by name; the built-in fallback if there are none."""
    found: dict[str, ThemeFile] = {}
    for d in dirs if dirs is not None else theme_dirs():
        if not d.is_dir():
            continue
        for path in sorted(d.glob("*.tcss")):
            try:
                found[path.stem] = parse_theme(path.stem, path.read_text(encoding="utf-8"), path)
            except (OSError, UnicodeDecodeError):
                continue
    if not found:
        found[FALLBACK_THEME.name] = ThemeFile(FALLBACK_THEME.name, None, FALLBACK_THEME, "")
    return found
