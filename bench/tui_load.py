"""Load benchmark of the TUI: a synthetic source at 200,000 events/s into the running app.

The app runs headless (``App.run_test``) with its real views; a synthetic session replays
records of the program's real layout (sigsnoop by default) in batches paced to the rate, as a
busy ring buffer would deliver them. While it runs, a key press (sort) is sent every second.

Prints the achieved redraw rate of the events table, the worst key-press-to-screen latency
(press to the first frame whose table header shows the new sort) and the peak RSS, against the
targets: >= 8 redraws/s, < 150 ms, < 400 MB.

    .venv/bin/python bench/tui_load.py                 # 200,000 events/s for 30 s
    .venv/bin/python bench/tui_load.py --duration 5    # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lmp_tui.app import LmpApp  # noqa: E402
from lmp_tui.runtime.config import Config, TuiSettings  # noqa: E402
from lmp_tui.runtime.distribution import hub  # noqa: E402
from lmp_tui.runtime.distribution.hub import HubProgram  # noqa: E402
from lmp_tui.runtime.runs.scripted import ScriptedSession  # noqa: E402
from lmp_tui.runtime.stream.batch import Batch, EventSource
from lmp_tui.runtime.stream.decode import Decoder  # noqa: E402
from lmp_tui.tui.runner import RunSettings  # noqa: E402
from lmp_tui.widgets import EventTable  # noqa: E402

TARGET_REDRAWS = 8.0
TARGET_LATENCY_MS = 150.0
TARGET_RSS_MB = 400.0
MAX_BATCH = 8192  # what the ring buffer source hands over at most per drain
TICK = 0.01


def record_pool(decoder: Decoder, size: int = 1 << 16, seed: int = 7) -> np.ndarray:
    """Plausible records for every field of the layout (a few hundred distinct keys)."""
    rng = np.random.default_rng(seed)
    pool = np.zeros(size, decoder.dtype)
    comms = np.array([b"bash", b"sshd", b"python3", b"nginx", b"postgres", b"node"])
    for f in decoder.layout.fields:
        column = pool[f.name]
        if f.kind == "string":
            column[:] = comms[rng.integers(0, len(comms), size)]
        elif f.kind in ("int", "enum") and column.dtype.kind in "iu":
            if f.name in ("pid", "tgid", "tid"):
                column[:] = rng.integers(100, 400, size)
            elif f.name in ("sig", "signal"):
                column[:] = rng.choice([1, 2, 9, 10, 12, 15, 17], size)
            else:
                column[:] = rng.integers(0, 1 << 15, size)
        elif f.kind == "bool":
            column[:] = rng.integers(0, 2, size)
        elif f.kind == "float":
            column[:] = rng.random(size)
    return pool


class SyntheticSource(EventSource):
    """``rate`` records per second, in batches every ``TICK`` seconds, for ``duration`` s."""

    def __init__(self, decoder: Decoder, rate: float, duration: float) -> None:
        self.pool = record_pool(decoder).tobytes()
        self.size = decoder.layout.size
        self.count = len(self.pool) // self.size
        self.rate = rate
        self.duration = duration
        self.sent = 0
        self.started = 0.0

    async def batches(self) -> AsyncIterator[Batch]:
        self.started = start = time.monotonic()
        offset = 0
        while not self.closed:
            elapsed = time.monotonic() - start
            if elapsed >= self.duration:
                break
            due = int(self.rate * elapsed) - self.sent
            while due > 0 and not self.closed:
                n = min(due, MAX_BATCH, self.count - offset)
                chunk = self.pool[offset * self.size : (offset + n) * self.size]
                offset = (offset + n) % self.count
                self.sent += n
                due -= n
                yield Batch(time.time(), chunk, n, self.size)
            await asyncio.sleep(TICK)


@dataclass
class Measurements:
    redraws: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    program: HubProgram = hub.find_builtin(args.program)
    layout = program.package.export_layout()
    if layout is None:
        raise SystemExit(f"{args.program} exports no event struct")
    decoder = Decoder(layout)
    source = SyntheticSource(decoder, args.rate, args.duration)

    def factory(p: HubProgram, settings: RunSettings) -> ScriptedSession:
        return ScriptedSession(p.package, source, p.package.export())

    app = LmpApp(
        Config(tui=TuiSettings(row_limit=args.rows, refresh_rate=args.refresh)),
        programs=[program],
        session_factory=factory,
        availability=lambda _: None,
        probe_bpf=False,
    )
    seen = Measurements()
    original = EventTable.render_line

    def counting_render_line(table: EventTable, y: int):  # noqa: ANN202
        if y == 0:  # once per repaint of the table
            seen.redraws.append(time.perf_counter())
        return original(table, y)

    EventTable.render_line = counting_render_line  # type: ignore[method-assign]
    width, height = (int(x) for x in args.size.split("x"))
    try:
        async with app.run_test(size=(width, height)) as pilot:
            await pilot.press("enter")  # the only program: run it
            await pilot.pause()
            await pilot.press("enter")  # accept the parameter form
            while not app.runs:
                await asyncio.sleep(0.01)
            run_ = app.runs[1]
            table = app.views[1].query_one(EventTable)
            while not source.started:
                await asyncio.sleep(0.01)
            # the first column is the arrival time, which sorts by nothing: sort by the next
            await pilot.press("right")
            seen.redraws.clear()
            began = time.perf_counter()
            next_press = began + 1.0
            while time.monotonic() - source.started < args.duration:
                await asyncio.sleep(0.05)
                if time.perf_counter() >= next_press:
                    t0 = time.perf_counter()
                    await pilot.press("s")
                    while table.header_drawn_at < t0:
                        if time.perf_counter() - t0 > 10:
                            raise SystemExit("bench: the table never redrew its header after s")
                        await asyncio.sleep(0.001)
                    seen.latencies.append(table.header_drawn_at - t0)
                    next_press = time.perf_counter() + 1.0
            elapsed = time.perf_counter() - began
            loaded_for = time.monotonic() - source.started
            frames = [t for t in seen.redraws if began <= t <= began + elapsed]
            result = {
                "program": args.program,
                "rate": args.rate,
                "duration": loaded_for,
                "delivered": source.sent,
                "stored": run_.store.total,
                "shed": run_.store.shed,
                "redraws_per_s": len(frames) / elapsed,
                "worst_latency_ms": max(seen.latencies, default=0.0) * 1000,
                "median_latency_ms": statistics.median(seen.latencies) * 1000
                if seen.latencies
                else 0.0,
                "presses": len(seen.latencies),
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
            await app.stop_all()
    finally:
        EventTable.render_line = original  # type: ignore[method-assign]
    return result


def report(r: dict[str, Any]) -> bool:
    ok_redraw = r["redraws_per_s"] >= TARGET_REDRAWS
    ok_latency = r["worst_latency_ms"] < TARGET_LATENCY_MS
    ok_rss = r["peak_rss_mb"] < TARGET_RSS_MB

    def mark(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    print(f"tui_load: {r['program']} at {r['rate']:,.0f} events/s for {r['duration']:.1f} s")
    print(
        f"  events delivered    {r['delivered']:,} ({r['delivered'] / r['duration']:,.0f}/s); "
        f"stored {r['stored']:,}, shed {r['shed']:,}"
    )
    print(
        f"  redraw rate         {r['redraws_per_s']:.1f}/s   "
        f"(target >= {TARGET_REDRAWS:.0f}: {mark(ok_redraw)})"
    )
    print(
        f"  key-press-to-screen worst {r['worst_latency_ms']:.0f} ms, median "
        f"{r['median_latency_ms']:.0f} ms over {r['presses']} presses   "
        f"(target < {TARGET_LATENCY_MS:.0f} ms: {mark(ok_latency)})"
    )
    print(
        f"  peak RSS            {r['peak_rss_mb']:.0f} MB   "
        f"(target < {TARGET_RSS_MB:.0f} MB: {mark(ok_rss)})"
    )
    return ok_redraw and ok_latency and ok_rss


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200_000, help="events per second")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load")
    parser.add_argument("--program", default="sigsnoop", help="whose layout the records have")
    parser.add_argument("--rows", type=int, default=10_000, help="row limit of the store")
    parser.add_argument("--refresh", type=float, default=10.0, help="refresh rate (Hz)")
    parser.add_argument("--size", default="120x40", help="terminal size, WIDTHxHEIGHT")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args()
    ok = report(asyncio.run(run(args)))
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
