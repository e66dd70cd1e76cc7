"""``[[export]]`` tables: metrics the layout's defaults do not make (a counter by chosen fields,
a gauge of a field, a histogram of a field into given buckets), checked in the config file on
their own and against the program's layout when exported; promtool accepts what they make."""

from __future__ import annotations

import subprocess
import tomllib

import pytest
from prometheus_client.parser import text_string_to_metric_families
from test_export import exposition, fed, samples

from lmp_tui.runtime.config import ExportEntry, parse_config
from lmp_tui.runtime.distribution import hub
from lmp_tui.runtime.export.families import configured, families

CONFIG = """
[[export]]
program = "bootstrap"
metric = "lifetime"
kind = "histogram"
value = "duration_ns"
buckets = [0.001, 0.01, 0.1, 1, 10]

[[export]]
program = "opensnoop"
metric = "opens_by_flags"
labels = ["flags", "comm"]

[[export]]
program = "bootstrap"
metric = "last_exit_code"
kind = "gauge"
value = "exit_code"
labels = ["comm"]

[[export]]
program = "tcpstates"
metric = "time_in_state"
value = "delta_us"
labels = ["oldstate"]
"""


def entries() -> tuple[ExportEntry, ...]:
    config = parse_config(tomllib.loads(CONFIG))
    assert config.problems == ()
    return config.exports


def test_the_config_file_reads_export_tables() -> None:
    lifetime = entries()[0]
    assert lifetime == ExportEntry(
        "bootstrap", "lifetime", "histogram", (), "duration_ns", (0.001, 0.01, 0.1, 1.0, 10.0)
    )


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ('metric = "x"', 'program = "..." is required'),
        ('program = "p"\nmetric = "x"\nkind = "summary"', "kind must be one of"),
        ('program = "p"\nmetric = "x"\nkind = "gauge"', 'a gauge needs value = "field"'),
        ('program = "p"\nmetric = "x"\nkind = "histogram"\nvalue = "v"', "needs buckets"),
        (
            'program = "p"\nmetric = "x"\nkind = "histogram"\nvalue = "v"\nbuckets = [2, 1]',
            "increasing",
        ),
        ('program = "p"\nmetric = "x"\nbuckets = [1]', "buckets are for a histogram"),
        ('program = "p"\nmetric = "x"\nlabels = "comm"', "labels must be a list"),
        ('program = "p"\nmetric = "x"\nlabel = ["comm"]', "unknown key(s) label"),
        ('program = "p"\nmetric = "x"\nlabels = ["comm", "comm"]', "labels must be distinct"),
        (
            'program = "p"\nmetric = "x"\nkind = "histogram"\nvalue = "v"\nbuckets = [1, inf]',
            "finite numbers",
        ),
    ],
)
def test_a_broken_table_is_said_and_left_out(table: str, problem: str) -> None:
    config = parse_config(tomllib.loads(f"[[export]]\n{table}\n"))
    assert config.exports == ()
    assert config.problem is not None and problem in config.problem
    assert "export #1" in config.problem


def test_fields_are_checked_against_the_programs_layout() -> None:
    spec = hub.find_builtin("opensnoop").package.export()
    wrong = [
        ExportEntry("opensnoop", "a", labels=("command",)),
        ExportEntry("opensnoop", "b", kind="gauge", value="fname"),
        ExportEntry("opensnoop", "events"),  # the default's own name
        ExportEntry("sigsnoop", "c", labels=("nope",)),  # another program's: not ours to judge
    ]
    made, problems = configured("opensnoop", spec, wrong)
    assert made == []
    assert problems == [
        "[[export]] opensnoop a: no field 'command' (it has pid, tid, uid, ret, flags, comm, fname)",
        "[[export]] opensnoop b: value 'fname' is not a number",
        "[[export]] opensnoop events: lmp_opensnoop_events_total is already exported",
    ]
    runqlat = hub.find_builtin("runqlat").package.export()
    assert (
        "a map, not events" in configured("runqlat", runqlat, [ExportEntry("runqlat", "x")])[1][0]
    )


def test_names_follow_prometheus_conventions() -> None:
    names = {
        f.name: f.kind
        for program in ("bootstrap", "opensnoop", "tcpstates")
        for f in families(program, hub.find_builtin(program).package.export(), entries())
        if f.configured
    }
    assert names == {
        "lmp_bootstrap_lifetime_seconds": "histogram",  # ns made seconds, the unit named
        "lmp_opensnoop_opens_by_flags_total": "counter",
        "lmp_bootstrap_last_exit_code": "gauge",
        "lmp_tcpstates_time_in_state_seconds_total": "counter",
    }


@pytest.mark.parametrize("name", ["bootstrap", "opensnoop", "tcpstates"])
def test_configured_metrics_hold_the_events(name: str) -> None:
    metrics = fed(name, exports=entries())
    text = exposition(metrics)
    check = subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=30
    )
    assert check.returncode == 0, check.stdout + check.stderr
    exposed = {f.name for f in text_string_to_metric_families(text)}
    for family in metrics.families:
        assert family.name.removesuffix("_total") in exposed
    if name == "opensnoop":
        rows = samples(text, "lmp_opensnoop_opens_by_flags_total")
        assert sum(v for _, v in rows) == metrics.events
        assert all(set(labels) == {"flags", "comm"} for labels, _ in rows)
        assert any("O_" in labels["flags"] for labels, _ in rows)  # flags by name, as shown
    if name == "bootstrap":
        count = sum(v for _, v in samples(text, "lmp_bootstrap_lifetime_seconds_count"))
        assert count == metrics.events
        inf = [v for labels, v in samples(text, "lmp_bootstrap_lifetime_seconds_bucket")]
        assert inf and max(inf) == count
        total = sum(v for _, v in samples(text, "lmp_bootstrap_lifetime_seconds_sum"))
        assert 0 < total < 1e6  # seconds, not nanoseconds
        assert samples(text, "lmp_bootstrap_last_exit_code")


def test_the_dashboard_shows_configured_metrics_too() -> None:
    import json

    from lmp_tui.runtime.export.grafana import dashboard_json

    spec = hub.find_builtin("bootstrap").package.export()
    model = json.loads(dashboard_json([("bootstrap", spec)], exports=entries()))
    exprs = [t["expr"] for p in model["panels"] for t in p.get("targets", [])]
    assert any("lmp_bootstrap_lifetime_seconds_bucket" in e for e in exprs)
    assert any("lmp_bootstrap_last_exit_code" in e for e in exprs)
