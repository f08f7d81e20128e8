"""What an idle connection holds on the native engine (issue 11: memory per idle
connection), end to end: tasks are the largest part of it, so their number is
pinned. ``benchmarks/memory_native.py`` measures the bytes.

The server runs in the test's own Trio run (``LiveServer``), so its tasks can be
counted; the clients are raw sockets (``RawClient``), which run no task.
"""

from __future__ import annotations

import pytest
import trio
from native_helpers import DEADLINE, RawClient, echo, native
from wsproto.events import Ping

from helpers import live_tasks
from wsactors import App

pytestmark = [pytest.mark.engine("native"), pytest.mark.usefixtures("live_engine")]


async def _a_ping(client: RawClient) -> bool:
    """Read until the server pings (True) or closes (False)."""
    while True:
        chunk = await client.stream.receive_some(65536)
        if not chunk:
            return False
        client.conn.receive_data(chunk)
        if any(isinstance(event, Ping) for event in client.conn.events()):
            return True


async def test_an_idle_connection_runs_three_tasks_and_keepalive_still_pings() -> None:
    with trio.fail_after(DEADLINE):
        async with native(App([echo]), ping_interval=0.3, ping_timeout=5.0) as server:
            first = await RawClient.open(server, "/echo")
            await trio.sleep(0.1)
            before = live_tasks()
            clients = [await RawClient.open(server, "/echo") for _ in range(4)]
            await trio.sleep(0.1)  # every connection reaches its idle wait
            # Per connection: its own task (the behaviour), the receiver, the
            # sender. Keepalive is the server's one timer task, not one each.
            assert live_tasks() - before == 4 * 3
            for client in [first, *clients]:
                assert await _a_ping(client)
            for client in [first, *clients]:
                await client.stream.aclose()
