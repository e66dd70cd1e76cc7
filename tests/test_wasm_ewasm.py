"""Legacy eunomia "ewasm" modules (spec 5.2): built here with clang for wasm32-wasi as ecc's
template shaped them (no _start; bpf_main / process_event; the package JSON embedded), and run by
the same host as wasm-bpf apps."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
from conftest import ROOT
from test_wasm_host import no_wasm_leaks  # noqa: F401 - a fixture

from lmp_tui.runtime.author.wasm_build import ewasm_skel_header, wasi_sysroot
from lmp_tui.runtime.wasm.guest import RunOptions, WasmTrapError, detect_abi
from lmp_tui.runtime.wasm.host import create_app, run_wasm

DATA = Path(__file__).parent / "data" / "wasm"
PACKAGE = ROOT / "lmp_tui/hub/bootstrap/package.json"

pytestmark = pytest.mark.usefixtures("no_wasm_leaks")


def build_ewasm(tmp: Path, package_json: bytes, *flags: str) -> bytes:
    """ewasm_app.c with this package embedded; ``-mexec-model=reactor`` means no _start."""
    (tmp / "ewasm-skel.h").write_text(ewasm_skel_header(package_json))
    out = tmp / "ewasm.wasm"
    cmd = [
        "clang",
        "--target=wasm32-wasi",
        f"--sysroot={wasi_sysroot()}",
        "-mexec-model=reactor",
        "-O2",
        f"-I{tmp}",
        *flags,
        str(DATA / "ewasm_app.c"),
        "-o",
        str(out),
    ]
    subprocess.run(cmd, check=True)
    return out.read_bytes()


@pytest.fixture
def marker(tmp_path) -> Path:
    """A copy of /bin/true under a name no other process has."""
    path = tmp_path / "lmp-ewasm-mark"
    shutil.copy("/bin/true", path)
    return path


def exec_after(stream: io.StringIO, text: str, program: Path, count: int = 3) -> None:
    """Exec ``program`` once ``text`` shows in the guest's output (it prints ARGS first, then
    loads and attaches)."""

    def work() -> None:
        deadline = time.monotonic() + 10
        while text not in stream.getvalue() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.7)
        for _ in range(count):
            subprocess.run([str(program)], check=False)

    threading.Thread(target=work, daemon=True).start()


@pytest.mark.parametrize("export_malloc", [True, False], ids=["guest-malloc", "host-pages"])
def test_ewasm_module_prints_its_events(tmp_path, marker, export_malloc):
    flags = ["-Wl,--export=malloc"] if export_malloc else []
    data = build_ewasm(tmp_path, PACKAGE.read_bytes(), *flags)
    assert detect_abi(data) == "ewasm"
    out, err = io.StringIO(), io.StringIO()
    kept: list[str] = []
    app = create_app(data, ["-v", "x"], out, err, RunOptions(duration=3, on_event=kept.append))
    exec_after(out, "ARGS", marker)
    assert app.run() == 0, err.getvalue()
    lines = out.getvalue().splitlines()
    assert lines[0] == 'ARGS ["app.wasm", "-v", "x"]'
    assert lines[-1] == "DONE"  # wait_and_poll_bpf returned when the run was stopped
    events = [json.loads(line[len("EVENT ") :]) for line in lines if line.startswith("EVENT ")]
    mine = [e for e in events if e["filename"] == str(marker)]
    assert len(mine) == 3, events
    assert mine[0]["comm"] == marker.name and mine[0]["exit_event"] is False
    # ecli's JSON: keys sorted, every field of the export struct
    assert list(mine[0]) == sorted(
        ["pid", "ppid", "exit_code", "duration_ns", "comm", "filename", "exit_event"]
    )
    assert len(kept) == len(events)  # process_event returned 0 for each: all kept


def test_a_bad_embedded_package_is_one_line_and_the_guest_decides(tmp_path):
    data = build_ewasm(tmp_path, b'{"not": "a package"}', "-Wl,--export=malloc")
    out, err = io.StringIO(), io.StringIO()
    assert run_wasm(data, [], out, err) == 3  # bpf_main returns 3 when create_bpf fails
    assert "create_bpf:" in err.getvalue()
    assert "not an eunomia package" in err.getvalue()


def test_a_trap_in_process_event_is_reported(tmp_path, marker):
    data = build_ewasm(
        tmp_path, PACKAGE.read_bytes(), "-Wl,--export=malloc", "-DTRAP_IN_PROCESS_EVENT"
    )
    out = io.StringIO()
    exec_after(out, "ARGS", marker)
    with pytest.raises(WasmTrapError, match="trapped in process_event"):
        run_wasm(data, [], out, io.StringIO(), duration=10)
