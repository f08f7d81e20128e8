"""Pydantic models, msgspec Structs and attrs classes as messages, end to end (issue 21).

In and out of every handler kind (listener, class listener, stream, low-level
``receive_json``/``send_json``), through DTOs, and ``forbid_unknown_fields`` on the
App, a Router and a handler: each test serves a LiveServer on loopback (on both
engines, tests/conftest.py) and talks to it with a trio-websocket client.

No ``from __future__ import annotations``: the handlers' local types must resolve.
"""

import json
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

import attrs
import msgspec
import pytest
import trio
from pydantic import BaseModel, ConfigDict, Field

from helpers import ask, ask_json, close_of, read_until_close, receive_json
from wsactors import (
    DTO,
    App,
    Router,
    WebSocket,
    WebSocketListener,
    websocket,
    websocket_listener,
    websocket_stream,
)
from wsactors.testing import LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("live_engine")]

#: Deadline of every test (seconds).
TIMEOUT = 10


# ---------------------------------------------------------------- the messages
class Move(BaseModel):
    """What a player of the game server sends (the Litestar port used such models)."""

    player: str
    x: int = Field(ge=0, le=7)
    y: int = Field(ge=0, le=7)
    kind: Literal["move", "capture"] = "move"


class Board(BaseModel):
    moves: list[Move]
    turn: int = Field(alias="Turn")


class StrictMove(BaseModel):
    model_config = ConfigDict(strict=True)

    x: int


class Point(msgspec.Struct):
    x: int
    y: int


class Stroke(msgspec.Struct, tag=True):
    points: list[Point]
    width: float = 1.0


@attrs.define
class Crate:
    label: str
    count: int = 0


class Label(TypedDict):
    text: str


@dataclass
class Note:
    text: str
    move: Move | None = None


@dataclass
class Account:
    name: str
    board: Board
    password: str = ""
    tags: list[str] = field(default_factory=list)


async def _closed(server: LiveServer, path: str, message: str) -> tuple[int, str]:
    """Send ``message`` on a fresh connection to ``path``: the close it gets."""
    async with server.connect(path) as ws:
        await ws.send_message(message)
        closed = await close_of(ws)
    return closed.code, closed.reason or ""


async def _asked(server: LiveServer, path: str, message: Any) -> Any:
    """Send ``message`` as JSON on a fresh connection to ``path``: the JSON reply."""
    async with server.connect(path) as ws:
        return await ask_json(ws, json.dumps(message))


async def _said(server: LiveServer, path: str, message: Any) -> str | bytes:
    """Send ``message`` as JSON on a fresh connection to ``path``: the text reply."""
    async with server.connect(path) as ws:
        return await ask(ws, json.dumps(message))


# ---------------------------------------------------------------- listeners
async def test_a_pydantic_model_in_and_out_of_a_listener() -> None:
    @websocket_listener("/board")
    async def board(data: Board) -> Board:
        assert isinstance(data, Board)
        return Board(moves=[*data.moves, Move(player="b", x=0, y=0)], Turn=data.turn + 1)

    @websocket_listener("/strict")
    async def strict(data: StrictMove) -> int:
        return data.x

    moves = [{"player": "a", "x": 3, "y": "4"}]  # pydantic is lax by default: "4" is 4
    with trio.fail_after(TIMEOUT):
        async with LiveServer(App([board, strict])) as server:
            assert await _asked(server, "/board", {"moves": moves, "Turn": 1}) == {
                "moves": [
                    {"player": "a", "x": 3, "y": 4, "kind": "move"},
                    {"player": "b", "x": 0, "y": 0, "kind": "move"},
                ],
                "Turn": 2,  # sent by alias, as pydantic's schema names it
            }
            bad = {"moves": [{"player": "a", "x": 9, "y": 0}], "Turn": 1}
            assert await _closed(server, "/board", json.dumps(bad)) == (
                1007,
                "moves[0].x: Input should be less than or equal to 7",
            )
            assert await _closed(server, "/board", '{"moves": []}') == (
                1007,
                "Turn: required field missing",
            )
            assert await _closed(server, "/strict", '{"x": "4"}') == (
                1007,
                "x: Input should be a valid integer",
            )


