"""``App(metrics=True)`` over real sockets, on both engines: what a scrape reports.

Every test scrapes the App's own port (``/metrics``, or ``App(metrics_port=...)``)
and parses the exposition with prometheus_client's parser. Labels are route
templates and the engine, never a raw path. A connection's end is counted a moment
after its client saw the close, so the tests scrape until the figure arrives.
"""

from __future__ import annotations

import pytest
import trio
from trio_websocket import ConnectionClosed

from helpers import http_get, http_request, rejection
from metrics_helpers import Scrape, echo, http_get_url, scrape, scrape_until
from wsactors import App, NotAuthorizedError, WebSocket, websocket
from wsactors.testing import LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("live_engine")]

TIMEOUT = 10

OPEN = "wsactors_connections_open"
OPENED = "wsactors_connections_opened_total"
CLOSED = "wsactors_connections_closed_total"
DENIED = "wsactors_handshakes_denied_total"


@websocket("/bye")
async def bye(socket: WebSocket) -> None:
    await socket.accept()
    await socket.close(4001, "bye")


@websocket("/items/{item_id:int}")
async def item(socket: WebSocket, item_id: int) -> None:
    await socket.accept()
    await socket.send_text(str(item_id))
    await socket.close()


def _no_entry(socket: WebSocket) -> None:
    raise NotAuthorizedError("no token")


@websocket("/guarded", guards=[_no_entry])
async def guarded(socket: WebSocket) -> None:
    await socket.accept()


@websocket("/burst")
async def burst(socket: WebSocket) -> None:
    await socket.accept()
    for _ in range(20):
        await socket.send_text("x")
    await socket.close()


def metrics_app(**options: object) -> App:
    return App([echo, bye, item, guarded], metrics=True, **options)  # type: ignore[arg-type]


async def test_open_connections_messages_and_bytes_are_counted_live(live_engine: str) -> None:
    labels = {"route": "/echo", "engine": live_engine}
    with trio.fail_after(TIMEOUT):
        async with LiveServer(metrics_app()) as server, server.connect("/echo") as ws:
            for text in ("abc", "de", "é"):  # "é" is 2 bytes of UTF-8
                await ws.send_message(text)
                assert await ws.get_message() == text
            await ws.send_message(b"\x00\x01\x02\x03")
            assert await ws.get_message() == b"\x00\x01\x02\x03"
            live = await scrape(server)
    assert live.value(OPEN, **labels) == 1
    assert live.value(OPENED, **labels) == 1
    assert live.value("wsactors_messages_received_total", **labels) == 4
    assert live.value("wsactors_messages_sent_total", **labels) == 4
    assert live.value("wsactors_received_bytes_total", **labels) == 3 + 2 + 2 + 4
    assert live.value("wsactors_sent_bytes_total", **labels) == 3 + 2 + 2 + 4


async def test_closes_are_counted_by_code_and_by_who_closed(live_engine: str) -> None:
    echo_labels = {"route": "/echo", "engine": live_engine}
    with trio.fail_after(TIMEOUT):
        async with LiveServer(metrics_app()) as server:
            async with server.connect("/bye") as ws:
                with pytest.raises(ConnectionClosed) as closed:
                    await ws.get_message()
            reason = closed.value.reason
            assert reason is not None
            assert reason.code == 4001
            async with server.connect("/echo") as ws:
                await ws.send_message("hi")
                await ws.get_message()
                await ws.aclose(1000)
            ended = await scrape_until(server, OPEN, 0, **echo_labels)
            ended = await scrape_until(server, OPEN, 0, route="/bye", engine=live_engine)
            # Counters keep what was folded in when the connections ended.
            assert ended.value("wsactors_messages_received_total", **echo_labels) == 1
    assert ended.value(CLOSED, route="/bye", engine=live_engine, code="4001", by="server") == 1
    # hypercorn reports every client close as 1006 (docs/engines.md).
    client_code = "1000" if live_engine == "native" else "1006"
    assert ended.value(CLOSED, code=client_code, by="client", **echo_labels) == 1
    assert ended.value(OPENED, **echo_labels) == 1
    assert ended.total(CLOSED, engine=live_engine) == ended.total(OPENED, engine=live_engine) == 2
    duration = "wsactors_connection_duration_seconds_count"
    assert ended.value(duration, **echo_labels) == 1


async def test_denied_handshakes_are_counted_by_status(live_engine: str) -> None:
    app = metrics_app(allowed_origins=["https://ok.example"])
    with trio.fail_after(TIMEOUT):
        async with LiveServer(app) as server:
            assert (await rejection(server, "/nowhere/123")).status_code == 404
            assert (await rejection(server, "/guarded")).status_code == 401
            bad_origin = [(b"Origin", b"https://evil.example")]
            assert (await rejection(server, "/echo", extra_headers=bad_origin)).status_code == 403
            denied = await scrape_until(
                server, DENIED, 1, route="/guarded", engine=live_engine, status="401"
            )
    assert denied.value(DENIED, route="unmatched", engine=live_engine, status="404") == 1
    assert denied.value(DENIED, route="/echo", engine=live_engine, status="403") == 1
    # A denied handshake never opened a connection.
    assert denied.total(OPENED) == 0
    assert denied.total(CLOSED) == 0


