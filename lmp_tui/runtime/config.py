"""lmp's one config file, read the same way by ``lmp`` and ``lmp-tui``.

``config.toml`` lives in the platform config directory (``~/.config/lmp``); ``LMP_CONFIG_DIR``
names another directory (the credentials file lives there too), ``--config FILE`` another file::

    [tui]
    theme = "dark"            # a theme file's name (themes/*.tcss) or any Textual theme
    row_limit = 10000         # events kept per program
    refresh_rate = 10         # redraws per second
    series_seconds = 120      # sparkline history, in one-second buckets
    recordings_dir = "~/lmp"  # where `r` records to (default: the current directory)

    [tui.columns]             # columns an event table shows, per program (`c` writes this)
    procstat = ["time", "pid", "comm", "size"]

    [keymap]                  # binding id = keys (see `?` in the app)
    "program.stop" = "ctrl+x"

    [[hub]]                   # remote Hubs, searched in order after the built-in one
    url = "https://linuxkerneltravel.github.io/lmp/"
    [[hub]]
    registry = "registry.example.com/lmp"

    [[export]]                # a metric the layout's defaults do not make (lmp export)
    program = "opensnoop"
    metric = "opens"          # lmp_opensnoop_opens_total
    labels = ["comm", "flags"]

A missing file means defaults. A broken file, a bad value or an unknown key never stops
anything: what cannot be used is left at its default and said in ``problems``, which each front
end reports once (``lmp-tui`` in a notification as it starts, ``lmp`` when a command needs the
file's hubs). The TUI settings may also sit at the top level, as lmp-tui 0.1 wrote them.

``[keymap]`` ids are checked against the binding ids the app declares (``check_keymap``): the
app hands them over, since this runtime knows nothing of Textual.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import tomllib
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import platformdirs

APP_NAME = "lmp"
CONFIG_DIR_ENV = "LMP_CONFIG_DIR"
CONFIG_FILE = "config.toml"


def config_dir() -> Path:
    """``$LMP_CONFIG_DIR``, else the platform's config directory for lmp."""
    override = os.environ.get(CONFIG_DIR_ENV)
    return Path(override) if override else Path(platformdirs.user_config_dir(APP_NAME))


def config_path() -> Path:
    return config_dir() / CONFIG_FILE


@dataclass(frozen=True, slots=True)
class TuiSettings:
    """``[tui]``: how ``lmp-tui`` looks and how much it keeps."""

    theme: str | None = None
    """None: the default (monochrome when ``NO_COLOR`` is set)."""
    row_limit: int = 10_000
    refresh_rate: float = 10.0
    series_seconds: int = 120
    recordings_dir: str | None = None
    columns: dict[str, list[str]] = field(default_factory=dict)
    """Columns each program's event table shows, in order (the column chooser's choice)."""


@dataclass(frozen=True, slots=True)
class HubEntry:
    """One ``[[hub]]`` table: a web Hub (``url``) or a registry prefix (``registry``)."""

    url: str | None = None
    registry: str | None = None
    insecure: bool = False
    ca_file: str | None = None


@dataclass(frozen=True, slots=True)
class ExportEntry:
    """One ``[[export]]`` table: a metric over a program's events, for what the defaults do not
    choose (``lmp export``, ``lmp run --metrics``), in the spirit of ebpf_exporter's and
    eunomia-exporter's configs. Checked against the program's layout when it is exported."""

    program: str
    metric: str
    kind: str = "counter"
    """``counter`` (events, or the sum of ``value``), ``gauge`` (the last ``value``) or
    ``histogram`` (``value`` observed into ``buckets``)."""
    labels: tuple[str, ...] = ()
    """Event fields whose values label the series: any field, under the same series cap."""
    value: str | None = None
    buckets: tuple[float, ...] = ()
    """A histogram's upper bounds, in the value's base unit (seconds, bytes)."""
    help: str = ""


