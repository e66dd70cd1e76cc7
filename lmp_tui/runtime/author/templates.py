"""``lmp init``: a new eBPF project from the templates shipped in the package.

No git clone and no network: the files come from ``lmp_tui/templates/<template>/``. A project is
a directory with ``<stem>.bpf.c``, ``<stem>.h`` (the exported event struct), ``config.json`` and a
README; ``lmp build`` compiles it and ``lmp gen-wasm-skel`` / ``lmp build-wasm`` add a wasm app.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ... import hub as hub_data
from ..errors import LmpError, NotFoundError

TEMPLATES = ("bootstrap", "minimal")
DEFAULT_TEMPLATE = "bootstrap"
CONFIG_FILE = "config.json"
# Identifier-like: it becomes a directory name and appears in generated C comments and JSON.
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")
# Stored without the dot so packaging tools never skip it as a hidden file.
_RENAMES = {"_gitignore": ".gitignore"}
# Sources a template takes from the built-in Hub (paths under lmp_tui/hub): the bootstrap
# template is the Hub's bootstrap program itself, kept (and built and tested) in one place,
# with the header it shares with the other Hub programs.
FROM_HUB = {
    "bootstrap": ("bootstrap/bootstrap.bpf.c", "bootstrap/bootstrap.h", "include/lmp_events.bpf.h")
}


class ProjectError(LmpError):
    """A project cannot be created here (bad name, existing files)."""

    exit_code = 2


@dataclass(frozen=True, slots=True)
class Project:
    """What ``lmp init`` made."""

    path: Path
    name: str
    template: str
    files: tuple[str, ...]


def templates_root() -> Path:
    from importlib import resources  # here: only the author commands need it

    return Path(str(resources.files("lmp_tui.templates")))


def template_dir(template: str) -> Path:
    if template not in TEMPLATES:
        raise NotFoundError(f"no template named {template!r}: choose one of {', '.join(TEMPLATES)}")
    path = templates_root() / template
    if not path.is_dir():
        raise NotFoundError(f"template {template!r} is missing from this installation ({path})")
    return path


def validate_name(name: str) -> str:
    if not _NAME_RE.fullmatch(name):
        raise ProjectError(
            f"invalid project name {name!r}: use letters, digits, '_' or '-', "
            "starting with a letter or '_' (at most 64 characters)"
        )
    return name


def project_config(name: str, template: str, stem: str) -> dict[str, Any]:
    """``config.json``: what the project is made of, read by the wasm commands."""
    return {
        "name": name,
        "template": template,
        "source": f"{stem}.bpf.c",
        "header": f"{stem}.h",
        "package": "package.json",
        "wasm": {"app": "app.c", "output": "app.wasm"},
    }


def init_project(
    name: str,
    template: str = DEFAULT_TEMPLATE,
    parent: Path | None = None,
    log: Callable[[str], None] = print,
) -> Project:
    """Create ``parent/name`` from a template; refuses to touch anything that exists."""
    validate_name(name)
    src = template_dir(template)
    dest = (parent or Path.cwd()) / name
    if dest.exists() and not (dest.is_dir() and not any(dest.iterdir())):
        raise ProjectError(f"{dest} already exists: choose another name or remove it first")
    hub = Path(hub_data.__file__).parent
    files = sorted(
        [p for p in src.iterdir() if p.is_file()]
        + [hub / rel for rel in FROM_HUB.get(template, ())],
        key=lambda p: p.name,
    )
    stem = next((p.name.split(".", 1)[0] for p in files if p.name.endswith(".bpf.c")), template)
    dest.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    for path in files:
        target = _RENAMES.get(path.name, path.name)
        text = path.read_text().replace("{{name}}", name)
        (dest / target).write_text(text)
        written.append(target)
    config = json.dumps(project_config(name, template, stem), indent=2) + "\n"
    (dest / CONFIG_FILE).write_text(config)
    written.append(CONFIG_FILE)
    log(f"  CREATE   {dest}/ from the {template} template: {', '.join(sorted(written))}")
    return Project(dest, name, template, tuple(sorted(written)))


def read_config(project: Path) -> dict[str, Any]:
    """A project's ``config.json``, or ``{}`` when there is none (a plain build directory)."""
    path = project / CONFIG_FILE
    if not path.is_file():
        return {}
    try:
        doc = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ProjectError(f"{path}: not valid JSON") from None
    return doc if isinstance(doc, dict) else {}


def inside(project: Path, rel: object, key: str) -> Path:
    """The file ``rel`` names (a path from ``config.json``), which must lie in ``project``: a
    project someone sent us must not make ``lmp`` read or write anywhere else."""
    if not isinstance(rel, str) or not rel or "\0" in rel:
        raise ProjectError(f"{project / CONFIG_FILE}: {key} must be a file name in the project")
    root = project.resolve()
    path = (root / rel).resolve()
    if path == root or not path.is_relative_to(root):
        raise ProjectError(
            f"{project / CONFIG_FILE}: {key} {rel!r} is outside the project directory"
        )
    return path
