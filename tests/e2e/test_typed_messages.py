"""Typed messages end to end (issue 13): what a client sends and gets back.

Common field types in both directions, JSON-shape errors that name the shape, the
bounds on nesting and integer size, outgoing NaN/Infinity, optional query lists,
and Litestar's ``detail=`` on ``WebSocketException``. Each test runs a real
hypercorn (LiveServer) on loopback with a trio-websocket client.

No ``from __future__ import annotations``: the handlers' local types must resolve.
"""

import base64
import datetime
import decimal
import enum
import json
import logging
import pathlib
import uuid
from dataclasses import dataclass
from typing import Any, NamedTuple, TypedDict

import pytest
import trio

from helpers import DEADLINE, ask, ask_json, close_after, close_of
from wsactors import App, WebSocketException, websocket_listener
from wsactors.handlers import ListenerRouteHandler
from wsactors.testing import LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("live_engine")]

#: Deadline of every test (seconds).


class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


class Size(enum.IntEnum):
    SMALL = 1
    LARGE = 2


@dataclass
class Order:
    id: uuid.UUID
    price: decimal.Decimal
    placed: datetime.datetime
    due: datetime.date
    slot: datetime.time
    colour: Colour
    size: Size
    file: pathlib.Path
    blob: bytes


ORDER = {
    "id": "12345678-1234-5678-1234-567812345678",
    "price": "19.90",
    "placed": "2024-05-01T12:30:00+00:00",
    "due": "2024-05-03",
    "slot": "09:15:00",
    "colour": "green",
    "size": 2,
    "file": "reports/may.pdf",
    "blob": base64.b64encode(b"\x00\xffbinary").decode(),
}


def _order_app(seen: list[Order]) -> App:
    @websocket_listener("/")
    async def handler(data: Order) -> Order:
        seen.append(data)
        return data

    return App([handler])


def _logs(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("wsactors")]


# ---------------------------------------------------------------- field types
async def test_stdlib_field_types_arrive_typed_and_go_back_in_their_json_forms() -> None:
    seen: list[Order] = []
    with trio.fail_after(DEADLINE):
        async with LiveServer(_order_app(seen)) as server, server.connect("/") as ws:
            reply = await ask_json(ws, json.dumps(ORDER))
    assert seen == [
        Order(
            id=uuid.UUID("12345678-1234-5678-1234-567812345678"),
            price=decimal.Decimal("19.90"),
            placed=datetime.datetime(2024, 5, 1, 12, 30, tzinfo=datetime.UTC),
            due=datetime.date(2024, 5, 3),
            slot=datetime.time(9, 15),
            colour=Colour.GREEN,
            size=Size.LARGE,
            file=pathlib.Path("reports/may.pdf"),
            blob=b"\x00\xffbinary",
        )
    ]
    # UUID and Decimal as strings, ISO 8601, enums by value, bytes as standard base64.
    assert reply == ORDER


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("id", "not-a-uuid", "id: expected a UUID string"),
        ("id", 5, "id: expected a UUID string, got number"),
        ("price", "cheap", "price: expected a decimal number or string"),
        ("placed", "yesterday", "placed: expected an ISO 8601 datetime string"),
        ("colour", "blue", "colour: 'blue' is not a valid Colour"),
        ("blob", "not base64!", "blob: expected a base64 string"),
    ],
)
async def test_a_bad_stdlib_field_closes_1007_naming_the_field(
    field: str, value: Any, reason: str
) -> None:
    seen: list[Order] = []
    with trio.fail_after(DEADLINE):
        closed = await close_after(_order_app(seen), json.dumps({**ORDER, field: value}))
    assert (closed.code, closed.reason) == (1007, reason)
    assert seen == []


async def test_a_decimal_also_arrives_as_a_json_number() -> None:
    @websocket_listener("/")
    async def handler(data: decimal.Decimal) -> str:
        return repr(data)

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([handler])) as server, server.connect("/") as ws:
            assert await ask(ws, "0.1") == "Decimal('0.1')"
            assert await ask(ws, '"2.50"') == "Decimal('2.50')"


# ---------------------------------------------------------------- JSON shapes
class Movie(TypedDict):
    title: str


class Pair(NamedTuple):
    left: int
    right: str


def _ok_listener(data_type: Any) -> ListenerRouteHandler:
    async def handler(data: data_type) -> str:
        return "ok"

    return websocket_listener("/")(handler)


