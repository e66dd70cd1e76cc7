"""A table wider than its view never shows part of a value: a column cut by the edge of the
view is left out (``›`` says there is more), so ``116804`` never reads as ``11680``."""

from __future__ import annotations

import re

import pytest
from textual.app import App, ComposeResult

from lmp_tui.runtime.stream.rows import RowStore
from lmp_tui.tui.table_models import DictRows
from lmp_tui.widgets.virtual_table import VirtualTable

VALUES = [116804, 74412, 9_876_543_210, 5]


class TableApp(App[None]):
    def __init__(self, store: RowStore) -> None:
        super().__init__()
        self.store = store

    def compose(self) -> ComposeResult:
        yield VirtualTable(DictRows(self.store))


def store() -> RowStore:
    rows = RowStore(100)
    rows.append(
        [
            {"comm": "python", "pid": 1000 + i, "vsize": v, "rss": v // 3}
            for i, v in enumerate(VALUES)
        ],
        0.0,
    )
    return rows


def numbers(line: str) -> list[int]:
    return [int(m) for m in re.findall(r"\d+", line)]


@pytest.mark.parametrize("width", range(12, 48))
async def test_no_number_is_cut_at_the_edge_of_the_view(width: int) -> None:
    data = store()
    shown = {v for row in data.rows for v in row.values() if isinstance(v, int)}
    app = TableApp(data)
    async with app.run_test(size=(width, 10)) as pilot:
        table = app.query_one(VirtualTable)
        table.refresh_rows(force=True)
        await pilot.pause()
        for scroll in (0, 3, 9):
            table.scroll_to(x=scroll, animate=False, immediate=True)
            await pilot.pause()
            lines = [table.render_line(y).text for y in range(1, len(VALUES) + 1)]
            for line in lines:
                assert len(line) <= width
                assert set(numbers(line)) <= shown, (width, scroll, line)


async def test_a_hidden_column_is_marked() -> None:
    app = TableApp(store())
    async with app.run_test(size=(24, 10)) as pilot:
        table = app.query_one(VirtualTable)
        table.refresh_rows(force=True)
        await pilot.pause()
        header = table.render_line(0).text
        assert header.rstrip().endswith("›"), header
        assert "vsize" not in header or "rss" not in header