async def test_a_struct_in_and_out_of_a_class_listener() -> None:
    class Canvas(WebSocketListener):
        path = "/canvas"

        def on_connect(self) -> None:
            self.strokes: list[Stroke] = []

        async def on_receive(self, data: Stroke) -> list[Stroke]:
            assert isinstance(data, Stroke)
            self.strokes.append(data)
            return self.strokes

    stroke = {"type": "Stroke", "points": [{"x": 1, "y": 2}]}
    with trio.fail_after(TIMEOUT):
        async with LiveServer(App([Canvas])) as server:
            async with server.connect("/canvas") as ws:
                assert await ask_json(ws, json.dumps(stroke)) == [{**stroke, "width": 1.0}]
                assert len(await ask_json(ws, json.dumps({**stroke, "width": 3}))) == 2
            bad = {"type": "Stroke", "points": [{"x": 1, "y": "2"}]}
            assert await _closed(server, "/canvas", json.dumps(bad)) == (
                1007,
                "points[0].y: Expected `int`, got `str`",
            )


async def test_models_inside_records_and_unions() -> None:
    @websocket_listener("/note")
    async def note(data: Note) -> Note:
        return data

    @websocket_listener("/either")
    async def either(data: Move | Crate | Point) -> str:
        # Tried in declaration order: a Point would also read a Move (extra keys ignored).
        return type(data).__name__

    move = {"player": "a", "x": 1, "y": 2, "kind": "capture"}
    with trio.fail_after(TIMEOUT):
        async with LiveServer(App([note, either])) as server:
            assert await _asked(server, "/note", {"text": "t", "move": move}) == {
                "text": "t",
                "move": move,
            }
            assert await _closed(server, "/note", json.dumps({"text": "t", "move": {}})) == (
                1007,
                "move.player: required field missing",
            )
            assert await _said(server, "/either", {"x": 1, "y": 2}) == "Point"
            assert await _said(server, "/either", {"label": "l"}) == "Crate"
            assert await _said(server, "/either", move) == "Move"


# ---------------------------------------------------------------- streams and low level
async def test_streams_yield_models_of_every_kind() -> None:
    @websocket_stream("/moves")
    async def moves() -> AsyncGenerator[Move, None]:
        yield Move(player="a", x=1, y=1)

    @websocket_stream("/points")
    async def points() -> AsyncGenerator[Point, None]:
        yield Point(1, 2)

    @websocket_stream("/crates")
    async def crates() -> AsyncGenerator[Crate, None]:
        yield Crate("c", 3)

    expected = {
        "/moves": {"player": "a", "x": 1, "y": 1, "kind": "move"},
        "/points": {"x": 1, "y": 2},
        "/crates": {"label": "c", "count": 3},
    }
    with trio.fail_after(TIMEOUT):
        async with LiveServer(App([moves, points, crates])) as server:
            for path, item in expected.items():
                async with server.connect(path) as ws:
                    messages, closed = await read_until_close(ws)
                assert [json.loads(m) for m in messages] == [item]
                assert closed.code == 1000


async def test_receive_json_and_send_json_with_models_and_the_handler_option() -> None:
    @websocket("/low", forbid_unknown_fields=True)
    async def low(socket: WebSocket) -> None:
        await socket.accept()
        move = await socket.receive_json(type=Move)
        point = await socket.receive_json(type=Point)
        await socket.send_json([move, point, Crate("c")])
        await socket.receive_json(type=Crate)

    with trio.fail_after(TIMEOUT):
        async with LiveServer(App([low])) as server, server.connect("/low") as ws:
            await ws.send_message('{"player": "a", "x": 1, "y": 1}')
            await ws.send_message('{"x": 1, "y": 2}')
            assert await receive_json(ws) == [
                {"player": "a", "x": 1, "y": 1, "kind": "move"},
                {"x": 1, "y": 2},
                {"label": "c", "count": 0},
            ]
            await ws.send_message('{"label": "c", "colour": "red"}')
            closed = await close_of(ws)
    assert (closed.code, closed.reason) == (1007, "colour: unknown field")


