"""Deterministic demo data for the Hub programs: ``lmp-tui --demo``, snapshots and benchmarks.

Every run of a demo session yields the same batches with the same timestamps (a fixed start
time, a seeded generator), so screenshots of the views are reproducible. Programs without a
hand-written script get plausible numbers for every numeric field of their layout.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..runtime.distribution.hub import HubProgram
from ..runtime.format.layout import FieldKind
from ..runtime.runs.scripted import (
    ScriptedSession,
    ScriptedSource,
    event_batch,
    snapshot_batch,
    snapshot_decoder,
    write_recording,
)
from ..runtime.stream.batch import Batch
from ..runtime.stream.decode import Decoder
from ..runtime.stream.recording import header_for
from .runner import RunSettings

START = 1_700_000_000.0
"""The demo's wall-clock start (2023-11-14 22:13:20 UTC): fixed, so output is reproducible."""
SECONDS = 60

COMMS = ["bash", "sshd", "systemd", "python3", "nginx", "postgres", "cron", "node"]
SIGNALS = [17, 17, 17, 15, 9, 10, 2, 1, 12, 14]


def _sigsnoop(rng: random.Random) -> Iterator[list[dict[str, Any]]]:
    for second in range(SECONDS):
        burst = 3 + (second % 7) * 2 + (12 if second % 15 == 0 else 0)
        rows = []
        for _ in range(burst):
            pid = rng.choice([412, 733, 1024, 1337, 2048, 4242, 5150, 31337])
            rows.append(
                {
                    "pid": pid,
                    "tpid": rng.randint(300, 40000),
                    "sig": rng.choice(SIGNALS),
                    "ret": rng.choice([0, 0, 0, 0, 1, 2]),
                    "comm": COMMS[pid % len(COMMS)],
                }
            )
        yield rows


PROCS = [
    (101, "systemd"),
    (412, "sshd"),
    (733, "bash"),
    (1024, "postgres"),
    (1337, "python3"),
    (2048, "nginx"),
    (4242, "node"),
    (5150, "cron"),
]


THREADS = {"python3": 3, "node": 2}
"""Demo processes with more than one thread (procstat reports each; the TUI adds them up)."""
EXITS_AT = {"cron": SECONDS - 4}
"""A demo process that ends near the end, so its row shows as exited."""


def _procstat(rng: random.Random) -> Iterator[list[dict[str, Any]]]:
    for second in range(SECONDS):
        rows = []
        for i, (pid, comm) in enumerate(PROCS):
            ends = EXITS_AT.get(comm)
            if ends is not None and second > ends:
                continue
            grow = 16384 * min(second, 40) // 40 if comm == "python3" else 0
            wobble = rng.randint(0, 64)
            anon = 200 * (i + 1) + grow + wobble
            file = 900 + 50 * i + (second % 10) * 3
            shmem = 10 * i
            for thread in range(THREADS.get(comm, 1)):
                rows.append(
                    {
                        "pid": pid,
                        "tid": pid + thread,
                        "comm": comm,
                        "nvcsw": (40 - 10 * thread) * second + i,
                        "nivcsw": 3 * second,
                        "vsize": 60000 + 1000 * i + grow,
                        "size": anon + file + shmem,
                        "rssanon": anon,
                        "rssfile": file,
                        "rssshmem": shmem,
                        "vswap": 0,
                        "vdata": 2000 + grow + 30 * i,
                        "vstk": 33,
                        "vpte": 20 + i,
                        "exited": second == ends,
                    }
                )
        yield rows


def _bootstrap(rng: random.Random) -> Iterator[list[dict[str, Any]]]:
    pid = 20000
    for _ in range(SECONDS):
        rows = []
        for _ in range(rng.randint(1, 6)):
            pid += rng.randint(1, 9)
            comm = rng.choice(COMMS)
            rows.append(
                {
                    "pid": pid,
                    "ppid": 733,
                    "comm": comm,
                    "filename": f"/usr/bin/{comm}",
                    "exit_event": False,
                }
            )
            rows.append(
                {
                    "pid": pid,
                    "ppid": 733,
                    "comm": comm,
                    "exit_event": True,
                    "exit_code": rng.choice([0, 0, 0, 1]),
                    "duration_ns": rng.randint(1_000_000, 900_000_000),
                }
            )
        yield rows


def _generic(decoder: Decoder, rng: random.Random) -> Iterator[list[dict[str, Any]]]:
    for second in range(SECONDS):
        rows = []
        for n in range(1 + second % 5):
            row: dict[str, Any] = {}
            for f in decoder.layout.fields:
                if f.kind == FieldKind.INT:
                    row[f.name] = rng.randint(0, 1000) + n
                elif f.kind == FieldKind.STRING:
                    row[f.name] = rng.choice(COMMS)[: max(f.size - 1, 0)]
                elif f.kind == FieldKind.BOOL:
                    row[f.name] = bool(rng.getrandbits(1))
                elif f.kind == FieldKind.FLOAT:
                    row[f.name] = rng.random() * 100
            rows.append(row)
        yield rows


