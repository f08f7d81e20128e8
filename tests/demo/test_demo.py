"""The bundled demo: its static page over HTTP, the chat rooms, the clock, the typed
JSON box, the statistics answers and the ``/ws/echo`` handler.

The browser itself is tested in tests/browser (``nox -s e2e``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, cast

import pytest
import trio
from trio_websocket import WebSocketConnection

from helpers import DEADLINE, read_until_close
from wsactors import App
from wsactors.demo import chat
from wsactors.demo.app import StaticFiles, create_app
from wsactors.demo.chat import clean_name
from wsactors.demo.points import Point, quadrant
from wsactors.testing import LiveServer, TestClient

Message = dict[str, Any]

#: Deadline of each step over real sockets (seconds); nothing here may hang.
STATS_FIELDS = {
    "messages_in",
    "messages_out",
    "bytes_in",
    "bytes_out",
    "dropped_frames",
    "discarded_messages",
    "rate_limited_messages",
    "unsent_messages",
    "send_waits",
    "channel_gaps",
    "channel_lost",
    "channel_messages",
    "channel_backlog",
    "inbox_depth",
    "outbox_depth",
    "inbox_size",
    "outbox_size",
}


@pytest.fixture
def demo_app() -> App:
    """A fresh demo App: an App drained by one server's shutdown refuses new handshakes."""
    return create_app()


