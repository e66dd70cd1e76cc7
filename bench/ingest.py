#!/usr/bin/env python3
"""Ingest benchmark: the Hub's real programs, with their shipped ring sizes, against libbpf.

    .venv/bin/python bench/ingest.py              # every table, ~12 minutes (make bench)
    .venv/bin/python bench/ingest.py --quick      # a smoke run: one rate, short runs
    .venv/bin/python bench/ingest.py --only hub --rates 100k --programs opensnoop

What users run, driven by what they see in production: a C load generator (bench/loadgen.c)
pinned to CPU 0 makes syscalls at a fixed rate (openat for opensnoop, an ignored kill() for
sigsnoop), each one event; the consumer is pinned to CPU 1. Consumers, one after another on
the same workload, in the same run:

* ``c``: bench/c_ref.c, the very BPF object of the Hub package read by libbpf's own
  ``ring_buffer__poll`` (``perf_buffer__poll`` for a perf event array), a callback per event:
  the reference a user would pick instead;
* ``record``: ``lmp record PROGRAM -o FILE`` as a user types it (a subprocess);
* ``tui``: ``lmp-tui``'s own path (the app, headless, running the program from its Hub:
  pump, queue, per-tick decode into the store), in a worker process;
* ``run`` / ``run -j``: ``lmp run PROGRAM > /dev/null``, plain and JSON, printing every event.

Every consumer is given the generator's pid through the program's own pid parameter, so each
event is the generator's and the accounting is exact: generated = received + kernel drops
(+ lmp's own shedding, counted apart). Columns: received / generated, kernel drops, shed,
consumer CPU (all its threads, during the load, % of one core), event age p50/p99 (time from
the syscall to the consumer holding the event, from the generator's log of when it made its
k-th call and the consumer's log of when it had received k events), and the producer's CPU
per call (its syscalls plus the BPF program it triggers, and the wakeups it pays for).

Tables: Hub ring buffer programs (opensnoop, sigsnoop); a perf event array program
(tests/data/perfsnoop, opensnoop the libbpf-tools way) against ``perf_buffer__poll``; the
synthetic 64-byte generator (bench/ringgen.bpf.c, Hub ring size); and ``lmp-tui`` end to end in
tmux at 120x40 under 200k opens/s with a sort and a filter active. PASS/MISS per target.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
BUILD = BENCH / ".build"
VMLINUX = ROOT / "lmp_tui" / "hub" / "include" / "x86"
VENV_BIN = Path(sys.executable).parent
LMP = str(VENV_BIN / "lmp")
PRODUCER_CPU, CONSUMER_CPU = 0, 1

RATES = {"10k": 10_000, "50k": 50_000, "100k": 100_000, "200k": 200_000, "500k": 500_000,
         "1M": 1_000_000, "max": 0}  # fmt: skip
SIDES = ("c", "record", "tui", "run", "run -j")

# targets (issue 9), on this machine kind (2 vCPUs)
TARGET_CPU_100K = 10.0
TARGET_CPU_1M = 25.0
TARGET_P99_MS_100K = 10.0
TARGET_TUI_REACHED = 0.97
TARGET_TUI_REDRAW_HZ = 8.0
TARGET_TUI_KEY_MS = 150.0
TARGET_TUI_RSS_MB = 400.0


@dataclass(frozen=True)
class Workload:
    """A program and the syscall that makes one event of it."""

    name: str
    target: str  # what `lmp` is given: a Hub name or a package path
    mode: str  # loadgen mode
    pid_param: str  # the program's own global that filters by sender/caller pid
    pid_option: str = "--pid"  # the same as `lmp run` spells it
    map_name: str = "events"
    extra: int = 0  # events per run beyond one per call


HUB = {
    "opensnoop": Workload("opensnoop", "opensnoop", "open", "targ_pid"),
    # + the SIGCHLD the generator's exit sends its parent
    "sigsnoop": Workload("sigsnoop", "sigsnoop", "kill", "filtered_pid", extra=1),
}


# -- building ---------------------------------------------------------------------------------


def _stale(out: Path, *sources: Path) -> bool:
    return not out.exists() or any(s.stat().st_mtime > out.stat().st_mtime for s in sources)


def build_all() -> dict[str, Path]:
    """loadgen and c_ref (gcc), the perf-buffer and synthetic packages (our builder)."""
    BUILD.mkdir(exist_ok=True)
    gcc = shutil.which("gcc")
    if gcc is None:
        raise SystemExit("gcc is not installed: apt-get install gcc")
    paths: dict[str, Path] = {}
    for name, extra in (("loadgen", []), ("c_ref", ["-lbpf"])):
        src, out = BENCH / f"{name}.c", BUILD / name
        if _stale(out, src):
            done = subprocess.run(
                [gcc, "-O2", "-Wall", "-o", str(out), str(src), *extra],
                capture_output=True,
                text=True,
            )
            if done.returncode:
                raise SystemExit(f"gcc failed on {src.name}:\n{done.stderr}")
        paths[name] = out
    from lmp_tui.runtime.author.build import build

    for name, src_dir in (("perfsnoop", ROOT / "tests/data/perfsnoop"), ("ringgen", BENCH)):
        out_dir = BUILD / name
        src = src_dir / f"{name}.bpf.c"
        package = out_dir / "package.json"
        if _stale(package, src, *src_dir.glob("*.h")):
            out_dir.mkdir(exist_ok=True)
            build(src, outdir=out_dir, vmlinux=VMLINUX, stamp=False, log=lambda _m: None)
        paths[name] = package
    return paths


def package_object(target: str) -> tuple[Path, list[str], int]:
    """The BPF object inside a package (for the C consumer), the programs lmp leaves out
    (``@when``), and the export ring size it ships with."""
    from lmp_tui.runtime.distribution import hub
    from lmp_tui.runtime.format.package import load_package
    from lmp_tui.runtime.kernel.program import selected_programs

    path = Path(target)
    package = load_package(path) if path.exists() else hub.find_builtin(target).package
    obj = BUILD / f"{package.name}.bpf.o"
    doc = json.loads((path if path.exists() else hub.find_builtin(target).package_path).read_text())
    obj.write_bytes(zlib.decompress(base64.b64decode(doc["bpf_object"])))
    chosen = {p.name for p in selected_programs(package, {})}
    skipped = [p.name for p in package.progs if p.name not in chosen]
    ring = package.map_defs.get("events")
    return obj, skipped, ring.max_entries if ring else 0


# -- measuring ----------------------------------------------------------------------------------


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) a process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def read_pairs(path: Path) -> np.ndarray:
    """(count, CLOCK_REALTIME ns) pairs written by loadgen or c_ref."""
    raw = np.fromfile(path, dtype="<u8") if path.exists() else np.zeros(0, "<u8")
    return raw[: len(raw) // 2 * 2].reshape(-1, 2)


def event_ages(gen_log: np.ndarray, received: np.ndarray) -> tuple[float, float]:
    """p50 and p99 age in ms: event k was made at the generator's time of call k and held by
    the consumer at the first of its log points that counts k events."""
    if len(gen_log) < 2 or len(received) == 0:
        return float("nan"), float("nan")
    got = received[np.argsort(received[:, 0], kind="stable")]
    total = int(got[-1, 0])
    if total == 0:
        return float("nan"), float("nan")
    k = np.arange(1, total + 1, max(1, total // 200_000), dtype=np.float64)
    sent = np.interp(k - 0.5, gen_log[:, 0].astype(np.float64), gen_log[:, 1].astype(np.float64))
    idx = np.minimum(np.searchsorted(got[:, 0], k, side="left"), len(got) - 1)
    ages = (got[idx, 1].astype(np.float64) - sent) / 1e6
    return float(np.percentile(ages, 50)), float(np.percentile(ages, 99))


@dataclass
class Cell:
    """One consumer on one workload at one rate."""

    program: str
    side: str
    rate: str
    generated: int = 0
    received: int = 0
    drops: int = 0
    shed: int = 0
    cpu_pct: float = float("nan")
    age_p50_ms: float = float("nan")
    age_p99_ms: float = float("nan")
    producer_us: float = float("nan")
    seconds: float = 0.0
    error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def lost(self) -> int:
        """Events neither received nor counted anywhere: must be 0."""
        return self.generated - self.received - self.drops - self.shed if self.side != "none" else 0

    @property
    def lossless(self) -> bool:
        return self.generated == self.received


class Consumer:
    """A consumer process: started with the generator's pid, ready when it says so."""

    proc: subprocess.Popen[str]
    ready_marker: str = ""

    def start(self, work: Workload, pid: int, tmp: Path) -> None:
        raise NotImplementedError

    def wait_ready(self, timeout: float = 60.0) -> None:
        self._ready.wait(timeout)
        if not self._ready.is_set():
            raise RuntimeError(f"consumer not ready: {''.join(self._err)[-400:]}")

    def _spawn(self, argv: list[str], stdout: Any = subprocess.PIPE) -> None:
        self._err: list[str] = []
        self._out: list[str] = []
        self._ready = threading.Event()
        self.proc = subprocess.Popen(
            ["taskset", "-c", str(CONSUMER_CPU), *argv],
            stdout=stdout,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            cwd=ROOT,
        )
        for stream, sink in ((self.proc.stderr, self._err), (self.proc.stdout, self._out)):
            if stream is not None:
                threading.Thread(target=self._read, args=(stream, sink), daemon=True).start()

    def _read(self, stream: Any, sink: list[str]) -> None:
        for line in stream:
            sink.append(line)
            if self.ready_marker in line:
                self._ready.set()

    def finish(self, cell: Cell, timeout: float = 30.0) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            cell.error = "did not stop on SIGINT"
        time.sleep(0.05)  # the reader threads see the last lines
        self.collect(cell)

    def collect(self, cell: Cell) -> None:
        raise NotImplementedError


