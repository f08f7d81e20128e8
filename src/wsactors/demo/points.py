"""The demo's "send JSON" box: a typed ``@websocket_listener``.

``{"x": 3, "y": -4}`` is structured into :class:`Point` by cattrs and answered with
a :class:`PointResult`. A payload that does not fit (``{"x": 1, "y": "2"}``, a
missing field, malformed JSON) closes the connection with 1007 and a reason such
as ``y: expected int, got str``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..handlers import websocket_listener

__all__ = ["Point", "PointResult", "json_box"]


@dataclass(frozen=True, slots=True)
class Point:
    """A point with integer coordinates."""

    x: int
    y: int


@dataclass(frozen=True, slots=True)
class PointResult:
    """What the server computed from a :class:`Point`."""

    point: Point
    sum: int
    product: int
    quadrant: str


def quadrant(point: Point) -> str:
    """``"I"`` to ``"IV"``, or the axis the point lies on."""
    x, y = point.x, point.y
    if x == 0 or y == 0:
        return "origin" if x == y else ("y axis" if x == 0 else "x axis")
    if x > 0:
        return "I" if y > 0 else "IV"
    return "II" if y > 0 else "III"


# 4 KiB also keeps the product of two coordinates under Python's int-to-str digit limit.
@websocket_listener("/ws/json", max_message_size=4096)
def json_box(data: Point) -> PointResult:
    """Answer every point with its sum, product and quadrant (runs inline: no I/O)."""
    return PointResult(data, data.x + data.y, data.x * data.y, quadrant(data))
