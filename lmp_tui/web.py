"""``lmp-tui --web``: the same app in a browser, through textual-serve.

textual-serve runs the app as a command of its own for each browser tab and carries the
terminal over a WebSocket to xterm.js in the page: every key, view and option is the
terminal app's. It serves on loopback by default: whoever reaches the page runs programs
with this process's privileges.
"""

from __future__ import annotations

import shlex
import sys

from .runtime.export.server import ListenError, parse_listen


def app_command(argv: list[str]) -> str:
    """The command textual-serve runs per tab: ``lmp-tui`` with the same options, but
    ``--web`` and ``--listen``."""
    cut = argv.index("--") if "--" in argv else len(argv)
    kept: list[str] = []
    skip = False
    for arg in argv[:cut]:  # after --: a wasm app's own arguments, passed on as they are
        if skip:
            skip = False
            continue
        if arg == "--web" or arg.startswith("--listen="):
            continue
        if arg == "--listen":
            skip = True
            continue
        kept.append(arg)
    return shlex.join([sys.executable, "-m", "lmp_tui.app", *kept, *argv[cut:]])


def serve(listen: str, argv: list[str]) -> int:
    try:
        address = parse_listen(listen)
    except ListenError as exc:
        print(f"lmp-tui: {exc}", file=sys.stderr)
        return 2
    from textual_serve.server import Server

    server = Server(app_command(argv), host=address.host, port=address.port, title="lmp-tui")
    try:
        server.serve()
    except OSError as exc:
        print(f"lmp-tui: cannot serve on {address}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0
