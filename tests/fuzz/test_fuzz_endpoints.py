"""Fuzzing endpoints over real sockets with Hypothesis.

Random sequences of text and binary frames, valid and invalid JSON, invalid UTF-8,
empty and oversized messages, ending with a clean close, an abrupt disconnect
(FIN or RST) or a blast of frames followed by an abrupt disconnect, are sent to a
function listener, a class listener and two streams, each with ``max_message_size``.

Checked for every example:

- every frame gets exactly the outcome API.md promises (a reply, nothing because
  the frame is of the other transport mode or discarded, or a close with the code of
  the table: 1007 for bad JSON / UTF-8 / validation, 1008 for data on a strict
  stream, 1009 for an oversized message), and every close code is in the table;
- a connection still open at the end answers a probe;
- a control connection opened before the run echoes before and after every example;
- no connection is left behind (the App's live-connection registry empties);
- the server logs nothing at ERROR or above (no unhandled error, no traceback).

Hypothesis runs in a worker thread; each example runs in the test's Trio run (where
the LiveServer and the control connection live) through ``trio.from_thread.run``.
Bounded: ``FUZZ_EXAMPLES`` (default 100) examples per endpoint, 15 s per example
(about 6 s for all four endpoints on two cores); a failure is reported as found,
``FUZZ_SHRINK=1`` shrinks it first.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import socket as socketlib
import struct
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import trio
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from trio_websocket import ConnectionClosed, WebSocketConnection

from helpers import DEADLINE
from wsactors import (
    App,
    WebSocket,
    WebSocketListener,
    websocket,
    websocket_listener,
    websocket_stream,
)
from wsactors.testing import LiveServer, open_client

# Deselected from the default run (pyproject addopts): `nox -s fuzz` runs it.
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.fuzz,
    pytest.mark.usefixtures("live_engine"),
]

MAX = 256  # max_message_size of every fuzzed endpoint
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
# Shrinking a failure whose symptom is a timeout costs READ_TIMEOUT per attempt and
# can take minutes, so it is opt-in; unshrunk examples are at most 8 operations.
PHASES = tuple(Phase) if os.environ.get("FUZZ_SHRINK") else tuple(set(Phase) - {Phase.shrink})
# One example: its connections, up to 8 operations and the ending, each read bounded
# by READ_TIMEOUT (below): half as long again as the usual bound.
EXAMPLE_DEADLINE = 1.5 * DEADLINE
# Each expected reply or close must come this fast (loopback: milliseconds). Short,
# so that a failing example, which may wait for a close that never comes, costs
# little while Hypothesis shrinks it.
READ_TIMEOUT = 2.0
API_CLOSE_CODES = {1000, 1001, 1007, 1008, 1009, 1011}


# --------------------------------------------------------------------- the app
@dataclass
class Item:
    name: str
    count: int


@websocket_listener("/fz/listener", max_message_size=MAX)
async def item_listener(data: Item) -> Item:
    return data


class BinaryEcho(WebSocketListener):
    path = "/fz/class"
    receive_mode = "binary"
    send_mode = "text"
    max_message_size = MAX

    def on_receive(self, data: str) -> str:
        return data


async def _ticks() -> AsyncGenerator[str, None]:
    for n in itertools.count():
        yield f"tick {n}"
        await trio.sleep(0.01)


@websocket_stream(
    "/fz/stream", allow_data_discard=True, warn_on_data_discard=False, max_message_size=MAX
)
async def tolerant_stream() -> AsyncGenerator[str, None]:
    async for tick in _ticks():
        yield tick


@websocket_stream("/fz/strict-stream", max_message_size=MAX)
async def strict_stream() -> AsyncGenerator[str, None]:
    async for tick in _ticks():
        yield tick


@websocket("/fz/control")
async def control(socket: WebSocket) -> None:
    await socket.accept()
    async for message in socket.iter_messages():
        await socket.send_message(message)


@pytest.fixture
async def fuzz_app() -> App:
    return App([item_listener, BinaryEcho, tolerant_stream, strict_stream, control])


# --------------------------------------------------------------------- operations
texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)  # <= 160 bytes
items = st.fixed_dictionaries({"name": texts, "count": st.integers(-(2**31), 2**31)})
wrong_shapes = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    texts,
    st.lists(st.integers(), max_size=3),
    st.fixed_dictionaries({"name": texts}),
    st.fixed_dictionaries({"count": st.integers()}),
)
_BAD_UTF8 = [b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82", b"\x80"]


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


invalid_utf8 = st.builds(
    lambda head, bad, tail: head + bad + tail,
    st.binary(max_size=20),
    st.sampled_from(_BAD_UTF8),
    st.binary(max_size=20),
).filter(lambda data: not _is_utf8(data))

OPS = st.one_of(
    st.tuples(st.just("item"), items),
    st.tuples(st.just("wrong-shape"), wrong_shapes),
    st.tuples(st.just("text"), texts),
    st.tuples(st.just("binary"), st.binary(max_size=64)),
    st.tuples(st.just("utf8-binary"), texts),
    st.tuples(st.just("invalid-utf8"), invalid_utf8),
    st.tuples(st.just("empty-text"), st.none()),
    st.tuples(st.just("empty-binary"), st.none()),
    st.tuples(st.just("oversized-text"), st.integers(1, 64)),
    st.tuples(st.just("oversized-binary"), st.integers(1, 64)),
)
ENDINGS = st.sampled_from(["close", "abort-fin", "abort-rst", "blast-abort"])
Op = tuple[str, Any]


def frame_of(op: Op) -> str | bytes:
    kind, value = op
    frames: dict[str, Callable[[], str | bytes]] = {
        "item": lambda: json.dumps(value),
        "wrong-shape": lambda: json.dumps(value),
        "text": lambda: value,
        "binary": lambda: value,
        "utf8-binary": lambda: value.encode(),
        "invalid-utf8": lambda: value,
        "empty-text": lambda: "",
        "empty-binary": lambda: b"",
        "oversized-text": lambda: "o" * (MAX + value),
        "oversized-binary": lambda: b"o" * (MAX + value),
    }
    return frames[kind]()


# --------------------------------------------------------------------- the model
@dataclass(frozen=True)
class Reply:
    check: Callable[[str | bytes], bool]


@dataclass(frozen=True)
class Close:
    code: int


@dataclass(frozen=True)
class ReplyOrClose:
    code: int


NOTHING = None
Expected = Reply | Close | ReplyOrClose | None


def _json_equal(value: Any) -> Callable[[str | bytes], bool]:
    return lambda reply: isinstance(reply, str) and json.loads(reply) == value


def _equal(value: str) -> Callable[[str | bytes], bool]:
    return lambda reply: reply == value


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def expect_listener(op: Op) -> Expected:
    """``data: Item`` in text mode: binary frames are dropped, text must be an Item."""
    kind, value = op
    if kind.startswith("oversized"):
        return Close(1009)
    if kind == "item":
        return Reply(_json_equal(value))
    if kind in ("wrong-shape", "empty-text"):
        return Close(1007)
    if kind == "text":  # random text that happens to be JSON may fit: either outcome
        return ReplyOrClose(1007) if _parses(value) else Close(1007)
    return NOTHING  # binary frames, whatever they hold


def expect_class(op: Op) -> Expected:
    """``data: str`` in binary mode: text frames are dropped, bytes must be UTF-8."""
    kind = op[0]
    frame = frame_of(op)
    if kind.startswith("oversized"):
        return Close(1009)
    if isinstance(frame, str):
        return NOTHING
    if not _is_utf8(frame):
        return Close(1007)
    return Reply(_equal(frame.decode()))


def expect_tolerant_stream(op: Op) -> Expected:
    return Close(1009) if op[0].startswith("oversized") else NOTHING


def expect_strict_stream(op: Op) -> Expected:
    return Close(1009) if op[0].startswith("oversized") else Close(1008)


@dataclass(frozen=True)
class Endpoint:
    path: str
    expect: Callable[[Op], Expected]
    probe: str | bytes | None  # sent at the end; None: a stream, read a tick
    probe_reply: str | None


ENDPOINTS = {
    "listener": Endpoint(
        "/fz/listener",
        expect_listener,
        '{"name": "probe", "count": 1}',
        '{"name":"probe","count":1}',
    ),
    "class": Endpoint("/fz/class", expect_class, b"probe", "probe"),
    "stream": Endpoint("/fz/stream", expect_tolerant_stream, None, None),
    "strict-stream": Endpoint("/fz/strict-stream", expect_strict_stream, None, None),
}


# --------------------------------------------------------------------- the client
class Client:
    """A trio-websocket connection on a TCP stream this test owns, which it can abort."""

    def __init__(self, ws: WebSocketConnection, stream: trio.SocketStream) -> None:
        self.ws = ws
        self.stream = stream
        self.aborted = False

    async def abort(self, *, reset: bool) -> None:
        """Drop the connection without a closing handshake (FIN, or RST if ``reset``)."""
        self.aborted = True
        if reset:  # SO_LINGER 0: close() sends RST
            self.stream.setsockopt(
                socketlib.SOL_SOCKET, socketlib.SO_LINGER, struct.pack("ii", 1, 0)
            )
        # The client's reader task sees the closed stream and stops; open_client's
        # closing handshake then finds the connection already closed.
        await self.stream.aclose()


@asynccontextmanager
async def connect(server: LiveServer, path: str) -> AsyncIterator[Client]:
    stream = await trio.open_tcp_stream(server.host, server.port)
    async with open_client(server.host, server.port, path, stream=stream) as ws:
        yield Client(ws, stream)


async def read_until_close(ws: WebSocketConnection, stream: bool) -> tuple[int, str]:
    """Read until the server's close; a listener must send nothing before it."""
    while True:
        try:
            message = await ws.get_message()
        except ConnectionClosed as closed:
            reason = closed.reason
            assert reason is not None
            return reason.code, reason.reason or ""
        assert stream, f"unexpected {message!r}"
        assert str(message).startswith("tick "), f"unexpected {message!r}"