EVENT_SCRIPTS = {"sigsnoop": _sigsnoop, "procstat": _procstat, "bootstrap": _bootstrap}


def _histograms(program: HubProgram, rng: random.Random) -> list[Batch]:
    decoder = snapshot_decoder(program.package)
    key_name = decoder.key.layout.fields[0].name
    keys = [(0, "all")] if program.name != "runqlat" else [(0, "")]
    keys += [(733, "bash"), (1337, "python3")]
    slots = {k: [0] * 26 for k, _ in keys}
    batches = []
    for second in range(0, SECONDS, 5):
        for k, _ in keys:
            for _ in range(200 + 10 * second):
                # Latencies around 2^3..2^6 us with a long tail.
                slot = min(max(int(rng.gauss(4 + (k % 3), 1.6)), 0), 25)
                slots[k][slot] += 1
        entries = [({key_name: k}, {"slots": list(slots[k]), "comm": comm}) for k, comm in keys]
        batches.append(snapshot_batch(decoder, entries, START + second))
    return batches


def _counters(program: HubProgram, rng: random.Random) -> list[Batch]:
    """A sampled map of counters (``default_kv``: syscount, xdpstat): a few keys whose integer
    fields grow every round."""
    decoder = snapshot_decoder(program.package)
    key_fields = [f for f in decoder.key.layout.fields if f.kind == FieldKind.INT]
    value_fields = [f for f in decoder.value.layout.fields if f.kind == FieldKind.INT]
    keys = [{f.name: rng.randint(0, 127) for f in key_fields} for _ in range(4)]
    totals = [dict.fromkeys((f.name for f in value_fields), 0) for _ in keys]
    batches = []
    for second in range(SECONDS):
        for i, total in enumerate(totals):
            for name in total:
                total[name] += rng.randint(0, 50 * (i + 1))
        entries = [(key, dict(total)) for key, total in zip(keys, totals, strict=True)]
        batches.append(snapshot_batch(decoder, entries, START + second))
    return batches


# (syscall number on x86_64, calls per second, share that fail, typical latency in ns)
SYSCALLS = [
    (0, 900, 0.01, 2_000),  # read
    (1, 700, 0.0, 3_500),  # write
    (202, 450, 0.05, 40_000),  # futex
    (232, 300, 0.0, 900_000),  # epoll_wait
    (257, 120, 0.25, 6_000),  # openat
    (3, 110, 0.0, 800),  # close
    (9, 40, 0.0, 1_500),  # mmap
    (16, 25, 0.4, 1_200),  # ioctl
]


def _syscount(program: HubProgram, rng: random.Random) -> list[Batch]:
    """syscount's map: per-syscall totals that grow at each read as a busy machine's would."""
    decoder = snapshot_decoder(program.package)
    key_name = decoder.key.layout.fields[0].name
    totals = {nr: {"count": 0, "errors": 0, "total_ns": 0, "max_ns": 0} for nr, *_ in SYSCALLS}
    batches = []
    for second in range(SECONDS):
        for nr, rate, failing, latency in SYSCALLS:
            total = totals[nr]
            calls = max(int(rng.gauss(rate, rate / 5)), 0)
            total["count"] += calls
            total["errors"] += int(calls * failing)
            total["total_ns"] += int(calls * latency * rng.uniform(0.7, 1.3))
            total["max_ns"] = max(total["max_ns"], int(latency * rng.uniform(2, 40)))
        entries = [({key_name: nr}, dict(totals[nr])) for nr, *_ in SYSCALLS]
        batches.append(snapshot_batch(decoder, entries, START + second))
    return batches


def demo_session(program: HubProgram, settings: RunSettings | None = None) -> ScriptedSession:
    """A session for ``program`` whose source replays a fixed minute of made-up activity."""
    session = _demo_session(program)
    session.values = dict(settings.values) if settings is not None else {}
    return session


def _demo_session(program: HubProgram) -> ScriptedSession:
    rng = random.Random(f"lmp-demo-{program.name}")
    package = program.package
    samples = [m.sample for m in package.maps if m.sample is not None]
    if samples:
        if program.name == "syscount":
            return ScriptedSession.of(package, _syscount(program, rng))
        counters = samples[-1].type == "default_kv"
        return ScriptedSession.of(package, (_counters if counters else _histograms)(program, rng))
    spec = package.export()
    if spec.layout is None:
        return ScriptedSession(package, None, spec)
    decoder = Decoder(spec.layout)
    script = EVENT_SCRIPTS.get(program.name)
    seconds = script(rng) if script else _generic(decoder, rng)
    batches = [event_batch(decoder, rows, START + i + 0.5) for i, rows in enumerate(seconds)]
    return ScriptedSession.of(package, batches)


def demo_recording(program: HubProgram, path: Path) -> Path:
    """The demo minute of ``program`` as a recording: the same bytes every time (the header's
    host, kernel and start are fixed too), for replay snapshots and tests."""
    session = _demo_session(program)
    header = header_for(session)
    header.start, header.host, header.kernel = START, "demo", "demo"
    source = session.source
    batches = source.script if isinstance(source, ScriptedSource) else []
    return write_recording(path, header, batches)