async def test_labels_are_route_templates_never_raw_paths(live_engine: str) -> None:
    with trio.fail_after(TIMEOUT):
        async with LiveServer(metrics_app()) as server:
            for item_id in (1, 22, 333):
                async with server.connect(f"/items/{item_id}?q=secret") as ws:
                    assert await ws.get_message() == str(item_id)
            await rejection(server, "/unknown/path-from-a-client")
            scraped = await scrape_until(
                server, OPENED, 3, route="/items/{item_id:int}", engine=live_engine
            )
            scraped = await scrape_until(
                server, OPEN, 0, route="/items/{item_id:int}", engine=live_engine
            )
    assert scraped.label_values("route") <= {"/echo", "/bye", "/items/{item_id:int}", "unmatched"}
    assert scraped.label_values("engine") == {live_engine}
    for client_value in ("/items/1", "/items/22", "secret", "path-from-a-client"):
        assert client_value not in scraped.text


async def test_sends_that_waited_for_a_full_outbox_are_counted(live_engine: str) -> None:
    with trio.fail_after(TIMEOUT):
        # One message fits in the outbox: the second send of a burst waits.
        async with LiveServer(App([burst], metrics=True, outbox_size=1)) as server:
            async with server.connect("/burst") as ws:
                for _ in range(20):
                    assert await ws.get_message() == "x"
            scraped = await scrape_until(server, OPEN, 0, route="/burst", engine=live_engine)
    assert scraped.value("wsactors_send_waits_total", route="/burst", engine=live_engine) > 0


@pytest.mark.engine("native", reason="only the native engine checks pongs")
async def test_keepalive_round_trips_are_a_histogram() -> None:
    name = "wsactors_keepalive_rtt_seconds_count"
    with trio.fail_after(TIMEOUT):
        server = LiveServer(metrics_app(), ping_interval=0.05)
        async with server, server.connect("/echo"):  # trio-websocket answers pings
            await scrape_until(server, name, 1, route="/echo", engine="native")
            scraped = await scrape(server)
    assert scraped.value("wsactors_keepalive_rtt_seconds_bucket", le="+Inf", **_echo_native()) >= 1
    assert scraped.value("wsactors_keepalive_rtt_seconds_sum", **_echo_native()) > 0


def _echo_native() -> dict[str, str]:
    return {"route": "/echo", "engine": "native"}


async def page(scope: dict[str, object], receive: object, send: object) -> None:
    """A one-page http_app."""
    body = b"the page"
    await send(  # type: ignore[operator]
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"8")]}
    )
    await send({"type": "http.response.body", "body": body})  # type: ignore[operator]


async def test_metrics_path_is_configurable_and_other_paths_reach_the_http_app() -> None:
    app = metrics_app(metrics_path="/internal/metrics", http_app=page)
    with trio.fail_after(TIMEOUT):
        async with LiveServer(app) as server:
            path = "/internal/metrics"
            status, headers, body = await http_get_url(server.host, server.port, path)
            for path in ("/metrics", "/"):
                status_line, page_body = await http_get(server, path)
                assert status_line.startswith(b"HTTP/1.1 200")
                assert page_body == b"the page"
    assert status == 200
    assert headers["content-type"].startswith("text/plain")
    assert "# TYPE wsactors_connections_open gauge" in body.decode()


async def test_metrics_without_an_http_app() -> None:
    with trio.fail_after(TIMEOUT):
        async with LiveServer(metrics_app()) as server:
            scraped = await scrape(server)
            not_found, _ = await http_get(server, "/not-metrics")
            posted = await http_request(server, "POST", "/metrics")
    assert "wsactors_connections_open" in scraped.text
    assert not_found.startswith(b"HTTP/1.1 404")
    assert posted.startswith(b"HTTP/1.1 405")


async def test_metrics_off_by_default() -> None:
    app = App([echo])
    assert app.metrics is None
    with trio.fail_after(TIMEOUT):
        async with LiveServer(app) as server:
            status, _ = await http_get(server, "/metrics")
    assert status.startswith(b"HTTP/1.1 404")


async def test_a_metrics_port_of_their_own(live_engine: str) -> None:
    app = App([echo], metrics_port=0)  # no HTTP side on the App's own port
    assert app.metrics is not None
    with trio.fail_after(TIMEOUT):
        async with LiveServer(app) as server:
            url = app.metrics.url
            assert url is not None
            host, port = url.removeprefix("http://").removesuffix("/metrics").rsplit(":", 1)
            async with server.connect("/echo"):
                status, headers, body = await http_get_url(host, int(port), "/metrics")
            own_port, _ = await http_get(server, "/metrics")
    assert status == 200
    assert headers["connection"] == "close"
    scraped = Scrape.parse(body.decode())
    assert scraped.value(OPEN, route="/echo", engine=live_engine) == 1
    assert own_port.startswith(b"HTTP/1.1 404")
    assert app.metrics.url is None  # the listener closed with the lifespan


async def test_two_apps_in_one_process_never_mix(live_engine: str) -> None:
    first, second = metrics_app(), metrics_app()
    with trio.fail_after(TIMEOUT):
        one, two = LiveServer(first), LiveServer(second)
        async with one, two, one.connect("/echo") as ws:
            await ws.send_message("only here")
            await ws.get_message()
            seen, unseen = await scrape(one), await scrape(two)
    labels = {"route": "/echo", "engine": live_engine}
    assert seen.value(OPEN, **labels) == 1
    assert seen.value("wsactors_messages_received_total", **labels) == 1
    assert unseen.total(OPEN) == 0
    assert unseen.total("wsactors_messages_received_total") == 0
