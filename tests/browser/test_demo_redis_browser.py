"""Two demo processes sharing chat rooms through Redis, each page in Chromium.

``wsactors demo --redis URL`` twice, on two free ports, with one redis-server
(started here on a free port, without persistence, stopped by PID). A message
typed on the page of one process must appear on the page of the other. Needs
``/usr/bin/chromium`` and ``redis-server``; without redis-server the test skips,
except with ``CI=true``, where it fails.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_demo_browser import (
    CHROMIUM,
    CHROMIUM_FLAGS,
    DEFAULT_TIMEOUT_MS,
    free_port,
    open_demo,
    wait_until_listening,
)

pytestmark = pytest.mark.browser


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop one process this test started: SIGTERM, then SIGKILL after 10 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is missing, and CI=true")
        pytest.skip("redis-server is missing (apt-get install redis-server)")
    port = free_port()
    log = tmp_path / "redis.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                    probe.sendall(b"PING\r\n")
                    if probe.recv(64).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}"
    finally:
        _stop(process)


@pytest.fixture
def two_demos(redis_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two ``wsactors demo --redis`` processes; only those two are stopped after."""
    processes: list[subprocess.Popen[bytes]] = []
    urls = []
    try:
        for index in range(2):
            port = free_port()
            output = tmp_path / f"demo{index}.log"
            command = [sys.executable, "-m", "wsactors", "demo", "--port", str(port)]
            with output.open("wb") as sink:
                process = subprocess.Popen(
                    [*command, "--redis", redis_url],
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                    cwd=tmp_path,
                )
            processes.append(process)
            wait_until_listening(process, port, output)
            urls.append(f"http://127.0.0.1:{port}")
        yield urls[0], urls[1]
    finally:
        for process in processes:
            _stop(process)


def test_a_room_is_shared_by_two_demo_processes(two_demos: tuple[str, str], tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    if not CHROMIUM.exists():  # a failure, not a skip: CI must not pass without a browser
        pytest.fail(f"no browser at {CHROMIUM}: apt-get install chromium")
    first, second = two_demos
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            timeout=30_000,
        )
        try:
            context.set_default_timeout(DEFAULT_TIMEOUT_MS)
            alice, bob = context.new_page(), context.new_page()
            open_demo(alice, f"{first}/?room=shared")
            open_demo(bob, f"{second}/?room=shared")
            alice.fill("#name", "alice")
            alice.fill("#message", "hello across processes")
            alice.click("#send")
            expect(bob.locator("#log")).to_contain_text(
                "alice: hello across processes", timeout=3_000
            )
            bob.fill("#name", "bob")
            bob.fill("#message", "and back")
            bob.click("#send")
            expect(alice.locator("#log")).to_contain_text("bob: and back", timeout=3_000)
        finally:
            context.close()
