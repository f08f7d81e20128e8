"""Streams end to end: ``@websocket_stream`` and ``send_websocket_stream`` over real
loopback sockets (hypercorn's Trio worker, a trio-websocket client).

Covers the seed's "WebSocket Streams" section: pushing values spaced by the
generator's own timing, serialization and transport modes, ``socket`` injection,
finalization when the client leaves, the data-discard rule, receiving while
streaming, dependency lifetimes (and the lock-hog anti-pattern), close codes for
errors, and ``send_websocket_stream`` from a ``@websocket`` handler.
"""

from __future__ import annotations

import itertools
import json
import logging
import warnings
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import trio
from trio_websocket import Endpoint, WebSocketConnection

from helpers import DEADLINE, read_until_close, wait_until
from wsactors import (
    DTO,
    App,
    DataDiscardedWarning,
    Provide,
    WebSocket,
    WebSocketException,
    send_websocket_stream,
    websocket,
    websocket_stream,
)
from wsactors.testing import LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("live_engine")]


@dataclass
class Point:
    x: int
    y: int


@dataclass
class User:
    id: int
    name: str
    password: str


async def counting(n: int | None = None, delay: float = 0.02) -> AsyncIterator[int]:
    """0, 1, 2, ... (forever if ``n`` is None), ``delay`` seconds apart."""
    i = 0
    while n is None or i < n:
        yield i
        i += 1
        await trio.sleep(delay)


# --------------------------------------------------------------------- timing


async def test_time_stream_values_arrive_spaced_by_the_generators_sleep() -> None:
    @websocket_stream("/time")
    async def time_stream() -> AsyncGenerator[float, None]:
        while True:
            yield trio.current_time()
            await trio.sleep(0.2)

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([time_stream])) as server, server.connect("/time") as ws:
            values = [float(await ws.get_message()) for _ in range(4)]

    gaps = [b - a for a, b in itertools.pairwise(values)]
    assert all(gap >= 0.15 for gap in gaps), gaps


# --------------------------------------------------------------------- serialization


async def test_finite_stream_delivers_every_item_then_closes_1000() -> None:
    @websocket_stream("/finite")
    async def finite() -> AsyncGenerator[Any, None]:
        yield "plain text"
        yield b"bytes in text mode"
        yield 42
        yield {"kind": "dict", "items": [1, 2]}
        yield Point(1, 2)
        yield [Point(3, 4)]

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([finite])) as server, server.connect("/finite") as ws:
            messages, close = await read_until_close(ws)

    assert messages == [
        "plain text",
        "bytes in text mode",
        "42",
        '{"kind":"dict","items":[1,2]}',
        '{"x":1,"y":2}',
        '[{"x":3,"y":4}]',
    ]
    assert close.code == 1000


async def test_binary_mode_sends_bytes_frames_and_str_as_utf8() -> None:
    @websocket_stream("/binary", mode="binary")
    async def binary() -> AsyncGenerator[Any, None]:
        yield b"\x00\x01\xff"
        yield "héllo"
        yield {"a": 1}
        yield Point(5, 6)

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([binary])) as server, server.connect("/binary") as ws:
            messages, close = await read_until_close(ws)

    assert messages == [b"\x00\x01\xff", "héllo".encode(), b'{"a":1}', b'{"x":5,"y":6}']
    assert all(type(m) is bytes for m in messages)
    assert close.code == 1000


async def test_return_dto_applies_to_yielded_dataclasses() -> None:
    @websocket_stream(
        "/users", return_dto=DTO(User, exclude={"password"}, rename={"name": "userName"})
    )
    async def users() -> AsyncGenerator[User, None]:
        yield User(1, "ada", "secret")
        yield User(2, "bob", "hunter2")

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([users])) as server, server.connect("/users") as ws:
            messages, close = await read_until_close(ws)

    assert messages == ['{"id":1,"userName":"ada"}', '{"id":2,"userName":"bob"}']
    assert close.code == 1000


async def test_socket_is_injected_into_the_generator() -> None:
    # The seed's stream_socket_access example, ported to Trio.
    @websocket_stream("/")
    async def ping(socket: WebSocket) -> AsyncGenerator[dict[str, Any], None]:
        while True:
            yield {"time": trio.current_time(), "client": socket.client}
            await trio.sleep(0.05)

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([ping])) as server, server.connect("/") as ws:
            first = json.loads(await ws.get_message())
            second = json.loads(await ws.get_message())
            local = ws.local

    assert isinstance(local, Endpoint)
    assert first["client"] == [str(local.address), local.port]
    assert second["time"] > first["time"]


