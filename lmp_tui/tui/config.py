"""The TUI's settings: ``config.toml`` in the platform config directory, read with tomllib.

```toml
theme = "dark"            # a theme file's name (themes/*.tcss) or any Textual theme
row_limit = 10000         # events kept per program
refresh_rate = 10         # redraws per second
series_seconds = 120      # sparkline history, in one-second buckets
recordings_dir = "~/lmp"  # where `r` records to (default: the current directory)

[keymap]                  # binding id = keys (see `?` in the app)
"program.stop" = "ctrl+x"
"view.next" = "tab,]"
```

A missing file means defaults; a broken one means defaults plus one line saying why.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import platformdirs

from ..runtime.stream.store import DEFAULT_CAPACITY, DEFAULT_SERIES_LENGTH

APP_NAME = "lmp"
CONFIG_ENV = "LMP_CONFIG"
DEFAULT_THEME = "dark"
NO_COLOR_THEME = "mono"


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME))


def config_path() -> Path:
    """``$LMP_CONFIG`` if set, else ``<user config dir>/lmp/config.toml``."""
    if env := os.environ.get(CONFIG_ENV):
        return Path(env)
    return config_dir() / "config.toml"


@dataclass(frozen=True)
class Config:
    theme: str = DEFAULT_THEME
    row_limit: int = DEFAULT_CAPACITY
    refresh_rate: float = 10.0
    series_seconds: int = DEFAULT_SERIES_LENGTH
    keymap: dict[str, str] = field(default_factory=dict)
    recordings_dir: str | None = None
    """Where recordings made in the app go (None: the current directory)."""
    path: Path | None = None
    problem: str | None = None
    """Why the file could not be used as written (shown once when the app starts)."""

    def with_overrides(self, **changes: Any) -> Config:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def default_theme() -> str:
    """Monochrome when the user asked for no colour, else the dark theme."""
    return NO_COLOR_THEME if "NO_COLOR" in os.environ else DEFAULT_THEME


def load_config(path: Path | None = None) -> Config:
    """Read the config file; never raises for a bad file (the problem is in ``.problem``)."""
    path = path or config_path()
    base = Config(theme=default_theme(), path=path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return base
    except (OSError, UnicodeDecodeError) as exc:
        return replace(base, problem=f"{path}: cannot read ({exc}); using defaults")
    except tomllib.TOMLDecodeError as exc:
        return replace(base, problem=f"{path}: {exc}; using defaults")
    return parse_config(data, base)


def parse_config(data: dict[str, Any], base: Config | None = None) -> Config:
    base = base or Config()
    problems: list[str] = []
    values: dict[str, Any] = {}

    def take(key: str, kind: type, check: Any = None) -> None:
        if key not in data:
            return
        value = data[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or isinstance(value, bool) or (check and not check(value)):
            problems.append(f"{key} = {value!r} is not valid")
            return
        values[key] = value

    take("theme", str)
    take("row_limit", int, lambda v: 1 <= v <= 10_000_000)
    take("refresh_rate", float, lambda v: 0.5 <= v <= 60)
    take("series_seconds", int, lambda v: 10 <= v <= 3600)
    take("recordings_dir", str, lambda v: bool(v.strip()))
    keymap = data.get("keymap", {})
    if isinstance(keymap, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in keymap.items()
    ):
        values["keymap"] = dict(keymap)
    else:
        problems.append("[keymap] must map binding ids to key strings")
    known = {"theme", "row_limit", "refresh_rate", "series_seconds", "keymap", "recordings_dir"}
    problems += [f"unknown setting {k!r}" for k in data if k not in known]
    problem = None
    if problems:
        where = f"{base.path}: " if base.path else ""
        problem = where + "; ".join(problems) + " (ignored)"
    return replace(base, **values, problem=problem)
