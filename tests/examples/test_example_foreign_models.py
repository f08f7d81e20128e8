"""Pydantic models and msgspec Structs as messages, and forbid_unknown_fields (issue 21)."""

from __future__ import annotations

import json

import pytest
import trio
from example_helpers import load_example, server_close

from helpers import DEADLINE
from wsactors.testing import LiveServer

pytestmark = pytest.mark.usefixtures("live_engine")


async def test_receive_pydantic_validates_with_pydantic_and_sends_by_alias() -> None:
    app = load_example("receive_pydantic").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server:
            async with server.connect("/play") as ws:
                # pydantic's default is lax: "4" reads as 4.
                await ws.send_message('{"player": "a", "x": 3, "y": "4"}')
                assert json.loads(await ws.get_message()) == {
                    "moves": [{"player": "a", "x": 3, "y": 4, "kind": "move"}],
                    "nextPlayer": "b",
                }
            async with server.connect("/play") as ws:
                await ws.send_message('{"player": "a", "x": 8, "y": 0}')
                messages, code, reason = await server_close(ws)
    assert (messages, code, reason) == ([], 1007, "x: Input should be less than or equal to 7")


async def test_receive_msgspec_validates_with_msgspec() -> None:
    app = load_example("receive_msgspec").app
    line = {"type": "Line", "start": {"x": 0, "y": 0}, "end": {"x": 1, "y": 1}}
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server:
            async with server.connect("/draw") as ws:
                await ws.send_message(json.dumps({"shapes": [line]}))
                assert json.loads(await ws.get_message()) == {
                    "shapes": [line],
                    "title": "untitled",
                }
            for message, expected in (
                (
                    {"shapes": [{**line, "end": {"x": "1", "y": 1}}]},
                    "shapes[0].end.x: Expected `int`, got `str`",
                ),
                ({"shapes": [], "colour": "red"}, "colour: unknown field"),
            ):
                async with server.connect("/draw") as ws:
                    await ws.send_message(json.dumps(message))
                    messages, code, reason = await server_close(ws)
                assert (messages, code, reason) == ([], 1007, expected)


async def test_forbid_unknown_fields_names_the_key_unless_a_router_allows_it() -> None:
    app = load_example("forbid_unknown_fields").app
    message = '{"volume": 3, "mute": true}'
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server:
            async with server.connect("/settings") as ws:
                await ws.send_message('{"volume": 3, "muted": true}')
                assert json.loads(await ws.get_message()) == {"volume": 3, "muted": True}
                await ws.send_message(message)
                messages, code, reason = await server_close(ws)
            assert (messages, code, reason) == ([], 1007, "mute: unknown field")
            async with server.connect("/legacy/settings") as ws:
                await ws.send_message(message)
                assert json.loads(await ws.get_message()) == {"volume": 3, "muted": False}
