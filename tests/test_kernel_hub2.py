"""The second batch of built-in programs really load, attach and report what the test triggers.

opensnoop, tcpstates, syscount, runqslower, mountsnoop, exitsnoop. These run as root with BPF,
here and in CI; they are not skipped.
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_kernel import collect

from lmp_tui.runtime.distribution.hub import find_builtin
from lmp_tui.runtime.runs.session import LiveSession

pytestmark = pytest.mark.usefixtures("no_leaks")

LIBC = ctypes.CDLL(None, use_errno=True)
SYS_OPENAT2 = 437  # x86_64
SYS_GETPPID = 110  # x86_64
SYS_CLOSE = 3  # x86_64
AT_FDCWD = -100


def enum_name(value: str, prefix: str = "") -> str:
    """``"LMP_TCP_LISTEN(10)"`` -> ``"LISTEN"`` (enums decode as ``NAME(value)``)."""
    name, _, rest = value.partition("(")
    assert rest.endswith(")") and rest[:-1].isdigit(), value
    return name.removeprefix(prefix)


# -- opensnoop ------------------------------------------------------------------------------------


class OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


def openat2(path: Path, flags: int) -> int:
    how = OpenHow(flags, 0, 0)
    fd = LIBC.syscall(
        SYS_OPENAT2, AT_FDCWD, os.fsencode(path), ctypes.byref(how), ctypes.sizeof(how)
    )
    return fd if fd >= 0 else -ctypes.get_errno()


def test_opensnoop_reports_fd_and_errno(tmp_path):
    present = tmp_path / f"present-{os.getpid()}.txt"
    present.write_text("x")
    missing = tmp_path / "missing" / "nope.txt"
    by_openat2 = tmp_path / f"openat2-{os.getpid()}.txt"
    by_openat2.write_text("y")
    paths = {str(present), str(missing), str(by_openat2)}
    with LiveSession(find_builtin("opensnoop").package, {"targ_pid": os.getpid()}) as s:
        assert s.program.attached == 4
        fd = os.open(present, os.O_RDONLY)
        os.close(fd)
        with pytest.raises(FileNotFoundError):
            os.open(missing, os.O_RDONLY)
        fd2 = openat2(by_openat2, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        assert fd2 >= 0
        os.close(fd2)
        rows = collect(s, lambda rows: {r["fname"] for r in rows} >= paths)
    assert {r["pid"] for r in rows} == {os.getpid()}
    mine = {r["fname"]: r for r in rows if r["fname"] in paths}
    ok, bad, two = mine[str(present)], mine[str(missing)], mine[str(by_openat2)]
    assert ok["ret"] == fd and bad["ret"] == -errno.ENOENT and two["ret"] == fd2
    assert ok["flags"] & os.O_ACCMODE == os.O_RDONLY and ok["flags"] & os.O_CLOEXEC
    assert two["flags"] == os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
    for r in (ok, bad, two):
        assert r["tid"] == threading.get_native_id()
        assert r["uid"] == os.getuid()
        assert r["comm"] == Path(f"/proc/{os.getpid()}/comm").read_text().strip()


def test_opensnoop_failed_only(tmp_path):
    present = tmp_path / "present.txt"
    present.write_text("x")
    missing = tmp_path / "missing.txt"
    values = {"targ_pid": os.getpid(), "failed_only": True}
    with LiveSession(find_builtin("opensnoop").package, values) as s:
        os.close(os.open(present, os.O_RDONLY))
        with pytest.raises(FileNotFoundError):
            os.open(missing, os.O_RDONLY)
        rows = collect(s, lambda rows: any(r["fname"] == str(missing) for r in rows))
    assert [r["ret"] for r in rows if r["fname"] == str(missing)] == [-errno.ENOENT]
    assert all(r["ret"] < 0 for r in rows)
    assert not any(r["fname"] == str(present) for r in rows)


# -- tcpstates ------------------------------------------------------------------------------------


def test_tcpstates_loopback_connection():
    with LiveSession(find_builtin("tcpstates").package, {"targ_family": 4}) as s:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        cport = client.getsockname()[1]
        served, _ = listener.accept()
        client.close()
        time.sleep(0.05)
        served.close()
        listener.close()

        def closed(rows: list[dict[str, Any]]) -> bool:
            ends = {
                (r["sport"], r["dport"])
                for r in rows
                if enum_name(r["newstate"]) == "LMP_TCP_CLOSE"
            }
            return {(cport, port), (port, cport), (port, 0)} <= ends

        rows = collect(s, closed)
    for r in rows:
        r["old"], r["new"] = (
            enum_name(r["oldstate"], "LMP_TCP_"),
            enum_name(r["newstate"], "LMP_TCP_"),
        )

    def path(sk: int) -> list[str]:
        mine = [r for r in rows if r["skaddr"] == sk]
        for a, b in zip(mine, mine[1:], strict=False):
            assert a["new"] == b["old"], mine  # each change starts where the last one ended
            assert b["ts_us"] >= a["ts_us"]
        return [mine[0]["old"]] + [r["new"] for r in mine]

    [lsn] = {r["skaddr"] for r in rows if r["new"] == "LISTEN" and r["sport"] == port}
    assert path(lsn) == ["CLOSE", "LISTEN", "CLOSE"]
    [cli] = {r["skaddr"] for r in rows if (r["sport"], r["dport"]) == (cport, port)}
    assert path(cli)[:4] == ["CLOSE", "SYN_SENT", "ESTABLISHED", "FIN_WAIT1"]
    assert path(cli)[-1] == "CLOSE"
    [srv] = {r["skaddr"] for r in rows if (r["sport"], r["dport"]) == (port, cport)}
    assert path(srv) == ["LISTEN", "SYN_RECV", "ESTABLISHED", "CLOSE_WAIT", "LAST_ACK", "CLOSE"]

    mine = [r for r in rows if r["skaddr"] in (lsn, cli, srv)]
    assert all(r["family"] == socket.AF_INET for r in mine)
    assert all(r["saddr"][:4] == [127, 0, 0, 1] and r["saddr"][4:] == [0] * 12 for r in mine)
    assert all(r["daddr"][:4] == [127, 0, 0, 1] for r in mine if r["skaddr"] != lsn)
    assert all(0 <= r["delta_us"] < 5_000_000 for r in mine)
    syn_sent = next(r for r in mine if r["new"] == "SYN_SENT")
    assert syn_sent["pid"] == os.getpid() and syn_sent["delta_us"] == 0
    assert syn_sent["comm"] == Path(f"/proc/{os.getpid()}/comm").read_text().strip()
    # delta_us is the time spent in the old state: the server side sat in CLOSE_WAIT for the
    # 50 ms sleep between the two close() calls
    last_ack = next(r for r in mine if r["skaddr"] == srv and r["new"] == "LAST_ACK")
    assert 40_000 < last_ack["delta_us"] < 5_000_000


# -- syscount -------------------------------------------------------------------------------------


def syscount_entries(values: dict[str, Any], work: Callable[[], None]) -> dict[int, dict[str, Any]]:
    with LiveSession(find_builtin("syscount").package, values) as s:
        assert s.spec.kind == "sample" and s.spec.map_name == "data"
        assert s.spec.sample.type == "default_kv" and s.spec.sample.interval_ms == 1000
        work()
        batch = s.source.snapshot()
    entries = s.decoders.snapshot.entries(batch.records, batch.count)
    out = {}
    for key, value in entries:
        assert list(key) == ["__u32"], key
        out[key["__u32"]] = value
    return out


def test_syscount_counts_our_getppid():
    def work() -> None:
        for _ in range(1000):
            os.getppid()

    counts = syscount_entries({"targ_pid": os.getpid()}, work)
    getppid = counts[SYS_GETPPID]
    assert list(getppid) == ["count", "errors", "total_ns", "max_ns"]
    assert getppid["count"] >= 1000
    assert getppid["errors"] == 0
    assert 0 < getppid["max_ns"] <= getppid["total_ns"]
    assert getppid["total_ns"] < getppid["count"] * 1_000_000  # well under 1 ms a call


def test_syscount_failed_only():
    def work() -> None:
        for _ in range(200):
            os.getppid()
        for _ in range(50):
            with pytest.raises(OSError):
                os.close(999_999)

    counts = syscount_entries({"targ_pid": os.getpid(), "filter_failed": True}, work)
    assert SYS_GETPPID not in counts
    assert counts[SYS_CLOSE]["count"] >= 50
    assert all(v["errors"] == v["count"] for v in counts.values())


def test_syscount_errno_filter(tmp_path):
    def work() -> None:
        for _ in range(20):
            with pytest.raises(OSError):
                os.close(999_999)  # EBADF
            with pytest.raises(FileNotFoundError):
                os.stat(tmp_path / "missing")  # ENOENT

    counts = syscount_entries({"targ_pid": os.getpid(), "filter_errno": errno.ENOENT}, work)
    assert SYS_CLOSE not in counts
    assert sum(v["count"] for v in counts.values()) >= 20
    assert all(v["errors"] == v["count"] for v in counts.values())


# -- runqslower -----------------------------------------------------------------------------------


def test_runqslower_reports_wakeups_of_target():
    code = "import time\nfor _ in range(3000): time.sleep(0.001)\n"
    child = subprocess.Popen([sys.executable, "-c", code])
    try:
        values = {"min_us": 0, "targ_tgid": child.pid}
        with LiveSession(find_builtin("runqslower").package, values) as s:
            assert s.program.attached == 3
            rows = collect(s, lambda rows: len(rows) >= 20)
        comm = Path(f"/proc/{child.pid}/comm").read_text().strip()  # after its exec
    finally:
        child.kill()
        child.wait()
    assert len(rows) >= 20
    assert {r["pid"] for r in rows} == {child.pid}
    assert {r["task"] for r in rows} == {comm}
    assert all(0 <= r["delta_us"] < 1_000_000 for r in rows)
    assert all(r["prev_pid"] != child.pid and r["prev_pid"] >= 0 for r in rows)
    assert all(r["prev_task"] for r in rows)


def test_runqslower_threshold_filters():
    code = "import time\nfor _ in range(3000): time.sleep(0.001)\n"
    child = subprocess.Popen([sys.executable, "-c", code])
    try:
        values = {"min_us": 1_000_000, "targ_tgid": child.pid}
        with LiveSession(find_builtin("runqslower").package, values) as s:
            rows = collect(s, lambda rows: False, timeout=0.5)
    finally:
        child.kill()
        child.wait()
    assert rows == []  # nothing waits a whole second for an idle CPU


# -- mountsnoop -----------------------------------------------------------------------------------


def test_mountsnoop_mount_and_umount(tmp_path):
    target = tmp_path / "mnt"
    target.mkdir()
    with LiveSession(find_builtin("mountsnoop").package) as s:
        try:
            mount = subprocess.Popen(
                ["mount", "-t", "tmpfs", "-o", "size=1m", "lmptest", str(target)]
            )
            assert mount.wait(timeout=5) == 0
        finally:
            umount = subprocess.Popen(["umount", str(target)])
            umount.wait(timeout=5)
        # not a mount point any more: umount2() fails with EINVAL
        assert LIBC.umount2(os.fsencode(target), 0) == -1
        assert ctypes.get_errno() == errno.EINVAL
        rows = collect(s, lambda rows: sum(r["dest"] == str(target) for r in rows) >= 3)
    mine = [r for r in rows if r["dest"] == str(target)]
    assert [enum_name(r["op"]) for r in mine] == ["MNT_OP_MOUNT", "MNT_OP_UMOUNT", "MNT_OP_UMOUNT"]
    assert [r["op"] for r in mine[:2]] == ["MNT_OP_MOUNT(0)", "MNT_OP_UMOUNT(1)"]
    m, u, bad = mine
    assert (m["pid"], m["tid"], m["comm"], m["ret"]) == (mount.pid, mount.pid, "mount", 0)
    assert (m["fs"], m["src"], m["data"]) == ("tmpfs", "lmptest", "size=1m")
    assert (u["pid"], u["comm"], u["ret"]) == (umount.pid, "umount", 0)
    assert (u["fs"], u["src"], u["data"]) == ("", "", "")
    assert (bad["pid"], bad["ret"]) == (os.getpid(), -errno.EINVAL)
    assert {r["mnt_ns"] for r in mine} == {os.stat("/proc/self/ns/mnt").st_ino}
    assert all(0 < r["delta_ns"] < 5_000_000_000 for r in mine)


# -- exitsnoop ------------------------------------------------------------------------------------


@pytest.mark.parametrize("failed_only", [False, True])
def test_exitsnoop_exit_code_and_signal(failed_only):
    values = {"trace_failed_only": failed_only}
    with LiveSession(find_builtin("exitsnoop").package, values) as s:
        ok = subprocess.Popen(["true"])
        ok.wait()
        seven = subprocess.Popen(["sh", "-c", "exit 7"])
        seven.wait()
        killed = subprocess.Popen(["sleep", "30"])
        time.sleep(0.05)
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        rows = collect(s, lambda rows: any(r["pid"] == killed.pid for r in rows))
    by_pid = {r["pid"]: r for r in rows}
    if failed_only:
        assert ok.pid not in by_pid and all(r["exit_code"] or r["sig"] for r in rows)
    else:
        assert (by_pid[ok.pid]["exit_code"], by_pid[ok.pid]["sig"]) == (0, 0)
    s7, sk = by_pid[seven.pid], by_pid[killed.pid]
    assert (s7["exit_code"], s7["sig"], s7["comm"]) == (7, 0, "sh")
    assert (sk["exit_code"], sk["sig"], sk["comm"]) == (0, signal.SIGKILL, "sleep")
    assert not s7["core_dump"] and not sk["core_dump"]
    for r in (s7, sk):
        assert r["tid"] == r["pid"] and r["ppid"] == os.getpid()
        assert 0 < r["duration_ns"] < 5_000_000_000
    assert sk["duration_ns"] > 40_000_000  # lived through the 50 ms sleep


@pytest.mark.parametrize("threads", [False, True])
def test_exitsnoop_thread_exits(threads):
    values = {"targ_pid": os.getpid(), "trace_threads": threads}
    with LiveSession(find_builtin("exitsnoop").package, values) as s:
        worker = threading.Thread(target=time.sleep, args=(0.01,))
        worker.start()
        worker.join()
        rows = collect(
            s,
            lambda rows: any(r["tid"] == worker.native_id for r in rows),
            timeout=4.0 if threads else 1.0,
        )
    if threads:
        [r] = [r for r in rows if r["tid"] == worker.native_id]
        assert r["pid"] == os.getpid()
        assert (r["exit_code"], r["sig"]) == (0, 0)
    else:
        assert rows == []
