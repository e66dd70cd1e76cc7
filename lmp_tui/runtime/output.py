"""Text output byte-compatible with ecli (spec 4.6 and 4.7).

Formatters return strings; writing them is the caller's business, so ``lmp run`` and
``lmp replay`` print the very same text.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

from .decode import json_line, plain_value

TIME_HEADER = "TIME     "


class PlainTable:
    """ecli's plain-text event format: a header once, then one aligned line per event."""

    def __init__(self, names: Sequence[str]) -> None:
        header = TIME_HEADER
        self.offsets: list[int] = []
        for name in names:
            self.offsets.append(len(header))
            header += name.upper().ljust(6) + " "
        self.header = header
        self.names = list(names)

    def row(self, values: Sequence[Any], when: float) -> str:
        line = time.strftime("%H:%M:%S", time.localtime(when)).ljust(8) + " "
        for offset, value in zip(self.offsets, values, strict=True):
            line += " " * (offset - len(line)) if offset > len(line) else " "
            line += plain_value(value)
        return line

    def lines(self, columns: dict[str, list[Any]], when: float) -> Iterator[str]:
        for values in zip(*columns.values(), strict=True):
            yield self.row(values, when)


def json_lines(columns: dict[str, list[Any]]) -> Iterator[str]:
    names = list(columns)
    for values in zip(*columns.values(), strict=True):
        yield json_line(dict(zip(names, values, strict=True)))


def log2_histogram(slots: Sequence[int], unit: str) -> str:
    """bcc's ``print_log2_hist``, as ecli ports it; empty when every slot is zero."""
    idx_max = max((i for i, v in enumerate(slots) if v), default=-1)
    if idx_max < 0:
        return ""
    val_max = max(slots[: idx_max + 1])
    wide = idx_max > 32
    w1, w2, w, stars_max = (15, 29, 20, 20) if wide else (5, 19, 10, 40)
    out = [f"{'':>{w1}}{unit:<{w2}} : count    distribution"]
    for i in range(idx_max + 1):
        low = (1 << (i + 1)) >> 1
        high = (1 << (i + 1)) - 1
        if low == high:
            low -= 1
        val = slots[i]
        stars = "*" * (val * stars_max // val_max) if val_max else ""
        out.append(f"{low:>{w}} -> {high:<{w}} : {val:<8} |{stars:<{stars_max}}|")
    return "\n".join(out) + "\n"


def log2_chunk(key: Sequence[Any], value: dict[str, Any], unit: str) -> str:
    """One key of a log2_hist sampled map: ``key =  <key>``, other members, blank, histogram.

    ecli writes ``"key = "`` and then each key member with its separating space, hence the two.
    """
    lines = ["key = " + "".join(" " + plain_value(v) for v in key)]
    lines += [f"{name} = {plain_value(v)}" for name, v in value.items() if name != "slots"]
    return "\n".join(lines) + "\n\n" + log2_histogram(value["slots"], unit)


class BatchPrinter:
    """Text for each batch of a session, as ``lmp run`` prints it (plain or ``--json``).

    Takes an event ``Decoder`` or a ``SnapshotDecoder`` (sampled maps) and the sample metadata.
    """

    def __init__(
        self,
        decoder: Any = None,
        snapshot_decoder: Any = None,
        json_mode: bool = False,
        sample_type: str = "default_kv",
        unit: str = "(unit)",
    ) -> None:
        self.decoder = decoder
        self.snapshot = snapshot_decoder
        self.json = json_mode
        self.sample_type = sample_type
        self.unit = unit
        self.table: PlainTable | None = None
        if decoder is not None:
            self.table = PlainTable(decoder.layout.names)
        elif snapshot_decoder is not None and sample_type == "default_kv":
            self.table = PlainTable(
                snapshot_decoder.key.layout.names + snapshot_decoder.value.layout.names
            )

    def header(self) -> str | None:
        """Printed once before any event (none for JSON and log2 histograms)."""
        if self.json or self.table is None or self.sample_type == "log2_hist" and self.snapshot:
            return None
        return self.table.header

    def lines(self, batch: Any) -> list[str]:
        if not batch.count:
            return []
        if self.decoder is not None and not batch.snapshot:
            cols = self.decoder.columns(self.decoder.array(batch.records, batch.count))
            if self.json:
                return list(json_lines(cols))
            assert self.table is not None
            return list(self.table.lines(cols, batch.time))
        if self.snapshot is not None and batch.snapshot:
            return self._snapshot_lines(batch)
        return []

    def _snapshot_lines(self, batch: Any) -> list[str]:
        entries = self.snapshot.entries(batch.records, batch.count)
        if self.json:
            return [json_line({"key": k, "value": v}) for k, v in entries]
        if self.sample_type == "log2_hist":
            return [log2_chunk(list(k.values()), v, self.unit) for k, v in entries]
        when = time.strftime("%H:%M:%S", time.localtime(batch.time)).ljust(8)
        return [f"{when} {json_line(k)} {json_line(v)}" for k, v in entries]