async def http_request(
    host: str, port: int, path: str, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    """Send one raw HTTP/1.1 request; return the status, headers and body."""
    stream = await trio.open_tcp_stream(host, port)
    async with stream:
        request = f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
        await stream.send_all(request.encode("ascii"))
        received = bytearray()
        async for chunk in stream:  # until the server closes (Connection: close)
            received += chunk
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


async def call_http(app: StaticFiles, path: str, method: str = "GET") -> list[Message]:
    """Call ``app`` with an ASGI http scope; return what it sent."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "headers": []}
    with trio.fail_after(DEADLINE):
        await app(scope, receive, send)
    return sent


@pytest.mark.usefixtures("live_engine")
async def test_page_is_served_at_root(demo_app: App) -> None:
    async with LiveServer(demo_app) as server:
        with trio.fail_after(DEADLINE):
            status, headers, body = await http_request(server.host, server.port, "/")
    assert status == 200
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert int(headers["content-length"]) == len(body)
    page = body.decode()
    markers = (
        # chat
        'id="name"',
        'id="message"',
        'id="send"',
        '<ul id="log"',
        "online count is this server process's own",  # not the rooms' across processes
        # clock, JSON box, statistics
        'id="clock"',
        'id="json-input"',
        'id="json-send"',
        'id="json-result"',
        'id="stats"',
        'src="/app.js"',
    )
    for marker in markers:
        assert marker in page
    assert "://" not in page  # everything comes from this server: no CDN


@pytest.mark.usefixtures("live_engine")
async def test_script_and_stylesheet_are_served_with_their_types(demo_app: App) -> None:
    async with LiveServer(demo_app) as server:
        with trio.fail_after(DEADLINE):
            js_status, js_headers, script = await http_request(server.host, server.port, "/app.js")
            css_status, css_headers, _ = await http_request(server.host, server.port, "/style.css")
    assert (js_status, css_status) == (200, 200)
    assert js_headers["content-type"] == "text/javascript; charset=utf-8"
    assert css_headers["content-type"] == "text/css; charset=utf-8"
    for endpoint in (b"/ws/chat/", b'"/ws/clock"', b'"/ws/json"'):
        assert endpoint in script


@pytest.mark.parametrize("path", ["/missing", "/app.js/extra", "/static/app.js"])
@pytest.mark.usefixtures("live_engine")
async def test_unknown_path_is_404(demo_app: App, path: str) -> None:
    async with LiveServer(demo_app) as server:
        with trio.fail_after(DEADLINE):
            status, headers, body = await http_request(server.host, server.port, path)
    assert status == 404
    assert headers["content-type"].startswith("text/plain")
    assert body == b"Not Found"


@pytest.mark.usefixtures("live_engine")
async def test_echo_over_real_sockets_keeps_frame_types(demo_app: App) -> None:
    async with LiveServer(demo_app) as server:
        with trio.fail_after(DEADLINE):
            async with server.connect("/ws/echo") as ws:
                await ws.send_message("hello, wsactors")
                text = await ws.get_message()
                await ws.send_message(b"\x00\xffbinary")
                data = await ws.get_message()
                await ws.send_message("")
                empty = await ws.get_message()
    assert text == "hello, wsactors"
    assert isinstance(text, str)
    assert data == b"\x00\xffbinary"
    assert isinstance(data, bytes)
    assert empty == ""


async def test_echo_in_process_keeps_frame_types(demo_app: App) -> None:
    async with TestClient(demo_app) as client, client.websocket_connect("/ws/echo") as ws:
        await ws.send_text("hi")
        assert await ws.receive_text() == "hi"
        await ws.send_bytes(b"\x01\x02")
        assert await ws.receive_bytes() == b"\x01\x02"
        # The raw ASGI message shows the frame type: text frames carry "text" only.
        await ws.send_text("again")
        message = await ws.receive()
        assert message["type"] == "websocket.send"
        assert message.get("text") == "again"
        assert message.get("bytes") is None


async def test_echo_keeps_order(demo_app: App) -> None:
    async with TestClient(demo_app) as client, client.websocket_connect("/ws/echo") as ws:
        for i in range(20):
            await ws.send_text(str(i))
        assert [await ws.receive_text() for _ in range(20)] == [str(i) for i in range(20)]


async def test_head_has_headers_and_no_body() -> None:
    files = StaticFiles("wsactors.demo")
    get_start, get_body = await call_http(files, "/")
    head_start, head_body = await call_http(files, "/", method="HEAD")
    assert head_start == get_start
    assert head_body["body"] == b""
    assert get_body["body"].startswith(b"<!doctype html>")


async def test_other_methods_are_405() -> None:
    start, body = await call_http(StaticFiles("wsactors.demo"), "/", method="POST")
    assert start["status"] == 405
    assert (b"allow", b"GET, HEAD") in start["headers"]
    assert body["body"] == b"Method Not Allowed"


def test_every_packaged_file_has_a_known_type() -> None:
    files = StaticFiles("wsactors.demo").files
    assert {"/", "/index.html", "/app.js", "/style.css"} <= set(files)
    for path, (content_type, body) in files.items():
        assert content_type != "application/octet-stream", path
        assert body, path


def test_missing_index_fails_at_construction() -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.html"):
        StaticFiles("wsactors.demo", index="nope.html")


# ---------------------------------------------------------------------- over real sockets


async def receive_json(ws: WebSocketConnection) -> Any:
    """The next message, parsed as JSON (bounded by DEADLINE)."""
    with trio.fail_after(DEADLINE):
        message = await ws.get_message()
    assert isinstance(message, str)
    return json.loads(message)


async def closed_with(ws: WebSocketConnection) -> tuple[int, str | None]:
    """Read until the server closes the connection; return its close code and reason."""
    with trio.fail_after(DEADLINE):
        _, close = await read_until_close(ws)
    return close.code, close.reason


@asynccontextmanager
async def chat_client(
    server: LiveServer, room: str, name: str = ""
) -> AsyncIterator[WebSocketConnection]:
    """A client in ``room`` whose own join notice was already read."""
    query = f"?name={name}" if name else ""
    async with server.connect(f"/ws/chat/{room}{query}") as ws:
        notice = await receive_json(ws)
        assert notice["type"] == "join"
        yield ws


async def ask_stats(ws: WebSocketConnection) -> dict[str, int]:
    """This connection's statistics, as the server reports them."""
    await ws.send_message(json.dumps({"stats": True}))
    reply = await receive_json(ws)
    assert reply["type"] == "stats"
    return cast(dict[str, int], reply["stats"])


@pytest.mark.usefixtures("live_engine")
async def test_chat_join_and_leave_notices(demo_app: App) -> None:
    async with LiveServer(demo_app) as server, server.connect("/ws/chat/lobby?name=ann") as ann:
        own = await receive_json(ann)
        assert own["type"] == "join"
        assert (own["room"], own["name"], own["online"]) == ("lobby", "ann", 1)
        datetime.fromisoformat(own["time"])
        async with server.connect("/ws/chat/lobby?name=bob") as bob:
            for ws in (ann, bob):  # the newcomer gets its own notice too
                notice = await receive_json(ws)
                assert notice["type"] == "join"
                assert (notice["name"], notice["online"]) == ("bob", 2)
        left = await receive_json(ann)
    assert left["type"] == "leave"
    assert (left["room"], left["name"], left["online"]) == ("lobby", "bob", 1)


@pytest.mark.usefixtures("live_engine")
async def test_chat_broadcasts_within_a_room_only(demo_app: App) -> None:
    async with (
        LiveServer(demo_app) as server,
        chat_client(server, "lobby", "ann") as ann,
        chat_client(server, "lobby", "bob") as bob,
        chat_client(server, "other", "cid") as cid,
    ):
        assert (await receive_json(ann))["name"] == "bob"  # bob's join notice
        await ann.send_message(json.dumps({"name": "Ann", "text": "  hello, lobby  "}))
        for ws in (ann, bob):  # the sender gets its own message back
            message = await receive_json(ws)
            assert message["type"] == "message"
            assert (message["room"], message["name"], message["text"]) == (
                "lobby",
                "Ann",
                "hello, lobby",
            )
        # Messages of one connection are handled in order: once ann's stats answer
        # is back, its broadcast has been queued for every recipient it had.
        await ask_stats(ann)
        await cid.send_message(json.dumps({"name": "cid", "text": "anyone?"}))
        first = await receive_json(cid)
    assert (first["type"], first["room"], first["text"]) == ("message", "other", "anyone?")


@pytest.mark.usefixtures("live_engine")
async def test_chat_ignores_blank_text_and_false_stats(demo_app: App) -> None:
    async with LiveServer(demo_app) as server, chat_client(server, "lobby") as ws:
        await ws.send_message(json.dumps({"name": "x", "text": "   "}))
        await ws.send_message(json.dumps({"stats": False}))
        stats = await ask_stats(ws)  # the first reply: nothing came before it
    assert stats["messages_in"] == 3


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (
            '{"name": "bob", "text": 5}',
            "fits none of ChatIn, StatsRequest; as ChatIn: text: expected str, got int",
        ),
        ('{"name": "bob"}', "fits none of ChatIn, StatsRequest; as ChatIn: text: required"),
        ("not json", "malformed JSON"),
        ("{}", "fits none of ChatIn, StatsRequest; as ChatIn: name: required field missing"),
    ],
)
@pytest.mark.usefixtures("live_engine")
async def test_invalid_chat_payload_closes_1007_and_others_see_the_leave(
    demo_app: App, payload: str, reason: str
) -> None:
    async with LiveServer(demo_app) as server, chat_client(server, "lobby", "ann") as ann:
        async with chat_client(server, "lobby", "bob") as bob:
            await receive_json(ann)  # bob's join notice
            await bob.send_message(payload)
            code, text = await closed_with(bob)
        left = await receive_json(ann)
        # ann's connection is unharmed.
        await ann.send_message(json.dumps({"name": "ann", "text": "still here"}))
        echoed = await receive_json(ann)
    assert code == 1007
    assert text is not None
    assert text.startswith(reason), text
    assert (left["type"], left["name"], left["online"]) == ("leave", "bob", 1)
    assert echoed["text"] == "still here"


