"""``lmp export``: programs run headless, their data served as Prometheus metrics on one port.

Each program runs its own pipeline in a thread of its own (each blocks on its own ring or map
timer); the HTTP server is prometheus-client's, in its thread; the main thread waits for a stop
signal. A program that cannot load or attach is said in one line and reported as
``lmp_program_up{program=...} 0``; the others keep serving. SIGINT, SIGTERM and SIGHUP detach
everything and end with 128 + the signal's number.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from dataclasses import dataclass

from ..runtime.errors import LmpError
from ..runtime.format import params
from ..runtime.format.package import parse_package
from ..runtime.runs.pipeline import Pipeline
from ..runtime.runs.session import LiveSession
from ..stops import exit_status, take_signals
from .common import err, transport_options
from .run import resolve


@dataclass
class Exported:
    """One program being exported: its session, its pipeline and the thread driving it."""

    name: str
    session: LiveSession
    pipeline: Pipeline
    thread: threading.Thread | None = None


def cmd_export(args: argparse.Namespace) -> int:
    from ..runtime.export.exporter import ProgramMetrics
    from ..runtime.export.server import MetricsServer, parse_listen

    names: list[str] = list(args.programs)
    program_args = list(args.program_args)
    if program_args and len(names) > 1:
        err("program options after -- go to one program: export it on its own")
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

        print(dashboard_json([(p.name, p.export()) for p in packages]))
        return 0
    address = parse_listen(args.listen)
    metrics = [ProgramMetrics(p.name, p.export(), cap=args.max_series) for p in packages]
    server = MetricsServer(address, metrics)  # before loading: a port in use costs nothing
    err(f"serving metrics on http://{server.address}/metrics")
    stop = threading.Event()
    signals: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        signals.append(signum)
        stop.set()

    previous = take_signals(on_signal)
    running: list[Exported] = []
    try:
        for package, sink in zip(packages, metrics, strict=True):
            values, verbose = params.parse_args(package, program_args)
            session = LiveSession(package, values, verbose=verbose or args.verbose)
            try:
                session.start()
            except LmpError as exc:
                err(f"{package.name}: {exc} (lmp_program_up{{program={package.name!r}}} is 0)")
                session.close()
                continue
            sink.up = True
            job = Exported(package.name, session, Pipeline(session, [sink]))
            job.thread = threading.Thread(
                target=job.pipeline.run_blocking, args=(stop.is_set,), name=f"export-{job.name}"
            )
            job.thread.start()
            running.append(job)
            err(f"exporting {package.name}")
        if not running:
            err("no program could be exported")
            return 1
        while not stop.wait(0.5):
            pass
    finally:
        stop.set()
        for job in running:
            if job.thread is not None:
                job.thread.join()
            job.session.close()
            job.pipeline.close()
        server.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    for job in running:
        tally = job.pipeline.tally
        err(f"{job.name}: {tally.events} events, {tally.drops} dropped; detached")
    sys.stderr.flush()
    return exit_status(signals[0]) if signals else 0
