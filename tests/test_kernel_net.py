"""XDP, TC and perf_event packages, attached from their metadata as eunomia's loader does.

Each network test makes its own pair of network namespaces joined by a veth pair, runs ``lmp``
inside one of them (``ip netns exec``), pings, and checks what was counted and that the
namespace's XDP, TC and qdisc state afterwards is what it was before.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import LMP, ROOT, lmp

from lmp_tui.runtime.author.build import build
from lmp_tui.runtime.kernel.perf_event import online_cpus

DATA = Path(__file__).parent / "data"
VMLINUX = ROOT / "lmp_tui/hub/include/x86"
ICMP, ETH_P_IP = 1, 0x0800

pytestmark = pytest.mark.usefixtures("no_leaks")


@pytest.fixture(scope="module")
def packages(tmp_path_factory) -> dict[str, Path]:
    """The test packages, built with ``lmp build`` from their doc-comment metadata."""
    out = {}
    for name in ("xdpcount", "tccount", "cpuclock"):
        dest = tmp_path_factory.mktemp(name)
        out[name] = build(
            DATA / name, outdir=dest, vmlinux=VMLINUX, log=lambda _: None
        ).package_json
    return out


def sh(*cmd: str) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


@dataclass(frozen=True)
class Net:
    """Namespace ``here`` (where lmp runs, veth ``veth_here`` 10.201.0.1) and ``peer``
    (``veth_peer`` 10.201.0.2)."""

    here: str
    peer: str
    veth_here: str = "lmpv0"
    addr_here: str = "10.201.0.1"

    def run(self, ns: str, *cmd: str) -> str:
        return sh("ip", "netns", "exec", ns, *cmd)

    def state(self) -> tuple[str, str, str]:
        """What an attach may change in ``here``: XDP and TC programs, qdiscs, filters."""
        return (
            self.run(self.here, "bpftool", "net"),
            self.run(self.here, "tc", "qdisc", "show"),
            self.run(self.here, "tc", "filter", "show", "dev", "lo", "ingress"),
        )

    def ping(self, ns: str, addr: str, count: int) -> None:
        self.run(ns, "ping", "-q", "-c", str(count), "-i", "0.2", "-W", "2", addr)


@pytest.fixture
def net() -> Iterator[Net]:
    tag = f"{os.getpid()}x{time.monotonic_ns() % 100000}"
    n = Net(f"lmpt-a{tag}", f"lmpt-b{tag}")
    for ns in (n.here, n.peer):
        sh("ip", "netns", "add", ns)
    try:
        sh("ip", "link", "add", n.veth_here, "netns", n.here, "type", "veth", "peer", "lmpv1",
           "netns", n.peer)  # fmt: skip
        for ns, dev, addr in ((n.here, n.veth_here, n.addr_here), (n.peer, "lmpv1", "10.201.0.2")):
            n.run(ns, "ip", "addr", "add", f"{addr}/24", "dev", dev)
            n.run(ns, "ip", "link", "set", dev, "up")
            n.run(ns, "ip", "link", "set", "lo", "up")
        yield n
    finally:
        for ns in (n.here, n.peer):
            subprocess.run(["ip", "netns", "del", ns], check=False)


class Running:
    """``lmp run`` in a namespace, started and waited for until attached (its header)."""

    def __init__(self, net: Net, *args: str) -> None:
        cmd = ["ip", "netns", "exec", net.here, *LMP, "run", *args]
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        # plain output: the header, printed once everything is attached; -j: the first record
        self.header = self.proc.stdout.readline()
        assert self.header.startswith(("TIME", "{")), self._stderr()

    def _stderr(self) -> str:
        self.proc.kill()
        return self.proc.communicate()[1]

    def stop(self, sig: int) -> tuple[list[str], str, int]:
        time.sleep(0.3)  # the last packets' records reach the ring buffer
        self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=20)
        return out.splitlines(), err, self.proc.returncode


def icmp_rows(lines: list[str]) -> list[list[str]]:
    """Plain rows ``TIME IFINDEX LEN ETH_PROTO IP_PROTO PAD`` that are IPv4 ICMP."""
    rows = [line.split() for line in lines]
    return [r for r in rows if r[3] == str(ETH_P_IP) and r[4] == str(ICMP)]


STOPS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]


@pytest.mark.parametrize("program", ["xdpcount", "tccount"])
@pytest.mark.parametrize("sig", STOPS, ids=lambda s: signal.Signals(s).name)
def test_attach_from_metadata_counts_pings_and_leaves_nothing(net, packages, program, sig):
    """The package's own interface (ifindex 1: the namespace's lo): 3 pings to 127.0.0.1 are
    6 ICMP packets received on lo (requests and replies)."""
    before = net.state()
    run = Running(net, str(packages[program]))
    assert "clsact" in net.run(net.here, "tc", "qdisc", "show", "dev", "lo") or program != "tccount"
    net.ping(net.here, "127.0.0.1", 3)
    lines, err, code = run.stop(sig)
    rows = icmp_rows(lines)
    assert len(rows) == 6, lines
    assert {r[1] for r in rows} == {"1"}  # ifindex of lo
    assert code == 128 + sig, err
    assert err.strip().splitlines()[-1].endswith("detached")
    assert net.state() == before


@pytest.mark.parametrize("program", ["xdpcount", "tccount"])
@pytest.mark.parametrize("option", ["--ifname", "--ifindex"])
def test_interface_option_moves_the_attach(net, packages, program, option):
    """Pinged from the peer namespace over the veth pair: 3 requests arrive on the veth the
    option names, none on lo (where the package would have attached)."""
    before = net.state()
    index = net.run(net.here, "cat", f"/sys/class/net/{net.veth_here}/ifindex").strip()
    where = net.veth_here if option == "--ifname" else index
    run = Running(net, str(packages[program]), option, where)
    net.ping(net.peer, net.addr_here, 3)
    lines, err, code = run.stop(signal.SIGINT)
    rows = icmp_rows(lines)
    assert len(rows) == 3, lines
    assert {r[1] for r in rows} == {index}
    assert code == 128 + signal.SIGINT, err
    assert net.state() == before


def test_tc_keeps_a_qdisc_it_did_not_create(net, packages):
    net.run(net.here, "tc", "qdisc", "add", "dev", "lo", "clsact")
    before = net.state()
    run = Running(net, str(packages["tccount"]))
    net.ping(net.here, "127.0.0.1", 1)
    lines, err, code = run.stop(signal.SIGINT)
    assert len(icmp_rows(lines)) == 2 and code == 128 + signal.SIGINT, err
    assert net.state() == before
    assert "clsact" in before[1]


def test_second_xdp_program_on_an_interface_is_refused(net, packages):
    first = Running(net, str(packages["xdpcount"]))
    second = subprocess.run(
        ["ip", "netns", "exec", net.here, *LMP, "run", str(packages["xdpcount"])],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    first.stop(signal.SIGINT)
    assert second.returncode == 1
    assert second.stderr.strip().splitlines() == [
        "lmp: cannot attach xdp_count (xdp) to lo: another XDP program is attached to lo"
    ]


def test_hub_xdpstat_counts_pings_per_protocol(net):
    run = Running(net, "xdpstat")
    net.ping(net.here, "127.0.0.1", 3)
    time.sleep(1.2)  # one more sampling round after the pings
    lines, err, code = run.stop(signal.SIGINT)
    # plain sampled-map rows, as ecli prints them: TIME {key} {value}
    decoder = json.JSONDecoder()
    samples = []
    for line in lines:
        rest = line.split(" ", 1)[1]
        key, end = decoder.raw_decode(rest)
        samples.append((key, decoder.raw_decode(rest[end:].lstrip())[0]))
    icmp = [
        value
        for key, value in samples
        if key == {"eth_proto": ETH_P_IP, "ip_proto": ICMP, "pad": 0}
    ]
    assert icmp, lines
    assert icmp[-1] == {"packets": 6, "bytes": 6 * 98}
    assert code == 128 + signal.SIGINT, err


def test_perf_event_samples_every_cpu(packages):
    """CPU-clock sampling at 49 Hz on every online CPU: an idle CPU is sampled too (its idle
    task), so each CPU shows up within a second."""
    out = lmp("run", str(packages["cpuclock"]), "-j", "--duration", "1.5")
    assert out.returncode == 0, out.stderr
    cpus = {json.loads(line)["cpu"] for line in out.stdout.splitlines()}
    assert cpus == set(online_cpus())


def test_interface_option_needs_a_network_program(packages):
    out = lmp("run", str(packages["cpuclock"]), "--ifname", "lo", "--duration", "1")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "lmp: --ifname/--ifindex apply to XDP and TC programs; cpuclock has none"
    ]


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--ifname", "nosuchif0"], "lmp: no network interface named 'nosuchif0'"),
        (["--ifindex", "999999"], "lmp: no network interface with index 999999"),
    ],
)
def test_unknown_interface_is_one_line(packages, option, message):
    out = lmp("run", str(packages["xdpcount"]), *option, "--duration", "1")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [message]
