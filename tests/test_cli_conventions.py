"""What the fingers of htop, bcc and ecli users expect from ``lmp`` and ``lmp-tui`` (issue 14):
exit statuses after a signal, a Ctrl-C while starting, a typo in a program's name, ``lmp list``
as an ordinary user, one naming of program options (the package's, ecli's too) and signals by
name. Every signal and status is a real process's."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, lmp

from lmp_tui.runtime.distribution.hub import builtin_programs, find_builtin, hub_dir
from lmp_tui.runtime.errors import ParameterError
from lmp_tui.runtime.format.package import parse_package
from lmp_tui.runtime.format.params import parameters, parse_args

BIN = Path(sys.executable).parent
LMP_BIN = BIN / "lmp"
LMP_TUI_BIN = BIN / "lmp-tui"
NOT_ROOT = (
    "loading BPF programs needs root (CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN): run it with sudo"
)


@pytest.fixture
def home() -> Iterator[Path]:
    """An empty home and config folder (no remote Hubs, no keymap), any user may write."""
    path = Path(tempfile.mkdtemp(prefix="lmp-home-"))
    path.chmod(0o777)  # `setpriv --reuid=nobody` runs in it too
    yield path
    shutil.rmtree(path, ignore_errors=True)


def environment(home: Path) -> dict[str, str]:
    return {**os.environ, "HOME": str(home), "LMP_CONFIG_DIR": str(home / "lmp")}


def spawn(*args: str, program: Path = LMP_BIN, **kw: Any) -> subprocess.Popen[str]:
    kw.setdefault("stdout", subprocess.DEVNULL)
    return subprocess.Popen(
        [str(program), *args], stderr=subprocess.PIPE, text=True, cwd=ROOT, **kw
    )


def started(proc: subprocess.Popen[str]) -> None:
    """Wait for ``lmp run``'s "running" line: everything is attached."""
    assert proc.stderr is not None
    line = proc.stderr.readline()
    assert "waiting for events" in line, line + proc.stderr.read()


def catches(pid: int, sig: int) -> bool:
    """Whether process ``pid`` has a handler for ``sig`` (its /proc status: SigCgt)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) & (1 << (sig - 1)))
    return False


def wait_until_lmp_code_runs(proc: subprocess.Popen[str]) -> None:
    """Until the console script has run ``lmp_tui.entry``'s first lines. Python itself never
    catches SIGTERM, so a SIGTERM handler says so. Before that (the interpreter's own start-up
    and the script's ``import re``, ~30 ms here) Ctrl-C is Python's, not ours."""
    deadline = time.monotonic() + 10
    while not catches(proc.pid, signal.SIGTERM):
        assert proc.poll() is None and time.monotonic() < deadline, "lmp never started"
        time.sleep(0.001)


def said(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def assert_one_interrupt(proc: subprocess.Popen[str], err: str, program: str) -> None:
    """A Ctrl-C while ``lmp run`` starts: ``lmp: interrupted``, or (once it was running) the
    "running" line and the summary; 130 either way, never a traceback."""
    lines = said(err)
    assert "Traceback" not in err, err
    assert proc.returncode == 130, err
    if lines != ["lmp: interrupted"]:
        assert len(lines) == 2, lines
        assert lines[0].startswith(f"lmp: running {program}: "), lines
        assert lines[1].startswith(f"lmp: {program}: ") and lines[1].endswith("; detached")


# -- Ctrl-C while starting ----------------------------------------------------------------------


@pytest.mark.parametrize("after", [0.0, 0.003, 0.01, 0.03, 0.06, 0.1, 0.15, 0.25, 0.4])
def test_ctrl_c_once_lmp_runs_is_one_line(after: float, no_leaks: None) -> None:
    """From lmp's first line on, at any moment of its imports, of loading and attaching, or
    of the run: one line (or the run's two), status 130, nothing left loaded."""
    proc = spawn("run", "procstat")
    wait_until_lmp_code_runs(proc)
    time.sleep(after)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=15)
    assert_one_interrupt(proc, err, "procstat")


@pytest.mark.parametrize("delay", [0.05, 0.08, 0.12, 0.2, 0.3, 0.5])
def test_ctrl_c_50ms_after_start_is_one_line(delay: float, no_leaks: None) -> None:
    """The issue's case, by the clock: Ctrl-C 50 ms (and more) after `lmp run procstat`."""
    proc = spawn("run", "procstat")
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=15)
    assert_one_interrupt(proc, err, "procstat")


