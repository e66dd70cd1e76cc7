"""The built-in Hub: programs shipped inside the package as built eunomia ``package.json`` files."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path

from ..errors import NotFoundError, PackageError
from ..format.package import Package, load_package
from ..kernel import probe


def hub_dir() -> Path:
    return Path(str(resources.files("lmp_tui.hub")))


@dataclass
class HubProgram:
    """One built-in program: its directory, catalog entry and (lazily) its package."""

    name: str
    path: Path
    category: str
    summary: str

    @property
    def package_path(self) -> Path:
        return self.path / "package.json"

    @cached_property
    def package(self) -> Package:
        return load_package(self.package_path)

    def unavailable(self) -> str | None:
        """Why this kernel cannot run the program, or None if it can (as far as we can tell)."""
        try:
            progs = self.package.progs
        except PackageError as exc:
            return str(exc)
        for prog in progs:
            req = probe.requirement_for(prog.attach)
            if req is not None and (why := probe.missing(req)):
                return why
        return probe.can_use_bpf()


def catalog() -> dict[str, dict[str, str]]:
    path = hub_dir() / "catalog.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def builtin_programs() -> list[HubProgram]:
    cat = catalog()
    out = []
    for d in sorted(hub_dir().iterdir()):
        if (d / "package.json").is_file():
            entry = cat.get(d.name, {})
            out.append(
                HubProgram(d.name, d, entry.get("category", "other"), entry.get("summary", ""))
            )
    return out


def find_builtin(name: str) -> HubProgram:
    for prog in builtin_programs():
        if prog.name == name:
            return prog
    known = ", ".join(p.name for p in builtin_programs())
    raise NotFoundError(
        f"unknown program {name!r}: not a file and not in the built-in Hub ({known})"
    )