# --------------------------------------------------------------------- client leaving


@pytest.mark.parametrize("pause", [0.02, 10.0], ids=["busy", "sleeping-10s"])
async def test_client_leaving_mid_stream_finalizes_the_generator(pause: float) -> None:
    finalized = trio.Event()
    resumed_after_pause = False

    @websocket_stream("/")
    async def stream() -> AsyncGenerator[int, None]:
        nonlocal resumed_after_pause
        try:
            i = 0
            while True:
                yield i
                i += 1
                await trio.sleep(pause)
                resumed_after_pause = True
        finally:
            finalized.set()

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([stream])) as server:
            async with server.connect("/") as ws:
                assert await ws.get_message() == "0"
                await ws.aclose()
            with trio.fail_after(1):
                await finalized.wait()
    if pause > 1:
        assert not resumed_after_pause


# --------------------------------------------------------------------- data discard


async def test_client_data_breaks_the_default_stream_with_1008() -> None:
    finalized = trio.Event()

    @websocket_stream("/")
    async def stream() -> AsyncGenerator[int, None]:
        try:
            async for i in counting():
                yield i
        finally:
            finalized.set()

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([stream])) as server, server.connect("/") as ws:
            assert await ws.get_message() == "0"
            await ws.send_message("hello?")
            _, close = await read_until_close(ws)
            await finalized.wait()

    assert close.code == 1008
    assert "allow_data_discard" in (close.reason or "")


def _discard_app(**options: Any) -> App:
    @websocket_stream("/", allow_data_discard=True, **options)
    async def stream(socket: WebSocket) -> AsyncGenerator[int, None]:
        while True:
            yield socket.statistics().discarded_messages
            await trio.sleep(0.02)

    return App([stream])


async def _send_and_see_discard_count(ws: WebSocketConnection, sends: int) -> None:
    """Send ``sends`` messages, then read until the stream reports them discarded."""
    assert await ws.get_message() == "0"
    for i in range(sends):
        await ws.send_message(f"ignored {i}")
    while int(await ws.get_message()) < sends:
        pass
    # The stream goes on after the drops.
    assert int(await ws.get_message()) == sends


async def _discard_roundtrip(app: App, sends: int) -> None:
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server, server.connect("/") as ws:
            await _send_and_see_discard_count(ws, sends)


async def test_allow_data_discard_without_warning_keeps_streaming_and_counts() -> None:
    app = _discard_app(warn_on_data_discard=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await _discard_roundtrip(app, 2)
    assert not [w for w in caught if issubclass(w.category, DataDiscardedWarning)]


async def test_allow_data_discard_warns_by_default() -> None:
    app = _discard_app()
    with pytest.warns(DataDiscardedWarning, match="discarded"):
        await _discard_roundtrip(app, 1)


# --------------------------------------------------------------------- receiving


async def test_without_listening_the_generator_may_receive_from_the_socket() -> None:
    finalized = trio.Event()

    @websocket_stream("/upper", listen_for_disconnect=False)
    async def upper(socket: WebSocket) -> AsyncGenerator[str, None]:
        try:
            async for message in socket.iter_data():
                yield str(message).upper()
        finally:
            finalized.set()

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([upper])) as server:
            async with server.connect("/upper") as ws:
                for word in ("abc", "Trio", "xyz"):
                    await ws.send_message(word)
                    assert await ws.get_message() == word.upper()
            with trio.fail_after(1):
                await finalized.wait()


async def test_without_listening_the_stream_closes_1000_when_the_generator_ends() -> None:
    @websocket_stream("/two", listen_for_disconnect=False)
    async def two(socket: WebSocket) -> AsyncGenerator[str, None]:
        for _ in range(2):
            yield f"echo {await socket.receive_text()}"

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([two])) as server, server.connect("/two") as ws:
            await ws.send_message("a")
            await ws.send_message("b")
            messages, close = await read_until_close(ws)

    assert messages == ["echo a", "echo b"]
    assert close.code == 1000


# --------------------------------------------------------------------- dependencies


@dataclass
class DependencyProbe:
    """What a yield dependency and its stream record, in order."""

    log: list[str] = field(default_factory=list)
    #: Set by the test once the client saw the close (or left itself).
    client_done: trio.Event = field(default_factory=trio.Event)
    #: Set by the dependency's cleanup.
    cleaned: trio.Event = field(default_factory=trio.Event)


