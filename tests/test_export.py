"""Prometheus metrics from any program's data, without a kernel: every Hub program's demo data
makes an exposition promtool accepts; label values are names; a flood of distinct values stays
under the cap; histograms count up across reads; bad listen addresses say why in one line."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from lmp_tui.runtime.config import ExportEntry
from lmp_tui.runtime.distribution import hub
from lmp_tui.runtime.export.exporter import OTHER, ProgramMetrics
from lmp_tui.runtime.export.families import families
from lmp_tui.runtime.export.server import ListenError, MetricsServer, parse_listen
from lmp_tui.runtime.runs.scripted import ScriptedSource
from lmp_tui.runtime.stream.batch import Batch
from lmp_tui.runtime.stream.decode import Decoded, Decoders, numpy_dtype
from lmp_tui.tui.demo import demo_session

ROOT = Path(__file__).resolve().parent.parent
HUB = [p.name for p in hub.builtin_programs()]


def fed(name: str, cap: int = 500, exports: Sequence[ExportEntry] = ()) -> ProgramMetrics:
    """A program's metrics after its demo minute went through a pipeline, as a live run's do."""
    session = demo_session(hub.find_builtin(name))
    metrics = ProgramMetrics(name, session.spec, cap=cap, exports=exports)
    metrics.up = True
    source = session.source
    assert isinstance(source, ScriptedSource)
    for batch in source.script:  # the pipeline's deliver, without waiting for its pacing
        metrics.write(Decoded(batch, session.decoders))
    return metrics


def exposition(metrics: ProgramMetrics) -> str:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(metrics)
    return generate_latest(registry).decode()


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (s.labels, s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    ]


@pytest.mark.parametrize("name", HUB)
def test_promtool_accepts_every_hub_programs_metrics(name: str) -> None:
    text = exposition(fed(name))
    check = subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=30
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert samples(text, "lmp_program_up") == [({"program": name}, 1.0)]
    declared = {f.name for f in families(name, hub.find_builtin(name).package.export())}
    exposed = {f.name for f in text_string_to_metric_families(text)}
    # every family the layout promises is there (a counter's family drops its _total)
    assert {d.removesuffix("_total") for d in declared} <= exposed


def test_sigsnoop_counts_events_by_signal_name_and_comm() -> None:
    metrics = fed("sigsnoop")
    text = exposition(metrics)
    rows = samples(text, "lmp_sigsnoop_events_total")
    assert rows and all(labels["sig"].startswith("SIG") for labels, _ in rows)
    assert sum(v for _, v in rows) == metrics.events
    assert samples(text, "lmp_events_total") == [({"program": "sigsnoop"}, metrics.events)]


def test_procstat_exports_bytes_per_process_and_forgets_the_exited() -> None:
    text = exposition(fed("procstat"))
    sizes = {
        labels["pid"]: (labels["comm"], v) for labels, v in samples(text, "lmp_procstat_size_bytes")
    }
    assert sizes["1337"][0] == "python3" and sizes["1337"][1] > 64 << 20  # pages made bytes
    assert "5150" not in sizes  # cron exited: its series went with it
    switches = dict((labels["pid"], v) for labels, v in samples(text, "lmp_procstat_nvcsw_total"))
    assert switches["1337"] > switches["733"]  # three threads added up


def test_runqlat_is_a_histogram_in_seconds_that_only_counts_up() -> None:
    metrics = fed("runqlat")
    text = exposition(metrics)
    buckets = samples(text, "lmp_runqlat_seconds_bucket")
    counts = samples(text, "lmp_runqlat_seconds_count")
    assert buckets and counts
    overall = next(v for labels, v in counts if labels.get("key") == "0")
    inf = next(v for labels, v in buckets if labels["le"] == "+Inf" and labels.get("key") == "0")
    assert inf == overall > 0
    first_bound = min(float(labels["le"]) for labels, _ in buckets if labels["le"] != "+Inf")
    assert first_bound == pytest.approx(1e-6)  # slot 0: up to 1 µs


def test_a_flood_of_distinct_comms_stays_at_the_cap() -> None:
    program = hub.find_builtin("sigsnoop")
    spec = program.package.export()
    assert spec.layout is not None
    metrics = ProgramMetrics("sigsnoop", spec, cap=100)
    decoders = Decoders.of(spec)
    dtype = numpy_dtype(spec.layout.fields, spec.layout.size)
    for start in range(0, 100_000, 10_000):
        rows = np.zeros(10_000, dtype)
        rows["sig"] = 10
        rows["comm"] = np.char.encode(
            np.char.add("c", np.arange(start, start + 10_000).astype(str))
        )
        batch = Batch(1.0, rows.tobytes(), len(rows), spec.layout.size)
        metrics.write(Decoded(batch, decoders))
    series = samples(exposition(metrics), "lmp_sigsnoop_events_total")
    assert len(series) == 101  # the cap, plus other
    assert sum(v for _, v in series) == 100_000
    assert any(labels["comm"] == OTHER for labels, _ in series)


def test_listen_addresses() -> None:
    assert str(parse_listen("127.0.0.1:9435")) == "127.0.0.1:9435"
    assert str(parse_listen("[::1]:9")) == "[::1]:9"
    assert parse_listen(":9435").host == "0.0.0.0"
    for bad in ("localhost", "1.2.3.4:99999", "x:y"):
        with pytest.raises(ListenError):
            parse_listen(bad)


def test_a_port_in_use_is_one_line_and_nothing_loads() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ListenError, match="cannot serve metrics on 127.0.0.1"):
            MetricsServer(parse_listen(f"127.0.0.1:{port}"))
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "lmp_tui.cli",
                "export",
                "sigsnoop",
                "--listen",
                f"127.0.0.1:{port}",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
    assert done.returncode == 1 and len(done.stderr.splitlines()) == 1, done.stderr
    assert "cannot serve metrics" in done.stderr and "Traceback" not in done.stderr


def test_scrapers_get_text_when_they_accept_it_and_level_1_gzip() -> None:
    """Prometheus's own Accept header gets the text format (cheaper to render, same samples);
    a scraper that takes only OpenMetrics gets OpenMetrics; gzip when asked."""
    import gzip
    import urllib.request

    metrics = fed("sigsnoop")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = MetricsServer(parse_listen(f"127.0.0.1:{port}"), [metrics])
    url = f"http://127.0.0.1:{port}/metrics"
    prometheus = (
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
        "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
    )
    try:
        for accept, expected in (
            (prometheus, "text/plain; version=0.0.4"),
            ("application/openmetrics-text;version=1.0.0", "application/openmetrics-text"),
        ):
            request = urllib.request.Request(
                url, headers={"Accept": accept, "Accept-Encoding": "gzip"}
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.headers["Content-Type"].startswith(expected)
                assert response.headers["Content-Encoding"] == "gzip"
                text = gzip.decompress(response.read()).decode()
            assert samples(text, "lmp_events_total") == [({"program": "sigsnoop"}, metrics.events)]
    finally:
        server.close()


def test_the_garbage_collector_waits_while_a_scrape_renders() -> None:
    """A full collection would land in the scrape's latency: it is held off while the
    exposition renders, for overlapping scrapes until the last one ends, and runs again after."""
    import gc
    import threading

    from lmp_tui.runtime.export.server import collector_paused

    inside = threading.Barrier(2)
    first_done = threading.Event()
    seen: dict[str, bool] = {}

    def render(environ: dict[str, str], start_response: object) -> list[bytes]:
        inside.wait(timeout=10)  # both scrapes are rendering
        if environ["who"] == "second":
            first_done.wait(timeout=10)
            seen["second, after the first ended"] = gc.isenabled()
        else:
            seen["first"] = gc.isenabled()
        return [environ["who"].encode()]

    app = collector_paused(render)  # type: ignore[arg-type]
    assert gc.isenabled()

    def scrape(who: str) -> None:
        assert app({"who": who}, lambda *_: None) == [who.encode()]  # type: ignore[arg-type]
        if who == "first":
            first_done.set()

    second = threading.Thread(target=scrape, args=("second",))
    second.start()
    scrape("first")
    second.join(timeout=10)
    assert seen == {"first": False, "second, after the first ended": False}
    assert gc.isenabled()


def test_a_real_scrape_renders_with_the_collector_paused() -> None:
    import gc
    import urllib.request

    paused: list[bool] = []

    class Probe:
        def collect(self) -> Iterator[Metric]:
            paused.append(not gc.isenabled())
            return iter(())

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = MetricsServer(parse_listen(f"127.0.0.1:{port}"), [fed("sigsnoop")])
    server.registry.register(Probe())  # type: ignore[arg-type]
    try:
        for _ in range(2):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
                assert b"lmp_events_total" in r.read()
    finally:
        server.close()
    assert paused == [True, True] and gc.isenabled()


EVENT_STREAMS = [
    name
    for name in HUB
    if (spec := hub.find_builtin(name).package.export()).layout is not None
    and ProgramMetrics(name, spec).latest is None
]


@pytest.mark.parametrize("name", EVENT_STREAMS)
def test_folding_batches_together_counts_as_folding_each(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches folded together go through a compact copy of the bytes the metrics read, and
    new values take their labels from the whole records: the same samples as one fold per
    batch."""

    def counts(text: str) -> dict[tuple[tuple[str, str], ...], float]:
        return {
            tuple(sorted(labels.items())): value
            for labels, value in samples(text, f"lmp_{name}_events_total")
        }

    together = counts(exposition(fed(name)))
    monkeypatch.setattr("lmp_tui.runtime.export.exporter.FOLD_EVENTS", 1)
    assert together and together == counts(exposition(fed(name)))
