"""Plain-text and histogram output, byte for byte as ecli prints it (spec 4.6)."""

from __future__ import annotations

import time

from lmp_tui.runtime.stream.output import PlainTable, log2_chunk, log2_histogram


def test_sigsnoop_header_and_row():
    table = PlainTable(["pid", "tpid", "sig", "ret", "comm"])
    assert table.header == "TIME     PID    TPID   SIG    RET    COMM   "
    when = time.mktime((2026, 1, 1, 21, 20, 54, 0, 0, -1))
    row = table.row([1204136, 1204134, 17, 0, "grep"], when)
    assert row == "21:20:54  1204136 1204134 17  0      grep"


def test_log2_histogram_matches_ecli_unit_test():
    text = log2_histogram([1] + [0] * 25, "qaq")
    assert text.startswith(
        "     qaq                 : count    distribution\n         0 -> 1          : 1        |"
    )
    assert text == (
        "     qaq                 : count    distribution\n"
        "         0 -> 1          : 1        |" + "*" * 40 + "|\n"
    )


def test_log2_histogram_rows_and_empty():
    assert log2_histogram([0] * 26, "usecs") == ""
    lines = log2_histogram([0, 2, 4], "usecs").splitlines()
    assert (
        lines[1] == "         0 -> 1          : 0        |                                        |"
    )
    assert (
        lines[2] == "         2 -> 3          : 2        |********************                    |"
    )
    assert (
        lines[3] == "         4 -> 7          : 4        |****************************************|"
    )


def test_log2_chunk_key_line():
    chunk = log2_chunk([8326], {"slots": [1], "comm": "bash"}, "usecs")
    assert chunk.startswith("key =  8326\ncomm = bash\n\n     usecs")
