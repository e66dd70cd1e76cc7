"""``lmp-tui --host``: programs run on other hosts over the system ssh client, streamed back
into the same views. The tests start Debian's sshd on 127.0.0.1 with a host key and a user
key made here (their own config file: the system's sshd is not touched), and reach it as two
"hosts" (two aliases in a test ssh config). Root with BPF: never skipped."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_tui_kernel import wait_for

from lmp_tui.app import LmpApp
from lmp_tui.runtime.config import Config, TuiSettings
from lmp_tui.runtime.distribution import hub
from lmp_tui.runtime.format.params import command_line, parse_args
from lmp_tui.runtime.runs.fleet import HOST_FIELD
from lmp_tui.runtime.runs.manager import SessionRun
from lmp_tui.runtime.runs.stream import ssh_command
from lmp_tui.runtime.stream.decode import Decoder
from lmp_tui.runtime.stream.query import Sort, parse_filter, select
from lmp_tui.runtime.stream.recording import RecordingReader
from lmp_tui.runtime.stream.store import EventStore
from lmp_tui.tui.runner import RunSettings, remote_sessions

ROOT = Path(__file__).resolve().parent.parent
LMP = str(Path(sys.executable).parent / "lmp")
SIGSNOOP = hub.find_builtin("sigsnoop")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[str]:
    """An sshd of the test's own on 127.0.0.1; the ssh command that reaches it as web1/web2."""
    port = free_port()
    for name in ("host_key", "user_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / name)],
                       check=True)  # fmt: skip
    (tmp_path / "authorized_keys").write_text((tmp_path / "user_key.pub").read_text())
    config = tmp_path / "sshd_config"
    config.write_text(
        textwrap.dedent(
            f"""
            ListenAddress 127.0.0.1
            Port {port}
            HostKey {tmp_path / "host_key"}
            AuthorizedKeysFile {tmp_path / "authorized_keys"}
            PidFile {tmp_path / "sshd.pid"}
            PermitRootLogin prohibit-password
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            UsePAM no
            StrictModes no
            LogLevel ERROR
            """
        )
    )
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation directory
    server = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(config)],
                              stderr=subprocess.PIPE, text=True)  # fmt: skip
    client = tmp_path / "ssh_config"
    client.write_text(
        "".join(
            textwrap.dedent(
                f"""
                Host {alias}
                  HostName 127.0.0.1
                  Port {port}
                  User root
                  IdentityFile {tmp_path / "user_key"}
                  IdentitiesOnly yes
                  StrictHostKeyChecking no
                  UserKnownHostsFile /dev/null
                  LogLevel ERROR
                """
            )
            for alias in ("web1", "web2")
        )
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline and server.poll() is None, server.stderr
            time.sleep(0.1)
        SSHD[:] = [server.pid]
        yield f"ssh -F {client}"
    finally:
        server.terminate()
        server.wait(10)


def remote_app(hosts: list[str], ssh: str, lmp: str = LMP, **tui: object) -> LmpApp:
    return LmpApp(
        Config(tui=TuiSettings(theme="dark", **tui)),  # type: ignore[arg-type]
        programs=[SIGSNOOP],
        session_factory=remote_sessions(hosts, lmp, ssh),
        availability=lambda _: None,
        probe_bpf=False,
        hosts=hosts,
    )


def listen(app: LmpApp, said: list[str]) -> None:
    """Keep every line the app notifies in ``said`` (and show it too)."""
    original = app.notify

    def notify(message: str, **kw: object) -> None:
        said.append(str(message))
        original(message, **kw)  # type: ignore[arg-type]

    app.notify = notify  # type: ignore[method-assign]


async def started(app: LmpApp, settings: RunSettings) -> SessionRun:
    before = set(app.runs)
    app.start_program(SIGSNOOP, settings)
    await wait_for(lambda: set(app.runs) != before, 60, "the hosts to stream")
    return app.runs[(set(app.runs) - before).pop()]


SSHD: list[int] = []
"""The pid of the sshd the current test started (the remote side's ancestor)."""


def parent_of(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def remote_lmp_processes() -> list[int]:
    """``lmp record`` processes this test's sshd started (the remote side of a view); a
    parallel run's own are not counted."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"record" not in argv or b"-o" not in argv:
            continue
        pid = int(entry.name)
        while pid > 1 and pid not in SSHD:
            pid = parent_of(pid)
        if pid in SSHD:
            found.append(int(entry.name))
    return found


@pytest.mark.kernel
@pytest.mark.usefixtures("no_leaks")
async def test_sigsnoop_on_two_hosts_in_one_view(sshd: str, tmp_path: Path) -> None:
    """One signal, seen by sigsnoop on "both hosts": once per host, each with its host; r
    records the merged stream here, host column and all."""
    target = subprocess.Popen(
        [sys.executable, "-c", "import signal, time\n"
         "signal.signal(signal.SIGUSR2, signal.SIG_IGN)\nprint(flush=True)\ntime.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert target.stdout is not None and target.stdout.readline() == "\n"
    app = remote_app(["web1", "web2"], sshd, recordings_dir=str(tmp_path))
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            values, _ = parse_args(SIGSNOOP.package, ["--signal", "USR2"])
            run = await started(app, RunSettings(values=values))
            assert run.name == "sigsnoop@web1,web2" and run.state == "running"
            assert "web1, web2" in str(app.notice.render())  # the sidebar says where
            store = run.store
            assert isinstance(store, EventStore)
            assert store.layout.fields[0].name == HOST_FIELD
            await asyncio.sleep(1.0)
            await pilot.press("r")  # record the remote streams here
            recorder = run.recorder
            assert recorder is not None
            os.kill(target.pid, signal.SIGUSR2)

            def ours() -> list[str]:
                where = parse_filter(f"tpid={target.pid}", store.layout)
                rows = store.rows[select(store, Sort(), where)]
                return sorted(r[HOST_FIELD].decode() for r in rows)

            await wait_for(lambda: ours() == ["web1", "web2"], 20, "the signal from both hosts")
            await asyncio.sleep(0.5)
            assert ours() == ["web1", "web2"]  # once per host
            # each host's rate in the status bar, each host's series in the panels
            status = app.views[run.number].current_status()
            assert "web1 " in status.hosts and "web2 " in status.hosts
            panel = app.views[run.number].sparklines  # type: ignore[union-attr]
            await wait_for(
                lambda: {"web1 ev/s", "web2 ev/s"} <= {s.name for s in panel.series},
                5,
                "a series per host",
            )
            # host filters like any field
            only = parse_filter("host=web2", store.layout)
            assert {r[HOST_FIELD] for r in store.rows[select(store, Sort(), only)]} == {b"web2"}
            await pilot.press("r")  # the recording ends: it holds both hosts' events
            with RecordingReader(recorder.path) as reader:
                layout = reader.header.spec.layout
                assert layout is not None and layout.names[0] == HOST_FIELD
                decoder = Decoder(layout)
                recorded = [
                    row
                    for frame in reader.frames()
                    for row in decoder.array(frame.batch.records, frame.batch.count)
                    if row["tpid"] == target.pid
                ]
            assert sorted(r[HOST_FIELD].decode() for r in recorded) == ["web1", "web2"]
            await pilot.press("x")  # stop: the remote programs end with their ssh
            await wait_for(lambda: run.state != "running", 20, "the view to stop")
        await asyncio.sleep(0.5)
    finally:
        target.kill()
        target.wait()
    deadline = time.monotonic() + 15
    while remote_lmp_processes() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert remote_lmp_processes() == []


@pytest.mark.kernel
@pytest.mark.usefixtures("no_leaks")
async def test_a_dead_connection_is_one_line_and_leaves_nothing_attached(sshd: str) -> None:
    """Kill the ssh client mid-stream: the view says so; the remote lmp is gone, and what it
    loaded with it (no_leaks checks the kernel's programs, maps and links)."""
    app = remote_app(["web1"], sshd)
    said: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        listen(app, said)
        run = await started(app, RunSettings())
        await wait_for(remote_lmp_processes, 20, "the remote lmp")
        assert len(remote_lmp_processes()) == 1
        ssh = run.session.hosts[0].process  # type: ignore[attr-defined]
        ssh.kill()
        await wait_for(lambda: run.state != "running", 20, "the view to notice")
        assert run.error is not None and run.error.startswith("web1: ")
        assert "\n" not in run.error and "Traceback" not in run.error
        assert "the connection ended" in run.error  # not what lmp said while it ran well
        await wait_for(lambda: any(run.error in s for s in said), 5, "the line in the app")
        await pilot.pause(0.2)
    deadline = time.monotonic() + 15
    while remote_lmp_processes() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert remote_lmp_processes() == []


async def failure_line(app: LmpApp, host: str) -> str:
    """Start sigsnoop in ``app``; the one line the app says about ``host`` (no view opens)."""
    said: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        listen(app, said)
        app.start_program(SIGSNOOP, RunSettings())
        await wait_for(lambda: any(host in s for s in said), 30, "the error")
        assert not app.runs.values()
        await pilot.pause(0.1)
    line = next(s for s in said if host in s)
    assert "\n" not in line and "Traceback" not in line, line
    return line


@pytest.mark.kernel
async def test_an_unreachable_host_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    config.write_text(f"Host nowhere\n  HostName 127.0.0.1\n  Port {free_port()}\n")
    line = await failure_line(remote_app(["nowhere"], f"ssh -F {config}"), "nowhere")
    assert "Connection refused" in line, line


@pytest.mark.kernel
async def test_a_host_without_lmp_is_one_line(sshd: str) -> None:
    line = await failure_line(remote_app(["web1"], sshd, lmp="/nonexistent/lmp"), "web1")
    assert "/nonexistent/lmp" in line, line
    assert "No such file" in line or "not found" in line, line  # as the remote shell says


def test_the_ssh_command_runs_lmp_record_to_stdout() -> None:
    argv = ssh_command("ops@web1:2222", "sigsnoop", ["--pid", "4"], "lmp", "ssh -F cfg")
    assert argv[:3] == ["ssh", "-F", "cfg"] and "BatchMode=yes" in argv
    assert argv[argv.index("-p") + 1] == "2222"
    assert argv[-2:] == ["ops@web1", "lmp record sigsnoop -o - -- --pid 4"]
    values, _ = parse_args(SIGSNOOP.package, ["--pid", "4"])
    assert command_line(SIGSNOOP.package, values) == ["--pid=4"]
    # what the remote shell gets: a ~/ it expands, everything else quoted
    assert ssh_command("h", "sigsnoop", ["a;b"], '"~/my bin/lmp"')[-1] == (
        "~/'my bin/lmp' record sigsnoop -o - -- 'a;b'"
    )
    assert ssh_command("h", "sigsnoop", [], "/opt/lmp/bin/lmp -v")[-1] == (
        "/opt/lmp/bin/lmp -v record sigsnoop -o - --"
    )


@settings(max_examples=50, deadline=None)
@given(
    st.fixed_dictionaries(
        {
            "filtered_pid": st.integers(0, 1 << 20),
            "target_signal": st.integers(0, 64),
            "failed_only": st.booleans(),
            "kill_only": st.booleans(),
        }
    )
)
def test_form_values_cross_to_the_other_host_unchanged(values: dict[str, object]) -> None:
    package = SIGSNOOP.package
    assert parse_args(package, command_line(package, values))[0] == values


def test_records_are_tagged_with_their_host_and_decode_with_the_merged_layout() -> None:
    from lmp_tui.runtime.runs.fleet import host_bytes, tagged, with_host
    from lmp_tui.runtime.stream.batch import Batch
    from lmp_tui.runtime.stream.decode import Decoders, numpy_dtype

    spec = SIGSNOOP.package.export()
    assert spec.layout is not None
    rows = np.zeros(3, numpy_dtype(spec.layout.fields, spec.layout.size))
    rows["sig"], rows["comm"] = [10, 12, 15], [b"a", b"bb", b"ccc"]
    batch = Batch(1.0, rows.tobytes(), 3, spec.layout.size, 2)
    merged = with_host(spec)
    assert merged.layout is not None and merged.layout.names[0] == HOST_FIELD
    out = tagged(batch, host_bytes("web2"))
    assert (out.count, out.drops, out.record_size) == (3, 2, merged.layout.size)
    decoded = Decoders.of(merged).events
    assert decoded is not None
    got = decoded.array(out.records, out.count)
    assert list(got[HOST_FIELD]) == [b"web2"] * 3
    assert list(got["sig"]) == [10, 12, 15] and list(got["comm"]) == [b"a", b"bb", b"ccc"]


def test_per_host_rates_for_the_status_bar_and_the_sparklines() -> None:
    from lmp_tui.runtime.runs.fleet import FleetSession
    from lmp_tui.runtime.runs.stream import StreamSession
    from lmp_tui.widgets.status import Status, StatusBar

    hosts = [StreamSession(-1, name, host=name) for name in ("web1", "web2")]
    fleet = FleetSession("sigsnoop", hosts)
    for second, (one, two) in enumerate([(5, 0), (7, 1), (2, 9)]):
        fleet.received("web1", one, now=100 + second + 0.5)
        fleet.received("web2", two, now=100 + second + 0.5)
    assert fleet.counts == {"web1": 14, "web2": 10}
    assert fleet.host_rates(now=102.2) == {"web1": 7.0, "web2": 1.0}  # the last whole second
    series = fleet.host_series(4, now=102.2)
    assert list(series["web1"]) == [0, 5, 7, 2] and list(series["web2"]) == [0, 0, 1, 9]
    text = StatusBar.render_status(
        Status(program="sigsnoop@web1,web2", hosts="web1 7/s · web2 1/s")
    )
    assert "total 0 │ web1 7/s · web2 1/s │ drops" in text.plain


@pytest.mark.kernel
@pytest.mark.usefixtures("no_leaks")
async def test_runqlat_from_another_host_fills_its_histograms(sshd: str) -> None:
    """A map program streams its snapshots: runqlat's histogram view, from web1."""
    from lmp_tui.runtime.stream.store import SnapshotStore

    runqlat = hub.find_builtin("runqlat")
    app = LmpApp(
        Config(tui=TuiSettings(theme="dark")),
        programs=[runqlat],
        session_factory=remote_sessions(["web1"], LMP, sshd),
        availability=lambda _: None,
        probe_bpf=False,
        hosts=["web1"],
    )
    async with app.run_test(size=(120, 40)) as pilot:
        app.start_program(runqlat, RunSettings())
        await wait_for(lambda: app.runs.values(), 60, "runqlat on web1")
        run = next(iter(app.runs.values()))
        assert isinstance(run, SessionRun) and run.name == "runqlat@web1"
        store = run.store
        assert isinstance(store, SnapshotStore)
        await wait_for(lambda: store.snapshots > 0, 15, "a snapshot from web1")
        await pilot.press("x")
        await wait_for(lambda: run.state != "running", 20, "the view to stop")
    deadline = time.monotonic() + 15
    while remote_lmp_processes() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert remote_lmp_processes() == []