def _logged_dependency_app(probe: DependencyProbe, n: int | None) -> App:
    async def resource() -> AsyncGenerator[str, None]:
        probe.log.append("enter")
        try:
            yield "res"
        finally:
            # Cleanup must come after the close: wait (bounded) for the client to be
            # done; a cleanup that ran before the close frame would time out here.
            with trio.move_on_after(2):
                await probe.client_done.wait()
            probe.log.append("exit" if probe.client_done.is_set() else "exit before close")
            probe.cleaned.set()

    @websocket_stream("/", dependencies={"res": Provide(resource)})
    async def stream(res: str) -> AsyncGenerator[str, None]:
        try:
            async for i in counting(n):
                probe.log.append(f"item {i}")
                yield f"{res} {i}"
        finally:
            probe.log.append("generator finally")

    return App([stream])


async def test_yield_dependency_is_cleaned_up_after_the_stream_closes() -> None:
    probe = DependencyProbe()
    app = _logged_dependency_app(probe, n=3)

    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server:
            async with server.connect("/") as ws:
                for i in range(3):
                    assert await ws.get_message() == f"res {i}"
                    assert not probe.cleaned.is_set()
                _, close = await read_until_close(ws)
                assert close.code == 1000
                probe.client_done.set()
            await probe.cleaned.wait()

    assert probe.log == ["enter", "item 0", "item 1", "item 2", "generator finally", "exit"]


async def test_yield_dependency_is_cleaned_up_after_a_client_disconnect() -> None:
    probe = DependencyProbe()
    app = _logged_dependency_app(probe, n=None)

    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server:
            async with server.connect("/") as ws:
                assert await ws.get_message() == "res 0"
                assert await ws.get_message() == "res 1"
                assert not probe.cleaned.is_set()
            probe.client_done.set()
            with trio.fail_after(1):
                await probe.cleaned.wait()

    assert probe.log[:2] == ["enter", "item 0"]
    assert probe.log[-2:] == ["generator finally", "exit"]


# --------------------------------------------------------------------- errors


async def test_an_error_in_the_generator_closes_1011_after_the_items(
    caplog: pytest.LogCaptureFixture,
) -> None:
    @websocket_stream("/")
    async def broken() -> AsyncGenerator[str, None]:
        yield "a"
        yield "b"
        raise RuntimeError("boom")

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([broken])) as server, server.connect("/") as ws:
            messages, close = await read_until_close(ws)

    assert messages == ["a", "b"]
    assert close.code == 1011
    assert close.reason == "Internal Server Error"
    assert any(
        r.levelno == logging.ERROR and r.exc_info and isinstance(r.exc_info[1], RuntimeError)
        for r in caplog.records
    )


async def test_websocket_exception_in_the_generator_closes_with_its_code() -> None:
    @websocket_stream("/")
    async def refusing() -> AsyncGenerator[str, None]:
        yield "a"
        raise WebSocketException(code=4003, reason="no more for you")

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([refusing])) as server, server.connect("/") as ws:
            messages, close = await read_until_close(ws)

    assert messages == ["a"]
    assert close.code == 4003
    assert close.reason == "no more for you"


# --------------------------------------------------------------------- send_websocket_stream


async def test_send_websocket_stream_closes_1000_by_default() -> None:
    close_code_after: list[int | None] = []

    @websocket("/")
    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        await send_websocket_stream(socket, counting(3))
        close_code_after.append(socket.close_code)

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([handler])) as server, server.connect("/") as ws:
            messages, close = await read_until_close(ws)

    assert messages == ["0", "1", "2"]
    assert close.code == 1000
    assert close_code_after == [1000]


async def test_send_websocket_stream_close_false_leaves_the_socket_open() -> None:
    @websocket("/")
    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        await send_websocket_stream(socket, counting(2), close=False)
        await socket.send_text("done")

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([handler])) as server, server.connect("/") as ws:
            messages, close = await read_until_close(ws)

    assert messages == ["0", "1", "done"]
    assert close.code == 1000


async def test_send_websocket_stream_binary_mode() -> None:
    async def items() -> AsyncIterator[Any]:
        yield b"\x00raw"
        yield "text"
        yield {"n": 1}

    @websocket("/")
    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        await send_websocket_stream(socket, items(), mode="binary")

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([handler])) as server, server.connect("/") as ws:
            messages, close = await read_until_close(ws)

    assert messages == [b"\x00raw", b"text", b'{"n":1}']
    assert close.code == 1000


