"""What a ``{name:path}`` parameter receives, request target by request target.

Over a real server (hypercorn's Trio worker), with the request target written by
hand (wsproto), so the exact bytes the client sends are the test's input: no client
library normalises them first. wsactors hands the handler the percent-decoded rest of
the path with empty segments dropped, and nothing else changed: ``..`` stays.
docs/routing.md shows this table.
"""

from __future__ import annotations

import pytest
import trio
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, RejectConnection, Request, TextMessage

from helpers import DEADLINE
from wsactors import App, websocket_listener
from wsactors.testing import LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("live_engine")]


@websocket_listener("/files/{name:path}")
async def files(data: str, name: str) -> str:
    return repr(name)


async def first_reply(port: int, target: str) -> str | int:
    """The first text reply on ``target``, or the HTTP status of a refused handshake."""
    conn = WSConnection(ConnectionType.CLIENT)
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(conn.send(Request(host=f"127.0.0.1:{port}", target=target)))
        while chunk := await stream.receive_some():
            conn.receive_data(chunk)
            for event in conn.events():
                if isinstance(event, AcceptConnection):
                    await stream.send_all(conn.send(TextMessage(data="which?")))
                elif isinstance(event, TextMessage):
                    return event.data
                elif isinstance(event, RejectConnection):
                    return event.status_code
    pytest.fail(f"{target}: the connection ended without a reply")


@pytest.mark.parametrize(
    ("target", "arrives"),
    [
        ("/files/notes/today.txt", "notes/today.txt"),
        ("/files/../../etc/passwd", "../../etc/passwd"),  # unchanged: validate it
        ("/files/%2e%2e/%2e%2e/etc/passwd", "../../etc/passwd"),  # decoded by the server
        ("/files/..%2F..%2Fetc%2Fpasswd", "../../etc/passwd"),  # %2F is a slash too
        ("/files//etc/passwd", "etc/passwd"),  # empty segments dropped: never absolute
        ("/files/%2Fetc/passwd", "etc/passwd"),
        ("/files/a/./b/", "a/./b"),  # "." stays; a trailing slash goes
        ("/files/C:%5Cwindows", "C:\\windows"),  # backslashes are not separators here
        ("/files/%00x", "\x00x"),  # NUL arrives too
        ("/files/a%20b?q=1", "a b"),  # the query string is not part of it
    ],
)
async def test_what_a_path_parameter_receives(target: str, arrives: str) -> None:
    with trio.fail_after(DEADLINE):
        async with LiveServer(App([files])) as server:
            assert await first_reply(server.port, target) == repr(arrives)


@pytest.mark.parametrize("target", ["/files", "/files/", "/x/../files/y"])
async def test_no_rest_or_dots_before_the_prefix_do_not_match(target: str) -> None:
    # ".." is not resolved before matching either: "/x/../files/y" is no /files/ path.
    with trio.fail_after(DEADLINE):
        async with LiveServer(App([files])) as server:
            assert await first_reply(server.port, target) == 404
