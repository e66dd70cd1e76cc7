"""The layers of ``lmp_tui``, checked on its imports.

* the runtime is a library: it never imports textual, rich, the widgets or the TUI, not even
  lazily inside a function, and importing all of it leaves textual and rich unloaded;
* no import cycles between modules, counting the imports made lazily inside functions (a cycle
  hidden that way is still two modules that need each other); only ``TYPE_CHECKING`` imports
  are left out;
* views never stand on made-up data: only the demo (``lmp-tui --demo``) imports the scripted
  sessions that tests and benchmarks use.
"""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import lmp_tui
import lmp_tui.runtime

PACKAGE = Path(lmp_tui.__file__).parent
SCRIPTED = "lmp_tui.runtime.runs.scripted"
MAY_IMPORT_SCRIPTED = {SCRIPTED, "lmp_tui.tui.demo"}


@dataclass(frozen=True)
class Import:
    target: str
    at_import_time: bool
    typing_only: bool = False


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path) -> list[Import]:
    """Every import in a module, resolved to absolute names, and whether it runs on import."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[Import] = []

    def visit(node: ast.AST, top: bool, typing_only: bool = False) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend(Import(a.name, top, typing_only) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parent = package.split(".")
                    parent = parent[: len(parent) - child.level + 1]
                    base = ".".join([*parent, *([base] if base else [])])
                # `from pkg import mod` imports pkg.mod when it is a module
                for alias in child.names:
                    sub = f"{base}.{alias.name}"
                    target = sub if _exists(sub) else base
                    found.append(Import(target, top, typing_only))
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                visit(child, False, typing_only)
            elif isinstance(child, ast.If) and _is_type_checking(child):
                visit(child, False, True)
            else:
                visit(child, top, typing_only)

    visit(ast.parse(path.read_text()), True)
    return found


def _exists(module: str) -> bool:
    if not module.startswith("lmp_tui"):
        return False
    base = PACKAGE.parent.joinpath(*module.split("."))
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def graph() -> dict[str, list[Import]]:
    return {module_name(p): imports_of(p) for p in sorted(PACKAGE.rglob("*.py"))}


def test_the_runtime_never_imports_the_ui() -> None:
    banned = ("textual", "rich", "lmp_tui.widgets", "lmp_tui.tui", "lmp_tui.app", "lmp_tui.cli")
    bad = [
        f"{mod} imports {imp.target}"
        for mod, imps in graph().items()
        if mod.startswith("lmp_tui.runtime")
        for imp in imps
        if imp.target.startswith(banned)
    ]
    assert bad == []


def test_only_the_demo_imports_scripted_sessions() -> None:
    importers = {mod for mod, imps in graph().items() for imp in imps if imp.target == SCRIPTED}
    assert importers and importers <= MAY_IMPORT_SCRIPTED


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := dfs(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := dfs(node)):
            return cycle
    return None


def dependency_edges() -> dict[str, set[str]]:
    modules = graph()
    edges: dict[str, set[str]] = {}
    for mod, imps in modules.items():
        for imp in imps:
            if imp.typing_only or imp.target not in modules or imp.target == mod:
                continue
            # a package's __init__ importing its own submodules is how packages work
            if imp.target.startswith(mod + ".") and mod in modules:
                continue
            edges.setdefault(mod, set()).add(imp.target)
    return edges


def test_no_import_cycles() -> None:
    assert find_cycle(dependency_edges()) is None


def test_find_cycle_finds_one() -> None:  # the checker itself can fail
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


PROBE = """
import importlib, json, pkgutil, sys
import lmp_tui.runtime as runtime
names = sorted(m.name for m in pkgutil.walk_packages(runtime.__path__, "lmp_tui.runtime."))
for name in names:
    importlib.import_module(name)
leaked = sorted({m.split(".")[0] for m in sys.modules} & {"textual", "rich"})
print(json.dumps({"modules": names, "leaked": leaked}))
"""


def test_importing_the_whole_runtime_loads_neither_textual_nor_rich() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    expected = sorted(
        m.name for m in pkgutil.walk_packages(lmp_tui.runtime.__path__, "lmp_tui.runtime.")
    )
    assert result["modules"] == expected and len(expected) > 10
    assert result["leaked"] == [], f"the runtime imported {result['leaked']}"