async def test_send_websocket_stream_with_a_custom_send_handler() -> None:
    calls: list[tuple[WebSocket, Any]] = []
    handler_socket: list[WebSocket] = []

    async def send_wrapped(socket: WebSocket, item: Any) -> None:
        calls.append((socket, item))
        await socket.send_json({"wrapped": item})

    @websocket("/")
    async def handler(socket: WebSocket) -> None:
        handler_socket.append(socket)
        await socket.accept()
        await send_websocket_stream(socket, counting(2), send_handler=send_wrapped)

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([handler])) as server, server.connect("/") as ws:
            messages, close = await read_until_close(ws)

    assert messages == ['{"wrapped":0}', '{"wrapped":1}']
    assert close.code == 1000
    assert [item for _, item in calls] == [0, 1]
    assert all(sock is handler_socket[0] for sock, _ in calls)


async def test_send_websocket_stream_listening_raises_1008_on_client_data() -> None:
    raised: list[WebSocketException] = []

    @websocket("/")
    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        try:
            await send_websocket_stream(socket, counting(), listen_for_disconnect=True)
        except WebSocketException as exc:
            raised.append(exc)
            raise

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([handler])) as server, server.connect("/") as ws:
            assert await ws.get_message() == "0"
            await ws.send_message("unexpected")
            _, close = await read_until_close(ws)

    assert close.code == 1008
    assert "allow_data_discard" in (close.reason or "")
    assert len(raised) == 1
    assert raised[0].code == 1008


async def test_send_websocket_stream_listening_with_discard_goes_on() -> None:
    @websocket("/")
    async def handler(socket: WebSocket) -> None:
        await socket.accept()

        async def discarded() -> AsyncIterator[int]:
            while True:
                yield socket.statistics().discarded_messages
                await trio.sleep(0.02)

        await send_websocket_stream(
            socket,
            discarded(),
            listen_for_disconnect=True,
            allow_data_discard=True,
            warn_on_data_discard=False,
        )

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([handler])) as server, server.connect("/") as ws:
            await _send_and_see_discard_count(ws, 2)


# --------------------------------------------------------------------- lock hog


def _hog_app(lock: trio.Lock) -> App:
    # The seed's stream_di_hog, ported to Trio: the lock is taken in a yield
    # dependency, so it is held for as long as the stream runs.

    async def acquire_lock() -> AsyncGenerator[None, None]:
        async with lock:
            yield

    @websocket_stream("/", dependencies={"lock": Provide(acquire_lock)})
    async def handler(lock: None) -> AsyncGenerator[dict[str, Any], None]:
        while True:
            yield {"time": trio.current_time(), "data": "hog"}
            await trio.sleep(0.05)

    return App([handler])


def _hog_fix_app() -> App:
    # The seed's stream_di_hog_fix: the lock is taken inside the generator, per item.
    lock = trio.Lock()

    async def get_lock() -> trio.Lock:
        return lock

    @websocket_stream("/", dependencies={"lock": Provide(get_lock)})
    async def handler(lock: trio.Lock) -> AsyncGenerator[dict[str, Any], None]:
        while True:
            async with lock:
                item = {"time": trio.current_time(), "data": "fix"}
            yield item
            await trio.sleep(0.05)

    return App([handler])


async def test_lock_in_a_yield_dependency_blocks_a_second_stream() -> None:
    lock = trio.Lock()
    second_first_item_at: list[float] = []
    first_left_at: list[float] = []

    async def second_client(server: LiveServer) -> None:
        async with server.connect("/") as ws:
            await ws.get_message()
            second_first_item_at.append(trio.current_time())

    with trio.fail_after(DEADLINE):
        async with (
            LiveServer(_hog_app(lock)) as server,
            trio.open_nursery() as nursery,
            server.connect("/") as first,
        ):
            await first.get_message()
            nursery.start_soon(second_client, server)
            # The second connection's dependency waits for the lock the first holds
            # (dependencies run before accept, so its handshake waits too).
            await wait_until(lambda: lock.statistics().tasks_waiting == 1)
            for _ in range(3):  # the first stream goes on meanwhile
                await first.get_message()
            assert not second_first_item_at
            first_left_at.append(trio.current_time())
    assert second_first_item_at[0] > first_left_at[0]


async def test_lock_taken_per_item_lets_both_streams_progress() -> None:
    with trio.fail_after(DEADLINE):
        async with (
            LiveServer(_hog_fix_app()) as server,
            server.connect("/") as first,
            server.connect("/") as second,
        ):
            for _ in range(5):
                assert '"fix"' in str(await first.get_message())
                assert '"fix"' in str(await second.get_message())
