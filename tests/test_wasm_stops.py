"""Graceful stops of wasm apps, as users run them: ``lmp run app.wasm > out.txt`` then Ctrl-C
(or ``--duration``). The app below is written like wasm-bpf's bootstrap example: its poll loop
leaves on -EINTR and it prints with plain printf, so its output sits in its stdio buffer until
it exits. Stopping it must let it exit through its own path, which flushes that buffer."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT
from test_author import lmp
from test_wasm_host import no_wasm_leaks  # noqa: F401 - a fixture

DATA = Path(__file__).parent / "data" / "wasm"
HEADER = "EVENT COMM             PID     PPID    FILENAME/EXIT CODE"

pytestmark = pytest.mark.usefixtures("no_wasm_leaks")


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """``lmp init`` (bootstrap), ``lmp build``, ``lmp gen-wasm-skel``: the headers an app
    includes."""
    tmp = tmp_path_factory.mktemp("stops")
    assert lmp("init", "boot", cwd=tmp).returncode == 0
    project = tmp / "boot"
    for step in ("build", "gen-wasm-skel"):
        res = lmp(step, cwd=project)
        assert res.returncode == 0, (step, res.stderr)
    return project


def build_app(project: Path, name: str, *cflags: str) -> Path:
    """bootstrap_like.c as the project's app.c, compiled by ``lmp build-wasm``."""
    shutil.copy(DATA / "bootstrap_like.c", project / "app.c")
    out = project / name
    res = lmp("build-wasm", "-o", str(out), *[f"--cflags={f}" for f in cflags], cwd=project)
    assert res.returncode == 0, res.stderr
    return out


@pytest.fixture(scope="module")
def app(project) -> Path:
    return build_app(project, "app.wasm")


@pytest.fixture(scope="module")
def stubborn_app(project) -> Path:
    return build_app(project, "stubborn.wasm", "-DIGNORE_EINTR")


@pytest.fixture
def marker(tmp_path) -> Path:
    path = tmp_path / "lmp-stop-mark"
    shutil.copy("/bin/true", path)
    return path


def start(app: Path, out: Path, *args: str) -> subprocess.Popen[str]:
    """``lmp run app.wasm > out``, returned once the app has attached."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "lmp_tui.cli", "run", str(app), *args],
        cwd=ROOT,
        stdout=out.open("w"),
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()
    assert line == "attached\n", line + proc.stderr.read()
    return proc


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_lets_the_app_flush_its_output(app, marker, tmp_path, sig):
    out = tmp_path / "out.txt"
    proc = start(app, out)
    subprocess.run([str(marker)], check=True)
    time.sleep(0.3)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 128 + sig, err  # as a shell reports a command a signal ended
    assert err == ""
    lines = out.read_text().splitlines()
    assert lines[0] == HEADER
    assert any(ln.split()[:2] == ["EXEC", marker.name] and ln.endswith(str(marker)) for ln in lines)


def test_duration_lets_the_app_flush_its_output(app, marker, tmp_path):
    out = tmp_path / "out.txt"
    proc = start(app, out, "--duration", "1.5")
    subprocess.run([str(marker)], check=True)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    lines = out.read_text().splitlines()
    assert lines[0] == HEADER
    assert any(ln.split()[:2] == ["EXEC", marker.name] for ln in lines)
    assert not any("Error polling" in ln for ln in lines)


def test_an_app_that_ignores_eintr_is_stopped_within_a_second(stubborn_app, tmp_path):
    proc = start(stubborn_app, tmp_path / "out.txt")
    time.sleep(0.2)
    asked = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=10)
    took = time.monotonic() - asked
    assert proc.returncode == 130
    assert err.splitlines() == ["lmp: stubborn.wasm: did not end within 1 s of Ctrl-C: stopped"]
    assert 1.0 <= took < 2.0, took


def test_a_second_ctrl_c_ends_it_at_once(stubborn_app, tmp_path):
    proc = start(stubborn_app, tmp_path / "out.txt")
    proc.send_signal(signal.SIGINT)
    time.sleep(0.2)
    asked = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 130, err
    # not the watchdog's second: the second Ctrl-C itself ended it
    assert err.splitlines() == ["lmp: stubborn.wasm: stopped at once (Ctrl-C twice)"]
    assert time.monotonic() - asked < 2
