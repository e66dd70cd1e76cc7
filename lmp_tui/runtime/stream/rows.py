"""Rows that are JSON objects, not records of a layout: what a wasm app prints, one per line.

``RowStore`` keeps the newest rows as Python dicts, with columns named by the keys in the order
they were first seen. A line that is not a JSON object becomes a row with one ``output`` column.
"""

from __future__ import annotations

import json
import math
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

OUTPUT_COLUMN = "output"


class RowStore:
    """The newest ``capacity`` rows of a wasm app, and how many arrive per second."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.rows: deque[dict[str, Any]] = deque(maxlen=capacity)
        self.columns: list[str] = []
        self.numeric: dict[str, bool] = {}
        """Whether a column's first value was a number (right-aligned, like the events table)."""
        self.total = 0
        self.drops = 0
        self.shed = 0
        self.generation = 0
        self.last_time: float | None = None
        self._buckets: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self.rows)

    def append(self, rows: list[dict[str, Any]], time: float) -> None:
        for row in rows:
            for key, value in row.items():
                if key not in self.numeric:
                    self.numeric[key] = isinstance(value, int | float) and not isinstance(
                        value, bool
                    )
                    self.columns.append(key)
        self.rows.extend(rows)
        self.total += len(rows)
        second = math.floor(time)
        self._buckets[second] = self._buckets.get(second, 0) + len(rows)
        for old in [s for s in self._buckets if s < second - 2]:
            del self._buckets[old]
        self.last_time = time
        self.generation += 1

    def add_shed(self, count: int) -> None:
        self.shed += count
        self.generation += 1

    def events_per_second(self) -> float:
        """Rows in the last complete second."""
        if self.last_time is None:
            return 0.0
        return float(self._buckets.get(math.floor(time.time()) - 1, 0))


def parse_line(line: str) -> dict[str, Any] | None:
    """A JSON object as a row; other non-blank output as ``{"output": line}``."""
    text = line.strip()
    if not text:
        return None
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError:
            pass
        else:
            if isinstance(value, dict):
                return {str(k): v for k, v in value.items()}
    return {OUTPUT_COLUMN: line.rstrip("\r")}


def rows_text(rows: Iterable[dict[str, Any]], columns: list[str]) -> list[list[str]]:
    """Rows as the table shows them (for tests and debugging)."""
    return [[cell_text(row.get(c)) for c in columns] for row in rows]


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, int):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def sort_key(name: str) -> Callable[[dict[str, Any]], tuple[int, Any]]:
    """Numbers in numeric order, then text, then anything else by its JSON; missing last."""

    def key(row: dict[str, Any]) -> tuple[int, Any]:
        value = row.get(name)
        if value is None:
            return (3, 0)
        if isinstance(value, int | float):
            return (0, value)
        if isinstance(value, str):
            return (1, value)
        return (2, cell_text(value))

    return key
