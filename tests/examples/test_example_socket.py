"""Socket access, accept handlers and custom WebSocket classes: socket_access,
setting_custom_connection_headers, connection_accept_deny, custom_websocket."""

from __future__ import annotations

import pytest
import trio
from example_helpers import (
    DEADLINE,
    load_example,
    server_close,
)
from trio_websocket import ConnectionRejected

from wsactors.testing import LiveServer

pytestmark = pytest.mark.usefixtures("live_engine")


async def test_socket_access_reaches_the_client_address() -> None:
    app = load_example("socket_access").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server, server.connect("/") as ws:
            await ws.send_message("hello")
            assert await ws.get_message() == "hello (you are 127.0.0.1)"


async def test_socket_access_closes_on_goodbye() -> None:
    app = load_example("socket_access").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server, server.connect("/") as ws:
            await ws.send_message("goodbye")
            messages, code, reason = await server_close(ws)
    assert messages == []
    assert (code, reason) == (1000, "see you")


async def test_accept_handler_sets_response_headers() -> None:
    app = load_example("setting_custom_connection_headers").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server, server.connect("/") as ws:
            headers = dict(ws.handshake_headers)
            assert headers[b"set-cookie"] == b"visited=yes; HttpOnly"
            await ws.send_message("hello")
            assert await ws.get_message() == "hello"


async def test_accept_handler_lets_a_good_token_in() -> None:
    app = load_example("connection_accept_deny").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server, server.connect("/?token=open-sesame") as ws:
            await ws.send_message("hello")
            assert await ws.get_message() == "hello"


async def test_accept_handler_denies_with_an_http_response() -> None:
    app = load_example("connection_accept_deny").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server:
            with pytest.raises(ConnectionRejected) as rejected:
                async with server.connect("/?token=wrong"):
                    pytest.fail("the handshake should have been rejected")
    assert rejected.value.status_code == 401
    assert rejected.value.body == b"a valid token is required"


async def test_custom_websocket_class_trims_what_listeners_see() -> None:
    app = load_example("custom_websocket").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server:
            async with server.connect("/") as ws:
                await ws.send_message("  padded  ")
                assert await ws.get_message() == "padded"
            # The Router's websocket_class is closer to its handler: no trimming there.
            async with server.connect("/raw") as ws:
                await ws.send_message("  padded  ")
                assert await ws.get_message() == "  padded  "
