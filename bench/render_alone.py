#!/usr/bin/env python3
"""The floor under ``lmp export``'s scrapes: prometheus-client rendering the same exposition
with nothing else in the process.

    .venv/bin/python bench/render_alone.py [--series 10000] [--interval 15] [--count 8]

The exposition is opensnoop's events counter as ``lmp export`` serves it under
bench/export.py's load: ``--series`` values of ``comm`` with ``ret="ENOENT"``, plus the four
per-program families. It is rendered ``--count`` times, ``--interval`` seconds apart (the
process sleeps in between, as an exporter waits for its next scrape), and once more right
after each, back to back. Prints one JSON line: the milliseconds of each render.

bench/export.py runs it pinned to the consumers' CPU, between its cells, so that the slowest
scrape of the exporter can be read against what the library alone takes on the same machine.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric


class Exposition:
    """The families ``lmp export opensnoop`` serves, with ``series`` comms."""

    def __init__(self, series: int) -> None:
        self.comms = [f"lg{i}" for i in range(series)]

    def collect(self) -> Iterator[Metric]:
        for name in ("lmp_events", "lmp_kernel_drops", "lmp_shed"):
            counter = CounterMetricFamily(name, "per program", labels=["program"])
            counter.add_metric(["opensnoop"], 3_000_000)
            yield counter
        up = GaugeMetricFamily("lmp_program_up", "per program", labels=["program"])
        up.add_metric(["opensnoop"], 1)
        yield up
        events = CounterMetricFamily(
            "lmp_opensnoop_events", "opensnoop events, by ret, comm", labels=["comm", "ret"]
        )
        for comm in self.comms:
            events.add_metric([comm, "ENOENT"], 300)
        yield events


def timed(registry: CollectorRegistry) -> float:
    """Milliseconds one render takes, the collector held off as ``lmp export`` holds it."""
    gc.disable()
    try:
        start = time.perf_counter()
        generate_latest(registry)
        return 1e3 * (time.perf_counter() - start)
    finally:
        gc.enable()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--series", type=int, default=10_000)
    ap.add_argument("--interval", type=float, default=15.0)
    ap.add_argument("--count", type=int, default=8)
    args = ap.parse_args(argv)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Exposition(args.series))
    timed(registry)  # the first render also imports and warms what the later ones use
    spaced, back_to_back = [], []
    for _ in range(args.count):
        time.sleep(args.interval)
        spaced.append(round(timed(registry), 1))
        back_to_back.append(round(timed(registry), 1))
    print(json.dumps({"spaced_ms": spaced, "back_to_back_ms": back_to_back}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
