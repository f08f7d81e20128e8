"""The sample of docs/testing.md that serves over real sockets (a LiveServer).

The docs include this function by name, so keep it self-contained.
"""

from __future__ import annotations

import pytest
import trio
from example_helpers import load_example

from wsactors.testing import LiveServer

pytestmark = pytest.mark.usefixtures("live_engine")


async def test_echo_over_real_sockets() -> None:
    echo_app = load_example("low_level_echo").app
    with trio.fail_after(10):
        async with LiveServer(echo_app) as server, server.connect("/echo") as ws:
            await ws.send_message("hello")
            assert await ws.get_message() == "hello"
            await ws.send_message(b"\x00\x01")
            assert await ws.get_message() == b"\x00\x01"
