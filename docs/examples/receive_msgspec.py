"""msgspec Structs as messages: msgspec validates what arrives and builds the replies.

Needs ``pip install 'wsactors[msgspec]'``.
"""

import msgspec

from wsactors import App, websocket_listener


class Point(msgspec.Struct):
    x: int
    y: int


class Line(msgspec.Struct, tag=True):
    start: Point
    end: Point


class Circle(msgspec.Struct, tag=True):
    center: Point
    radius: float


class Drawing(msgspec.Struct, forbid_unknown_fields=True):
    # Tagged Structs: {"type": "Line", ...} or {"type": "Circle", ...}.
    shapes: list[Line | Circle]
    title: str = ""


@websocket_listener("/draw")
async def draw(data: Drawing) -> Drawing:
    # "5" is not an int, and an undeclared key of a Drawing closes 1007 ("colour:
    # unknown field"): msgspec is strict, and this Struct forbids unknown fields.
    return msgspec.structs.replace(data, title=data.title or "untitled")


app = App([draw])
