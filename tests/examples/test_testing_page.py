"""The samples of docs/testing.md that use the in-process TestClient (the LiveServer
one is in test_testing_page_live.py: it runs once per engine, these run once).

The docs include these functions by name, so keep each one self-contained.
"""

from __future__ import annotations

import pytest
import trio
from example_helpers import load_example

from wsactors import WebSocketDisconnect
from wsactors.testing import TestClient, WebSocketDenied


async def test_echo_in_process() -> None:
    echo_app = load_example("low_level_echo").app
    with trio.fail_after(10):
        async with TestClient(echo_app) as client, client.websocket_connect("/echo") as ws:
            await ws.send_text("hello")
            assert await ws.receive_text() == "hello"
            await ws.send_bytes(b"\x00\x01")
            assert await ws.receive_bytes() == b"\x00\x01"


async def test_close_code_in_process() -> None:
    orders_app = load_example("close_codes").app
    with trio.fail_after(10):
        async with TestClient(orders_app) as client, client.websocket_connect("/orders") as ws:
            await ws.send_json({"item": "tea", "quantity": 2})
            assert await ws.receive_json() == {"ordered": "tea", "quantity": 2}
            await ws.send_json({"item": "tea", "quantity": "two"})
            with pytest.raises(WebSocketDisconnect) as closed:
                await ws.receive_json()
            assert closed.value.code == 1007
            assert "quantity" in closed.value.reason


async def test_denial_in_process() -> None:
    guarded_app = load_example("connection_accept_deny").app
    with trio.fail_after(10):
        async with TestClient(guarded_app) as client:
            with pytest.raises(WebSocketDenied) as denied:
                async with client.websocket_connect("/", params={"token": "wrong"}):
                    pytest.fail("the handshake should have been denied")
            assert denied.value.status_code == 401
            assert denied.value.body == b"a valid token is required"
