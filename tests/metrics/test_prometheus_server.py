"""A real Prometheus server scrapes a served App, and its query API returns what the
test caused: the connections open, and the closes by code.

Debian's ``prometheus`` (``apt-get install prometheus``), started by the test on a
free port of 127.0.0.1 with a configuration it writes (``prometheus_helpers``).
Marked ``prometheus``: deselected by default, run by ``nox -s prometheus``; skipped
without the binary unless ``CI=true``. On hypercorn Prometheus scrapes the App's own
``/metrics``; on the native engine, the metrics port of its own
(``App(metrics_port=...)``).
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path

import pytest
import trio
from prometheus_helpers import start_prometheus
from trio_websocket import ConnectionClosed

from metrics_helpers import echo
from wsactors import App, WebSocket, websocket
from wsactors.testing import LiveServer

pytestmark = [pytest.mark.prometheus, pytest.mark.e2e, pytest.mark.slow]

TIMEOUT = 90


@websocket("/rooms/{room}")
async def kicked(socket: WebSocket, room: str) -> None:
    await socket.accept()
    await socket.receive_text()
    await socket.close(4001, "kicked")


@pytest.mark.parametrize("live_engine", ["hypercorn", "native"], indirect=True)
async def test_prometheus_scrapes_open_connections_and_closes_by_code(
    live_engine: str, tmp_path: Path
) -> None:
    if live_engine == "native":
        app = App([echo, kicked], metrics_port=0)
    else:
        app = App([echo, kicked], metrics=True)
    with trio.fail_after(TIMEOUT):
        async with LiveServer(app) as server, AsyncExitStack() as clients:
            assert app.metrics is not None
            target = f"{server.host}:{server.port}"
            if app.metrics.url is not None:  # the native case: the metrics port
                target = app.metrics.url.removeprefix("http://").removesuffix("/metrics")
            async with start_prometheus([target], tmp_path) as prometheus:
                # Three clients stay open on /echo; two rooms kick theirs (4001);
                # one /echo client leaves with 1000 (hypercorn reports 1006).
                for _ in range(3):
                    ws = await clients.enter_async_context(server.connect("/echo"))
                    await ws.send_message("hello")
                    assert await ws.get_message() == "hello"
                for room in ("lobby", "kitchen"):
                    async with server.connect(f"/rooms/{room}") as ws:
                        await ws.send_message("hi")
                        with pytest.raises(ConnectionClosed) as closed:
                            await ws.get_message()
                        reason = closed.value.reason
                        assert reason is not None
                        assert reason.code == 4001
                async with server.connect("/echo") as leaving:
                    await leaving.aclose(1000)

                await prometheus.wait_for(
                    f'wsactors_connections_open{{engine="{live_engine}"}}',
                    "route",
                    {"/echo": 3, "/rooms/{room}": 0},
                )
                client_code = "1000" if live_engine == "native" else "1006"
                await prometheus.wait_for(
                    f'sum by (code) (wsactors_connections_closed_total{{engine="{live_engine}"}})',
                    "code",
                    {"4001": 2, client_code: 1},
                )
                await prometheus.wait_for(
                    "sum by (route) (wsactors_messages_received_total)",
                    "route",
                    {"/echo": 3, "/rooms/{room}": 2},
                )
                up = await prometheus.values_by("up", "job")
    assert up == {"wsactors": 1}