@pytest.mark.parametrize(
    ("sig", "line"), [(signal.SIGINT, "interrupted"), (signal.SIGTERM, "terminated (SIGTERM)")]
)
def test_lmp_tui_stopped_while_importing_is_one_line(home: Path, sig: int, line: str) -> None:
    proc = spawn(program=LMP_TUI_BIN, stdin=subprocess.DEVNULL, env=environment(home))
    wait_until_lmp_code_runs(proc)  # then textual's imports take a few hundred ms
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=15)
    assert said(err) == [f"lmp-tui: {line}"]
    assert proc.returncode == 128 + sig


# -- exit statuses after a signal ---------------------------------------------------------------


@pytest.mark.parametrize("command", ["run", "record"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_ends_a_run_with_128_plus_its_number(
    command: str, sig: int, tmp_path: Path, no_leaks: None
) -> None:
    """130 after Ctrl-C, 143 after SIGTERM, 129 after SIGHUP: what a shell reports for a
    command a signal ended. Everything is detached and written out first."""
    out = tmp_path / "s.lmprec"
    args = ["record", "sigsnoop", "-o", str(out)] if command == "record" else ["run", "sigsnoop"]
    proc = spawn(*args)
    started(proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=15)
    assert proc.returncode == 128 + sig, err
    lines = said(err)
    assert "Traceback" not in err
    summary = lines[-2] if command == "record" else lines[-1]
    assert summary.startswith("lmp: sigsnoop: ") and summary.endswith("; detached"), lines
    if command == "record":
        assert lines[-1].startswith("lmp: recorded ") and out.stat().st_size > 0


def test_a_run_that_ends_by_itself_is_0(no_leaks: None) -> None:
    res = lmp("run", "sigsnoop", "--duration", "0.5")
    assert res.returncode == 0, res.stderr


def test_a_signal_the_parent_ignores_stays_ignored(no_leaks: None) -> None:
    """`nohup lmp record ...`: the terminal going away (SIGHUP) does not end the run."""
    proc = spawn("run", "sigsnoop", preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    started(proc)
    proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    assert proc.poll() is None, "SIGHUP ended a run started with SIGHUP ignored"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=15)
    assert proc.returncode == 130, err


# -- a program's name ---------------------------------------------------------------------------


def test_a_typo_gets_the_close_name(home: Path) -> None:
    res = lmp("run", "sigsnop", env=environment(home))
    assert res.returncode == 1 and res.stdout == ""
    assert res.stderr == (
        "lmp: no program 'sigsnop': did you mean sigsnoop? (lmp list shows them all)\n"
    )


@pytest.mark.parametrize("target", ["xyzzy", "./lmp-no-such-dir/sigsnop"])
def test_no_close_name_no_guess(home: Path, target: str) -> None:
    res = lmp("run", target, env=environment(home))
    assert res.returncode == 1 and len(said(res.stderr)) == 1, res.stderr
    assert "did you mean" not in res.stderr and "Traceback" not in res.stderr


def test_a_local_package_path_still_runs(no_leaks: None) -> None:
    res = lmp("run", str(hub_dir() / "sigsnoop" / "package.json"), "--duration", "0.3")
    assert res.returncode == 0, res.stderr


# -- lmp list as an ordinary user ---------------------------------------------------------------


def as_nobody(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``lmp ARGS`` as user nobody (util-linux setpriv): no capabilities, tracefs unreadable."""
    return subprocess.run(
        [
            "setpriv",
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            "--",
            str(LMP_BIN),
            *args,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8"},
        timeout=60,
    )


def test_lmp_list_as_nobody_says_once_why_nothing_runs(home: Path) -> None:
    res = as_nobody(home, "list")
    assert res.returncode == 0, res.stderr
    assert res.stderr == f"lmp: no program can run as this user: {NOT_ROOT}\n"
    header, *rows = res.stdout.splitlines()
    assert header.split()[:4] == ["NAME", "CATEGORY", "RUNS", "HERE"]
    assert {row.split()[0] for row in rows} == {p.name for p in builtin_programs()}
    assert all(row.split()[2] == "no" for row in rows), rows
    assert NOT_ROOT not in res.stdout  # said once, above, not on every row


def test_lmp_list_json_as_nobody_gives_each_reason(home: Path) -> None:
    res = as_nobody(home, "list", "--json")
    assert res.returncode == 0 and res.stderr == "", res.stderr
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert rows and all(not r["runnable"] and r["reason"] == NOT_ROOT for r in rows)


def test_lmp_run_as_nobody_is_one_line(home: Path) -> None:
    res = as_nobody(home, "run", "sigsnoop", "--duration", "1")
    assert res.returncode == 1
    assert res.stderr == f"lmp: {NOT_ROOT}\n"


# -- program options: one naming -----------------------------------------------------------------


def sigsnoop_values(*argv: str) -> dict[str, Any]:
    return parse_args(find_builtin("sigsnoop").package, list(argv))[0]


@pytest.mark.parametrize("argv", [["--failed"], ["-x"], ["--enable-failed"]])
def test_a_bool_is_set_by_its_name_short_name_and_ecli_name(argv: list[str]) -> None:
    assert sigsnoop_values()["failed_only"] is False
    assert sigsnoop_values(*argv)["failed_only"] is True
    assert sigsnoop_values(*argv)["kill_only"] is False


def test_every_name_shown_sets_what_the_flag_sets() -> None:
    """For every Hub program: ``flag`` is the first name, the label lists the names, and each
    name and ecli alias is accepted by `lmp run X -- ...` with the same effect as the flag."""
    for program in builtin_programs():
        package = program.package
        for p in parameters(package):
            assert p.flag == p.names[0] and p.label == ", ".join(p.names)
            value = [] if p.is_bool else ["7"]
            expected = parse_args(package, [p.flag, *value])
            for name in (*p.names, *p.aliases):
                assert parse_args(package, [name, *value]) == expected, (program.name, name)


def crafted_sigsnoop(**changes: dict[str, Any]) -> Any:
    """sigsnoop's package with some variables' ``cmdarg`` changed."""
    doc = json.loads((hub_dir() / "sigsnoop" / "package.json").read_text())
    for section in doc["meta"]["bpf_skel"]["data_sections"]:
        for v in section["variables"]:
            v.setdefault("cmdarg", {}).update(changes.get(v["name"], {}))
    return parse_package(json.dumps(doc).encode(), "crafted.json", "crafted")


def test_a_bool_on_by_default_is_turned_off_by_disable() -> None:
    package = crafted_sigsnoop(kill_only={"default": True})
    [kill] = [p for p in parameters(package) if p.name == "kill_only"]
    assert kill.names == ("--disable-kill",) and kill.aliases == ()
    assert parse_args(package, [])[0]["kill_only"] is True
    assert parse_args(package, ["--disable-kill"])[0]["kill_only"] is False
    with pytest.raises(ParameterError):
        parse_args(package, ["--kill"])  # would read as "on", and it is on already


def test_a_name_another_option_has_is_left_to_it() -> None:
    """ecli's options keep their meaning: a value option called --failed stays a value option;
    the bool answers to ecli's --enable-failed and its short -x."""
    package = crafted_sigsnoop(filtered_pid={"long": "failed"})
    failed = {p.name: p for p in parameters(package)}["failed_only"]
    assert failed.names == ("--enable-failed", "-x") and failed.flag == "--enable-failed"
    values = parse_args(package, ["--failed", "7", "-x"])[0]
    assert values["filtered_pid"] == 7 and values["failed_only"] is True


@pytest.mark.parametrize(
    ("given", "number"),
    [("SIGUSR1", 10), ("USR1", 10), ("usr1", 10), ("10", 10), ("0", 0), ("SIGRTMIN+1", 35)],
)
def test_a_signal_option_takes_names_and_numbers(given: str, number: int) -> None:
    assert int(signal.SIGRTMIN) == 34  # the numbers below are Linux's (glibc)
    assert sigsnoop_values("--signal", given)["target_signal"] == number
    assert sigsnoop_values("-s", given)["target_signal"] == number


@pytest.mark.parametrize("given", ["FOO", "99", "-1", "SIGUSR9", ""])
def test_a_bad_signal_is_one_line_naming_the_option(given: str) -> None:
    with pytest.raises(ParameterError) as info:
        sigsnoop_values("--signal", given)
    assert str(info.value) == (
        f"sigsnoop: --signal: {given!r} is not a signal: give a name (SIGUSR1 or USR1) or a "
        f"number from 0 to {int(signal.SIGRTMAX)}"
    )
    assert info.value.exit_code == 2


def test_lmp_run_refuses_a_bad_signal_in_one_line() -> None:
    res = lmp("run", "sigsnoop", "--", "-s", "FOO")
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr == (
        "lmp: sigsnoop: --signal: 'FOO' is not a signal: give a name (SIGUSR1 or USR1) or a "
        f"number from 0 to {int(signal.SIGRTMAX)}\n"
    )


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    child = subprocess.Popen(["sleep", "30"])
    yield child
    child.kill()
    child.wait()


def sigsnoop_rows(options: list[str], act: Any) -> list[dict[str, Any]]:
    """``lmp run sigsnoop -j -- OPTIONS``'s rows while ``act()`` sends signals."""
    proc = spawn("run", "sigsnoop", "-j", "--", *options, stdout=subprocess.PIPE)
    started(proc)
    act()
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=15)
    assert proc.returncode == 130, err
    return [json.loads(line) for line in out.splitlines()]


def test_a_signal_by_name_reaches_the_kernel(
    sleeper: subprocess.Popen[bytes], no_leaks: None
) -> None:
    def act() -> None:
        os.kill(sleeper.pid, signal.SIGUSR2)
        os.kill(sleeper.pid, signal.SIGUSR1)

    rows = sigsnoop_rows(["--signal", "USR1"], act)
    assert {r["sig"] for r in rows if r["tpid"] == sleeper.pid} == {10}, rows


def test_bool_flags_by_their_short_names_reach_the_kernel(
    sleeper: subprocess.Popen[bytes], no_leaks: None
) -> None:
    """``-k -x`` (kill syscalls only, failed ones only): a kill of a process that is gone is
    reported, a kill that reached its process is not."""
    gone = subprocess.Popen(["true"])
    gone.wait()

    def act() -> None:
        os.kill(sleeper.pid, signal.SIGUSR1)
        with pytest.raises(ProcessLookupError):
            os.kill(gone.pid, signal.SIGUSR1)

    rows = sigsnoop_rows(["-k", "-x"], act)
    assert any(r["tpid"] == gone.pid and r["ret"] != 0 for r in rows), rows
    assert not any(r["tpid"] == sleeper.pid for r in rows), rows


# -- lmp-tui's own options ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["--rows", "-5"], "argument --rows: -5 is not valid (a whole number from 1 to 10000000)"),
        (["--rows", "many"], "argument --rows: 'many' is not a whole number"),
        (["--config", "/nonexistent.toml"], "argument --config: /nonexistent.toml does not exist"),
        (["--config", "/"], "argument --config: / is not a file"),
        (["--no-such-option"], "unrecognized arguments: --no-such-option"),
    ],
)
def test_lmp_tui_refuses_a_bad_option_in_one_line(home: Path, argv: list[str], line: str) -> None:
    res = subprocess.run(
        [str(LMP_TUI_BIN), *argv],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env=environment(home),
        timeout=60,
    )
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr == f"lmp-tui: {line}\n"
