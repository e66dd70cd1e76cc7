"""The README's keys table says what the bindings are: each id it names exists, with one of the
keys the row shows, and the keys users reach for (app, views, tables, replays, maps) are all in
it. A renamed id or a moved key fails here before a user finds the README wrong."""

from __future__ import annotations

import re
from pathlib import Path

from textual.binding import Binding
from textual.dom import DOMNode
from textual.keys import format_key

import lmp_tui.app  # noqa: F401  (imports every widget and screen that declares bindings)
from lmp_tui.runtime.config import declared_bindings

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTED = ("app.", "program.", "view.", "events.", "replay.", "maps.", "sidebar.")
"""Namespaces every id of which the table lists (dialogs' and panels' keys are shown where
they are used)."""
SELF_EVIDENT = {
    "events.left", "events.right", "events.page_up", "events.page_down", "maps.down", "maps.up",
    "app.theme",
}  # fmt: skip
"""Arrows and pages move as everywhere; ctrl+t cycles themes (``?`` lists them all)."""


def bindings() -> dict[str, Binding]:
    return declared_bindings(DOMNode)


def table_rows() -> list[tuple[list[str], list[str]]]:
    """Each row's keys (the backquoted words of its first cell) and binding ids."""
    text = (ROOT / "README.md").read_text()
    start = text.index("| keys | what | binding ids |")
    rows = []
    for line in text[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        rows.append((re.findall(r"`([^`]+)`", cells[0]), re.findall(r"`([^`]+)`", cells[-1])))
    return rows


def written(key: str) -> set[str]:
    """How a README may write a Textual key name: as is, or as the footer shows it (``/``,
    ``esc``, ``↓``)."""
    return {key, format_key(key)}


def test_every_id_in_the_keys_table_is_a_binding_with_a_key_the_row_shows() -> None:
    known = bindings()
    rows = table_rows()
    assert len(rows) >= 10
    for keys, ids in rows:
        assert ids, f"a row without binding ids: {keys}"
        for ident in ids:
            assert ident in known, f"README names {ident!r}, which no binding has"
            forms = set().union(*(written(k.strip()) for k in known[ident].key.split(",")))
            assert any(f in token for f in forms for token in keys), (ident, forms, keys)


def test_the_keys_users_reach_for_are_all_in_the_table() -> None:
    listed = {ident for _, ids in table_rows() for ident in ids}
    wanted = {
        i
        for i in bindings()
        if i.startswith(DOCUMENTED)
        and i not in SELF_EVIDENT
        and not re.fullmatch(r"view\.[2-9]", i)  # the row of view.1 says 1–9
    }
    assert wanted - listed == set()
