"""``lmp-tui --web`` in a real browser: Debian's chromium, headless, driven by Playwright,
loads the page textual-serve serves, and the app it runs there shows the Hub list; a key
typed in the page reaches the app."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# As root, without a sandbox; no calls home (the machine's network is closed: they would
# only be refused, many at a time).
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ANSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def screen_text(frames: list[bytes]) -> str:
    """What the app wrote to the page's terminal, escape sequences taken out."""
    return ANSI.sub(b"", b"".join(frames)).decode("utf-8", "replace")


def test_the_app_in_a_browser_shows_the_hub(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "lmp_tui.app", "--web", "--listen", f"127.0.0.1:{port}"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    frames: list[bytes] = []
    try:
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline and server.poll() is None, "the server did not start"
            time.sleep(0.2)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
            page = browser.new_page(viewport={"width": 1400, "height": 900})

            def on_socket(ws) -> None:  # noqa: ANN001 - playwright's WebSocket
                ws.on(
                    "framereceived",
                    lambda payload: frames.append(
                        payload if isinstance(payload, bytes) else payload.encode()
                    ),
                )

            page.on("websocket", on_socket)
            page.goto(f"http://127.0.0.1:{port}/", wait_until="load")
            deadline = time.monotonic() + 60
            while "sigsnoop" not in screen_text(frames) or "opensnoop" not in screen_text(frames):
                assert time.monotonic() < deadline, screen_text(frames)[-2000:]
                page.wait_for_timeout(250)
            # A key from the page reaches the app: ? opens the keys screen.
            seen = len(frames)
            page.locator(".xterm-helper-textarea").focus()
            page.keyboard.press("?")
            deadline = time.monotonic() + 20
            while "Keys" not in screen_text(frames[seen:]):
                assert time.monotonic() < deadline, screen_text(frames[seen:])[-2000:]
                page.wait_for_timeout(250)
            page.screenshot(path=str(tmp_path / "web.png"))
            browser.close()
        shot = os.environ.get("LMP_WEB_SCREENSHOT")
        if shot:  # kept for the closing note: what the browser showed
            shutil.copy(tmp_path / "web.png", shot)
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["--web", "--listen", "127.0.0.1:9"], []),
        (["--demo", "--web", "--listen=0.0.0.0:80", "--host", "h"], ["--demo", "--host", "h"]),
        (["--web", "--run", "a.wasm", "--", "--web"], ["--run", "a.wasm", "--", "--web"]),
    ],
)
def test_the_served_command_is_the_same_app_without_web(
    argv: list[str], command: list[str]
) -> None:
    from lmp_tui.web import app_command

    assert app_command(argv).split()[3:] == command


def test_abbreviated_options_are_refused_not_guessed() -> None:
    """--web hands the other options on by their full names: an abbreviation would slip by."""
    done = subprocess.run([sys.executable, "-m", "lmp_tui.app", "--we"], capture_output=True,
                          text=True, cwd=ROOT, timeout=60)  # fmt: skip
    assert done.returncode == 2 and "unrecognized arguments: --we" in done.stderr