class CConsumer(Consumer):
    ready_marker = "ready"

    def __init__(self, c_ref: Path, target: str) -> None:
        self.c_ref = c_ref
        self.obj, self.skipped, _ = package_object(target)

    def start(self, work: Workload, pid: int, tmp: Path) -> None:
        self.log = tmp / "c.log"
        argv = [str(self.c_ref), "-s", f"{work.pid_param}={pid}", "-l", str(self.log)]
        for prog in self.skipped:
            argv += ["-x", prog]
        self._spawn([*argv, str(self.obj), work.map_name])

    def collect(self, cell: Cell) -> None:
        res = next((json.loads(ln) for ln in self._out if ln.startswith("{")), None)
        if res is None:
            cell.error = cell.error or "".join(self._err)[-300:] or "no result"
            return
        cell.received, cell.drops = res["events"], res["drops"] + res["lost"]
        self.received_log = read_pairs(self.log)


SUMMARY = re.compile(r": (\d+) events, (\d+) dropped(?:, (\d+) shed)?")


class LmpConsumer(Consumer):
    """``lmp record`` or ``lmp run`` as a subprocess, as users type them."""

    ready_marker = "waiting for events"

    def __init__(self, command: str) -> None:
        self.command = command

    def start(self, work: Workload, pid: int, tmp: Path) -> None:
        self.recording = tmp / "x.lmprec"
        if self.command == "record":
            argv = [LMP, "record", work.target, "-o", str(self.recording)]
        else:
            argv = [LMP, "run", work.target, *(["-j"] if self.command == "run -j" else [])]
        self._devnull = open(os.devnull, "w")  # noqa: SIM115 - closed in collect
        self._spawn([*argv, "--", work.pid_option, str(pid)], stdout=self._devnull)

    def collect(self, cell: Cell) -> None:
        self._devnull.close()
        text = "".join(self._err)
        m = SUMMARY.search(text)
        if not m:
            cell.error = cell.error or text.strip().splitlines()[-1:][0] if text.strip() else "?"
            return
        cell.received, cell.drops, cell.shed = int(m[1]), int(m[2]), int(m[3] or 0)
        self.received_log = np.zeros((0, 2), "<u8")
        if self.command == "record":
            self.received_log = recording_log(self.recording)


