"""``@websocket_stream`` registration errors: raised when the App is built (no sockets)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator
from typing import Any

import pytest
import trio

from helpers import DEADLINE
from wsactors import App, ImproperlyConfiguredError, Router, websocket_stream
from wsactors.testing import TestClient


def test_a_sync_function_is_refused_at_app_build() -> None:
    @websocket_stream("/")
    def not_async() -> str:
        return "tick"

    with pytest.raises(ImproperlyConfiguredError, match="async generator"):
        App([not_async])


def test_a_sync_generator_is_refused_at_app_build() -> None:
    @websocket_stream("/")
    def sync_generator() -> Iterator[str]:
        yield "tick"

    with pytest.raises(ImproperlyConfiguredError, match="async generator"):
        App([sync_generator])


def test_a_plain_async_function_is_refused_at_app_build() -> None:
    @websocket_stream("/")
    async def plain() -> str:
        return "tick"

    with pytest.raises(ImproperlyConfiguredError, match="async generator"):
        App([plain])


def test_the_error_names_the_function() -> None:
    @websocket_stream("/")
    async def named_for_the_error() -> None:
        pass

    with pytest.raises(ImproperlyConfiguredError, match="named_for_the_error"):
        App([named_for_the_error])


def test_the_error_is_raised_for_handlers_inside_routers() -> None:
    @websocket_stream("/inner")
    async def plain() -> None:
        pass

    with pytest.raises(ImproperlyConfiguredError):
        App([Router("/outer", [Router("/deeper", [plain])])])


@pytest.mark.parametrize("mode", ["bytes", "TEXT", "", None])
def test_a_bad_mode_is_refused_at_app_build(mode: Any) -> None:
    @websocket_stream("/", mode=mode)
    async def stream() -> AsyncGenerator[str, None]:
        yield "tick"

    with pytest.raises(ImproperlyConfiguredError, match="mode"):
        App([stream])


@pytest.mark.parametrize(
    ("mode", "frame", "other"), [("text", "tick", "bytes"), ("binary", b"tick", "text")]
)
async def test_valid_modes_build_and_send_frames_of_that_type(
    mode: Any, frame: str | bytes, other: str
) -> None:
    @websocket_stream("/", mode=mode)
    async def stream() -> AsyncGenerator[str, None]:
        yield "tick"

    key = "text" if mode == "text" else "bytes"
    # In process (TestClient), still no sockets: the mode decides the frame type.
    with trio.fail_after(DEADLINE):
        async with TestClient(App([stream])) as client, client.websocket_connect("/") as ws:
            message = await ws.receive()
    assert message["type"] == "websocket.send"
    assert message[key] == frame
    assert message[other] is None


async def test_the_decorated_generator_stays_callable() -> None:
    @websocket_stream("/")
    async def stream() -> AsyncGenerator[int, None]:
        yield 1

    assert [item async for item in stream()] == [1]
