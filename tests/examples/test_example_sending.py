"""Sending data: sending_str, sending_bytes, sending_json_dict, sending_json_dataclass."""

from __future__ import annotations

import json
import time

import pytest
import trio
from example_helpers import DEADLINE, load_example

from wsactors.testing import LiveServer

pytestmark = pytest.mark.usefixtures("live_engine")


async def test_sending_str() -> None:
    app = load_example("sending_str").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server, server.connect("/") as ws:
            await ws.send_message("hello")
            assert await ws.get_message() == "hello"


async def test_sending_bytes_travel_in_a_text_frame_by_default() -> None:
    app = load_example("sending_bytes").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server, server.connect("/") as ws:
            await ws.send_message("hello")
            reply = await ws.get_message()
            assert reply == "hello"  # str: a text frame, as send_mode is "text"


async def test_sending_json_dict() -> None:
    app = load_example("sending_json_dict").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server, server.connect("/") as ws:
            await ws.send_message("hello")
            reply = await ws.get_message()
            assert isinstance(reply, str)
            assert json.loads(reply) == {"message": "hello"}


async def test_sending_json_dataclass() -> None:
    app = load_example("sending_json_dataclass").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server, server.connect("/") as ws:
            before = time.time()
            await ws.send_message("hello")
            reply = json.loads(await ws.get_message())
            assert set(reply) == {"content", "timestamp"}
            assert reply["content"] == "hello"
            assert before - 1 <= reply["timestamp"] <= time.time() + 1