@dataclass(frozen=True, slots=True)
class Config:
    tui: TuiSettings = field(default_factory=TuiSettings)
    keymap: dict[str, str] = field(default_factory=dict)
    hubs: tuple[HubEntry, ...] = ()
    exports: tuple[ExportEntry, ...] = ()
    path: Path | None = None
    problems: tuple[str, ...] = ()
    """What in the file could not be used (left at its default)."""

    @property
    def problem(self) -> str | None:
        """The problems as the one line a front end says once, or None."""
        if not self.problems:
            return None
        where = f"{self.path}: " if self.path else ""
        return where + "; ".join(self.problems)


Check = Callable[[Any], bool]
TUI_KEYS: dict[str, tuple[type, Check | None, str]] = {
    "theme": (str, lambda v: bool(v.strip()), "a theme's name"),
    "row_limit": (int, lambda v: 1 <= v <= 10_000_000, "a whole number from 1 to 10000000"),
    "refresh_rate": (float, lambda v: 0.5 <= v <= 60, "a number from 0.5 to 60"),
    "series_seconds": (int, lambda v: 10 <= v <= 3600, "a whole number from 10 to 3600"),
    "recordings_dir": (str, lambda v: bool(v.strip()), "a directory"),
    "columns": (
        dict,
        lambda v: all(_names(n) for n in v.values()),
        "a table of lists of column names",
    ),
}
"""Each ``[tui]`` setting: its type, the check of its value, and what that check wants (said
when a value fails it, in the file or on ``lmp-tui``'s command line)."""
LEGACY_KEYS = frozenset(TUI_KEYS) - {"columns"}
"""What lmp-tui 0.1 kept at the top level (it had no column choice)."""
COLUMNS_TABLE = "tui.columns"
HUB_KEYS = {f.name for f in fields(HubEntry)}
EXPORT_KEYS = {f.name for f in fields(ExportEntry)}
EXPORT_KINDS = ("counter", "gauge", "histogram")


def load_config(path: Path | None = None) -> Config:
    """Read the config file (``config_path()`` unless ``path``); never raises."""
    path = path or config_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Config(path=path)
    except (OSError, UnicodeDecodeError) as exc:
        return Config(path=path, problems=(f"cannot read ({exc}); using defaults",))
    except tomllib.TOMLDecodeError as exc:
        return Config(path=path, problems=(f"{exc}; using defaults",))
    except RecursionError:  # tomllib recurses into nested arrays and inline tables
        return Config(path=path, problems=("values nested too deeply; using defaults",))
    return parse_config(data, path)


def parse_config(data: dict[str, Any], path: Path | None = None) -> Config:
    problems: list[str] = []
    tui = data.get("tui", {})
    if not isinstance(tui, dict):
        problems.append("[tui] must be a table")
        tui = {}
    # lmp-tui 0.1 kept its settings at the top level
    legacy = {k: v for k, v in data.items() if k in LEGACY_KEYS}
    settings = _settings({**legacy, **tui}, problems)
    known = {"tui", "keymap", "hub", "export", *LEGACY_KEYS}
    problems += [f"unknown setting {k!r}" for k in data if k not in known]
    problems += [f"unknown setting [tui] {k!r}" for k in tui if k not in TUI_KEYS]
    keymap = _keymap(data.get("keymap", {}), problems)
    hubs = tuple(_hubs(data.get("hub", []), problems))
    exports = tuple(_exports(data.get("export", []), problems))
    return Config(settings, keymap, hubs, exports, path, tuple(p + " (ignored)" for p in problems))


def _settings(values: dict[str, Any], problems: list[str]) -> TuiSettings:
    taken: dict[str, Any] = {}
    for key in TUI_KEYS:
        if key not in values:
            continue
        value = values[key]
        if TUI_KEYS[key][0] is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if problem := setting_problem(key, value):
            problems.append(problem)
            continue
        taken[key] = value
    return TuiSettings(**taken)


def setting_problem(key: str, value: Any) -> str | None:
    """Why ``value`` cannot be the ``[tui]`` setting ``key`` (one line), or None."""
    kind, check, wanted = TUI_KEYS[key]
    if not isinstance(value, kind) or isinstance(value, bool) or (check and not check(value)):
        return f"{key} = {value!r} is not valid ({wanted})"
    return None


