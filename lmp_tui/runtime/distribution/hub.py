"""The built-in Hub: programs shipped inside the package as built eunomia ``package.json`` files."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from ... import hub as hub_data
from ..errors import NotFoundError, PackageError
from ..format.package import Package, load_package
from ..kernel import probe


def hub_dir() -> Path:
    """The built-in Hub's directory (a plain directory of the installed package)."""
    return Path(hub_data.__file__).parent


@dataclass
class HubProgram:
    """One built-in program: its directory, catalog entry and (lazily) its package.

    The catalog (``lmp_tui/hub/catalog.json``) holds what a list of programs shows before any
    package is parsed: category and summary (written by hand) and the attach points (those of
    the package, which a test checks), so ``lmp-tui`` can say what runs here at once.
    """

    name: str
    path: Path
    category: str
    summary: str
    attach: tuple[str, ...] | None = None
    """The attach points it cannot run without (the catalog's; None: read the package)."""

    @property
    def package_path(self) -> Path:
        return self.path / "package.json"

    @cached_property
    def package(self) -> Package:
        return load_package(self.package_path, shipped=True)

    def unavailable(self) -> str | None:
        """Why this kernel cannot run the program, or None if it can (as far as we can tell);
        a missing optional attach point does not stop it."""
        attach = self.attach
        if attach is None:
            try:
                attach = tuple(p.attach for p in self.package.progs if not p.optional)
            except PackageError as exc:
                return str(exc)
        for section in attach:
            if why := probe.refusal(section):
                return why
        return probe.can_use_bpf()


def hub_cflags() -> list[str]:
    """What building a built-in program needs beyond ``lmp build``'s own flags: the headers the
    Hub programs share (``lmp_tui/hub/include``)."""
    return [f"-I{hub_dir() / 'include'}"]


def catalog() -> dict[str, dict[str, Any]]:
    path = hub_dir() / "catalog.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def builtin_programs() -> list[HubProgram]:
    cat = catalog()
    out = []
    for d in sorted(hub_dir().iterdir()):
        if (d / "package.json").is_file():
            entry = cat.get(d.name, {})
            attach = entry.get("attach")
            out.append(
                HubProgram(
                    d.name,
                    d,
                    entry.get("category", "other"),
                    entry.get("summary", ""),
                    tuple(attach) if isinstance(attach, list) else None,
                )
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
