"""Combining streaming and receiving: stream_and_receive_listener, stream_and_receive_raw.

Both tests have the seed's shape: the client sends, gets its echo and the pings,
and leaves; the autouse fixture in conftest.py then checks the server logged no
error. The docs include these two functions as "how to test".
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import trio
from example_helpers import DEADLINE, load_example

from wsactors.testing import LiveServer

pytestmark = pytest.mark.usefixtures("live_engine")


async def test_stream_and_receive_listener() -> None:
    app = load_example("stream_and_receive_listener").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server, server.connect("/") as ws:
            await ws.send_message("hello")
            received = [await ws.get_message() for _ in range(3)]
            assert "hello" in received  # the listener's echo, among the pings
            pings = [json.loads(m) for m in received if m != "hello"]
            assert all(set(ping) == {"ping"} for ping in pings)
        # Leaving the block closed the connection: the server ends both tasks quietly.


async def test_stream_and_receive_raw() -> None:
    app = load_example("stream_and_receive_raw").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server, server.connect("/") as ws:
            await ws.send_message('{"hello": "world"}')
            received: list[Any] = [json.loads(await ws.get_message()) for _ in range(3)]
            assert {"hello": "world"} in received  # the echo, among the pings
            pings = [m for m in received if m != {"hello": "world"}]
            assert all(set(ping) == {"ping"} for ping in pings)