async def next_reply(ws: WebSocketConnection, stream: bool) -> str | bytes:
    """The next message that is not a stream tick."""
    while True:
        message = await ws.get_message()
        if not (stream and str(message).startswith("tick ")):
            return message


# --------------------------------------------------------------------- one example
async def exercise(server: LiveServer, endpoint: Endpoint, ops: list[Op], ending: str) -> None:
    is_stream = endpoint.probe is None
    async with connect(server, endpoint.path) as client:
        ws = client.ws
        if ending == "blast-abort":
            for op in ops:  # no reading: the server may be answering or closing meanwhile
                try:
                    await ws.send_message(frame_of(op))
                except ConnectionClosed:
                    break
            await client.abort(reset=False)
            return
        for op in ops:
            expected = endpoint.expect(op)
            await ws.send_message(frame_of(op))
            if expected is NOTHING:
                continue
            with trio.fail_after(READ_TIMEOUT):
                if isinstance(expected, Reply):
                    reply = await next_reply(ws, is_stream)
                    assert expected.check(reply), (op, reply)
                    continue
                if isinstance(expected, ReplyOrClose):
                    try:
                        await next_reply(ws, is_stream)
                        continue
                    except ConnectionClosed as closed:
                        got = closed.reason
                        assert got is not None
                        code, reason = got.code, got.reason or ""
                        assert code == expected.code, (op, code, reason)
                else:
                    code, reason = await read_until_close(ws, is_stream)
                    assert code == expected.code, (op, code, reason)
            assert code in API_CLOSE_CODES
            _check_reason(code, reason)
            return  # the server closed: the sequence is over
        if ending.startswith("abort"):
            await client.abort(reset=ending == "abort-rst")
            return
        # Still open: it must still answer.
        with trio.fail_after(READ_TIMEOUT):
            if endpoint.probe is None:
                assert str(await ws.get_message()).startswith("tick ")
            else:
                await ws.send_message(endpoint.probe)
                assert await ws.get_message() == endpoint.probe_reply