# ---------------------------------------------------------------- DTOs
async def test_dtos_of_records_holding_models() -> None:
    dto = DTO(Account, exclude={"password"}, rename={"tags": "labels"})

    @websocket_listener("/account", dto=dto, return_dto=dto)
    async def account(data: Account) -> Account:
        assert data.password == ""
        return Account(data.name, data.board, password="secret", tags=[*data.tags, "seen"])

    crate_dto = DTO(Crate, rename={"count": "n"})

    @websocket_listener("/crate", dto=crate_dto, return_dto=crate_dto)
    async def crate(data: Crate) -> Crate:
        return Crate(data.label, data.count + 1)

    board = {"moves": [], "Turn": 3}
    message = {"name": "ada", "board": board, "password": "x", "labels": ["a"]}
    with trio.fail_after(TIMEOUT):
        async with LiveServer(App([account, crate])) as server:
            assert await _asked(server, "/account", message) == {
                "name": "ada",
                "board": board,
                "labels": ["a", "seen"],
            }
            assert await _asked(server, "/crate", {"label": "c", "n": 1}) == {"label": "c", "n": 2}


# ---------------------------------------------------------------- forbid_unknown_fields
def _kinds(prefix: str = "") -> list[Any]:
    @websocket_listener(f"{prefix}/dataclass")
    async def as_dataclass(data: Note) -> str:
        return "ok"

    @websocket_listener(f"{prefix}/attrs")
    async def as_attrs(data: Crate) -> str:
        return "ok"

    @websocket_listener(f"{prefix}/typeddict")
    async def as_typeddict(data: Label) -> str:
        return "ok"

    @websocket_listener(f"{prefix}/pydantic")
    async def as_pydantic(data: Board) -> str:
        return "ok"

    @websocket_listener(f"{prefix}/msgspec")
    async def as_struct(data: Stroke) -> str:
        return "ok"

    return [as_dataclass, as_attrs, as_typeddict, as_pydantic, as_struct]


#: path -> (a message with one undeclared key, the 1007 reason that names it)
UNKNOWN = {
    "/dataclass": ({"text": "t", "move": {"player": "a", "x": 1, "y": 1, "z": 0}}, "move.z"),
    "/attrs": ({"label": "l", "colour": "red"}, "colour"),
    "/typeddict": ({"text": "t", "font": "serif"}, "font"),
    "/pydantic": (
        {"moves": [{"player": "a", "x": 1, "y": 1, "hint": 1}], "Turn": 1},
        "moves[0].hint",
    ),
    "/msgspec": ({"type": "Stroke", "points": [{"x": 1, "y": 1, "z": 1}]}, "points[0].z"),
}


async def test_unknown_fields_are_ignored_by_default() -> None:
    with trio.fail_after(TIMEOUT):
        async with LiveServer(App(_kinds())) as server:
            for path, (message, _) in UNKNOWN.items():
                assert await _said(server, path, message) == "ok", path


async def test_forbid_unknown_fields_closes_1007_naming_the_field_for_every_kind() -> None:
    app = App(
        [*_kinds(), Router("/lenient", _kinds(), forbid_unknown_fields=False)],
        forbid_unknown_fields=True,
    )
    with trio.fail_after(TIMEOUT):
        async with LiveServer(app) as server:
            for path, (message, where) in UNKNOWN.items():
                assert await _closed(server, path, json.dumps(message)) == (
                    1007,
                    f"{where}: unknown field",
                ), path
                # A Router (and so a handler) may decide the other way.
                assert await _said(server, f"/lenient{path}", message) == "ok", path
