"""Unfinished messages on the native engine, end to end: a connection paused by the
server's buffer budget still ends as soon as its client leaves.

Without looking, the paused connection would not be read until the budget had
room or ``buffer_pause_timeout`` passed, keeping its unfinished message (and its
handler) that long after the client was gone.
"""

from __future__ import annotations

import pytest
import trio
from native_helpers import DEADLINE, RawClient, echo, events, native

from helpers import wait_until
from wsactors import App

pytestmark = [pytest.mark.engine("native"), pytest.mark.usefixtures("live_engine")]


@pytest.fixture(autouse=True)
def _clear_events() -> None:
    events.clear()


async def test_a_paused_connection_ends_when_its_client_leaves() -> None:
    with trio.fail_after(DEADLINE):
        # The pause would last four deadlines: only the look at the socket ends
        # the connection in time.
        async with native(
            App([echo]), max_buffered_bytes=64 * 1024, buffer_pause_timeout=4 * DEADLINE
        ) as server:
            hog = await RawClient.open(server, "/echo")
            async with hog.stream:
                # More than the whole server may hold: the budget is spent.
                await hog.stream.send_all(hog.frame(0x2, b"x" * 256 * 1024)[: 128 * 1024])
                await trio.sleep(0.5)  # read by the server (loopback)
                leaver = await RawClient.open(server, "/echo")
                # Read whole (it held nothing), then paused: nothing of it unread.
                await leaver.stream.send_all(leaver.frame(0x2, b"y" * 4096)[:1024])
                await trio.sleep(0.2)
                await leaver.stream.aclose()
                await wait_until(lambda: ("disconnect", 1006, "") in events)
