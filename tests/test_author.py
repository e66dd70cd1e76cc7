"""The author workflow, as the LMP article runs it: ``lmp init hello`` -> ``lmp build`` ->
``lmp run package.json`` -> ``lmp gen-wasm-skel`` -> ``lmp build-wasm`` -> ``lmp run app.wasm``.

The commands run as ``python -m lmp_tui.cli``; ``app.wasm`` runs through the wasm host directly.
Kernel tests are not skipped.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import ROOT
from test_wasm_host import no_wasm_leaks  # noqa: F401 - a fixture

from lmp_tui.runtime.wasm.host import run_wasm

DATA = Path(__file__).parent / "data"
EVENT_FIELDS = ["pid", "ppid", "exit_code", "duration_ns", "comm", "filename", "exit_event"]


def lmp(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "lmp_tui.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def one_line_error(res: subprocess.CompletedProcess[str]) -> str:
    """The error: one ``lmp:`` line at the end (after any progress lines), no traceback."""
    assert res.returncode != 0
    assert "Traceback" not in res.stderr
    errors = [ln for ln in res.stderr.splitlines() if ln.strip() and not ln.startswith("  ")]
    assert len(errors) == 1 and errors[0].startswith("lmp: "), res.stderr
    return errors[0]


@pytest.fixture
def marker(tmp_path) -> Path:
    """A copy of /bin/true under a name (and comm) no other process has."""
    path = tmp_path / "bin" / "lmp-hello-mark"
    path.parent.mkdir()
    shutil.copy("/bin/true", path)
    return path


def exec_when(stream: io.StringIO, text: str, program: Path, count: int) -> threading.Thread:
    """Exec ``program`` ``count`` times once ``text`` shows in ``stream`` (the app attached)."""

    def work() -> None:
        deadline = time.monotonic() + 15
        while text not in stream.getvalue() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
        for _ in range(count):
            subprocess.run([str(program)], check=False)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


# -- lmp init ---------------------------------------------------------------------------------


def test_init_creates_the_bootstrap_project(tmp_path):
    res = lmp("init", "hello", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    project = tmp_path / "hello"
    assert res.stdout.strip() == "hello" or Path(res.stdout.strip()) == project
    assert sorted(p.name for p in project.iterdir()) == [
        ".gitignore",
        "README.md",
        "bootstrap.bpf.c",
        "bootstrap.h",
        "config.json",
        "lmp_events.bpf.h",
    ]
    config = json.loads((project / "config.json").read_text())
    assert config["name"] == "hello" and config["template"] == "bootstrap"
    assert config["source"] == "bootstrap.bpf.c" and config["header"] == "bootstrap.h"
    source = (project / "bootstrap.bpf.c").read_text()
    assert 'SEC("tp/sched/sched_process_exec")' in source
    assert 'SEC("tp/sched/sched_process_exit")' in source
    assert '#include "lmp_events.bpf.h"' in source and '#include "vmlinux.h"' in source
    events = (project / "lmp_events.bpf.h").read_text()
    assert "BPF_MAP_TYPE_RINGBUF" in events and "} events SEC" in events
    header = (project / "bootstrap.h").read_text()
    for field in EVENT_FIELDS:
        assert f" {field}" in header
    assert (project / "README.md").read_text().startswith("# hello\n")


def test_init_minimal_template_and_directory_option(tmp_path):
    res = lmp("init", "tiny", "--template", "minimal", "-C", str(tmp_path / "sub"), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    project = tmp_path / "sub" / "tiny"
    assert (project / "minimal.bpf.c").is_file() and (project / "minimal.h").is_file()
    assert json.loads((project / "config.json").read_text())["template"] == "minimal"


@pytest.mark.usefixtures("no_wasm_leaks")
def test_minimal_template_builds_and_runs_as_wasm(tmp_path, marker):
    assert lmp("init", "tiny", "-t", "minimal", cwd=tmp_path).returncode == 0
    project = tmp_path / "tiny"
    for step in ("build", "gen-wasm-skel", "build-wasm"):
        res = lmp(step, cwd=project)
        assert res.returncode == 0, (step, res.stderr)
    out, err = io.StringIO(), io.StringIO()
    exec_when(err, "waiting for the ebpf events", marker, 2)
    assert run_wasm((project / "app.wasm").read_bytes(), [], out, err, duration=2.5) == 0
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r for r in rows if r["comm"] == marker.name] == [
        {"pid": r["pid"], "comm": marker.name} for r in rows if r["comm"] == marker.name
    ]
    assert len([r for r in rows if r["comm"] == marker.name]) == 2


def test_init_refuses_to_overwrite(tmp_path):
    (tmp_path / "hello").mkdir()
    (tmp_path / "hello" / "mine.c").write_text("keep me")
    line = one_line_error(lmp("init", "hello", cwd=tmp_path))
    assert "already exists" in line
    assert (tmp_path / "hello" / "mine.c").read_text() == "keep me"
    assert sorted(p.name for p in (tmp_path / "hello").iterdir()) == ["mine.c"]
    # an empty directory is fine, as `git clone` into it would be
    (tmp_path / "empty").mkdir()
    assert lmp("init", "empty", cwd=tmp_path).returncode == 0


@pytest.mark.parametrize("name", ["bad name", "../escape", "a/b", "1abc", ".x", "a" * 65, "é"])
def test_init_validates_names(tmp_path, name):
    line = one_line_error(lmp("init", name, cwd=tmp_path))
    assert "invalid project name" in line
    assert list(tmp_path.iterdir()) == []


def test_init_unknown_template_is_a_usage_error(tmp_path):
    res = lmp("init", "x", "--template", "nope", cwd=tmp_path)
    assert res.returncode == 2 and "invalid choice" in res.stderr
    assert list(tmp_path.iterdir()) == []


def test_wasm_commands_need_a_built_project(tmp_path):
    assert lmp("init", "hello", cwd=tmp_path).returncode == 0
    line = one_line_error(lmp("gen-wasm-skel", cwd=tmp_path / "hello"))
    assert "package.json does not exist: run `lmp build`" in line
    line = one_line_error(lmp("build-wasm", cwd=tmp_path / "hello"))
    assert "run `lmp build`" in line
    line = one_line_error(lmp("gen-wasm-skel", str(tmp_path / "nope"), cwd=tmp_path))
    assert "no such project directory" in line


# -- the whole workflow on this kernel ------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """``lmp init hello`` then ``lmp build`` from inside the project."""
    tmp = tmp_path_factory.mktemp("author")
    assert lmp("init", "hello", cwd=tmp).returncode == 0
    project = tmp / "hello"
    res = lmp("build", cwd=project)
    assert res.returncode == 0, res.stderr
    assert (project / "package.json").is_file() and (project / "bootstrap.bpf.o").is_file()
    return project


@pytest.mark.usefixtures("no_wasm_leaks")
def test_lmp_run_package_json_shows_exec_and_exit(built, marker):
    proc = subprocess.Popen(
        [sys.executable, "-m", "lmp_tui.cli", "run", str(built / "package.json")]
        + ["--duration", "3", "--json"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert "waiting for events" in proc.stderr.readline()
    subprocess.run([str(marker)], check=True)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    execs = [r for r in rows if r["filename"] == str(marker)]
    exits = [r for r in rows if r["comm"] == marker.name and r["exit_event"]]
    assert len(execs) == 1 and not execs[0]["exit_event"]
    assert len(exits) == 1 and exits[0]["pid"] == execs[0]["pid"]
    assert exits[0]["exit_code"] == 0 and exits[0]["duration_ns"] > 0


@pytest.fixture(scope="module")
def app_wasm(built) -> Path:
    gen = lmp("gen-wasm-skel", cwd=built)
    assert gen.returncode == 0, gen.stderr
    for name in (
        "app.c",
        "bootstrap.skel.h",
        "bootstrap.wasm.h",
        "wasm-include/libbpf-wasm.h",
        "wasm-include/lmp-wasm-app.h",
    ):
        assert (built / name).is_file(), name
    res = lmp("build-wasm", cwd=built)
    assert res.returncode == 0, res.stderr
    app = built / "app.wasm"
    assert Path(res.stdout.strip()) == app
    assert app.read_bytes()[:4] == b"\0asm"
    return app


@pytest.mark.usefixtures("no_wasm_leaks")
def test_app_wasm_prints_every_event_as_json(app_wasm, marker):
    out, err = io.StringIO(), io.StringIO()
    execs = 10
    exec_when(err, "waiting for the ebpf events", marker, execs)
    rc = run_wasm(app_wasm.read_bytes(), [], out, err, duration=4)
    assert rc == 0, err.getvalue()
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert rows and all(list(r) == EVENT_FIELDS for r in rows)  # struct order, as the article
    mine = [r for r in rows if r["comm"] == marker.name]
    starts = [r for r in mine if not r["exit_event"]]
    ends = [r for r in mine if r["exit_event"]]
    assert len(starts) == execs and len(ends) == execs, mine
    assert all(r["filename"] == str(marker) for r in starts)
    assert all(r["exit_code"] == 0 and r["duration_ns"] > 0 for r in ends)
    assert {r["pid"] for r in starts} == {r["pid"] for r in ends}
    assert all(r["ppid"] == os.getpid() for r in starts)


@pytest.mark.usefixtures("no_wasm_leaks")
def test_app_wasm_options_set_rodata_before_load(app_wasm, marker):
    # --duration 1: min_duration_ns = 1, so only exits are reported (as `lmp run` -- -d 1)
    out, err = io.StringIO(), io.StringIO()
    exec_when(err, "waiting for the ebpf events", marker, 3)
    assert run_wasm(app_wasm.read_bytes(), ["--duration", "1"], out, err, duration=3) == 0
    mine = [json.loads(x) for x in out.getvalue().splitlines() if marker.name in x]
    assert len(mine) == 3 and all(r["exit_event"] for r in mine), mine


def test_app_wasm_usage_and_bad_options(app_wasm):
    out, err = io.StringIO(), io.StringIO()
    assert run_wasm(app_wasm.read_bytes(), ["--help"], out, err) == 0
    assert "-d, --duration VALUE" in err.getvalue()
    out, err = io.StringIO(), io.StringIO()
    assert run_wasm(app_wasm.read_bytes(), ["-d", "soon"], out, err) == 2
    assert "invalid value for --duration: soon" in err.getvalue()


def test_gen_wasm_skel_keeps_app_c_unless_forced(app_wasm):
    project = app_wasm.parent
    app = project / "app.c"
    original = app.read_text()
    app.write_text(original + "\n/* mine */\n")
    res = lmp("gen-wasm-skel", cwd=project)
    assert res.returncode == 0 and "KEEP" in res.stderr
    assert app.read_text().endswith("/* mine */\n")
    assert lmp("gen-wasm-skel", "--force", cwd=project).returncode == 0
    assert app.read_text() == original


def test_build_wasm_reports_compile_errors_in_one_line(tmp_path, app_wasm):
    project = tmp_path / "broken"
    shutil.copytree(app_wasm.parent, project)
    (project / "app.c").write_text("int main(void) { return undefined_thing; }\n")
    line = one_line_error(lmp("build-wasm", cwd=project))
    assert "clang failed to build app.c: app.c:1:25: error:" in line and "undefined_thing" in line


def test_build_wasm_regenerates_stale_headers(tmp_path, app_wasm):
    project = tmp_path / "stale"
    shutil.copytree(app_wasm.parent, project)
    (project / "bootstrap.skel.h").unlink()
    res = lmp("build-wasm", cwd=project)
    assert res.returncode == 0, res.stderr
    assert "regenerating the headers" in res.stderr
    assert (project / "bootstrap.skel.h").is_file()


# -- generated code for a richer layout ----------------------------------------------------------


@pytest.mark.usefixtures("no_wasm_leaks")
def test_generated_app_for_nested_struct_enum_int128_and_options(tmp_path):
    project = tmp_path / "execwatch"
    shutil.copytree(DATA / "execwatch", project)
    for step in ("build", "gen-wasm-skel", "build-wasm"):
        res = lmp(step, cwd=project)
        assert res.returncode == 0, (step, res.stderr)
    # A child that execs /bin/true a moment later, in the same pid: --pid selects just it.
    child = subprocess.Popen(["sh", "-c", "sleep 1.2; exec /bin/true"])
    out, err = io.StringIO(), io.StringIO()
    args = ["--pid", str(child.pid), "--stamp_base", "5", "--targ_comm", "abc"]
    rc = run_wasm((project / "app.wasm").read_bytes(), args, out, err, duration=2.5)
    child.wait()
    assert rc == 0, err.getvalue()
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(rows) == 1, rows
    row = rows[0]
    assert row["ids"] == {
        "pid": child.pid,
        "ppid": os.getpid(),
        "__EUNOMIA_TYPE": "struct",
        "__EUNOMIA_TYPE_NAME": "ids",
    }
    assert row["kind"] == "KIND_EXEC(1)"
    assert row["comm"] == "true"
    assert row["stamp"] == str((1 << 100) + 5)  # 128-bit, as a decimal string
    assert isinstance(row["ns"], int) and row["ns"] > 0
