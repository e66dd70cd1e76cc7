"""``lmp-tui``: the Textual app (placeholder until the TUI lands)."""

import sys


def main() -> int:
    print("lmp-tui: the terminal UI is not built yet; use `lmp run`", file=sys.stderr)
    return 1
