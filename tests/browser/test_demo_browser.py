"""The demo page in a real browser: Playwright drives Debian's Chromium, headless.

Run it with ``nox -s e2e`` (it is deselected from the default ``tests`` session
by the ``browser`` marker: ``-m "not browser"`` in pyproject's addopts). The
browser is the system's ``/usr/bin/chromium`` (``apt-get install chromium``);
``playwright install`` is never used. The demo runs as ``python -m wsactors demo``
in a subprocess on a free loopback port, and a screenshot of the page is written
to ``artifacts/e2e/demo.png``.

The test is a plain (sync) function using ``playwright.sync_api``: pytest-trio
runs async tests under Trio, and Playwright's async API needs asyncio. Playwright
is imported inside the test, so collecting this module without it installed (the
default session) costs nothing.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = Path(__file__).resolve().parents[2] / "artifacts" / "e2e" / "demo.png"
STARTUP_TIMEOUT = 20.0  # seconds for the demo server to listen
DEFAULT_TIMEOUT_MS = 10_000  # any Playwright wait without an explicit timeout


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_listening(process: subprocess.Popen[bytes], port: int, output: Path) -> None:
    """Return once ``port`` accepts connections; fail if the server exits or is too slow."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the demo exited with {process.returncode}:\n{output.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"the demo did not listen within {STARTUP_TIMEOUT} s:\n{output.read_text()}")


@pytest.fixture
def demo_url(tmp_path: Path) -> Iterator[str]:
    """``python -m wsactors demo`` on a free port; only that process is stopped after."""
    port = free_port()
    output = tmp_path / "demo.log"
    command = [sys.executable, "-m", "wsactors", "demo", "--port", str(port)]
    with output.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        wait_until_listening(process, port, output)
        yield f"http://127.0.0.1:{port}"
    finally:
        if process.poll() is None:
            process.terminate()  # SIGTERM: the demo drains and exits
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def open_demo(page: Page, url: str) -> None:
    """Load the page and wait until all three of its sockets are open."""
    from playwright.sync_api import expect

    page.goto(url, timeout=DEFAULT_TIMEOUT_MS)
    for badge in ("#chat-status", "#clock-status", "#json-status"):
        expect(page.locator(badge)).to_have_attribute("data-state", "open", timeout=5_000)


def test_demo_in_chromium(demo_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    if not CHROMIUM.exists():  # a failure, not a skip: CI must not pass without a browser
        pytest.fail(f"no browser at {CHROMIUM}: apt-get install chromium")

    room_url = f"{demo_url}/?room=e2e"
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # a fresh user-data-dir for every run
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 900},
            timeout=30_000,
        )
        try:
            context.set_default_timeout(DEFAULT_TIMEOUT_MS)
            alice, bob = context.new_page(), context.new_page()
            open_demo(alice, room_url)
            open_demo(bob, room_url)
            assert alice.locator("#room-name").inner_text() == "e2e"

            # Chat: a message typed in one page shows up in the other's log.
            alice.fill("#name", "alice")
            alice.fill("#message", "hello from alice")
            alice.click("#send")
            expect(bob.locator("#log")).to_contain_text("alice: hello from alice", timeout=2_000)
            expect(alice.locator("#log")).to_contain_text("joined e2e (2 online)", timeout=2_000)

            # Clock: the text changes within 2.5 s.
            clock = alice.locator("#clock")
            expect(clock).not_to_have_text("--:--:--", timeout=2_500)
            first = clock.inner_text()
            expect(clock).not_to_have_text(first, timeout=2_500)

            # JSON box: a valid point is answered, an invalid one closes with 1007.
            result = alice.locator("#json-result")
            alice.fill("#json-input", '{"x": 3, "y": -4}')
            alice.click("#json-send")
            expect(result).to_contain_text('"product": -12', timeout=2_000)
            alice.fill("#json-input", '{"x": 1, "y": "2"}')
            alice.click("#json-send")
            expect(result).to_have_text("closed 1007 y: expected int, got str", timeout=2_000)
            # ...and the box reconnects by itself.
            expect(alice.locator("#json-status")).to_have_attribute(
                "data-state", "open", timeout=5_000
            )

            # Statistics: real numbers from the server, growing.
            messages_in = alice.locator('#stats tr[data-key="messages_in"] td').nth(1)
            expect(messages_in).to_have_text(re.compile(r"^\d+$"), timeout=3_000)
            before = int(messages_in.inner_text())
            expect(messages_in).not_to_have_text(str(before), timeout=3_000)
            assert int(messages_in.inner_text()) > before

            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            alice.screenshot(path=str(SCREENSHOT), full_page=True, timeout=DEFAULT_TIMEOUT_MS)
        finally:
            context.close()
    assert SCREENSHOT.stat().st_size > 0