@pytest.mark.usefixtures("live_engine")
async def test_chat_statistics_grow(demo_app: App) -> None:
    async with LiveServer(demo_app) as server, chat_client(server, "lobby") as ws:
        first = await ask_stats(ws)
        await ws.send_message(json.dumps({"name": "ann", "text": "counted"}))
        await receive_json(ws)
        second = await ask_stats(ws)
    assert set(first) == STATS_FIELDS
    # The join notice went out before the first question came in.
    assert (first["messages_in"], first["messages_out"]) == (1, 1)
    assert second["messages_in"] == first["messages_in"] + 2  # the message, the question
    assert second["messages_out"] == first["messages_out"] + 2  # the stats reply, the echo
    assert second["bytes_in"] > first["bytes_in"] > 0
    assert second["bytes_out"] > first["bytes_out"] > 0
    assert second["inbox_size"] == second["outbox_size"] == 16
    assert second["dropped_frames"] == 0


@pytest.mark.usefixtures("live_engine")
async def test_clock_ticks_every_second(demo_app: App) -> None:
    async with LiveServer(demo_app) as server, server.connect("/ws/clock") as ws:
        ticks = [await receive_json(ws) for _ in range(3)]
    # The first tick comes at once, the next on the following whole second.
    first, second, third = (tick["unix"] for tick in ticks)
    assert 0 < second - first <= 1.2
    assert 0.8 <= third - second <= 1.2
    times = [datetime.fromisoformat(tick["time"]) for tick in ticks]
    assert times[0] < times[1] < times[2]
    assert all(moment.utcoffset() is not None for moment in times)