def recording_log(path: Path) -> np.ndarray:
    """(events so far, ns) at each frame of a recording: when lmp held those events."""
    from lmp_tui.runtime.stream.recording import RecordingReader

    points = []
    total = 0
    with RecordingReader(path) as reader:
        for frame in reader.frames():
            total += frame.batch.count
            points.append((total, int(frame.batch.time * 1e9)))
    return np.array(points, dtype="<u8").reshape(-1, 2)


class TuiConsumer(Consumer):
    """The TUI's path in a worker process (this file, ``--tui-worker``)."""

    ready_marker = "ready"

    def start(self, work: Workload, pid: int, tmp: Path) -> None:
        self.log = tmp / "tui.log"
        argv = [sys.executable, str(Path(__file__)), "--tui-worker", work.target]
        self._spawn([*argv, work.pid_param, str(pid), str(self.log)])

    def collect(self, cell: Cell) -> None:
        res = next((json.loads(ln) for ln in self._out if ln.startswith("{")), None)
        if res is None:
            cell.error = cell.error or "".join(self._err)[-300:] or "no result"
            return
        cell.received, cell.drops, cell.shed = res["stored"], res["drops"], res["shed"]
        cell.extra["ticks"] = res["ticks"]
        self.received_log = read_pairs(self.log)


