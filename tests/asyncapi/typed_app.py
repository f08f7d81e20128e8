"""An App whose routes use every kind of type the AsyncAPI document describes.

Shared by the tests in this folder (imported as ``typed_app``: pytest puts the
folder on ``sys.path``).
"""

from __future__ import annotations

import enum
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple, NotRequired, TypedDict
from uuid import UUID

import attrs

from wsactors import (
    DTO,
    App,
    Provide,
    Router,
    WebSocket,
    WebSocketListener,
    websocket,
    websocket_listener,
    websocket_stream,
)


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclass
class Item:
    """One line of an order."""

    name: str
    price: Decimal
    tags: list[str] = field(default_factory=list)


@attrs.define
class Order:
    id: UUID
    placed: datetime
    items: list[Item]
    color: Color
    notes: dict[str, int] = attrs.Factory(dict)
    due: datetime | None = None


class Address(TypedDict):
    street: str
    zip: NotRequired[str]


class Pair(NamedTuple):
    left: int
    right: float


@dataclass
class Circle:
    radius: float


@dataclass
class Square:
    side: float


@dataclass
class Drawing:
    """msgspec refuses the union of records in a field; wsactors describes it itself."""

    shapes: list[Circle | Square]
    title: str = ""


@dataclass
class Account:
    name: str
    email: str
    password: str
    id: int = 0


@dataclass
class Team:
    lead: Account
    members: list[Account] = field(default_factory=list)


NewAccount = DTO(Account, exclude={"id"}, rename={"email": "emailAddress"})
PublicAccount = DTO(Account, exclude={"password"}, rename={"email": "emailAddress"})


@websocket_listener("/orders")
async def orders(data: Order) -> Order:
    """Echo an order back.

    Orders carry UUIDs, times, decimals and enums.
    """
    return data


@websocket_listener("/addresses")
def addresses(data: Address) -> None:
    """Take addresses, answer nothing."""


@websocket_listener("/pairs", receive_mode="binary", send_mode="binary")
def pairs(data: Pair) -> list[float]:
    return [data.left + data.right]


@websocket_listener("/shapes", max_message_size=1024, rate_limit=(10, 1.0))
def shapes(data: Circle | Square) -> float:
    return data.radius if isinstance(data, Circle) else data.side


@websocket_listener("/drawings")
def drawings(data: Drawing) -> int:
    return len(data.shapes)


@websocket_listener("/accounts", dto=NewAccount, return_dto=PublicAccount)
def accounts(data: Account) -> Account:
    return data


@websocket_listener("/teams", dto=NewAccount)
def teams(data: Team) -> None:
    """The DTO applies to the model inside another record, as the codec applies it."""


@websocket_listener("/levels/{n:int}")
def levels(data: list[Level] | None, n: int, limit: int, tags: list[str] | None = None) -> str:
    return f"{n}:{limit}:{data}"


@websocket_listener("/text", receive_mode="binary")
def text(data: str) -> bytes:
    return data.encode()


@websocket_listener("/bytes")
def raw_bytes(data: bytes) -> None:
    return None


@websocket_stream("/ticks/{id:uuid}", allow_data_discard=True, warn_on_data_discard=False)
async def ticks(id: UUID) -> AsyncGenerator[Item, None]:
    yield Item("tick", Decimal(1))


@websocket("/raw", receives=Item, sends=Pair)
async def raw(socket: WebSocket) -> None:
    """Declared types on a low-level handler."""
    await socket.accept()


@websocket("/opaque")
async def opaque(socket: WebSocket) -> None:
    await socket.accept()


def database(page: int = 1) -> str:
    return f"db page {page}"


class Counter(WebSocketListener):
    """Count the messages of one connection."""

    path = "/counter/{room:path}"
    idle_timeout = 30.0

    def on_receive(self, data: dict[str, int], db: str) -> int:
        """Reply with the number of keys."""
        return len(data)


def create_app() -> App:
    """A fresh App with every route above (the Router adds a query-reading dependency)."""
    api = Router("/api", [Counter], dependencies={"db": Provide(database)})
    return App(
        [
            orders,
            addresses,
            pairs,
            shapes,
            drawings,
            accounts,
            teams,
            levels,
            text,
            raw_bytes,
            ticks,
            raw,
            opaque,
            api,
        ],
        require_origin=True,
        allowed_origins=["https://example.com"],
    )