@pytest.mark.usefixtures("live_engine")
async def test_clock_closes_1008_when_the_client_sends(demo_app: App) -> None:
    async with LiveServer(demo_app) as server, server.connect("/ws/clock") as ws:
        await receive_json(ws)
        await ws.send_message("hello?")
        code, reason = await closed_with(ws)
    assert code == 1008
    assert reason is not None
    assert "allow_data_discard" in reason


@pytest.mark.usefixtures("live_engine")
async def test_json_box_answers_points(demo_app: App) -> None:
    async with LiveServer(demo_app) as server, server.connect("/ws/json") as ws:
        await ws.send_message('{"x": 3, "y": -4}')
        first = await receive_json(ws)
        await ws.send_message('{"x": -2, "y": 5, "ignored": true}')
        second = await receive_json(ws)
    assert first == {"point": {"x": 3, "y": -4}, "sum": -1, "product": -12, "quadrant": "IV"}
    assert (second["sum"], second["product"], second["quadrant"]) == (3, -10, "II")


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ('{"x": 1, "y": "2"}', "y: expected int, got str"),
        ('{"x": 1}', "y: required field missing"),
        ('{"x": 1.5, "y": 2}', "x: expected int, got float"),
        ("[1, 2]", ""),  # not an object: cattrs' wording, not pinned
        ("{", "malformed JSON"),
    ],
)
@pytest.mark.usefixtures("live_engine")
async def test_json_box_invalid_payload_closes_1007(
    demo_app: App, payload: str, reason: str
) -> None:
    async with LiveServer(demo_app) as server, server.connect("/ws/json") as ws:
        await ws.send_message(payload)
        code, text = await closed_with(ws)
    assert code == 1007
    assert text  # never empty: the page shows it
    assert text.startswith(reason)


# ---------------------------------------------------------------------- units


@pytest.mark.parametrize(
    ("x", "y", "expected"),
    [
        (0, 0, "origin"),
        (0, 5, "y axis"),
        (-5, 0, "x axis"),
        (1, 1, "I"),
        (-1, 1, "II"),
        (-1, -1, "III"),
        (1, -1, "IV"),
    ],
)
def test_quadrant(x: int, y: int, expected: str) -> None:
    assert quadrant(Point(x, y)) == expected


def test_clean_name() -> None:
    assert clean_name("  ann ") == "ann"
    assert clean_name("   ") == "anonymous"
    assert clean_name("x" * 100) == "x" * chat.MAX_NAME


@pytest.mark.usefixtures("live_engine")
async def test_online_counts_this_process_and_an_emptied_room_starts_again(
    demo_app: App,
) -> None:
    async with LiveServer(demo_app) as server:
        async with chat_client(server, "lobby", "ann") as ann:
            async with chat_client(server, "lobby", "bob"):
                assert (await receive_json(ann))["online"] == 2
            assert (await receive_json(ann))["online"] == 1  # bob's leave notice
        # Everyone left: the room is empty, and a newcomer is alone in it.
        async with server.connect("/ws/chat/lobby?name=cid") as cid:
            own = await receive_json(cid)
    assert (own["type"], own["name"], own["online"]) == ("join", "cid", 1)


@pytest.mark.usefixtures("live_engine")
async def test_a_client_that_stops_reading_holds_up_nobody(demo_app: App) -> None:
    async with (
        LiveServer(demo_app) as server,
        chat_client(server, "lobby", "ann") as ann,
        # Never read from: its queues fill, then its backlog drops the oldest.
        server.connect("/ws/chat/lobby?name=stuck") as stuck,
    ):
        with trio.fail_after(DEADLINE):
            assert (await receive_json(ann))["name"] == "stuck"
            for n in range(200):
                await ann.send_message(json.dumps({"name": "ann", "text": f"{n} " + "x" * 900}))
                event = await receive_json(ann)
                assert event["text"].startswith(f"{n} ")
        # Let the server end the stuck connection promptly at shutdown.
        await stuck.aclose()