def _check_reason(code: int, reason: str) -> None:
    if code == 1009:
        assert reason.startswith("message too big: "), reason
    elif code == 1007:
        assert reason, "a 1007 close names the problem"
    elif code == 1008:
        assert "allow_data_discard" in reason, reason


# --------------------------------------------------------------------- the property
async def fuzz(endpoint: Endpoint, app: App, caplog: pytest.LogCaptureFixture) -> int:
    """Run the property against ``endpoint``; the number of examples run."""
    caplog.set_level(logging.WARNING)
    ran = itertools.count(1)
    async with LiveServer(app) as server, connect(server, "/fz/control") as control_client:
        control_ws = control_client.ws

        async def control_echoes(n: int) -> None:
            await control_ws.send_message(f"control {n}")
            with trio.fail_after(2.0):
                assert await control_ws.get_message() == f"control {n}"

        async def one_example(ops: list[Op], ending: str) -> None:
            n = next(ran)
            with trio.fail_after(EXAMPLE_DEADLINE):
                await control_echoes(2 * n)
                await exercise(server, endpoint, ops, ending)
                await control_echoes(2 * n + 1)
                # Only the control connection is left (no event to wait for).
                while len(app.connections) > 1:  # noqa: ASYNC110
                    await trio.sleep(0.01)
            errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
            assert not errors, [r.getMessage() for r in errors]

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            phases=PHASES,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(ops=st.lists(OPS, max_size=8), ending=ENDINGS)
        def property_(ops: list[Op], ending: str) -> None:
            trio.from_thread.run(one_example, ops, ending)

        await trio.to_thread.run_sync(property_)
    return next(ran) - 1


@pytest.mark.parametrize("name", list(ENDPOINTS))
async def test_fuzz(name: str, fuzz_app: App, caplog: pytest.LogCaptureFixture) -> None:
    examples = await fuzz(ENDPOINTS[name], fuzz_app, caplog)
    assert examples >= min(EXAMPLES, 10)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
