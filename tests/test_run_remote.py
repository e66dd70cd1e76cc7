"""`lmp run` by OCI reference and by remote-Hub name: fetched, verified, cached, really run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from conftest import ROOT, assert_no_leaks, bpf_prog_ids
from registry import LMP, http_server, lmp, make_tls

SIGSNOOP = ROOT / "lmp_tui/hub/sigsnoop/package.json"


def run_and_signal(*args: str) -> tuple[list[dict], int]:
    """`lmp run ... --json`, one SIGUSR1 to a child, SIGINT: the rows and the child's pid."""
    child = subprocess.Popen(["sleep", "30"])
    proc = subprocess.Popen(
        [*LMP, "run", *args, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=dict(os.environ),
    )
    try:
        line = proc.stderr.readline()
        assert "waiting for events" in line, line + proc.stderr.read()
        os.kill(child.pid, signal.SIGUSR1)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=10)
    finally:
        child.kill()
        child.wait()
    return [json.loads(ln) for ln in out.splitlines()], child.pid


def test_push_then_run_by_reference(registry, lmp_dirs):
    before = bpf_prog_ids()
    ref = f"127.0.0.1:{registry.port}/lmp/sigsnoop:v1"
    pushed = lmp("push", str(SIGSNOOP), ref, "--insecure")
    assert pushed.returncode == 0, pushed.stderr
    rows, pid = run_and_signal(ref, "--insecure")
    assert any(r["tpid"] == pid and r["sig"] == 10 for r in rows), rows
    assert_no_leaks(before)


def test_run_by_name_from_a_web_hub_then_from_the_cache(lmp_dirs, tmp_path):
    site = tmp_path / "site"
    (site / "mysig").mkdir(parents=True)
    shutil.copy(SIGSNOOP, site / "mysig/package.json")
    with http_server(site) as (url, requests):
        config = Path(lmp_dirs["LMP_CONFIG_DIR"]) / "config.toml"
        config.parent.mkdir(parents=True)
        config.write_text(f'[[hub]]\nurl = "{url}"\n')
        rows, pid = run_and_signal("mysig")
        assert any(r["tpid"] == pid for r in rows)
        assert requests == ["/mysig/package.json"]
        rows, pid = run_and_signal("mysig")
        assert any(r["tpid"] == pid for r in rows)
        assert requests == ["/mysig/package.json"]  # the second run used the cache


def record_and_signal(tmp_path: Path, *args: str) -> tuple[list[dict], int]:
    """`lmp record ARGS -o FILE`, one SIGUSR1 to a child, SIGINT: the recording's rows (as
    `lmp replay --json` prints them) and the child's pid."""
    out = tmp_path / "x.lmprec"
    out.unlink(missing_ok=True)
    child = subprocess.Popen(["sleep", "30"])
    proc = subprocess.Popen(
        [*LMP, "record", *args, "-o", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        line = proc.stderr.readline()
        assert "waiting for events" in line, line + proc.stderr.read()
        os.kill(child.pid, signal.SIGUSR1)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    finally:
        child.kill()
        child.wait()
    assert proc.returncode == 128 + signal.SIGINT and "Traceback" not in err, err
    replay = lmp("replay", str(out), "--json", "--max-speed")
    assert replay.returncode == 0, replay.stderr
    return [json.loads(ln) for ln in replay.stdout.splitlines()], child.pid


def test_record_by_registry_reference(registry, lmp_dirs, tmp_path):
    before = bpf_prog_ids()
    ref = f"127.0.0.1:{registry.port}/lmp/sigsnoop:rec"
    assert lmp("push", str(SIGSNOOP), ref, "--insecure").returncode == 0
    rows, pid = record_and_signal(tmp_path, ref, "--insecure")
    assert any(r["tpid"] == pid and r["sig"] == 10 for r in rows), rows
    assert_no_leaks(before)


def test_record_by_https_url(lmp_dirs, tmp_path):
    before = bpf_prog_ids()
    tls = make_tls(tmp_path / "tls")
    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(SIGSNOOP, site / "package.json")
    with http_server(site, tls) as (url, requests):
        rows, pid = record_and_signal(tmp_path, url + "package.json", "--ca-file", str(tls.ca))
    assert requests == ["/package.json"]
    assert any(r["tpid"] == pid and r["sig"] == 10 for r in rows), rows
    assert_no_leaks(before)
