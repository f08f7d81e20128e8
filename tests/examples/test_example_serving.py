"""serving: the app behind ``python serving.py``, over TLS with hypercorn's options."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path
from typing import Any

import pytest
import trio
from example_helpers import DEADLINE, load_example, server_close

from wsactors.testing import LiveServer

pytestmark = pytest.mark.usefixtures("live_engine")


async def test_serving_example_over_plain_ws() -> None:
    app = load_example("serving").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server, server.connect("/echo") as ws:
            await ws.send_message("hello")
            assert await ws.get_message() == "hello"


def _self_signed(directory: Path) -> tuple[Path, Path]:
    certfile, keyfile = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(keyfile),
            "-out",
            str(certfile),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return certfile, keyfile


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
async def test_serving_example_over_tls(tmp_path: Path, live_engine: str) -> None:
    app = load_example("serving").app
    certfile, keyfile = _self_signed(tmp_path)
    client_context = ssl.create_default_context(cafile=str(certfile))
    options: dict[str, Any]
    if live_engine == "hypercorn":
        # The same keyword options serve() takes: hypercorn's certfile and keyfile.
        options = {"certfile": str(certfile), "keyfile": str(keyfile)}
    else:
        # The native engine takes an ssl.SSLContext (docs/engines.md, TLS).
        server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_context.load_cert_chain(certfile, keyfile)
        options = {"ssl_context": server_context}
    with trio.fail_after(DEADLINE):
        async with LiveServer(app, **options) as server:
            assert server.url.startswith("wss://")
            async with server.connect("/echo", ssl_context=client_context) as ws:
                await ws.send_message("secret")
                assert await ws.get_message() == "secret"


async def test_stopping_the_server_closes_connections_with_1001() -> None:
    app = load_example("serving").app
    closed: list[tuple[int, str | None]] = []
    with trio.fail_after(DEADLINE):
        async with trio.open_nursery() as nursery, LiveServer(app) as server:
            connected = trio.Event()

            async def client() -> None:
                async with server.connect("/echo") as ws:
                    await ws.send_message("hello")
                    assert await ws.get_message() == "hello"
                    connected.set()
                    _, code, reason = await server_close(ws)
                    closed.append((code, reason))

            nursery.start_soon(client)
            await connected.wait()
            # Leaving LiveServer stops it as serve() does: the App drains first.
    assert closed == [(1001, "Going Away")]