@pytest.mark.parametrize(
    ("data_type", "payload", "reason"),
    [
        (dict[str, str], "[1, 2]", "expected a JSON object, got array"),
        (dict[str, int], '"abc"', "expected a JSON object, got string"),
        (Movie, "[1]", "expected a JSON object, got array"),
        (list[str], '"abc"', "expected a JSON array, got string"),
        (list[str], '{"a": "b"}', "expected a JSON array, got object"),
        (list[int], "5", "expected a JSON array, got number"),
        (tuple[int, ...], "null", "expected a JSON array, got null"),
        (set[int], "true", "expected a JSON array, got boolean"),
        (Pair, '{"left": 1}', "expected a JSON array, got object"),
        (dict[str, int] | None, "[1]", "expected a JSON object, got array"),
        (int | str, "[1]", "expected one of int, str, got array"),
        (int | str, "true", "expected one of int, str, got boolean"),
    ],
)
async def test_a_wrong_json_shape_closes_1007_naming_the_shape(
    data_type: Any, payload: str, reason: str
) -> None:
    with trio.fail_after(DEADLINE):
        closed = await close_after(App([_ok_listener(data_type)]), payload)
    assert (closed.code, closed.reason) == (1007, reason)


# ---------------------------------------------------------------- bounds
def _echo_any() -> App:
    @websocket_listener("/")
    async def echo(data: Any) -> Any:
        return data

    return App([echo])


async def test_json_nested_100000_deep_closes_1007_with_one_info_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="wsactors")
    with trio.fail_after(DEADLINE):
        closed = await close_after(_echo_any(), "[" * 100_000 + "]" * 100_000)
    assert (closed.code, closed.reason) == (1007, "JSON nested too deeply")
    # One line says why (the connection's summary line also repeats the reason).
    why = [r for r in _logs(caplog) if r.getMessage().startswith("invalid message")]
    assert [r.getMessage() for r in why] == [
        "invalid message on '/', closing with 1007: 'JSON nested too deeply'"
    ]
    assert why[0].levelno == logging.INFO
    assert all(r.exc_info is None for r in _logs(caplog)), "no traceback"
    assert not [r for r in _logs(caplog) if r.levelno >= logging.WARNING]


async def test_nesting_is_accepted_up_to_100_levels_and_refused_beyond() -> None:
    with trio.fail_after(DEADLINE):
        async with LiveServer(_echo_any()) as server, server.connect("/") as ws:
            deepest = "[" * 100 + "]" * 100
            assert await ask(ws, deepest) == deepest
            await ws.send_message("[" * 101 + "]" * 101)
            closed = await close_of(ws)
    assert (closed.code, closed.reason) == (1007, "JSON nested too deeply")


async def test_an_integer_of_more_than_4300_digits_closes_1007() -> None:
    with trio.fail_after(DEADLINE):
        async with LiveServer(_echo_any()) as server, server.connect("/") as ws:
            longest = "9" * 4300
            assert await ask(ws, f"[{longest}]") == f"[{longest}]"
            # The same digits inside a string are just a string.
            assert await ask(ws, f'["{"1" * 5000}"]') == f'["{"1" * 5000}"]'
            await ws.send_message(f'{{"n": -{"1" * 5000}}}')
            closed = await close_of(ws)
    assert (closed.code, closed.reason) == (1007, "integer too long: 5000 digits > 4300")


# ---------------------------------------------------------------- outgoing JSON
@pytest.mark.parametrize(
    ("payload", "named"),
    [("1e999", "the value: inf"), ('{"points": [1, -1e999]}', "points[1]: -inf")],
)
async def test_a_reply_holding_infinity_closes_1011_and_logs_the_value(
    caplog: pytest.LogCaptureFixture, payload: str, named: str
) -> None:
    caplog.set_level(logging.INFO, logger="wsactors")
    with trio.fail_after(DEADLINE):
        # 1e999 is valid JSON that Python reads as float("inf"); echoing it back as
        # `Infinity` would be invalid JSON.
        closed = await close_after(_echo_any(), payload)
    assert (closed.code, closed.reason) == (1011, "Internal Server Error")
    errors = [r for r in _logs(caplog) if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].exc_info is not None
    assert f"cannot send {named} as JSON" in str(errors[0].exc_info[1])


async def test_a_returned_nan_closes_1011() -> None:
    @websocket_listener("/")
    async def handler(data: str) -> dict[str, float]:
        return {"ratio": float("nan")}

    with trio.fail_after(DEADLINE):
        closed = await close_after(App([handler]), "go")
    assert closed.code == 1011


# ---------------------------------------------------------------- query parameters
async def test_an_absent_optional_list_query_parameter_is_none() -> None:
    @websocket_listener("/")
    async def handler(data: str, tags: list[str] | None = None) -> dict[str, Any]:
        return {"tags": tags}

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([handler])) as server:
            async with server.connect("/") as ws:
                assert await ask_json(ws, "hi") == {"tags": None}
            async with server.connect("/?tags=a&tags=b") as ws:
                assert await ask_json(ws, "hi") == {"tags": ["a", "b"]}


# ---------------------------------------------------------------- Litestar's detail=
async def test_websocket_exception_with_litestar_detail_keyword_closes_with_it() -> None:
    @websocket_listener("/")
    async def handler(data: str) -> str:
        raise WebSocketException(detail="members only", code=4001)

    with trio.fail_after(DEADLINE):
        closed = await close_after(App([handler]), "hello")
    assert (closed.code, closed.reason) == (4001, "members only")
