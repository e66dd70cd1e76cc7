"""Signals and write failures (items 11 and 13 of the untrusted-input issue): whatever happens to
stdout, the recording's file system or the terminal, ``lmp`` says it in one line, exits with a
status that tells, keeps every complete frame and leaves nothing attached."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import ROOT, lmp

pytestmark = pytest.mark.kernel

LMP_BIN = Path(sys.executable).parent / "lmp"


@contextmanager
def opening_files() -> Iterator[None]:
    """A process calling openat() as fast as it can: opensnoop always has something to say."""
    busy = subprocess.Popen(
        [sys.executable, "-c", "import os\nwhile True: os.close(os.open('/etc/hostname', 0))"]
    )
    try:
        yield
    finally:
        busy.kill()
        busy.wait()


def spawn(*args: str, **kw: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(LMP_BIN), *args],
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        **kw,  # type: ignore[call-overload]
    )


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_sighup_run_record_flushes_every_frame(tmp_path: Path, no_leaks: None) -> None:
    out = tmp_path / "hup.lmprec"
    with opening_files():
        proc = spawn("record", "opensnoop", "-o", str(out))
        time.sleep(1.5)
        hung_up = time.monotonic()
        proc.send_signal(signal.SIGHUP)
        _, stderr = proc.communicate(timeout=10)
    assert time.monotonic() - hung_up < 2, "lmp record took too long to end on SIGHUP"
    assert proc.returncode == 128 + signal.SIGHUP, stderr
    assert "Traceback" not in stderr
    (summary,) = [x for x in lines(stderr) if " events, " in x]
    events = int(summary.split("opensnoop: ")[1].split(" events")[0])
    assert events > 0, stderr
    replayed = lmp("replay", "--json", "--max-speed", str(out))
    assert replayed.returncode == 0, replayed.stderr
    assert "torn" not in replayed.stderr, "the buffered frames were lost"
    assert len(lines(replayed.stdout)) == events


def test_write_failure_dev_full_is_one_line_and_exit_1(no_leaks: None) -> None:
    with opening_files(), open("/dev/full", "w") as full:
        proc = spawn("run", "opensnoop", "--duration", "3", stdout=full)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert "Traceback" not in stderr
    (failure,) = [x for x in lines(stderr) if "cannot write" in x]
    assert "No space left on device" in failure


def test_write_failure_head_1_is_quiet_with_sigpipe_status(no_leaks: None) -> None:
    with opening_files():
        shell = subprocess.run(
            [
                "bash",
                "-c",
                f"{LMP_BIN} run opensnoop --duration 5 | head -1; echo ${{PIPESTATUS[0]}} >&2",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            cwd=ROOT,
        )
    assert shell.stdout.startswith("TIME")
    assert len(lines(shell.stdout)) == 1
    assert lines(shell.stderr)[-1] == "141", shell.stderr
    assert "Traceback" not in shell.stderr and "cannot write" not in shell.stderr


@pytest.fixture
def tiny_tmpfs(tmp_path: Path) -> Iterator[Path]:
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=True)


def test_write_failure_1mib_tmpfs_keeps_every_complete_frame(
    tiny_tmpfs: Path, no_leaks: None
) -> None:
    out = tiny_tmpfs / "full.lmprec"
    with opening_files():
        done = lmp("record", "opensnoop", "-o", str(out), "--duration", "5")
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    (summary,) = [x for x in lines(done.stderr) if x.startswith("lmp: recorded ")]
    assert "No space left on device" in summary
    frames = int(summary.split("recorded ")[1].split(" frames")[0])
    replayed = lmp("replay", "--json", "--max-speed", str(out))
    assert replayed.returncode == 0, replayed.stderr
    assert f"replayed {frames} frames" in replayed.stderr
    assert all(json.loads(x)["fname"] for x in lines(replayed.stdout))


def test_write_failure_blocked_stdout_never_blocks_sigint(no_leaks: None) -> None:
    # a pipe nobody reads: lmp's writes block once the pipe's 64 KiB are full
    read_end, write_end = os.pipe()
    try:
        with opening_files():
            proc = spawn("run", "opensnoop", stdout=write_end)
            time.sleep(2)
            interrupted = time.monotonic()
            proc.send_signal(signal.SIGINT)
            _, stderr = proc.communicate(timeout=10)
        took = time.monotonic() - interrupted
    finally:
        os.close(read_end)
        os.close(write_end)
    assert took < 2, f"Ctrl-C took {took:.1f} s with a blocked stdout"
    assert proc.returncode == 128 + signal.SIGINT and "Traceback" not in stderr, stderr
    assert "shed (lmp fell behind)" in stderr


@pytest.mark.parametrize("command", [["run", "sigsnoop"], ["list"]])
def test_ctrl_c_at_50ms_is_quiet(command: list[str], no_leaks: None) -> None:
    """Ctrl-C 50 ms after start, while the commands are still being imported, or any moment
    after: no traceback, no hang, nothing left attached."""
    for delay in (0.05, 0.065, 0.08, 0.12, 0.2, 0.3):
        proc = spawn(*command, stdout=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=10)
        assert "Traceback" not in stderr, f"at {delay * 1000:.0f} ms: {stderr}"
        assert len(lines(stderr)) <= 3, stderr


def test_write_failure_unwritable_home_is_one_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(home)], check=True)
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", "0", "--bind", "127.0.0.1"],
        cwd=ROOT / "lmp_tui" / "hub" / "sigsnoop",
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = server.stdout.readline().split("port ")[1].split()[0]
        env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
        done = lmp(
            "run",
            f"http://127.0.0.1:{port}/package.json",
            "--duration",
            "0",
            env={**env, "HOME": str(home)},
        )
    finally:
        server.kill()
        server.wait()
        subprocess.run(["umount", "-l", str(home)], check=True)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert lines(done.stderr) == [f"lmp: {home}/.cache: Read-only file system"]
