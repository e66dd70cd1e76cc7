"""`lmp run`, `lmp list`, `lmp build` as a user runs them, including every kind of bad input."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import signal
import subprocess
import time
import zlib
from pathlib import Path

import pytest
from conftest import LMP, ROOT, assert_no_leaks, bpf_prog_ids, lmp

from lmp_tui.runtime.distribution.hub import hub_dir

VMLINUX = str(ROOT / "lmp_tui/hub/include/x86")


def start_run(*args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [*LMP, "run", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
    )
    # The "running" line comes once everything is attached.
    line = proc.stderr.readline()
    assert "waiting for events" in line, line + proc.stderr.read()
    return proc


@pytest.fixture
def sleeper():
    child = subprocess.Popen(["sleep", "30"])
    yield child
    child.kill()
    child.wait()


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_run_sigsnoop_prints_the_row_and_detaches(sleeper, stop):
    before = bpf_prog_ids()
    proc = start_run("sigsnoop")
    os.kill(sleeper.pid, signal.SIGUSR1)
    time.sleep(0.5)
    proc.send_signal(stop)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 128 + stop, err  # what a shell reports: 130, 143
    lines = out.splitlines()
    assert lines[0] == "TIME     PID    TPID   SIG    RET    COMM   "
    mine = [ln for ln in lines if re.search(rf"\s{sleeper.pid}\s+10\s+0\s", ln)]
    assert mine, out
    assert re.match(r"\d\d:\d\d:\d\d\s+\d+\s+\d+\s+10\s+0\s+\S+", mine[0])
    assert err.strip().splitlines()[-1].startswith("lmp: sigsnoop: ")
    assert "Traceback" not in err
    assert_no_leaks(before)


def test_run_json_lines_with_sorted_keys(sleeper):
    before = bpf_prog_ids()
    proc = start_run("sigsnoop", "--json")
    os.kill(sleeper.pid, signal.SIGUSR2)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=10)
    rows = [json.loads(ln) for ln in out.splitlines()]
    [mine] = [r for r in rows if r["tpid"] == sleeper.pid]
    assert mine["sig"] == 12 and mine["pid"] == os.getpid()
    first = next(ln for ln in out.splitlines() if f'"tpid":{sleeper.pid}' in ln)
    assert first.startswith('{"comm":') and list(json.loads(first)) == sorted(mine)
    assert_no_leaks(before)


def test_run_duration_stops_by_itself():
    before = bpf_prog_ids()
    t0 = time.monotonic()
    res = lmp("run", "runqlat", "--duration", "1.5", timeout=20)
    assert res.returncode == 0, res.stderr
    assert 1.4 < time.monotonic() - t0 < 10
    assert "usecs" in res.stdout and "distribution" in res.stdout
    assert re.search(r"^key =  0$", res.stdout, re.M)
    assert_no_leaks(before)


def map_sizes(pid: int) -> dict[int, list[int]]:
    """``max_entries`` of the BPF maps process ``pid`` holds, by map type (its fdinfo)."""
    sizes: dict[int, list[int]] = {}
    for fd in Path(f"/proc/{pid}/fdinfo").iterdir():
        with contextlib.suppress(OSError):
            info = dict(line.split(":", 1) for line in fd.read_text().splitlines() if ":" in line)
            if "map_type" in info:
                sizes.setdefault(int(info["map_type"]), []).append(int(info["max_entries"]))
    return sizes


BPF_MAP_TYPE_RINGBUF = 27


@pytest.fixture(scope="module")
def execwatch_package(tmp_path_factory) -> str:
    """An upstream-style package (its own ring buffer, no Hub conventions)."""
    out = tmp_path_factory.mktemp("execwatch")
    res = lmp("build", str(ROOT / "tests/data/execwatch"), "-o", str(out), "--vmlinux", VMLINUX)
    assert res.returncode == 0, res.stderr
    return str(out / "package.json")


@pytest.mark.parametrize(
    ("asked", "size", "note"),
    [("4M", 4 << 20, ""), ("3M", 4 << 20, "ring size 3 MiB rounded up to 4 MiB")],
)
@pytest.mark.parametrize("program", ["sigsnoop", "upstream"])
def test_ring_size_option_resizes_the_ring_before_load(
    program, asked, size, note, execwatch_package
):
    before = bpf_prog_ids()
    target = execwatch_package if program == "upstream" else program
    proc = subprocess.Popen(
        [*LMP, "run", target, "--ring-size", asked],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    lines = [proc.stderr.readline()]
    if note:
        assert lines[0].strip() == f"lmp: {note} (a power of 2 of pages)"
        lines.append(proc.stderr.readline())
    assert "waiting for events" in lines[-1], lines
    try:
        assert map_sizes(proc.pid)[BPF_MAP_TYPE_RINGBUF] == [size]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)
    assert proc.returncode == 130
    assert_no_leaks(before)


@pytest.mark.parametrize(
    ("asked", "message"),
    [
        ("abc", "lmp: 'abc' is not a size (like 256K, 4M or 1048576)"),
        ("0", "lmp: a ring size must be positive"),
        ("2G", "lmp: ring size 2G is larger than 1 GiB"),
    ],
)
def test_ring_size_option_refuses_what_is_not_a_size(asked, message):
    res = lmp("run", "sigsnoop", "--ring-size", asked, "--duration", "1", timeout=20)
    assert res.returncode == 2
    assert res.stderr.strip() == message
    assert res.stdout == ""


def test_program_help_lists_parameters():
    res = lmp("run", "sigsnoop", "--", "--help")
    assert res.returncode == 0
    # the package's names first, as the TUI's form shows them; ecli's spellings too
    for opt in ("--pid PID_T, -p PID_T", "--signal SIGNAL, -s SIGNAL", "--verbose"):
        assert opt in res.stdout
    assert "--failed, -x, --enable-failed" in res.stdout
    assert "--kill, -k, --enable-kill" in res.stdout


def test_list_says_what_runs_here():
    res = lmp("list", "--json")
    rows = [json.loads(ln) for ln in res.stdout.splitlines()]
    names = {r["name"] for r in rows}
    assert {"sigsnoop", "procstat", "bootstrap", "runqlat"} <= names
    assert all(r["runnable"] for r in rows), rows


def bad_package(tmp_path: Path, name: str, transform) -> str:
    doc = json.loads((hub_dir() / "sigsnoop" / "package.json").read_text())
    path = tmp_path / name
    path.write_bytes(transform(doc))
    return str(path)


def _obj(doc) -> bytes:
    return zlib.decompress(base64.b64decode(doc["bpf_object"]))


BAD_INPUTS = {
    "unknown name": lambda tmp: ["no_such_prog"],
    "missing file": lambda tmp: [str(tmp / "nope.json")],
    "invalid json": lambda tmp: [bad_package(tmp, "a.json", lambda d: b'{"bpf_object": ')],
    "size mismatch": lambda tmp: [
        bad_package(tmp, "b.json", lambda d: json.dumps({**d, "bpf_object_size": 3}).encode())
    ],
    "corrupt zlib": lambda tmp: [
        bad_package(
            tmp,
            "c.json",
            lambda d: json.dumps(
                {**d, "bpf_object": base64.b64encode(b"x\x9c" + _obj(d)[:50]).decode()}
            ).encode(),
        )
    ],
    "non-BPF ELF": lambda tmp: ["/bin/true"],
    "bad program argument": lambda tmp: ["sigsnoop", "--", "--pid", "abc"],
    "unknown program option": lambda tmp: ["sigsnoop", "--", "--nope"],
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_one_line_nonzero_no_traceback(case, tmp_path):
    res = lmp("run", *BAD_INPUTS[case](tmp_path), "--duration", "1", timeout=20)
    assert res.returncode != 0
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert res.stderr.startswith("lmp: ") and "Traceback" not in res.stderr
    assert res.stdout == ""


def test_missing_tracepoint_is_one_line(tmp_path, no_leaks):
    built = lmp(
        "build", str(ROOT / "tests/data/missing_tp"), "-o", str(tmp_path), "--vmlinux", VMLINUX
    )
    assert built.returncode == 0, built.stderr
    res = lmp("run", str(tmp_path / "package.json"), "--duration", "1")
    assert res.returncode == 1
    assert res.stderr.strip().splitlines() == [
        "lmp: cannot run missing_tp: tracepoint "
        "syscalls/sys_enter_lmp_does_not_exist does not exist on this kernel"
    ]


def test_optional_missing_tracepoint_runs_the_rest(tmp_path, no_leaks):
    """``/// @optional`` on the program whose tracepoint this kernel lacks: the rest runs, and
    one line says what was left out (libbpf-tools do so for openat2 on old kernels)."""
    built = lmp(
        "build", str(ROOT / "tests/data/optional_tp"), "-o", str(tmp_path), "--vmlinux", VMLINUX
    )
    assert built.returncode == 0, built.stderr
    proc = subprocess.Popen(
        [*LMP, "run", str(tmp_path / "package.json"), "-j", "--duration", "2"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.2)  # attached by now (start-up is ~0.2 s)
    os.getppid()
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    lines = err.strip().splitlines()
    assert lines[0] == (
        "lmp: optional_tp: without the optional absent: tracepoint "
        "syscalls/sys_enter_lmp_does_not_exist does not exist on this kernel"
    )
    assert len(lines) == 3  # that note, "running ...", and the summary
    calls = [json.loads(line) for line in out.splitlines()]
    assert {"pid": os.getpid(), "source": 1} in calls
    assert all(c["source"] == 1 for c in calls)


def test_not_root_is_one_line(no_leaks):
    res = subprocess.run(
        [
            "setpriv",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--",
            *LMP,
            "run",
            "sigsnoop",
            "--duration",
            "1",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=30,
    )
    assert res.returncode == 1
    assert res.stderr.strip().splitlines() == [
        "lmp: loading BPF programs needs root (CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN): "
        "run it with sudo"
    ]


def test_verifier_rejection_is_one_line(tmp_path, no_leaks):
    src = tmp_path / "bad.bpf.c"
    src.write_text(
        '#include "vmlinux.h"\n#include <bpf/bpf_helpers.h>\n'
        'SEC("tp/sched/sched_process_exec") int h(void *ctx)\n'
        "{ return *(int *)(long)bpf_get_current_pid_tgid(); }\n"
        'char LICENSE[] SEC("license") = "GPL";\n'
    )
    built = lmp("build", str(src), "--vmlinux", VMLINUX)
    assert built.returncode == 0, built.stderr
    res = lmp("run", str(tmp_path / "package.json"))
    assert res.returncode == 1
    [line] = res.stderr.strip().splitlines()
    assert line.startswith("lmp: the kernel refused to load bad: ")


def test_build_then_run_a_libbpf_tools_style_program(tmp_path):
    before = bpf_prog_ids()
    built = lmp(
        "build", str(ROOT / "tests/data/execwatch"), "-o", str(tmp_path), "--vmlinux", VMLINUX
    )
    assert built.returncode == 0, built.stderr
    assert "BPF" in built.stderr and "PACKAGE" in built.stderr
    proc = start_run(str(tmp_path / "package.json"), "--json")
    child = subprocess.run(["/bin/true"])
    del child
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    rows = [json.loads(ln) for ln in out.splitlines()]
    execs = [r for r in rows if r["comm"] == "true"]
    assert execs, out + err
    r = execs[0]
    assert r["kind"] == "KIND_EXEC(1)"
    assert r["stamp"] == str(1 << 100)
    assert r["ids"]["__EUNOMIA_TYPE"] == "struct" and r["ids"]["ppid"] == os.getpid()
    assert_no_leaks(before)


def test_bare_bpf_object_runs(tmp_path):
    built = lmp(
        "build", str(ROOT / "tests/data/execwatch"), "-o", str(tmp_path), "--vmlinux", VMLINUX
    )
    assert built.returncode == 0
    res = lmp("run", str(tmp_path / "execwatch.bpf.o"), "--duration", "0.5")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("TIME     IDS    KIND   COMM   STAMP  NS")


def test_attach_failure_detaches_what_was_attached(tmp_path, no_leaks):
    built = lmp(
        "build", str(ROOT / "tests/data/half_attach"), "-o", str(tmp_path), "--vmlinux", VMLINUX
    )
    assert built.returncode == 0, built.stderr
    res = lmp("run", str(tmp_path / "package.json"), "--duration", "1")
    assert res.returncode == 1
    [line] = res.stderr.strip().splitlines()
    assert line.startswith("lmp: cannot attach second (tracepoint/syscalls/sys_enter_getppid): ")


def test_tracefs_is_mounted_when_missing(no_leaks):
    """In a private mount namespace without tracefs, `lmp run` mounts it and runs."""
    script = (
        "umount /sys/kernel/tracing 2>/dev/null; "
        "test ! -d /sys/kernel/tracing/events || exit 97; "
        f"{' '.join(LMP)} run sigsnoop --duration 0.5 >/dev/null && "
        "test -d /sys/kernel/tracing/events"
    )
    res = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=30,
    )
    assert res.returncode == 0, res.stderr
