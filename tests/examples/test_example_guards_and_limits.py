"""Guards, Origin checks and limits: guards_and_limits."""

from __future__ import annotations

import contextlib

import pytest
import trio
from example_helpers import DEADLINE, load_example, server_close
from trio_websocket import ConnectionClosed, ConnectionRejected

from wsactors.testing import LiveServer

pytestmark = pytest.mark.usefixtures("live_engine")

GOOD = "/chat?token=open-sesame"
ORIGIN = [(b"origin", b"https://chat.example.com")]


async def test_a_guarded_route_lets_the_right_client_in() -> None:
    app = load_example("guards_and_limits").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server, server.connect(GOOD, extra_headers=ORIGIN) as ws:
            await ws.send_message("hello")
            assert await ws.get_message() == "hello"


@pytest.mark.parametrize(
    ("path", "headers", "status", "body"),
    [
        pytest.param("/chat", ORIGIN, 401, b"a valid token is required", id="no-token"),
        pytest.param(
            GOOD, [(b"origin", b"https://evil.example")], 403, b"Origin not allowed", id="origin"
        ),
    ],
)
async def test_refused_handshakes(
    path: str, headers: list[tuple[bytes, bytes]], status: int, body: bytes
) -> None:
    app = load_example("guards_and_limits").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server:
            with pytest.raises(ConnectionRejected) as rejected:
                async with server.connect(path, extra_headers=headers):
                    pytest.fail("the handshake should have been refused")
    assert rejected.value.status_code == status
    assert rejected.value.body == body


async def test_a_client_without_origin_is_not_a_browser_and_passes() -> None:
    app = load_example("guards_and_limits").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server, server.connect(GOOD) as ws:
            await ws.send_message("hello")
            assert await ws.get_message() == "hello"


async def test_a_message_over_max_message_size_closes_with_1009() -> None:
    app = load_example("guards_and_limits").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server, server.connect(GOOD) as ws:
            await ws.send_message("x" * 2000)
            messages, code, reason = await server_close(ws)
    assert messages == []
    assert code == 1009
    assert reason == "message too big: 2000 bytes > 1024"


async def test_a_client_over_the_rate_limit_is_closed_with_1008() -> None:
    app = load_example("guards_and_limits").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server, server.connect(GOOD) as ws:
            # The bucket starts full and holds 5: five messages, one after the other,
            # are all answered...
            for n in range(5):
                await ws.send_message(str(n))
                assert await ws.get_message() == str(n)
            # ...then a burst of 10 goes over the limit: the bucket refills at 5 per
            # second, so at most the few that refilled meanwhile are answered. The
            # close may arrive before the burst is all sent.
            with contextlib.suppress(ConnectionClosed):
                for n in range(5, 15):
                    await ws.send_message(str(n))
            messages, code, reason = await server_close(ws)
    assert messages == [str(n) for n in range(5, 5 + len(messages))]
    assert len(messages) < 10
    assert (code, reason) == (1008, "rate limit exceeded")
