"""``lmp export`` scraped by a real Prometheus (Debian's, started here on 127.0.0.1 with its own
storage and a 1 s scrape), queried through its HTTP API: sigsnoop's signals by name and comm,
runqlat's quantiles from real histogram buckets, procstat's bytes for one process. Root with
BPF: these run here and in CI, never skipped."""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = [pytest.mark.kernel, pytest.mark.usefixtures("no_leaks")]

ROOT = Path(__file__).resolve().parent.parent
SIGNALS = 7


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


class Prometheus:
    def __init__(self, url: str) -> None:
        self.url = url

    def query(self, expr: str) -> list[dict[str, object]]:
        q = urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(f"{self.url}/api/v1/query?{q}", timeout=5) as r:
            body = json.load(r)
        assert body["status"] == "success", body
        return list(body["data"]["result"])

    def value(self, expr: str) -> float | None:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None  # type: ignore[index]


@pytest.fixture
def exported(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Prometheus]]:
    """``lmp export sigsnoop runqlat procstat`` and a Prometheus scraping it every second."""
    port, web = free_port(), free_port()
    lmp = subprocess.Popen(
        [sys.executable, "-m", "lmp_tui.cli", "export", "sigsnoop", "runqlat", "procstat",
         "--listen", f"127.0.0.1:{port}"],
        cwd=ROOT, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    config = tmp_path / "prometheus.yml"
    config.write_text(
        textwrap.dedent(
            f"""
            global: {{scrape_interval: 1s, evaluation_interval: 1s}}
            scrape_configs:
              - job_name: lmp
                static_configs: [{{targets: ["127.0.0.1:{port}"]}}]
            """
        )
    )
    prom = subprocess.Popen(
        ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{web}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert lmp.stderr is not None
        said = ""
        while said.count("exporting ") < 3:
            line = lmp.stderr.readline()
            assert line, said + lmp.stderr.read()
            said += line
        api = Prometheus(f"http://127.0.0.1:{web}")

        def scraped() -> bool:
            try:
                return api.value('sum(lmp_program_up{job="lmp"})') == 3
            except OSError:
                return False  # not listening yet

        wait_for(scraped, 30, "Prometheus to scrape lmp export")
        yield lmp, api
    finally:
        prom.terminate()
        prom.wait(10)
        if lmp.poll() is None:
            lmp.send_signal(signal.SIGTERM)
            _, err = lmp.communicate(timeout=20)
            assert lmp.returncode == 128 + signal.SIGTERM, err
            assert "Traceback" not in err and err.count("detached") == 3, err


def test_sigsnoop_runqlat_and_procstat_through_a_real_prometheus(exported) -> None:  # noqa: ANN001
    _, api = exported
    comm = Path("/proc/self/comm").read_text().strip()
    selector = f'sum(lmp_sigsnoop_events_total{{sig="SIGUSR1",comm="{comm}"}})'
    # A target that ignores SIGUSR1 (its default would end it at the first one).
    sleeper = subprocess.Popen(
        [sys.executable, "-c", "import signal, time\n"
         "signal.signal(signal.SIGUSR1, signal.SIG_IGN)\nprint(flush=True)\ntime.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert sleeper.stdout is not None and sleeper.stdout.readline() == "\n"
    child = None
    try:
        before = api.value(selector) or 0.0
        for _ in range(SIGNALS):
            os.kill(sleeper.pid, signal.SIGUSR1)
            time.sleep(0.05)
        # Every signal counted once, under its name and the sender's comm.
        wait_for(lambda: api.value(selector) == before + SIGNALS, 20, "the signals in Prometheus")

        # runqlat: a finite 99th percentile from the buckets while the scheduler is busy.
        busy = [subprocess.Popen([sys.executable, "-c", "import time\nwhile True: time.sleep(0.001)"])
                for _ in range(4)]  # fmt: skip
        try:
            p99 = "histogram_quantile(0.99, sum by (le) (rate(lmp_runqlat_seconds_bucket[5s])))"
            value = wait_for(
                lambda: (v := api.value(p99)) is not None and math.isfinite(v) and v > 0 and v,
                30,
                "runqlat's p99",
            )
            assert isinstance(value, float) and value < 10
        finally:
            for b in busy:
                b.kill()
                b.wait()

        # procstat: the child's resident bytes rise by >= 60 MiB when it allocates 64 MiB.
        child = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(
                """
                import time
                for _ in range(20): time.sleep(0.05)
                chunks = []
                for _ in range(8):
                    chunk = bytearray(8 << 20); chunk[::4096] = b"\\x01" * len(chunk[::4096])
                    chunks.append(chunk); time.sleep(0.3)
                for _ in range(100): time.sleep(0.1)
                """
            )]
        )  # fmt: skip
        rise = f'max_over_time(lmp_procstat_size_bytes{{pid="{child.pid}"}}[30s]) - min_over_time(lmp_procstat_size_bytes{{pid="{child.pid}"}}[30s])'
        wait_for(lambda: (api.value(rise) or 0) >= 60 << 20, 30, "the child's RSS rise")
    finally:
        for proc in (sleeper, child):
            if proc is not None:
                proc.kill()
                proc.wait()


def test_lmp_run_serves_its_metrics_too() -> None:
    """``lmp run sigsnoop --metrics ADDR``: the events printed and counted on /metrics."""
    port = free_port()
    run = subprocess.Popen(
        [sys.executable, "-m", "lmp_tui.cli", "run", "sigsnoop", "--metrics", f"127.0.0.1:{port}"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    target = subprocess.Popen(
        [sys.executable, "-c", "import signal, time\n"
         "signal.signal(signal.SIGUSR2, signal.SIG_IGN)\nprint(flush=True)\ntime.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert run.stderr is not None and target.stdout is not None
        said = ""
        while "waiting for events" not in said:
            line = run.stderr.readline()
            assert line, said + run.stderr.read()
            said += line
        assert f"serving metrics on http://127.0.0.1:{port}/metrics" in said
        target.stdout.readline()
        os.kill(target.pid, signal.SIGUSR2)

        def counted() -> bool:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                text = r.read().decode()
            return 'sig="SIGUSR2"' in text and 'lmp_program_up{program="sigsnoop"} 1.0' in text

        wait_for(counted, 10, "the signal on /metrics")
    finally:
        target.kill()
        target.wait()
        run.send_signal(signal.SIGINT)
        _, err = run.communicate(timeout=20)
    assert run.returncode == 128 + signal.SIGINT and "Traceback" not in err, err


def test_scrapes_go_on_while_a_reload_restarts_the_programs(tmp_path: Path) -> None:
    """SIGHUP reads the config again and restarts the programs: every scrape meanwhile is a
    whole exposition, counters never go down, a new ``[[export]]`` table is served after the
    reload, and SIGTERM still detaches everything."""
    port, config = free_port(), tmp_path / "config.toml"
    config.write_text("")
    lmp = subprocess.Popen(
        [sys.executable, "-m", "lmp_tui.cli", "export", "sigsnoop", "opensnoop",
         "--listen", f"127.0.0.1:{port}", "--config", str(config)],
        cwd=ROOT, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert lmp.stderr is not None
    said: list[str] = []

    def read_stderr() -> None:
        assert lmp.stderr is not None
        said.extend(iter(lmp.stderr.readline, ""))

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    scrapes: list[dict[str, float]] = []
    failures: list[str] = []
    done = threading.Event()

    def scrape_all_the_time() -> None:
        while not done.is_set():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                    text = r.read().decode()
                scrapes.append(
                    {
                        f"{s.name}{sorted(s.labels.items())}": s.value
                        for family in text_string_to_metric_families(text)
                        for s in family.samples
                    }
                )
            except Exception as exc:  # noqa: BLE001 - every failure is the test's finding
                failures.append(repr(exc))
            time.sleep(0.01)

    try:
        wait_for(lambda: sum("exporting " in line for line in said) == 2, 60, "both programs")
        scraper = threading.Thread(target=scrape_all_the_time, daemon=True)
        scraper.start()
        for round_ in range(3):
            if round_ == 2:  # the last reload brings a table for sigsnoop
                config.write_text(
                    '[[export]]\nprogram = "sigsnoop"\nmetric = "signals_by_target"\n'
                    'labels = ["sig"]\n'
                )
            for _ in range(5):
                os.kill(os.getpid(), signal.SIGURG)  # ignored; sigsnoop sees it
            time.sleep(0.5)
            lmp.send_signal(signal.SIGHUP)
            wait_for(
                lambda n=round_: sum("exporting " in line for line in said) == 2 * (n + 2),
                60,
                "the programs to restart",
            )
        for _ in range(5):
            os.kill(os.getpid(), signal.SIGURG)
        wait_for(
            lambda: (
                scrapes
                and any(
                    k.startswith("lmp_sigsnoop_signals_by_target_total") and "SIGURG" in k
                    for k in scrapes[-1]
                )
            ),
            20,
            "the new table's metric",
        )
        done.set()
        scraper.join()
    finally:
        done.set()
        lmp.send_signal(signal.SIGTERM)
        lmp.wait(30)
        reader.join(5)
    text = "".join(said)
    assert lmp.returncode == 128 + signal.SIGTERM, text
    assert failures == [] and "Traceback" not in text, (failures, text)
    assert text.count("reloading") == 3 and text.count("detached") == 8, text
    assert len(scrapes) > 20
    for key in ('lmp_events_total[(\'program\', \'sigsnoop\')]',
                'lmp_events_total[(\'program\', \'opensnoop\')]'):  # fmt: skip
        seen = [s[key] for s in scrapes if key in s]
        assert seen == sorted(seen) and seen[-1] > 0, seen  # across the restarts, never down
