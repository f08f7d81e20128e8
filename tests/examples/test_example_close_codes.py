"""Close codes: close_codes, over a real hypercorn."""

from __future__ import annotations

import json
from typing import Any

import pytest
import trio
from example_helpers import (
    DEADLINE,
    load_example,
    server_close,
)
from trio_websocket import ConnectionRejected

from wsactors import App
from wsactors.testing import LiveServer

pytestmark = pytest.mark.usefixtures("live_engine")


async def test_a_valid_order_is_answered() -> None:
    app = load_example("close_codes").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server, server.connect("/orders") as ws:
            await ws.send_message('{"item": "tea", "quantity": 2}')
            assert json.loads(await ws.get_message()) == {"ordered": "tea", "quantity": 2}


async def _close_after(message: str) -> tuple[int, str | None]:
    """Send one message to /orders; return the close code and reason that follow."""
    app = load_example("close_codes").app
    async with LiveServer(app) as server, server.connect("/orders") as ws:
        await ws.send_message(message)
        messages, code, reason = await server_close(ws)
    assert messages == []
    return code, reason


@pytest.mark.parametrize(
    ("message", "code", "reason_contains"),
    [
        pytest.param("{not json", 1007, "malformed JSON", id="malformed"),
        pytest.param('{"item": "tea"}', 1007, "quantity", id="missing-field"),
        pytest.param('{"item": "tea", "quantity": "2"}', 1007, "quantity", id="wrong-type"),
        pytest.param('{"item": "tea", "quantity": 11}', 4001, "at most 10", id="own-code"),
    ],
)
async def test_close_codes(message: str, code: int, reason_contains: str) -> None:
    with trio.fail_after(DEADLINE):
        got_code, reason = await _close_after(message)
    assert got_code == code
    assert reason is not None
    assert reason_contains in reason


@pytest.mark.server_error_expected
async def test_an_unexpected_error_closes_with_1011(caplog: pytest.LogCaptureFixture) -> None:
    with trio.fail_after(DEADLINE):
        code, reason = await _close_after('{"item": "bug", "quantity": 1}')
    assert (code, reason) == (1011, "Internal Server Error")
    [logged] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert logged.exc_info is not None
    assert "a bug in the handler" in str(logged.exc_info[1])


async def test_a_bad_query_parameter_is_a_400_before_accept() -> None:
    app = load_example("close_codes").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server:
            with pytest.raises(ConnectionRejected) as rejected:
                async with server.connect("/orders?max_quantity=lots"):
                    pytest.fail("the handshake should have been rejected")
    assert rejected.value.status_code == 400
    assert b"max_quantity" in (rejected.value.body or b"")


async def _send_an_oversized_order(
    app: App, **options: Any
) -> tuple[list[str | bytes], int, str | None]:
    """Serve ``app`` with ``options``, send a 2 KB order to /orders, return the close.

    Returns:
        What ``server_close`` returns: messages before the close, its code and reason.
    """
    async with LiveServer(app, **options) as server, server.connect("/orders") as ws:
        await ws.send_message('{"item": "' + "x" * 2000 + '", "quantity": 1}')
        return await server_close(ws)


# hypercorn's own websocket_max_message_size option; the native engine's
# counterpart is the next test.
@pytest.mark.engine("hypercorn", reason="hypercorn's websocket_max_message_size option")
async def test_hypercorn_refuses_messages_over_its_own_limit_with_1009() -> None:
    app = load_example("close_codes").app
    with trio.fail_after(DEADLINE):
        # hypercorn's websocket_max_message_size (16 MiB unless set) applies before
        # the message reaches the app.
        messages, code, _ = await _send_an_oversized_order(app, websocket_max_message_size=1024)
    assert messages == []
    assert code == 1009


@pytest.mark.engine("native", reason="the native engine's default_max_message_size option")
async def test_the_native_engine_refuses_messages_over_its_default_limit_with_1009() -> None:
    app = load_example("close_codes").app
    with trio.fail_after(DEADLINE):
        # default_max_message_size (1 MiB unless set) applies to a route that sets no
        # max_message_size, in the engine, before the message reaches the app.
        messages, code, reason = await _send_an_oversized_order(app, default_max_message_size=1024)
    assert messages == []
    assert code == 1009
    assert reason is not None
    assert reason.startswith("message too big: ")
