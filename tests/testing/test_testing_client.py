"""TestClient against hand-written raw ASGI apps (no framework involved)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trio.testing

from helpers import DEADLINE, refusal
from wsactors.exceptions import WebSocketDisconnect
from wsactors.testing import (
    APP_TO_CLIENT_BUFFER,
    LifespanError,
    TestClient,
    TestClientTimeout,
    WebSocketDenied,
    WebSocketTestSession,
)

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Message, Receive, Send], Awaitable[None]]


@asynccontextmanager
async def open_client(app: App, **client_options: Any) -> AsyncIterator[TestClient]:
    """``TestClient(app, **client_options)`` for the block, all of it within DEADLINE."""
    with trio.fail_after(DEADLINE):
        async with TestClient(app, **client_options) as client:
            yield client


@asynccontextmanager
async def open_session(
    app: App, path: str = "/", **connect_options: Any
) -> AsyncIterator[WebSocketTestSession]:
    """A TestClient for ``app`` and one session to ``path`` for the block, all of it
    within DEADLINE."""
    async with open_client(app) as client, client.websocket_connect(path, **connect_options) as ws:
        yield ws


async def accept(receive: Receive, send: Send) -> None:
    """Read the ``websocket.connect`` message and accept the connection."""
    await receive()
    await send({"type": "websocket.accept"})


def websocket_only(handler: App) -> App:
    """Wrap a websocket handler into an app that does not support lifespan."""

    async def app(scope: Message, receive: Receive, send: Send) -> None:
        assert scope["type"] == "websocket", "lifespan not supported"
        await handler(scope, receive, send)

    return app


def make_echo_app(record: dict[str, Any]) -> App:
    """Accept (first offered subprotocol, one extra header) and echo every frame."""

    async def echo(scope: Message, receive: Receive, send: Send) -> None:
        record["scope"] = scope
        assert (await receive())["type"] == "websocket.connect"
        offered = scope["subprotocols"]
        await send(
            {
                "type": "websocket.accept",
                "subprotocol": offered[0] if offered else None,
                "headers": [(b"x-echo", b"yes")],
            }
        )
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                record["disconnect"] = message
                record["after_disconnect"] = await receive()
                return
            await send(
                {"type": "websocket.send", "text": message["text"], "bytes": message["bytes"]}
            )

    return websocket_only(echo)


def make_sleeping_app(cancelled: trio.Event, *, accepted: bool) -> App:
    """Read ``websocket.connect`` (and accept if ``accepted``), then sleep until
    cancelled; ``cancelled`` is set when it is."""

    async def sleeper(scope: Message, receive: Receive, send: Send) -> None:
        if accepted:
            await accept(receive, send)
        else:
            await receive()
        try:
            await trio.sleep_forever()
        finally:
            cancelled.set()

    return websocket_only(sleeper)


async def test_echo_keeps_frame_types() -> None:
    record: dict[str, Any] = {}
    async with open_session(make_echo_app(record), "/echo") as ws:
        await ws.send_text("hello")
        assert await ws.receive_text() == "hello"
        await ws.send_bytes(b"\x00\x01")
        assert await ws.receive_bytes() == b"\x00\x01"
        await ws.send_json({"a": [1, 2]})
        assert await ws.receive() == {
            "type": "websocket.send",
            "text": '{"a":[1,2]}',
            "bytes": None,
        }
        await ws.send_json({"b": "é"}, mode="binary")
        assert await ws.receive_json(mode="binary") == {"b": "é"}
        await ws.send_bytes(b"raw")
        with pytest.raises(TypeError, match="binary frame arrived"):
            await ws.receive_text()
    assert record["disconnect"] == {"type": "websocket.disconnect", "code": 1000, "reason": ""}


async def test_subprotocol_extra_headers_and_scope() -> None:
    record: dict[str, Any] = {}
    async with open_session(
        make_echo_app(record),
        "/chat/caf%C3%A9?x=1",
        subprotocols=["v2", "v1"],
        headers={"Origin": "http://example.com", "Host": "other"},
        params={"y": "a b"},
    ) as ws:
        assert ws.accepted_subprotocol == "v2"
        assert ws.extra_headers == [(b"x-echo", b"yes")]
    scope = record["scope"]
    assert scope["type"] == "websocket"
    assert scope["asgi"] == {"version": "3.0", "spec_version": "2.3"}
    assert scope["path"] == "/chat/café"
    assert scope["raw_path"] == b"/chat/caf%C3%A9"
    assert scope["query_string"] == b"x=1&y=a+b"
    assert scope["subprotocols"] == ["v2", "v1"]
    assert scope["client"] == ("testclient", 50000)
    assert scope["server"] == ("testserver", 80)
    assert scope["extensions"] == {"websocket.http.response": {}}
    headers = dict(scope["headers"])
    assert headers[b"host"] == b"other"
    assert headers[b"origin"] == b"http://example.com"
    assert headers[b"upgrade"] == b"websocket"
    assert headers[b"sec-websocket-version"] == b"13"
    assert headers[b"sec-websocket-protocol"] == b"v2, v1"
    assert b"sec-websocket-key" in headers


async def test_unicode_path_is_percent_encoded_in_raw_path() -> None:
    record: dict[str, Any] = {}
    async with (
        open_client(make_echo_app(record), base_url="wss://example.org:8443") as client,
        client.websocket_connect("/ä"),
    ):
        pass
    assert record["scope"]["path"] == "/ä"
    assert record["scope"]["raw_path"] == b"/%C3%A4"
    assert record["scope"]["scheme"] == "wss"
    assert record["scope"]["server"] == ("example.org", 8443)


async def test_close_code_and_reason_delivered_to_app() -> None:
    record: dict[str, Any] = {}
    async with open_session(make_echo_app(record)) as ws:
        await ws.send_text("queued before close")
        await ws.close(4001, "bye")
        assert record["disconnect"] == {
            "type": "websocket.disconnect",
            "code": 4001,
            "reason": "bye",
        }
        # The app's receive() keeps returning the disconnect.
        assert record["after_disconnect"] == record["disconnect"]
        with pytest.raises(trio.ClosedResourceError):
            await ws.receive_text()
        with pytest.raises(trio.ClosedResourceError):
            await ws.send_text("too late")


async def test_close_before_accept_raises_disconnect() -> None:
    seen: list[Message] = []

    async def reject(scope: Message, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.close", "code": 4403, "reason": "go away"})
        seen.append(await receive())

    async with open_client(websocket_only(reject)) as client:
        closed = await refusal(client, WebSocketDisconnect)
    assert not isinstance(closed, WebSocketDenied)
    assert (closed.code, closed.reason) == (4403, "go away")
    # The app learns the exchange ended, as with hypercorn.
    assert seen == [{"type": "websocket.disconnect", "code": 1000, "reason": ""}]


async def test_http_denial_raises_denied_with_status_headers_and_body() -> None:
    async def deny(scope: Message, receive: Receive, send: Send) -> None:
        await receive()
        await send(
            {
                "type": "websocket.http.response.start",
                "status": 403,
                "headers": [(b"content-type", b"text/plain")],
            }
        )
        await send({"type": "websocket.http.response.body", "body": b"for", "more_body": True})
        await send({"type": "websocket.http.response.body", "body": b"bidden"})

    async with open_client(websocket_only(deny)) as client:
        denied = await refusal(client, WebSocketDenied)
    assert isinstance(denied, WebSocketDisconnect)
    assert denied.status_code == 403
    assert denied.body == b"forbidden"
    assert denied.headers == [(b"content-type", b"text/plain")]
    assert denied.code == 1006


async def test_app_returning_before_accept_is_denied_with_500() -> None:
    async def give_up(scope: Message, receive: Receive, send: Send) -> None:
        await receive()

    async with open_client(websocket_only(give_up)) as client:
        denied = await refusal(client, WebSocketDenied)
    assert denied.status_code == 500


async def test_app_that_never_answers_times_out_and_is_cancelled() -> None:
    cancelled = trio.Event()
    app = make_sleeping_app(cancelled, accepted=False)
    async with open_client(app, timeout=0.5) as client:
        await refusal(client, TestClientTimeout, "/slow", match="'/slow'")
        assert cancelled.is_set()
    assert issubclass(TestClientTimeout, trio.TooSlowError)


async def test_connect_timeout_can_be_given_per_connection() -> None:
    async def stall(scope: Message, receive: Receive, send: Send) -> None:
        await trio.sleep_forever()

    async with open_client(websocket_only(stall)) as client:
        start = trio.current_time()
        await refusal(client, TestClientTimeout, timeout=0.2)
        assert trio.current_time() - start < 2


async def test_app_raising_before_accept_surfaces() -> None:
    async def broken(scope: Message, receive: Receive, send: Send) -> None:
        await receive()
        raise ValueError("framework bug")

    async with open_client(websocket_only(broken)) as client:
        await refusal(client, ValueError, match="framework bug")


async def test_app_raising_after_accept_surfaces_on_receive() -> None:
    async def broken(scope: Message, receive: Receive, send: Send) -> None:
        await accept(receive, send)
        await send({"type": "websocket.send", "text": "first"})
        raise ValueError("framework bug")

    async with open_session(websocket_only(broken)) as ws:
        assert await ws.receive_text() == "first"
        with pytest.raises(ValueError, match="framework bug"):
            await ws.receive_text()
        # Reported once; afterwards the connection is simply closed (1011).
        with pytest.raises(WebSocketDisconnect) as info:
            await ws.receive_text()
        assert info.value.code == 1011


async def test_app_raising_after_accept_surfaces_on_exit() -> None:
    async def broken(scope: Message, receive: Receive, send: Send) -> None:
        await accept(receive, send)
        await receive()
        raise ValueError("framework bug")

    async with open_client(websocket_only(broken)) as client:
        with pytest.raises(ValueError, match="framework bug"):
            async with client.websocket_connect("/"):
                pass


async def test_server_close_raises_disconnect_and_keeps_raising() -> None:
    seen: list[Message] = []

    async def close_after_one(scope: Message, receive: Receive, send: Send) -> None:
        await accept(receive, send)
        seen.append(await receive())
        await send({"type": "websocket.send", "bytes": b"bye"})
        await send({"type": "websocket.close", "code": 4000, "reason": "done"})
        seen.append(await receive())

    async with open_session(websocket_only(close_after_one)) as ws:
        await ws.send_text("hi")
        assert await ws.receive_bytes() == b"bye"
        for _ in range(2):
            with pytest.raises(WebSocketDisconnect) as info:
                await ws.receive_text()
            assert (info.value.code, info.value.reason) == (4000, "done")
        assert (ws.close_code, ws.close_reason) == (4000, "done")
        with pytest.raises(WebSocketDisconnect):
            await ws.send_text("after close")
    assert seen[1] == {"type": "websocket.disconnect", "code": 4000, "reason": "done"}


async def test_raw_receive_returns_the_close_message_once() -> None:
    async def close_now(scope: Message, receive: Receive, send: Send) -> None:
        await accept(receive, send)
        await send({"type": "websocket.close"})

    async with open_session(websocket_only(close_now)) as ws:
        assert await ws.receive() == {
            "type": "websocket.close",
            "code": 1000,
            "reason": "",
        }
        with pytest.raises(WebSocketDisconnect):
            await ws.receive()


async def test_app_ending_without_close_means_1011() -> None:
    async def just_return(scope: Message, receive: Receive, send: Send) -> None:
        await accept(receive, send)

    async with open_session(websocket_only(just_return)) as ws:
        with pytest.raises(WebSocketDisconnect) as info:
            await ws.receive_json()
        assert info.value.code == 1011
        assert ws.close_code == 1011


async def test_second_close_is_a_protocol_error() -> None:
    async def close_twice(scope: Message, receive: Receive, send: Send) -> None:
        await accept(receive, send)
        await send({"type": "websocket.close"})
        await send({"type": "websocket.close"})

    async with open_client(websocket_only(close_twice)) as client:
        with pytest.raises(RuntimeError, match=r"'websocket\.close' in state 'closed'"):
            async with client.websocket_connect("/") as ws:
                await ws.receive()


async def test_receive_timeout_names_what_was_awaited() -> None:
    record: dict[str, Any] = {}
    async with open_session(make_echo_app(record), "/quiet") as ws:
        with pytest.raises(TestClientTimeout, match="no text message on '/quiet'"):
            await ws.receive_text(timeout=0.1)
        with pytest.raises(TestClientTimeout, match="no binary message"):
            await ws.receive_bytes(timeout=0.1)


async def test_session_exit_waits_for_the_app_to_finish() -> None:
    finished = trio.Event()

    async def slow_cleanup(scope: Message, receive: Receive, send: Send) -> None:
        await accept(receive, send)
        while (await receive())["type"] != "websocket.disconnect":
            pass
        await trio.sleep(0.2)
        finished.set()

    async with open_client(websocket_only(slow_cleanup)) as client:
        async with client.websocket_connect("/"):
            pass
        assert finished.is_set()


async def test_handler_that_ignores_the_disconnect_is_reported() -> None:
    cancelled = trio.Event()
    app = make_sleeping_app(cancelled, accepted=True)
    async with open_client(app, timeout=0.3) as client:
        with pytest.raises(TestClientTimeout, match="did not end"):
            async with client.websocket_connect("/"):
                pass
        assert cancelled.is_set()


async def test_app_sends_after_client_close_are_ignored() -> None:
    sent_after = trio.Event()

    async def chatty(scope: Message, receive: Receive, send: Send) -> None:
        await accept(receive, send)
        assert (await receive())["type"] == "websocket.disconnect"
        await send({"type": "websocket.send", "text": "nobody listens"})
        await send({"type": "websocket.close"})
        sent_after.set()

    async with open_client(websocket_only(chatty)) as client:
        async with client.websocket_connect("/"):
            pass
        assert sent_after.is_set()


async def test_app_blocked_on_a_full_buffer_is_released_by_close() -> None:
    sent: list[int] = []

    async def flood(scope: Message, receive: Receive, send: Send) -> None:
        await accept(receive, send)
        for n in range(APP_TO_CLIENT_BUFFER * 2):
            await send({"type": "websocket.send", "text": str(n)})
            sent.append(n)
        assert (await receive())["type"] == "websocket.disconnect"

    async with open_client(websocket_only(flood)) as client:
        async with client.websocket_connect("/") as ws:
            await trio.testing.wait_all_tasks_blocked()
            # Bounded: the app waits for the test once the buffer is full.
            assert len(sent) == APP_TO_CLIENT_BUFFER
            assert await ws.receive_text() == "0"
        # Leaving released the app; its later sends were dropped.
        assert len(sent) == APP_TO_CLIENT_BUFFER * 2


async def test_lifespan_startup_shutdown_and_state() -> None:
    events: list[str] = []

    async def app(scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                events.append(message["type"])
                if message["type"] == "lifespan.startup":
                    scope["state"]["greeting"] = "hello"
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await accept(receive, send)
        await send({"type": "websocket.send", "text": scope["state"]["greeting"]})
        scope["state"]["greeting"] = "changed"  # a shallow copy: the client keeps its own
        await send({"type": "websocket.close"})

    async with open_client(app) as client:
        assert events == ["lifespan.startup"]
        assert client.lifespan_state == {"greeting": "hello"}
        async with client.websocket_connect("/") as ws:
            assert await ws.receive_text() == "hello"
        assert client.lifespan_state == {"greeting": "hello"}
    assert events == ["lifespan.startup", "lifespan.shutdown"]


async def test_lifespan_startup_failure_raises_with_its_message() -> None:
    async def app(scope: Message, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "no database"})

    with pytest.raises(LifespanError, match="no database"):
        async with open_client(app):
            pytest.fail("startup failed")


async def test_lifespan_shutdown_failure_raises() -> None:
    async def app(scope: Message, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await send({"type": "lifespan.shutdown.failed", "message": "flush failed"})

    with pytest.raises(LifespanError, match="flush failed"):
        async with open_client(app):
            pass


async def test_app_returning_on_lifespan_is_taken_as_unsupported() -> None:
    async def app(scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return
        await accept(receive, send)
        await send({"type": "websocket.send", "text": "ok"})

    async with open_session(app) as ws:
        assert await ws.receive_text() == "ok"


async def test_app_without_lifespan_support_works() -> None:
    record: dict[str, Any] = {}
    async with open_session(make_echo_app(record)) as ws:
        await ws.send_text("still works")
        assert await ws.receive_text() == "still works"


async def test_body_exception_propagates_unwrapped() -> None:
    record: dict[str, Any] = {}

    async def failing_test_body() -> None:
        async with TestClient(make_echo_app(record)) as client, client.websocket_connect("/"):
            raise KeyError("from the test")

    with trio.fail_after(DEADLINE), pytest.raises(KeyError):
        await failing_test_body()
    assert record["disconnect"]["code"] == 1000


async def test_cancelled_test_still_stops_the_app() -> None:
    cancelled = trio.Event()
    app = make_sleeping_app(cancelled, accepted=True)
    async with open_client(app, timeout=0.3) as client:
        with trio.move_on_after(0.1):
            async with client.websocket_connect("/") as ws:
                await ws.receive()
        assert cancelled.is_set()


async def test_websocket_connect_needs_an_open_client() -> None:
    client = TestClient(make_echo_app({}))
    with pytest.raises(RuntimeError, match="async with TestClient"):
        client.websocket_connect("/")


async def test_lifespan_error_after_reading_startup_surfaces() -> None:
    async def app(scope: Message, receive: Receive, send: Send) -> None:
        assert (await receive())["type"] == "lifespan.startup"
        raise ValueError("on_startup hook failed")

    with pytest.raises(ValueError, match="on_startup hook failed"):
        async with open_client(app):
            pytest.fail("startup failed")
