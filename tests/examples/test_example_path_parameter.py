"""Validating a ``{name:path}`` parameter: path_parameter."""

from __future__ import annotations

import pytest
import trio
from example_helpers import DEADLINE, load_example
from trio_websocket import ConnectionRejected

from wsactors.testing import LiveServer

pytestmark = pytest.mark.usefixtures("live_engine")


@pytest.mark.parametrize(
    ("path", "file"),
    [
        ("/files/notes/today.txt", "notes/today.txt"),
        ("/files/notes/../todo.txt", "todo.txt"),  # ".." that stays inside is fine
    ],
)
async def test_a_file_inside_the_base_is_served(path: str, file: str) -> None:
    app = load_example("path_parameter").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server, server.connect(path) as ws:
            await ws.send_message("open")
            assert await ws.get_message() == f"open {file}"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/files/../../etc/passwd", b"outside the shared files"),
        ("/files/%2e%2e/%2e%2e/etc/passwd", b"outside the shared files"),
        ("/files/..%2F..%2Fetc%2Fpasswd", b"outside the shared files"),
        ("/files/notes/../../../etc/passwd", b"outside the shared files"),
        ("/files/%00", b"not a file name"),
    ],
)
async def test_a_path_that_leaves_the_base_is_refused_with_403(path: str, body: bytes) -> None:
    app = load_example("path_parameter").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server:
            with pytest.raises(ConnectionRejected) as rejected:
                async with server.connect(path):
                    pytest.fail("the handshake should have been refused")
    assert rejected.value.status_code == 403
    assert rejected.value.body == body