def _names(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(n, str) for n in value)


def save_columns(path: Path, columns: dict[str, list[str]]) -> None:
    """Write ``[tui.columns]`` into the config file at ``path``, leaving the rest of the file
    as it was written (comments included). Raises OSError, or ValueError when the file says
    columns another way (or is broken) and would not read back the same: nothing is written."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    kept = _without_table(text, COLUMNS_TABLE).rstrip("\n")
    lines = [f"[{COLUMNS_TABLE}]"]
    lines += [f"{_toml_string(p)} = {_toml_list(n)}" for p, n in sorted(columns.items())]
    new = (kept + "\n\n" if kept else "") + "\n".join(lines) + "\n"
    try:
        read = tomllib.loads(new)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: {exc}") from None
    if read.get("tui", {}).get("columns") != columns:
        raise ValueError(f"{path}: [tui] columns is set another way; not changed")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(new, encoding="utf-8")
    os.replace(temporary, path)  # a reader never sees half a file


def _without_table(text: str, name: str) -> str:
    """``text`` without the ``[name]`` table: its header line up to the next header."""
    out, inside = [], False
    for line in text.splitlines(keepends=True):
        header = line.strip()
        if header.startswith("["):
            inside = header.split("#", 1)[0].strip().replace(" ", "") == f"[{name}]"
        if not inside:
            out.append(line)
    return "".join(out)


def _toml_string(value: str) -> str:
    # JSON's escapes (\", \\, \uXXXX) are TOML's basic string escapes too.
    return json.dumps(value, ensure_ascii=True)


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(_toml_string(v) for v in values) + "]"


def _keymap(keymap: Any, problems: list[str]) -> dict[str, str]:
    if not (
        isinstance(keymap, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in keymap.items())
    ):
        problems.append("[keymap] must map binding ids to key strings")
        return {}
    kept = {}
    for ident, keys in keymap.items():
        # Textual's form: key names joined by commas ("ctrl+x", "f5,ctrl+r"); a blank one
        # would leave the binding with no key at all
        if not all(k.strip() and not any(c.isspace() for c in k) for k in keys.split(",")):
            problems.append(f"[keymap] {ident!r} = {keys!r} is not a list of keys (ctrl+x,f5)")
            continue
        kept[ident] = keys
    return kept


def check_keymap(config: Config, binding_ids: Collection[str]) -> Config:
    """``config`` without the ``[keymap]`` entries whose id no binding has, each said in its
    ``problems`` with the ids meant most likely (``sort`` -> ``events.sort``, ``maps.sort``).

    ``binding_ids`` are the ids of the app's bindings (``Binding(..., id=...)``): the front end
    that has them passes them, the runtime does not know the widgets."""
    unknown = [ident for ident in config.keymap if ident not in binding_ids]
    if not unknown:
        return config
    problems = [
        f"unknown [keymap] id {ident!r}{_meant(ident, binding_ids)} (ignored)" for ident in unknown
    ]
    keymap = {k: v for k, v in config.keymap.items() if k not in unknown}
    return replace(config, keymap=keymap, problems=(*config.problems, *problems))


def declared_bindings(root: type, package: str = "lmp_tui") -> dict[str, Any]:
    """The bindings with an id that the subclasses of ``root`` defined in ``package`` declare
    (each class's own ``BINDINGS``), by id: what ``[keymap]`` may name.

    The front end passes its toolkit's base class (Textual's ``DOMNode``); the classes are read
    as plain Python, so this runtime imports no toolkit."""
    found: dict[str, Any] = {}
    todo, seen = [root], set()
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        todo.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] == package:
            for binding in cls.__dict__.get("BINDINGS", ()):
                ident = getattr(binding, "id", None)  # a (key, action) tuple has none
                if isinstance(ident, str) and ident:
                    found.setdefault(ident, binding)
    return found


def declared_binding_ids(root: type, package: str = "lmp_tui") -> set[str]:
    """The ids of ``declared_bindings``."""
    return set(declared_bindings(root, package))


def _meant(ident: str, binding_ids: Collection[str]) -> str:
    """``: did you mean 'events.sort'?``: ids that end the same way (an id without its
    ``where.`` part), else ids spelled alike; "" when there are none."""
    same = sorted(i for i in binding_ids if i.rpartition(".")[2] == ident.rpartition(".")[2])
    close = same or difflib.get_close_matches(ident, sorted(binding_ids), n=3, cutoff=0.75)
    if not close:
        return ": `?` in lmp-tui lists the ids"
    return ": did you mean " + " or ".join(repr(i) for i in close[:3]) + "?"


def _tables(
    entries: Any, name: str, keys: Collection[str], problems: list[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each table of an ``[[name]]`` array with only ``keys``, and how to name it in a
    problem; what is not such a table is said in ``problems`` and skipped."""
    if not isinstance(entries, list):
        problems.append(f"{name} must be an array of tables ([[{name}]])")
        return
    for index, entry in enumerate(entries, 1):
        where = f"{name} #{index}"
        if not isinstance(entry, dict):
            problems.append(f"{where} must be a table")
        elif unknown := set(entry) - set(keys):
            problems.append(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        else:
            yield where, entry


def _hubs(entries: Any, problems: list[str]) -> list[HubEntry]:
    hubs = []
    for where, entry in _tables(entries, "hub", HUB_KEYS, problems):
        if ("url" in entry) == ("registry" in entry):
            problems.append(f'{where}: give exactly one of url = "http..." or registry = "host/p"')
            continue
        url = entry.get("url")
        if url is not None and not str(url).startswith(("http://", "https://")):
            problems.append(f"{where}: url must start with http:// or https://")
            continue
        ca_file = entry.get("ca_file")
        hubs.append(
            HubEntry(
                url=str(url) if url is not None else None,
                registry=str(entry["registry"]) if "registry" in entry else None,
                insecure=bool(entry.get("insecure", False)),
                ca_file=str(ca_file) if ca_file else None,
            )
        )
    return hubs


def _exports(entries: Any, problems: list[str]) -> list[ExportEntry]:
    out = []
    for where, entry in _tables(entries, "export", EXPORT_KEYS, problems):
        if problem := _export_problem(entry):
            problems.append(f"{where}: {problem}")
            continue
        out.append(
            ExportEntry(
                program=entry["program"],
                metric=entry["metric"],
                kind=entry.get("kind", "counter"),
                labels=tuple(entry.get("labels", ())),
                value=entry.get("value"),
                buckets=tuple(float(b) for b in entry.get("buckets", ())),
                help=entry.get("help", ""),
            )
        )
    return out


def _export_problem(entry: dict[str, Any]) -> str | None:
    """What is wrong with an ``[[export]]`` table on its own (its fields are checked against
    the program's layout when it is exported)."""
    for key in ("program", "metric"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            return f'{key} = "..." is required'
    kind = entry.get("kind", "counter")
    if kind not in EXPORT_KINDS:
        return f"kind must be one of {', '.join(EXPORT_KINDS)}, not {kind!r}"
    if not _names(entry.get("labels", [])):
        return "labels must be a list of field names"
    if len(set(entry.get("labels", []))) != len(entry.get("labels", [])):
        return "labels must be distinct"
    value = entry.get("value")
    if value is not None and (not isinstance(value, str) or not value):
        return "value must be a field's name"
    if kind != "counter" and value is None:
        return f'a {kind} needs value = "field"'
    buckets = entry.get("buckets", [])
    if not isinstance(buckets, list) or not all(
        isinstance(b, int | float) and not isinstance(b, bool) and math.isfinite(b) for b in buckets
    ):
        return "buckets must be a list of finite numbers (+Inf is always the last)"
    if kind == "histogram" and (not buckets or sorted(set(buckets)) != buckets):
        return "a histogram needs buckets = [...], increasing upper bounds"
    if kind != "histogram" and buckets:
        return "buckets are for a histogram"
    if not isinstance(entry.get("help", ""), str):
        return "help must be a string"
    return None
