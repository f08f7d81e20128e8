"""The App's check of the loop it is called on (wsactors/lifespan/host.py), in-process.

The App is driven by hand on asyncio (``asyncio.run`` in a plain test) with fake ASGI
receive and send; test_wrong_loop.py runs it under real asyncio servers.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
import trio

from wsactors import App, websocket_listener
from wsactors.lifespan.host import WRONG_LOOP, adopt_server_logging, async_library
from wsactors.testing import TestClient

Message = dict[str, Any]


@websocket_listener("/echo")
async def echo(data: str) -> str:
    return data


def on_asyncio(app: App, scope: Message, *incoming: Message) -> list[Message]:
    """Call ``app`` once on asyncio with ``incoming`` to receive; what it sent."""
    sent: list[Message] = []
    queue = list(incoming)

    async def receive() -> Message:
        return queue.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    async def main() -> None:
        assert async_library() == "asyncio"
        await app(scope, receive, send)

    asyncio.run(main())
    return sent


def websocket_scope(extensions: dict[str, Any] | None) -> Message:
    scope: Message = {"type": "websocket", "path": "/echo", "headers": [], "query_string": b""}
    if extensions is not None:
        scope["extensions"] = extensions
    return scope


def told(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if WRONG_LOOP in record.getMessage()]


def test_on_asyncio_the_lifespan_startup_fails_after_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    started: list[int] = []
    app = App([echo], on_startup=[lambda: started.append(1)])
    sent = on_asyncio(app, {"type": "lifespan"}, {"type": "lifespan.startup"})
    assert sent == [
        {
            "type": "lifespan.startup.failed",
            "message": "wsactors needs Trio, not asyncio (see the error logged above)",
        }
    ]
    assert started == []  # no hook ran
    [record] = told(caplog)
    assert record.levelno == logging.ERROR
    assert record.getMessage() == f"{WRONG_LOOP} (this server runs asyncio)"
    assert record.exc_info is None  # no traceback


def test_on_asyncio_a_handshake_gets_500_and_the_line_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = App([echo])
    scope = websocket_scope({"websocket.http.response": {}})
    for _ in range(2):
        sent = on_asyncio(app, scope, {"type": "websocket.connect"})
        assert [message["type"] for message in sent] == [
            "websocket.http.response.start",
            "websocket.http.response.body",
        ]
        assert sent[0]["status"] == 500
        assert sent[1]["body"] == b"Internal Server Error"
    assert len(told(caplog)) == 1


@pytest.mark.parametrize("extensions", [None, {}])
def test_without_the_response_extension_the_handshake_is_closed(
    extensions: dict[str, Any] | None,
) -> None:
    sent = on_asyncio(App([echo]), websocket_scope(extensions), {"type": "websocket.connect"})
    assert sent == [{"type": "websocket.close", "code": 1011}]


def test_a_client_gone_before_the_answer_gets_nothing() -> None:
    scope = websocket_scope({"websocket.http.response": {}})
    sent = on_asyncio(App([echo]), scope, {"type": "websocket.disconnect", "code": 1006})
    assert sent == []


async def test_on_trio_the_check_is_done_once(caplog: pytest.LogCaptureFixture) -> None:
    app = App([echo])
    assert not app._host.ready
    with trio.fail_after(10):
        async with TestClient(app) as client:
            for text in ("a", "b"):
                async with client.websocket_connect("/echo") as ws:
                    await ws.send_text(text)
                    assert await ws.receive_text() == text
                # Checked at the first handshake; the next ones only test ``ready``.
                assert app._host.ready
    assert told(caplog) == []


def test_configured_logging_is_left_alone() -> None:
    # Under pytest the root logger has handlers: nothing to adopt.
    ours = logging.getLogger("wsactors")
    handlers, level = list(ours.handlers), ours.level
    assert adopt_server_logging() is False
    assert (ours.handlers, ours.level) == (handlers, level)
