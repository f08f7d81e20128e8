"""Streams: stream_basic, stream_di_hog, stream_di_hog_fix, stream_socket_access."""

from __future__ import annotations

import json

import pytest
import trio
from example_helpers import DEADLINE, load_example
from trio_websocket import WebSocketConnection

from wsactors.testing import LiveServer

pytestmark = pytest.mark.usefixtures("live_engine")


async def test_stream_basic_pushes_the_time_every_half_second() -> None:
    app = load_example("stream_basic").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server, server.connect("/") as ws:
            first = float(await ws.get_message())
            second = float(await ws.get_message())
            assert 0.4 <= second - first < 2.0


async def test_stream_di_hog_holds_the_lock_while_a_client_is_connected() -> None:
    app = load_example("stream_di_hog").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server:
            second_connected = trio.Event()
            second_got: list[str | bytes] = []

            async def second_client() -> None:
                async with server.connect("/", connect_timeout=DEADLINE) as ws:
                    second_connected.set()
                    second_got.append(await ws.get_message())

            async with trio.open_nursery() as nursery:
                async with server.connect("/") as first:
                    assert json.loads(await first.get_message()) == {"data": "pong"}
                    nursery.start_soon(second_client)
                    # The first stream holds the lock through its dependency: the
                    # second connection waits before accept, for as long as it lasts.
                    with trio.move_on_after(0.5):
                        await second_connected.wait()
                    assert not second_connected.is_set()
                # The first client left: its dependency's cleanup released the lock.
                await second_connected.wait()
            assert [json.loads(m) for m in second_got] == [{"data": "pong"}]


async def test_stream_di_hog_fix_serves_clients_side_by_side() -> None:
    app = load_example("stream_di_hog_fix").app
    with trio.fail_after(DEADLINE):
        async with (
            LiveServer(app) as server,
            server.connect("/") as first,
            server.connect("/") as second,
        ):
            assert json.loads(await first.get_message()) == {"data": "pong"}
            assert json.loads(await second.get_message()) == {"data": "pong"}


async def test_stream_socket_access_names_the_client() -> None:
    app = load_example("stream_socket_access").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server, server.connect("/") as ws:
            item = json.loads(await ws.get_message())
            host, port = _local_address(ws)
            assert item["client"] == f"{host}:{port}"
            assert isinstance(item["time"], float)


def _local_address(ws: WebSocketConnection) -> tuple[str, int]:
    local = ws.local
    assert not isinstance(local, str)
    return str(local.address), local.port
