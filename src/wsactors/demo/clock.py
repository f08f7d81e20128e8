"""The demo's live clock: a ``@websocket_stream`` that pushes the server time."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import UTC, datetime

import trio

from ..handlers import websocket_stream

__all__ = ["Tick", "live_clock"]

#: Ticks land this long after each whole second, so no second is shown twice or skipped.
OFFSET = 0.01


@dataclass(frozen=True, slots=True)
class Tick:
    """The server time: ISO 8601 in UTC (whole seconds) and Unix seconds."""

    time: str
    unix: float


@websocket_stream("/ws/clock")
async def live_clock() -> AsyncGenerator[Tick, None]:
    """Yield the time now, then just after every whole second, until the client leaves.

    The framework cancels the generator while it sleeps when the client goes away,
    and a message from the client closes the stream with 1008 (the data-discard rule).
    """
    while True:
        now = datetime.now(UTC)
        yield Tick(now.isoformat(timespec="seconds"), now.timestamp())
        await trio.sleep(1.0 - time.time() % 1.0 + OFFSET)
