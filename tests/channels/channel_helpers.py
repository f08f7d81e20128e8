"""Helpers of the Channels tests: polling with a deadline (the redis-server they
start is tests/redis_helpers.py's, shared with the docs examples' tests)."""

from __future__ import annotations

from collections.abc import Callable

import trio


async def until(condition: Callable[[], bool]) -> None:
    """Wait until ``condition()`` holds; the caller sets the deadline.

    The conditions are counters and flags of the code under test, which offers no
    event to wait on: polling every 5 ms is the honest way to watch them.
    """
    while not condition():  # noqa: ASYNC110
        await trio.sleep(0.005)
