"""Nothing is lost on the way in: every event a steady load makes reaches the consumer.

A C helper (bench/loadgen.c) calls openat() 20,000 times a second for 2 s, each on a path
with its call number; the Hub's opensnoop (ring buffer) and tests/data/perfsnoop (a perf event
array, the libbpf-tools way) must deliver every call, in the runtime's own async path, with
0 drops. Not a timing test: the rate is one any machine sustains.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from lmp_tui.runtime.author.build import build
from lmp_tui.runtime.distribution.hub import find_builtin
from lmp_tui.runtime.format.package import Package, load_package
from lmp_tui.runtime.runs.session import LiveSession

ROOT = Path(__file__).resolve().parent.parent
RATE, SECONDS = 20_000, 2.0
CALLS = int(RATE * SECONDS)

pytestmark = [pytest.mark.kernel, pytest.mark.usefixtures("no_leaks")]


@pytest.fixture(scope="module")
def loadgen(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("loadgen") / "loadgen"
    gcc = shutil.which("gcc")
    assert gcc, "gcc is needed to build the load generator (setup.sh installs it)"
    subprocess.run([gcc, "-O2", "-o", str(out), str(ROOT / "bench/loadgen.c")], check=True)
    return out


@pytest.fixture(scope="module")
def perfsnoop(tmp_path_factory: pytest.TempPathFactory) -> Package:
    out = tmp_path_factory.mktemp("perfsnoop")
    vmlinux = ROOT / "lmp_tui/hub/include/x86"
    result = build(ROOT / "tests/data/perfsnoop/perfsnoop.bpf.c", outdir=out, vmlinux=vmlinux)
    return load_package(result.package_json)


def consume_all(package: Package, loadgen: Path) -> tuple[list[str], int, str]:
    """Runs the load with ``package`` attached (filtered to the generator's pid); returns
    the paths received, the drops counted and the export kind."""
    gen = subprocess.Popen(
        [str(loadgen), "open", "-1", str(RATE), str(SECONDS)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert gen.stdin is not None
    session = LiveSession(package, {"targ_pid": gen.pid}).start()
    names: list[str] = []
    drops = 0

    async def pump() -> None:
        nonlocal drops
        decoder = session.decoders.events
        assert session.source is not None and decoder is not None
        async for batch in session.source:
            drops += batch.drops + batch.shed
            arr = decoder.array(batch.records, batch.count)
            names.extend(np.char.decode(arr["fname"], "utf-8").tolist())

    async def main() -> None:
        task = asyncio.ensure_future(pump())
        gen.stdin.write(b"g")  # type: ignore[union-attr]
        gen.stdin.flush()  # type: ignore[union-attr]
        while gen.poll() is None:
            await asyncio.sleep(0.05)
        session.stop()  # detach; the source hands over what the kernel still held
        await asyncio.wait_for(task, 5)

    try:
        asyncio.run(main())
    finally:
        session.close()
        gen.kill()
        gen.wait()
    return names, drops, session.spec.kind


@pytest.mark.parametrize("which", ["opensnoop", "perfsnoop"])
def test_every_open_of_a_steady_load_is_received(which, loadgen, perfsnoop):
    package = find_builtin("opensnoop").package if which == "opensnoop" else perfsnoop
    names, drops, kind = consume_all(package, loadgen)
    assert kind == ("ringbuf" if which == "opensnoop" else "perf")
    assert drops == 0
    assert len(names) == CALLS
    assert set(names) == {f"/nonexistent/lmp-load/{n}" for n in range(CALLS)}
