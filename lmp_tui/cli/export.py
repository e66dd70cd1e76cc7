"""``lmp export``: programs run headless, their data served as Prometheus metrics on one port.

Each program runs its own pipeline in a thread of its own (each blocks on its own ring or map
timer); the HTTP server is prometheus-client's, in its thread; the main thread waits for a
signal. A program that cannot load or attach is said in one line and reported as
``lmp_program_up{program=...} 0``; the others keep serving.

SIGHUP re-reads the config file and restarts the programs, as Prometheus and most daemons
reload (systemd's ``ExecReload``): scrapes go on meanwhile, the programs read ``up 0`` while
they are detached, and counters go on from where they were (a changed ``[[export]]`` table's
series start afresh). SIGINT and SIGTERM detach everything and end with 128 + the signal's number.
"""

from __future__ import annotations

import argparse
import itertools
import signal
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..runtime.config import Config, ExportEntry, load_config
from ..runtime.errors import LmpError
from ..runtime.format import params
from ..runtime.format.package import Package, parse_package
from ..runtime.runs.pipeline import Pipeline
from ..runtime.runs.session import LiveSession
from ..stops import exit_status, take_signals
from .common import err, transport_options
from .run import resolve

if TYPE_CHECKING:
    from ..runtime.export.exporter import ProgramMetrics


@dataclass
class Exported:
    """One program being exported: its session, its pipeline and the thread driving it."""

    name: str
    session: LiveSession
    pipeline: Pipeline
    thread: threading.Thread | None = None


@dataclass
class Signals:
    """What the signal handlers asked for: the main thread acts on it."""

    wake: threading.Event = field(default_factory=threading.Event)
    stops: list[int] = field(default_factory=list)
    reload: bool = False

    def on_stop(self, signum: int, _frame: object) -> None:
        self.stops.append(signum)
        self.wake.set()

    def on_reload(self, _signum: int, _frame: object) -> None:
        self.reload = True
        self.wake.set()


def cmd_export(args: argparse.Namespace) -> int:
    from ..runtime.export.server import MetricsServer, parse_listen

    names: list[str] = list(args.programs)
    program_args = list(args.program_args)
    if program_args and len(names) > 1:
        err("program options after -- go to one program: export it on its own")
        return 2
    config = _config(args.config)
    if config is None:
        return 2
    packages = []
    for name in names:
        found = resolve(name, transport_options(args), args.no_cache)
        if found.kind == "wasm":
            err(f"{name}: a wasm app prints what it likes: only packages can be exported")
            return 2
        packages.append(parse_package(found.data, found.source, found.name, shipped=found.shipped))
    if args.grafana_dashboard:
        from ..runtime.export.grafana import dashboard_json

        programs = [(p.name, p.export()) for p in packages]
        print(dashboard_json(programs, exports=config.exports))
        return 0
    address = parse_listen(args.listen)
    metrics = _metrics(packages, config.exports, args.max_series)
    server = MetricsServer(address, metrics.values())  # before loading: a port in use costs nothing
    err(f"serving metrics on http://{server.address}/metrics")
    signals = Signals()
    previous = take_signals(signals.on_stop)
    if signal.SIGHUP in previous:  # not when ignored: nohup asks for hangups to change nothing
        signal.signal(signal.SIGHUP, signals.on_reload)
    running: list[Exported] = []
    halt = threading.Event()
    try:
        for reloads in itertools.count():
            halt = threading.Event()
            running = _start(packages, metrics, program_args, halt, args.verbose)
            if not running and not reloads:
                err("no program could be exported")
                return 1
            # after a reload, none attached is served as it is (up 0) until the next one
            while not signals.wake.wait(0.5):
                pass
            signals.wake.clear()
            halt.set()
            stopping, running = running, []
            _stop(stopping, metrics)
            if signals.stops:
                break
            signals.reload = False
            err(f"reloading {args.config or 'the config file'}: restarting the programs")
            _reload(args.config, packages, metrics)
    finally:
        if running:
            halt.set()
            _stop(running, metrics)
        server.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    sys.stderr.flush()
    return exit_status(signals.stops[0]) if signals.stops else 0


def _config(path: Path | None) -> Config | None:
    """The config file, or None after its problems were said in one line: a file meant to
    shape the metrics is not half-used."""
    config = load_config(path)
    if config.problem:
        err(config.problem)
        return None
    return config


def _metrics(
    packages: Sequence[Package], exports: Sequence[ExportEntry], cap: int
) -> dict[str, ProgramMetrics]:
    from ..runtime.export.exporter import ProgramMetrics

    _say_problems(packages, exports)
    return {p.name: ProgramMetrics(p.name, p.export(), cap=cap, exports=exports) for p in packages}


def _say_problems(packages: Sequence[Package], exports: Sequence[ExportEntry]) -> None:
    """One line per ``[[export]]`` table that does not fit its program's layout."""
    from ..runtime.export.families import configured

    for package in packages:
        for problem in configured(package.name, package.export(), exports)[1]:
            err(f"{problem} (left out)")


def _start(
    packages: Sequence[Package],
    metrics: dict[str, ProgramMetrics],
    program_args: list[str],
    halt: threading.Event,
    verbose: bool,
) -> list[Exported]:
    running = []
    for package in packages:
        sink = metrics[package.name]
        values, more_verbose = params.parse_args(package, program_args)
        session = LiveSession(package, values, verbose=verbose or more_verbose)
        try:
            session.start()
        except LmpError as exc:
            err(f"{package.name}: {exc} (lmp_program_up{{program={package.name!r}}} is 0)")
            session.close()
            continue
        sink.up = True
        job = Exported(package.name, session, Pipeline(session, [sink]))
        job.thread = threading.Thread(
            target=job.pipeline.run_blocking, args=(halt.is_set,), name=f"export-{job.name}"
        )
        job.thread.start()
        running.append(job)
        err(f"exporting {package.name}")
    return running


def _stop(running: list[Exported], metrics: dict[str, ProgramMetrics]) -> None:
    for job in running:
        if job.thread is not None:
            job.thread.join()
        job.session.close()
        job.pipeline.close()
        metrics[job.name].up = False
        tally = job.pipeline.tally
        err(f"{job.name}: {tally.events} events, {tally.drops} dropped; detached")


def _reload(
    path: Path | None, packages: Sequence[Package], metrics: dict[str, ProgramMetrics]
) -> None:
    """Each program takes the ``[[export]]`` tables of the file as it is now: a table that
    changed starts its series afresh, everything else counts on."""
    config = _config(path)
    if config is None:
        err("lmp export keeps the tables it had until the config file is fixed")
        return
    _say_problems(packages, config.exports)
    for package in packages:
        metrics[package.name].reconfigure(config.exports)
