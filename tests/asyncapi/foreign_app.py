"""An App whose messages are pydantic models, msgspec Structs and attrs classes, with
routes that forbid unknown fields (issue 21).

Its document is checked like the others (``apps.APPS``): by the official parser, and
by the property tests that feed payloads generated from each schema to the route's
own decoder. The pydantic models here are strict, so that their schemas say exactly
what they read: a lax model (pydantic's default) also reads ``"5"`` as an integer,
which its schema (``type: integer``) does not allow (docs/receiving-data.md).

Imported as ``foreign_app`` (pytest puts this folder on ``sys.path``).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypedDict
from uuid import UUID

import attrs
import msgspec
from pydantic import BaseModel, ConfigDict, Field, computed_field

from wsactors import App, Router, WebSocketListener, websocket_listener, websocket_stream


class Line(BaseModel):
    """One line of an order."""

    model_config = ConfigDict(strict=True)

    sku: str = Field(min_length=1)
    qty: int = Field(ge=1)


class Order(BaseModel):
    model_config = ConfigDict(strict=True)

    id: UUID
    lines: list[Line]
    placed: datetime | None = None
    note: str = Field(default="", alias="Note")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total(self) -> int:
        return sum(line.qty for line in self.lines)


class Cat(BaseModel):
    model_config = ConfigDict(strict=True)

    kind: Literal["cat"]
    lives: int


class Dog(BaseModel):
    model_config = ConfigDict(strict=True)

    kind: Literal["dog"]
    good: bool


class Owner(BaseModel):
    model_config = ConfigDict(strict=True)

    pet: Cat | Dog = Field(discriminator="kind")


class Point(msgspec.Struct):
    x: int
    y: int


class Square(msgspec.Struct, tag=True):
    side: int


class Circle(msgspec.Struct, tag=True):
    radius: float


class Drawing(msgspec.Struct):
    shape: Square | Circle
    points: list[Point] = []


class Closed(msgspec.Struct, forbid_unknown_fields=True):
    name: str


@attrs.define
class Crate:
    label: str
    lines: list[Line] = attrs.Factory(list)


class Label(TypedDict):
    text: str


@dataclass
class Parcel:
    crate: Crate
    drawing: Drawing
    label: Label


@websocket_listener("/orders")
async def orders(data: Order) -> Order:
    """Answer each order with itself and its total."""
    return data


@websocket_listener("/owners")
async def owners(data: Owner) -> Owner:
    return data


@websocket_listener("/drawings")
async def drawings(data: Drawing) -> Drawing:
    return data


@websocket_listener("/closed")
async def closed(data: Closed) -> Closed:
    return data


@websocket_listener("/crates")
async def crates(data: Crate) -> list[Crate]:
    return [data]


@websocket_listener("/parcels", forbid_unknown_fields=True)
async def parcels(data: Parcel) -> Parcel:
    """Every object inside refuses keys it does not declare."""
    return data


class Unions(WebSocketListener):
    path = "/unions"

    async def on_receive(self, data: Point | Closed | Line) -> Point | Closed | Line:
        return data


@websocket_stream("/feed")
async def feed() -> AsyncGenerator[Owner, None]:
    yield Owner(pet=Cat(kind="cat", lives=9))


def create_app() -> App:
    return App(
        [
            orders,
            owners,
            drawings,
            closed,
            crates,
            parcels,
            Unions,
            feed,
            Router("/strict", [orders, drawings], forbid_unknown_fields=True),
        ]
    )
