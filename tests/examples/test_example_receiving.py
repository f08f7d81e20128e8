"""Receiving data: receive_json, receive_str, receive_bytes."""

from __future__ import annotations

import json

import pytest
import trio
from example_helpers import (
    DEADLINE,
    load_example,
    server_close,
)

from wsactors.testing import LiveServer

pytestmark = pytest.mark.usefixtures("live_engine")


async def test_receive_json_echoes_the_parsed_object() -> None:
    app = load_example("receive_json").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server, server.connect("/") as ws:
            await ws.send_message('{"greeting": "hello", "to": "world"}')
            reply = await ws.get_message()
            assert isinstance(reply, str)
            assert json.loads(reply) == {"greeting": "hello", "to": "world"}
            # A binary frame carrying JSON is not for this text-mode listener.
            await ws.send_message(b'{"dropped": "yes"}')
            await ws.send_message('{"kept": "yes"}')
            assert json.loads(await ws.get_message()) == {"kept": "yes"}


async def test_receive_json_validates_against_the_annotation() -> None:
    app = load_example("receive_json").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server, server.connect("/") as ws:
            await ws.send_message('{"count": 1}')  # not a dict[str, str]
            messages, code, reason = await server_close(ws)
    assert messages == []
    assert code == 1007
    assert reason is not None
    assert "count" in reason


async def test_receive_str_gets_the_text_as_is() -> None:
    app = load_example("receive_str").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server, server.connect("/") as ws:
            await ws.send_message('{"not": "parsed"}')
            assert await ws.get_message() == '{"not": "parsed"}'


async def test_receive_bytes_gets_the_payload_and_replies_text() -> None:
    app = load_example("receive_bytes").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server, server.connect("/") as ws:
            # receive_mode is "text": a text frame, handed over as its UTF-8 bytes.
            await ws.send_message("héllo")
            reply = await ws.get_message()
            assert reply == "héllo"
            assert isinstance(reply, str)