def tui_worker(target: str, pid_param: str, pid: int, log: Path) -> None:
    """Runs the app headless with ``target`` started from its Hub; logs when its run received
    how many events; on SIGINT stops the program and prints what reached the store."""
    import asyncio

    from lmp_tui.app import LmpApp
    from lmp_tui.runtime.config import Config
    from lmp_tui.runtime.distribution import hub
    from lmp_tui.runtime.runs.pipeline import Pipeline
    from lmp_tui.tui.runner import RunSettings

    points: list[tuple[int, int]] = []
    received = 0
    original = Pipeline.deliver

    def deliver(self: Pipeline, batch: Any) -> None:  # measurement only
        nonlocal received
        received += batch.count
        points.append((received, time.time_ns()))
        original(self, batch)

    Pipeline.deliver = deliver  # type: ignore[method-assign]

    async def main() -> None:
        app = LmpApp(Config())
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGINT, stop.set)
        async with app.run_test(size=(120, 40)) as pilot:
            app.start_program(hub.find_builtin(target), RunSettings({pid_param: pid}))
            while not app.runs:
                await pilot.pause(0.05)
            run = next(iter(app.runs.values()))
            print("ready", flush=True)
            await stop.wait()
            await app.stop_run(run)
            store = run.store
            ticks = getattr(app, "ticks", 0)
            print(
                json.dumps(
                    {
                        "stored": int(store.total),
                        "drops": int(store.drops),
                        "shed": int(store.shed),
                        "ticks": ticks,
                    }
                ),
                flush=True,
            )

    asyncio.run(main())
    np.array(points, dtype="<u8").reshape(-1, 2).tofile(log)


CONSUMERS: dict[str, Callable[[Workload, dict[str, Path]], Consumer | None]] = {
    "c": lambda work, paths: CConsumer(paths["c_ref"], work.target),
    "record": lambda work, paths: LmpConsumer("record"),
    "run": lambda work, paths: LmpConsumer("run"),
    "run -j": lambda work, paths: LmpConsumer("run -j"),
    "tui": lambda work, paths: TuiConsumer(),
    "none": lambda work, paths: None,
}
"""Each side of a table: how its consumer is made (other benchmarks add theirs)."""


