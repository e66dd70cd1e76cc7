"""What recording costs, and how fast a recording replays.

    .venv/bin/python bench/record.py [--rate 100000] [--duration 3] [--repeat 3]

The synthetic generator of bench/ingest.py (a getppid tracepoint, 64-byte events, the Hub's ring
size) runs at ``--rate`` from bench/loadgen.c pinned to CPU 0; this process, pinned to CPU 1, runs the program through the runtime
(``LiveSession``: ring buffer source, batch decode into numpy arrays, as the TUI does) with and
without a ``Recorder`` attached, alternating. It prints the consumer's CPU for each, the extra
CPU recording costs (target <= 10 %), bytes per event on disk, and the replay rate at max speed
(``ReplaySource`` + the same decode; target >= 1,000,000 events/s).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import ingest  # noqa: E402  (the generator and producer builds)

from lmp_tui.runtime.format.package import load_package  # noqa: E402
from lmp_tui.runtime.runs.session import LiveSession  # noqa: E402
from lmp_tui.runtime.stream.recording import (  # noqa: E402
    Recorder,
    RecordingReader,
    header_for,
)
from lmp_tui.runtime.stream.replay import ReplaySource  # noqa: E402

PRODUCER_CPU, CONSUMER_CPU = 0, 1
TARGET_EXTRA_PCT = 10.0
TARGET_REPLAY_EPS = 1_000_000


async def _consume(
    session: LiveSession, producer: subprocess.Popen[bytes], recorder: Recorder | None
) -> int:
    loop = asyncio.get_running_loop()
    exited = asyncio.Event()
    pidfd = os.pidfd_open(producer.pid)
    loop.add_reader(pidfd, exited.set)
    source, decoder = session.source, session.decoders.events
    assert source is not None and decoder is not None
    events = 0

    def take(batch: Any) -> None:
        nonlocal events
        decoder.array(batch.records, batch.count)
        events += batch.count
        if recorder is not None:
            recorder.write(batch)

    async def pump() -> None:
        async for batch in source:
            take(batch)

    task = asyncio.create_task(pump())
    try:
        assert producer.stdin is not None
        producer.stdin.write(b"g")
        producer.stdin.close()
        await exited.wait()
        session.stop()  # the source hands over what is left, then its iteration ends
        await task
    finally:
        loop.remove_reader(pidfd)
        os.close(pidfd)
    return events


def live_run(
    pkg: Any, loadgen: Path, rate: int, duration: float, record_to: Path | None
) -> dict[str, float]:
    producer = subprocess.Popen(
        [str(loadgen), "getppid", str(PRODUCER_CPU), str(rate), str(duration)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        session = LiveSession(pkg, {"target_tgid": producer.pid}).start()
        recorder = Recorder(record_to, header_for(session)) if record_to else None
        try:
            r0 = resource.getrusage(resource.RUSAGE_SELF)
            t0 = time.perf_counter()
            events = asyncio.run(_consume(session, producer, recorder))
            wall = time.perf_counter() - t0
            r1 = resource.getrusage(resource.RUSAGE_SELF)
        finally:
            if recorder is not None:
                recorder.close()
            session.close()
        producer.wait(timeout=10)
    finally:
        if producer.poll() is None:
            producer.kill()
            producer.wait()
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    out = {"events": events, "cpu_pct": 100 * cpu / wall, "wall_s": wall}
    if record_to:
        out["bytes"] = record_to.stat().st_size
    return out


def replay_rate(path: Path) -> tuple[float, float, int]:
    """Events per second through ReplaySource at max speed: (array decode, JSON values), events."""
    with RecordingReader(path) as reader:
        decoder = reader.header.decoders().events
        assert decoder is not None
        source = ReplaySource(reader, speed=None)

        async def run(convert: bool) -> int:
            n = 0
            source.seek(0)
            async for batch in source:
                arr = decoder.array(batch.records, batch.count)
                if convert:
                    decoder.columns(arr)
                n += batch.count
            return n

        t0 = time.perf_counter()
        n = asyncio.run(run(False))
        arrays = n / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        asyncio.run(run(True))
        values = n / (time.perf_counter() - t0)
    return arrays, values, n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=int, default=100_000, help="events/s (default 100000)")
    ap.add_argument("--duration", type=float, default=3.0, help="seconds per run (default 3)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each kind (default 3)")
    args = ap.parse_args(argv)
    os.sched_setaffinity(0, {CONSUMER_CPU})
    paths = ingest.build_all()
    pkg = load_package(paths["ringgen"])
    plain, recorded = [], []
    with tempfile.TemporaryDirectory(prefix="lmp-bench-") as tmp:
        rec_path = Path(tmp) / "bench.lmprec"
        for _ in range(args.repeat):
            plain.append(live_run(pkg, paths["loadgen"], args.rate, args.duration, None))
            recorded.append(live_run(pkg, paths["loadgen"], args.rate, args.duration, rec_path))
        arrays_eps, values_eps, replayed = replay_rate(rec_path)
    base = statistics.median(r["cpu_pct"] for r in plain)
    with_rec = statistics.median(r["cpu_pct"] for r in recorded)
    extra = 100 * (with_rec - base) / base if base else 0.0
    per_event = statistics.median(r["bytes"] / r["events"] for r in recorded if r["events"])
    print(
        f"recording bench: {args.rate} events/s of 64-byte events, {args.duration} s runs, "
        f"{args.repeat} of each, producer on CPU {PRODUCER_CPU}, consumer on CPU {CONSUMER_CPU}"
    )
    print("command: python bench/record.py " + " ".join(argv or sys.argv[1:]))
    print(f"{'run':<16}{'events':>10}{'CPU % of a core':>18}")
    for label, runs in (("live", plain), ("live + record", recorded)):
        for r in runs:
            print(f"{label:<16}{r['events']:>10}{r['cpu_pct']:>18.1f}")
    print(
        f"recording costs {with_rec - base:+.1f} points of a core: {extra:+.1f} % extra CPU "
        f"over the live run ({base:.1f} % -> {with_rec:.1f} %; target <= "
        f"{TARGET_EXTRA_PCT:.0f} %)"
    )
    print(f"bytes per event on disk: {per_event:.1f} (64-byte records + msgpack framing)")
    print(
        f"replay at max speed: {arrays_eps / 1e6:.2f} M events/s decoded to arrays "
        f"(target >= 1 M/s), {values_eps / 1e6:.2f} M events/s to JSON-ready values "
        f"({replayed} events)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
