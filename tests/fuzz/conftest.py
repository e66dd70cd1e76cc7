"""The fuzzers: hypothesis over every parser and reader of untrusted input.

Two profiles:

* ``ci`` (default): seeded (``derandomize``) and a few hundred cases per parser, so
  ``bash setup.sh test`` stays within minutes and a failure reproduces exactly;
* ``long``: fresh random cases, as many as ``LMP_FUZZ_EXAMPLES`` says per test;
  ``.venv/bin/python tests/fuzz/long_run.py`` (README, "Fuzzing") runs at least 100,000 per
  parser that way, in chunks.

Every case runs under ``limits.bounded``: any exception other than the project's own
(``LmpError``), a case slower than 2 s, or a process above 256 MB fails the run. The fuzzers
run in a pytest process of their own so that the memory bound is theirs alone.
"""

from __future__ import annotations

import os
import resource

import pytest
from hypothesis import HealthCheck, settings
from limits import RSS_LIMIT, rss_peak

_COMMON = {
    "deadline": None,  # limits.bounded enforces 2 s per case, hangs included
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,
}
settings.register_profile("ci", derandomize=True, max_examples=300, **_COMMON)
# tests/fuzz/long_run.py runs the long profile in chunks (LMP_FUZZ_EXAMPLES cases a process)
_LONG = int(os.environ.get("LMP_FUZZ_EXAMPLES", "100000"))
settings.register_profile("long", max_examples=_LONG, **_COMMON)
settings.load_profile(os.environ.get("LMP_FUZZ", "ci"))


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    peak = rss_peak()
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"fuzz: peak RSS {peak / 2**20:.0f} MB (limit {RSS_LIMIT >> 20} MB)")
    if peak > RSS_LIMIT:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_configure(config: pytest.Config) -> None:
    # A runaway allocation should fail the case that made it, not take the machine down.
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if soft == resource.RLIM_INFINITY:
        resource.setrlimit(resource.RLIMIT_DATA, (2 * RSS_LIMIT + (1 << 30), hard))