def run_cell(work: Workload, side: str, rate: str, seconds: float, paths: dict[str, Path]) -> Cell:
    cell = Cell(work.name, side, rate)
    consumer = CONSUMERS[side](work, paths)
    with tempfile.TemporaryDirectory(prefix="lmp-bench-") as tmpdir:
        tmp = Path(tmpdir)
        gen_log = tmp / "gen.log"
        gen = subprocess.Popen(
            [str(paths["loadgen"]), work.mode, str(PRODUCER_CPU), str(RATES[rate]), str(seconds),
             str(gen_log)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        assert gen.stdin is not None and gen.stdout is not None
        try:
            if consumer is not None:
                consumer.start(work, gen.pid, tmp)
                consumer.wait_ready()
                time.sleep(0.2)
                cpu0, t0 = proc_cpu(consumer.proc.pid), time.monotonic()
            gen.stdin.write("g")
            gen.stdin.flush()
            out = gen.stdout.read()
            gen.wait()
            if consumer is not None:
                time.sleep(0.3)  # what is still in flight
                cpu1, t1 = proc_cpu(consumer.proc.pid), time.monotonic()
                cell.cpu_pct = 100 * (cpu1 - cpu0) / (t1 - t0)
                consumer.finish(cell)
                received_log = getattr(consumer, "received_log", np.zeros((0, 2), "<u8"))
                cell.age_p50_ms, cell.age_p99_ms = event_ages(read_pairs(gen_log), received_log)
            res = json.loads(out)
            cell.generated, cell.seconds = res["calls"] + work.extra, res["seconds"]
            cell.producer_us = 1e6 * res["cpu_s"] / max(res["calls"], 1)
        except Exception as exc:  # a failed cell is reported, the run goes on
            cell.error = cell.error or f"{type(exc).__name__}: {exc}"
        finally:
            if consumer is not None and consumer.proc.poll() is None:
                consumer.proc.kill()
            gen.kill()
            gen.wait()
    return cell


# -- the TUI end to end (tmux) --------------------------------------------------------------


def tui_end_to_end(
    paths: dict[str, Path], seconds: float, rate: int, row_limit: int
) -> dict[str, Any]:
    """lmp-tui in tmux (120x40) running opensnoop under ``rate`` opens/s for ``seconds``, with a
    sort (by fname) and a filter (comm~loadgen) active; read its status bar."""
    from lmp_tui.runtime.units import format_bytes  # noqa: F401 - the same package the app uses

    tmux = shutil.which("tmux")
    if tmux is None:
        return {"error": "tmux is not installed"}
    session = f"lmpbench{os.getpid()}"
    with tempfile.TemporaryDirectory(prefix="lmp-tui-e2e-") as tmpdir:
        config = Path(tmpdir) / "config.toml"
        config.write_text(f"[tui]\nrow_limit = {row_limit}\n")
        gen = subprocess.Popen(
            [str(paths["loadgen"]), "open", str(PRODUCER_CPU), str(rate), str(seconds)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert gen.stdin is not None and gen.stdout is not None
        env = {**os.environ, "LMP_CONFIG_DIR": str(config.parent), "TERM": "xterm-256color"}
        cmd = f"taskset -c {CONSUMER_CPU} {VENV_BIN / 'lmp-tui'}"

        def tm(*args: str) -> str:
            return subprocess.run(
                [tmux, *args], capture_output=True, text=True, env=env, check=False
            ).stdout

        def screen() -> str:
            return tm("capture-pane", "-p", "-t", session)

        def wait_for(pred: Callable[[str], bool], timeout: float) -> float | None:
            t0 = time.monotonic()
            while time.monotonic() - t0 < timeout:
                if pred(screen()):
                    return time.monotonic() - t0
                time.sleep(0.005)
            return None

        result: dict[str, Any] = {"row_limit": row_limit, "rate": rate, "seconds": seconds}
        tm("new-session", "-d", "-s", session, "-x", "120", "-y", "40", cmd)
        try:
            if wait_for(lambda s: "opensnoop" in s, 30) is None:
                return {**result, "error": "lmp-tui did not show the Hub"}
            app_pid = int(tm("display-message", "-p", "-t", session, "#{pane_pid}").strip())

            def keys(*k: str, pause: float = 0.4) -> None:
                tm("send-keys", "-t", session, *k)
                time.sleep(pause)

            keys("/")
            keys("opensnoop")
            keys("Enter")  # the search keeps the match highlighted
            keys("Enter")  # the parameter form, its first field (--pid) focused
            if wait_for(lambda s: "Run opensnoop" in s, 10) is None:
                return {**result, "error": "the parameter form did not open", "screen": screen()}
            keys("End")
            keys(*["BSpace"] * 12)
            keys(
                "-l", str(gen.pid)
            )  # literally: digits right after keys' escape sequences get lost
            keys("Enter")
            if wait_for(lambda s: "ev/s" in s, 30) is None:
                return {**result, "error": "the program view did not open", "screen": screen()}
            # sort by fname (the column cursor to the last column, s) and filter on comm
            keys(*["Right"] * 8, "s")
            keys("/")
            keys("comm~loadgen", "Enter")
            time.sleep(1.0)
            gen.stdin.write("g")
            gen.stdin.flush()
            # redraws: how often the status bar's totals change, sampled at 200 Hz
            changes, last, t_end = 0, "", time.monotonic() + seconds
            keys_ms: list[float] = []
            next_key = time.monotonic() + 2.0
            while time.monotonic() < t_end:
                status = status_line(screen())
                if status != last:
                    changes, last = changes + 1, status
                if time.monotonic() >= next_key:
                    keys_ms.append(key_latency(tm, session, screen))
                    next_key = time.monotonic() + 2.0
                time.sleep(0.005)
            gen_out = json.loads(gen.stdout.read())
            time.sleep(1.0)
            final = screen()
            rss_kb = 0
            for pid in [app_pid, *child_pids(app_pid)]:
                status_text = Path(f"/proc/{pid}/status").read_text()
                if "lmp-tui" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
                    rss_kb = max(rss_kb, int(re.search(r"VmHWM:\s+(\d+)", status_text)[1]))
            total = status_total(final)
            result.update(
                generated=gen_out["calls"],
                reached=total,
                redraw_hz=changes / seconds,
                key_ms_max=max(keys_ms) if keys_ms else float("nan"),
                key_ms_median=statistics.median(keys_ms) if keys_ms else float("nan"),
                rss_mb=rss_kb / 1024,
                status=status_line(final),
            )
        finally:
            tm("send-keys", "-t", session, "q")
            time.sleep(1.0)
            tm("kill-session", "-t", session)
            gen.kill()
            gen.wait()
    return result


def child_pids(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def status_line(screen: str) -> str:
    """The status bar: the line with the drop counts."""
    return next((ln for ln in reversed(screen.splitlines()) if "drops" in ln), "")


def status_total(screen: str) -> int:
    """The events total the status bar shows (``total 1,234,567``)."""
    m = re.search(r"total ([\d,]+)", status_line(screen))
    return int(m[1].replace(",", "")) if m else -1


def key_latency(tm: Callable[..., str], session: str, screen: Callable[[], str]) -> float:
    """Milliseconds from pressing space (pause) to the status bar saying so, then resume."""
    t0 = time.monotonic()
    tm("send-keys", "-t", session, "Space")
    while time.monotonic() - t0 < 2.0 and "paused" not in status_line(screen()):
        time.sleep(0.002)
    ms = (time.monotonic() - t0) * 1000
    tm("send-keys", "-t", session, "Space")
    return ms


# -- reporting ----------------------------------------------------------------------------------


def fmt_rate(cell: Cell) -> str:
    return f"{cell.received:,}/{cell.generated:,}"


def table(title: str, cells: list[Cell]) -> str:
    head = (
        f"{'program':<10} {'rate':>5} {'consumer':<8} {'received/generated':>22} {'drops':>8} "
        f"{'shed':>7} {'lost':>5} {'CPU %':>6} {'age p50/p99 ms':>15} {'prod µs/call':>12}"
    )
    lines = [title, head, "-" * len(head)]
    for c in cells:
        if c.error:
            lines.append(f"{c.program:<10} {c.rate:>5} {c.side:<8} FAILED: {c.error}")
            continue
        # the k-th event held is the k-th call only when none was lost
        ages = "-" if np.isnan(c.age_p99_ms) else "(lossy)"
        if c.lossless and not np.isnan(c.age_p99_ms):
            ages = f"{c.age_p50_ms:6.2f}/{c.age_p99_ms:<6.2f}"
        if c.side == "none":
            lines.append(f"{c.program:<10} {c.rate:>5} {'none':<8} {c.generated:>22,} "
                         f"{'(no consumer: the producer alone)':>45} {c.producer_us:12.2f}")  # fmt: skip
            continue
        cpu = f"{c.cpu_pct:6.1f}" if not np.isnan(c.cpu_pct) else "     -"
        lines.append(
            f"{c.program:<10} {c.rate:>5} {c.side:<8} {fmt_rate(c):>22} {c.drops:>8,} "
            f"{c.shed:>7,} {c.lost:>5} {cpu} {ages:>15} {c.producer_us:12.2f}"
        )
    return "\n".join(lines)


def verdicts(cells: list[Cell], e2e: list[dict[str, Any]]) -> list[str]:
    out = []

    def say(ok: bool, what: str) -> None:
        out.append(f"[{'PASS' if ok else 'MISS'}] {what}")

    by = {(c.program, c.side, c.rate): c for c in cells if not c.error}
    for c in cells:
        if c.error:
            say(False, f"{c.program} {c.side} {c.rate}: {c.error}")
    for (prog, side, rate), c in sorted(by.items()):
        if side in ("c", "none") or rate == "max":
            continue
        ref = by.get((prog, "c", rate))
        if ref is None:
            continue
        ok = c.drops <= ref.drops and (ref.drops > 0 or c.drops == 0) and c.lost == 0
        say(ok, f"{prog} {side} {rate}: kernel drops {c.drops:,} <= C's {ref.drops:,}"
                f"{'' if ref.drops else ' (C has 0: must be 0)'}, nothing unaccounted")  # fmt: skip
    for prog in sorted({c.program for c in cells}):
        rec = by.get((prog, "record", "100k"))
        if rec is not None:
            say(rec.cpu_pct <= TARGET_CPU_100K,
                f"{prog} record 100k: CPU {rec.cpu_pct:.1f} % <= {TARGET_CPU_100K:.0f} %")  # fmt: skip
            say(rec.age_p99_ms <= TARGET_P99_MS_100K,
                f"{prog} record 100k: age p99 {rec.age_p99_ms:.2f} ms <= "
                f"{TARGET_P99_MS_100K:.0f} ms")  # fmt: skip
        rec = by.get((prog, "record", "1M"))
        if rec is not None:
            say(rec.cpu_pct <= TARGET_CPU_1M,
                f"{prog} record 1M: CPU {rec.cpu_pct:.1f} % <= {TARGET_CPU_1M:.0f} %")  # fmt: skip
    for r in e2e:
        if "error" in r:
            say(False, f"lmp-tui e2e (row_limit {r['row_limit']:,}): {r['error']}")
            continue
        reached = r["reached"] / max(r["generated"], 1)
        lim = f"row_limit {r['row_limit']:,}"
        say(reached >= TARGET_TUI_REACHED,
            f"lmp-tui e2e ({lim}): {reached:.1%} of events reach the table (>= 97 %)")  # fmt: skip
        say(r["redraw_hz"] >= TARGET_TUI_REDRAW_HZ,
            f"lmp-tui e2e ({lim}): redraw {r['redraw_hz']:.1f} Hz (>= 8)")  # fmt: skip
        say(r["key_ms_max"] < TARGET_TUI_KEY_MS,
            f"lmp-tui e2e ({lim}): key to screen max {r['key_ms_max']:.0f} ms (< 150)")  # fmt: skip
        say(r["rss_mb"] < TARGET_TUI_RSS_MB,
            f"lmp-tui e2e ({lim}): peak RSS {r['rss_mb']:.0f} MB (< 400)")  # fmt: skip
    return out


def leftover_programs() -> list[str]:
    """Programs of the benchmark's packages still loaded (by name), after everything ran."""
    from lmp_tui.runtime.distribution import hub

    names = set()
    for name in (*HUB, "perfsnoop", "ringgen"):
        target = hub.find_builtin(name).package if name in HUB else None
        if target is not None:
            names |= {p.name[:15] for p in target.progs}
    names |= {"openat_entry", "openat_exit", "on_getppid"}
    shown = subprocess.run(["bpftool", "prog", "show", "-j"], capture_output=True, text=True)
    try:
        progs = json.loads(shown.stdout or "[]")
    except json.JSONDecodeError:
        return []
    return sorted({p.get("name", "") for p in progs} & names)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smoke run: 100k only, 1 s, no e2e")
    ap.add_argument("--seconds", type=float, default=4.0, help="load per cell (default 4)")
    ap.add_argument("--rates", default=",".join(RATES), help="comma list of " + ",".join(RATES))
    ap.add_argument("--programs", default="opensnoop,sigsnoop")
    ap.add_argument("--only", default="hub,perf,synthetic,e2e", help="tables to run")
    ap.add_argument("--e2e-seconds", type=float, default=30.0)
    ap.add_argument("--json-out", type=Path, help="also write every figure as JSON")
    ap.add_argument("--tui-worker", nargs=4, metavar=("TARGET", "PARAM", "PID", "LOG"),
                    help=argparse.SUPPRESS)  # fmt: skip
    args = ap.parse_args(argv)
    if args.tui_worker:
        target, param, pid, log = args.tui_worker
        tui_worker(target, param, int(pid), Path(log))
        return 0
    if os.cpu_count() is None or os.cpu_count() < 2:  # type: ignore[operator]
        raise SystemExit("needs two CPUs: one for the load, one for the consumer")
    rates = [r.strip() for r in args.rates.split(",")]
    only = set(args.only.split(","))
    if args.quick:
        rates, args.seconds, only = ["100k"], 1.0, only - {"e2e"}
    paths = build_all()
    started = time.monotonic()
    cells: list[Cell] = []
    out: list[str] = []

    def section(title: str, works: list[Workload], sides: tuple[str, ...]) -> None:
        mine: list[Cell] = []
        for work in works:
            for rate in rates:
                for side in sides:
                    cell = run_cell(work, side, rate, args.seconds, paths)
                    mine.append(cell)
                    print(table("", [cell]).splitlines()[-1], file=sys.stderr, flush=True)
        cells.extend(mine)
        out.append(table(title, mine))

    if "hub" in only:
        works = [HUB[p] for p in args.programs.split(",")]
        sides = ("none", *SIDES)
        section("Hub programs, shipped ring sizes (events ring buffer)", works, sides)
    if "perf" in only:
        perf = Workload("perfsnoop", str(paths["perfsnoop"]), "open", "targ_pid")
        section("perf event array (tests/data/perfsnoop, 64 pages/CPU)", [perf],
                ("c", "record", "run"))  # fmt: skip
    if "synthetic" in only:
        synth = Workload(
            "ringgen", str(paths["ringgen"]), "getppid", "target_tgid", "--target_tgid"
        )
        section("synthetic 64-byte generator (bench/ringgen.bpf.c)", [synth], ("c", "record"))
    e2e: list[dict[str, Any]] = []
    if "e2e" in only:
        for limit in (10_000, 100_000):
            e2e.append(tui_end_to_end(paths, args.e2e_seconds, 200_000, limit))
    print()
    print("\n\n".join(out))
    print(
        "\nreceived: events the consumer held; drops: counted by the kernel side (ring reserve\n"
        "failures, perf lost samples); shed: events lmp itself had no room for (counted);\n"
        "lost: generated - received - drops - shed (must be 0). CPU: the consumer's threads\n"
        "during the load, % of one core. age: syscall to consumer. prod µs/call: the\n"
        "generator's CPU per call, its BPF program and wakeups included ('none': no consumer)."
    )
    for r in e2e:
        if "error" in r:
            print(f"\nlmp-tui e2e row_limit {r['row_limit']:,}: FAILED {r['error']}")
            continue
        print(
            f"\nlmp-tui e2e (tmux 120x40, opensnoop, {r['rate']:,}/s for {r['seconds']:.0f} s, "
            f"sort + filter, row_limit {r['row_limit']:,}): reached {r['reached']:,} of "
            f"{r['generated']:,} ({r['reached'] / max(r['generated'], 1):.1%}); redraw "
            f"{r['redraw_hz']:.1f} Hz; key to screen median {r['key_ms_median']:.0f} ms, max "
            f"{r['key_ms_max']:.0f} ms; peak RSS {r['rss_mb']:.0f} MB\n  status: {r['status']}"
        )
    print("\ntargets:")
    for line in verdicts(cells, e2e):
        print("  " + line)
    left = leftover_programs()
    print(f"\nprograms still attached: {', '.join(left) or 'none'}")
    print(f"total time {time.monotonic() - started:.0f} s")
    if args.json_out:
        args.json_out.write_text(
            json.dumps({"cells": [asdict(c) for c in cells], "e2e": e2e, "leftover": left})
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
