"""End to end: the installed ``lmp-tui`` in a real terminal (tmux), driven by keys, read off the
screen; it starts sigsnoop, shows a signal we send, quits cleanly and leaves nothing loaded."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import lmp, loaded_programs, programs_held_by

pytestmark = pytest.mark.kernel

LMP_TUI = Path(sys.executable).parent / "lmp-tui"


class Tmux:
    """One private tmux server (its own socket) with one session."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.status_file: Path | None = None

    def pane(self, fmt: str) -> str:
        return self("display-message", "-p", "-t", self.name, fmt).strip()

    def exit_status(self, timeout: float) -> str:
        """lmp-tui's exit status, once it has exited (empty if it has not by ``timeout``)."""
        assert self.status_file is not None
        deadline = time.monotonic() + timeout
        while not self.status_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        return self.status_file.read_text().strip() if self.status_file.exists() else ""

    def __call__(self, *args: str) -> str:
        out = subprocess.run(
            ["tmux", "-L", self.name, *args], capture_output=True, text=True, timeout=10
        )
        return out.stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", self.name)

    def keys(self, *keys: str) -> None:
        self("send-keys", "-t", self.name, *keys)

    def wait(self, condition: Callable[[str], bool], what: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if condition(screen):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}; the screen was:\n{self.screen()}")


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    assert shutil.which("tmux"), "tmux is needed for the end-to-end test (apt-get install tmux)"
    session = Tmux(f"lmp-e2e-{os.getpid()}")
    session("new-session", "-d", "-s", session.name, "-x", "120", "-y", "40")
    session("set-option", "-t", session.name, "remain-on-exit", "on")
    (tmp_path / "config.toml").write_text(
        f'[tui]\ntheme = "dark"\nrecordings_dir = "{tmp_path / "recordings"}"\n'
    )
    # COLUMNS/LINES (set by some runners) would override the real terminal size.
    # The exit status is written by a shell that waits for lmp-tui, not read from tmux: tmux
    # 3.3 now and then leaves a dead pane's process unreaped, and its status unknown.
    session.status_file = tmp_path / "status"
    command = (
        f"env -u COLUMNS -u LINES LMP_CONFIG_DIR={tmp_path} TERM=xterm-256color {LMP_TUI}; "
        f"echo $? > {session.status_file}"
    )
    session("respawn-pane", "-k", "-t", session.name, command)
    try:
        yield session
    finally:
        session("kill-server")


def test_lmp_tui_runs_sigsnoop_in_a_terminal_and_quits_clean(tmux: Tmux) -> None:
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        tmux.wait(lambda s: "sigsnoop" in s and "runs on this kernel" in s, "the program list")
        time.sleep(0.5)
        # Focus moves between key presses, as it does for a person typing: pace the keys.
        for keys in (["/"], ["sigsnoop"], ["Enter"]):
            tmux.keys(*keys)
            time.sleep(0.3)
        tmux.wait(lambda s: "parameters" in s and "--pid" in s, "sigsnoop's details")
        tmux.keys("Enter")
        tmux.wait(lambda s: "Run sigsnoop" in s, "the parameter form")
        tmux.keys("Enter")
        tmux.wait(
            lambda s: "1 sigsnoop" in s and "tpid" in s and "not recording" in s,
            "the sigsnoop view and its status bar",
        )
        # what the process in the pane (lmp-tui, under its shell) holds: its programs, told
        # apart from any other tool's by who holds them
        mine = programs_held_by(int(tmux.pane("#{pane_pid}")))
        assert mine, "lmp-tui holds no BPF program"
        time.sleep(0.5)
        os.kill(sleeper.pid, signal.SIGUSR1)
        screen = tmux.wait(
            lambda s: "SIGUSR1" in s and str(sleeper.pid) in s, "our SIGUSR1 on screen"
        )
        line = next(x for x in screen.splitlines() if "SIGUSR1" in x and str(sleeper.pid) in x)
        assert str(os.getpid()) in line
        tmux.keys("q")
        assert tmux.exit_status(timeout=15) == "0", tmux.screen()
    finally:
        sleeper.kill()
        sleeper.wait()
    deadline = time.monotonic() + 3  # freed after an RCU grace period
    while (left := mine & loaded_programs()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"still loaded after quitting: {sorted(left)}"


def start_program(tmux: Tmux, name: str, number: int) -> None:
    """Start ``name`` from the program list, through its parameter form if it has one."""
    for keys in (["0"], ["/"], [name], ["Enter"]):
        tmux.keys(*keys)
        time.sleep(0.3)
    tmux.keys("Enter")  # run it (the details pane's action), or confirm the form
    time.sleep(0.5)
    if f"Run {name}" in tmux.screen():
        tmux.keys("Enter")
    tmux.wait(lambda s: f"{number} {name}" in s, f"the {name} view")


def test_sighup_lmp_tui_exits_within_3s_of_tmux_kill_session(tmux: Tmux, tmp_path: Path) -> None:
    """Item 6 of the untrusted-input issue: the terminal goes away (a closed SSH session, a
    killed tmux session) while three busy views draw, one of them recording: lmp-tui releases
    its programs, closes the recording and exits instead of waiting forever on a terminal
    nobody reads."""
    busy = subprocess.Popen(
        [sys.executable, "-c", "import os\nwhile True: os.close(os.open('/etc/hostname', 0))"]
    )
    try:
        tmux.wait(lambda s: "opensnoop" in s and "runs on this kernel" in s, "the program list")
        time.sleep(0.5)
        for number, name in enumerate(("opensnoop", "sigsnoop", "exitsnoop"), start=1):
            start_program(tmux, name, number)
        tmux.keys("1")
        time.sleep(0.3)
        tmux.keys("r")
        tmux.wait(lambda s: "recording" in s and "not recording" not in s, "a recording")
        shell = int(tmux.pane("#{pane_pid}"))
        mine = programs_held_by(shell)
        assert len(mine) >= 3, f"lmp-tui holds {len(mine)} programs"
        tui = int(subprocess.check_output(["pgrep", "-P", str(shell)], text=True).split()[0])
        time.sleep(1)  # busy views drawing
        killed = time.monotonic()
        tmux("kill-session", "-t", tmux.name)
        while Path(f"/proc/{tui}").exists() and time.monotonic() - killed < 10:
            time.sleep(0.05)
        took = time.monotonic() - killed
    finally:
        busy.kill()
        busy.wait()
    if Path(f"/proc/{tui}").exists():
        os.kill(tui, signal.SIGKILL)
        pytest.fail("lmp-tui still running 10 s after its terminal went away")
    assert took < 3, f"lmp-tui took {took:.1f} s to exit after its terminal went away"
    deadline = time.monotonic() + 3
    while (left := mine & loaded_programs()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"still loaded after the hang-up: {sorted(left)}"
    (recording,) = (tmp_path / "recordings").glob("opensnoop-*.lmprec")
    replayed = lmp("replay", str(recording), "--json")
    assert replayed.returncode == 0, replayed.stderr
    assert "/etc/hostname" in replayed.stdout
