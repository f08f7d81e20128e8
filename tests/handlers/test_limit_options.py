"""Limits given on a handler reach its connections: the decorators' keywords and
``WebSocketListener`` class attributes, through the in-process TestClient.

The rules themselves (the bucket, the drop policy, the idle timer) are tested on the
runtime in ``tests/actors/test_policy.py``; ``tests/e2e/test_limits.py`` proves one of
each over real sockets. Here the App is built from handlers as a user writes them,
under virtual time (the ``autojump_clock`` fixture): what the client sees (replies,
close code and reason) and the connection's statistics, without waiting on the wall
clock.
"""

from __future__ import annotations

import pytest
import trio
import trio.testing

from helpers import DEADLINE
from wsactors import App, WebSocket, WebSocketDisconnect, WebSocketListener, websocket_listener
from wsactors.testing import TestClient, WebSocketTestSession

#: The socket each handler saw, by path: the App runs in the test's own Trio run.
sockets: dict[str, WebSocket] = {}


@pytest.fixture(autouse=True)
def _fresh_sockets() -> None:
    sockets.clear()


@websocket_listener("/rate-drop", rate_limit=(3, 0.5), rate_limit_policy="drop")
async def rate_drop(data: str, socket: WebSocket) -> str:
    sockets["/rate-drop"] = socket
    return data


class RateListener(WebSocketListener):
    path = "/class/rate"
    rate_limit = (2, 60.0)

    def on_receive(self, data: str) -> str:
        return data


class DroppingListener(WebSocketListener):
    path = "/class/drop"
    rate_limit = (2, 60.0)
    rate_limit_policy = "drop"

    def on_receive(self, data: str) -> str:
        sockets["/class/drop"] = self.socket
        return data


class IdleListener(WebSocketListener):
    path = "/class/idle"
    idle_timeout = 0.3

    def on_receive(self, data: str) -> str:
        return data


APP = [rate_drop, RateListener, DroppingListener, IdleListener]


async def no_reply_within(ws: WebSocketTestSession, seconds: float) -> None:
    """Fail if the session receives anything within ``seconds`` (virtual)."""
    with trio.move_on_after(seconds):
        pytest.fail(f"unexpected reply {await ws.receive_text()!r}")


async def test_the_drop_policy_drops_and_counts_then_answers_after_refill(
    autojump_clock: trio.testing.MockClock,
) -> None:
    burst = 10
    with trio.fail_after(DEADLINE):
        async with TestClient(App(APP)) as client, client.websocket_connect("/rate-drop") as ws:
            for n in range(burst):  # at one virtual instant: the bucket holds 3
                await ws.send_text(f"burst {n}")
            answered = [await ws.receive_text() for _ in range(3)]
            await no_reply_within(ws, 0.1)  # the other seven were dropped, not queued
            await trio.sleep(0.6)  # (3, 0.5): the bucket is full again
            for n in range(3):
                await ws.send_text(f"later {n}")
            later = [await ws.receive_text() for _ in range(3)]
            stats = sockets["/rate-drop"].statistics()
            await trio.sleep(0.25)  # the bucket refills at 6 tokens per second
            await ws.send_text("still open")
            assert await ws.receive_text() == "still open"
    assert answered == ["burst 0", "burst 1", "burst 2"]
    assert later == ["later 0", "later 1", "later 2"]
    assert stats.rate_limited_messages == burst - 3
    assert stats.messages_in == burst + 3


async def test_listener_class_attributes_set_rate_limit(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(DEADLINE):
        async with TestClient(App(APP)) as client, client.websocket_connect("/class/rate") as ws:
            for n in range(2):
                await ws.send_text(f"m{n}")
                assert await ws.receive_text() == f"m{n}"
            await ws.send_text("m2")
            with pytest.raises(WebSocketDisconnect) as closed:
                await ws.receive_text()
    assert (closed.value.code, closed.value.reason) == (1008, "rate limit exceeded")


async def test_listener_class_attributes_set_the_drop_policy(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(DEADLINE):
        async with TestClient(App(APP)) as client, client.websocket_connect("/class/drop") as ws:
            for n in range(5):
                await ws.send_text(f"m{n}")
            assert await ws.receive_text() == "m0"
            assert await ws.receive_text() == "m1"
            await no_reply_within(ws, 0.3)  # the other three were dropped, not queued
            stats = sockets["/class/drop"].statistics()
    assert stats.rate_limited_messages == 3
    assert stats.messages_in == 5


async def test_listener_class_attributes_set_idle_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(DEADLINE):
        async with TestClient(App(APP)) as client, client.websocket_connect("/class/idle") as ws:
            await ws.send_text("hello")
            assert await ws.receive_text() == "hello"
            replied = trio.current_time()
            with pytest.raises(WebSocketDisconnect) as closed:
                await ws.receive_text()
            waited = trio.current_time() - replied
    assert (closed.value.code, closed.value.reason) == (1001, "idle timeout")
    assert waited == pytest.approx(0.3, abs=0.01)
