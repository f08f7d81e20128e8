"""getting_started, low_level_echo and with_dto."""

from __future__ import annotations

import json
import uuid

import pytest
import trio
from example_helpers import (
    DEADLINE,
    load_example,
    server_close,
)
from trio_websocket import ConnectionRejected

from wsactors.testing import LiveServer

pytestmark = pytest.mark.usefixtures("live_engine")


async def test_getting_started_echo_and_parameters() -> None:
    app = load_example("getting_started").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server:
            async with server.connect("/echo") as ws:
                await ws.send_message("hello")
                assert await ws.get_message() == "hello"
            async with server.connect("/rooms/lobby?nickname=ada") as ws:
                await ws.send_message("hi all")
                assert json.loads(await ws.get_message()) == {
                    "room": "lobby",
                    "from": "ada",
                    "text": "hi all",
                }
            async with server.connect("/rooms/lobby") as ws:
                await ws.send_message("hi")
                assert json.loads(await ws.get_message())["from"] == "anonymous"


async def test_getting_started_unknown_path_is_a_404() -> None:
    app = load_example("getting_started").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server:
            with pytest.raises(ConnectionRejected) as rejected:
                async with server.connect("/nowhere"):
                    pytest.fail("the handshake should have been rejected")
    assert rejected.value.status_code == 404


async def test_low_level_echo_keeps_frame_types() -> None:
    app = load_example("low_level_echo").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server, server.connect("/echo") as ws:
            await ws.send_message("text")
            assert await ws.get_message() == "text"
            await ws.send_message(b"\x00\xffbinary")
            assert await ws.get_message() == b"\x00\xffbinary"


async def test_with_dto_reads_and_writes_only_the_chosen_fields() -> None:
    app = load_example("with_dto").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server, server.connect("/users") as ws:
            await ws.send_message(
                json.dumps(
                    {
                        "name": "Ada",
                        "emailAddress": "ada@example.com",
                        "password": "secret",
                        "id": 999,  # excluded by the input DTO: ignored
                    }
                )
            )
            user = json.loads(await ws.get_message())
            # The password is never sent back; the id is the server's, not 999.
            assert user == {"name": "Ada", "emailAddress": "ada@example.com", "id": user["id"]}
            assert str(uuid.UUID(user["id"])) == user["id"]


async def test_with_dto_rejects_an_invalid_payload_with_1007() -> None:
    app = load_example("with_dto").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server, server.connect("/users") as ws:
            # "email" is not the wire name: "emailAddress" is missing.
            await ws.send_message('{"name": "Ada", "email": "ada@example.com", "password": "x"}')
            messages, code, reason = await server_close(ws)
    assert messages == []
    assert code == 1007
    # The reason names the field by its wire name, the one the client must send.
    assert reason == "emailAddress: required field missing"
