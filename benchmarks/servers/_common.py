"""What every benchmark server shares: the command line, the fd limit, hypercorn, and
the handler functions of the listener frameworks."""

from __future__ import annotations

import argparse
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, cast
from urllib.parse import parse_qs

from ..procstat import raise_nofile_limit

__all__ = [
    "HOST",
    "echo",
    "parse_port",
    "push",
    "push_request",
    "serve_hypercorn_trio",
    "uvicorn_standard",
]

HOST = "127.0.0.1"

ASGIApp = Callable[
    [
        dict[str, Any],
        Callable[[], Awaitable[dict[str, Any]]],
        Callable[[dict[str, Any]], Awaitable[None]],
    ],
    Awaitable[None],
]


def parse_port(description: str) -> int:
    """Read ``--port`` from the command line and raise the fd limit for many sockets."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, required=True)
    port: int = parser.parse_args().port
    raise_nofile_limit()
    return port


def push_request(query: str | bytes) -> tuple[int, str]:
    """``(count, payload)`` from a ``/push`` query string (``n=100000&size=64``)."""
    text = query.decode("ascii") if isinstance(query, bytes) else query
    values = parse_qs(text)
    count = int(values["n"][0])
    size = int(values["size"][0])
    return count, "x" * size


def serve_hypercorn_trio(app: ASGIApp, port: int) -> None:
    """Serve ``app`` with hypercorn's Trio worker and its default settings.

    Every hypercorn configuration goes through here, so they differ only in the app.
    """
    import hypercorn.trio
    import trio
    from hypercorn.config import Config
    from hypercorn.typing import Framework

    config = Config()
    config.bind = [f"{HOST}:{port}"]
    config.accesslog = None
    config.loglevel = "WARNING"
    trio.run(lambda: hypercorn.trio.serve(cast(Framework, app), config, mode="asgi"))


def uvicorn_standard() -> dict[str, Any]:
    """uvicorn's options for ``uvicorn[standard]``: uvloop and httptools, named.

    uvicorn's ``auto`` falls back to asyncio and h11 when they are missing; named,
    a missing one fails the server's start (and the harness reports it). WebSockets
    stay ``auto``: websockets' sans-I/O protocol, uvicorn's default when websockets
    is installed. Prints the choice, which lands in the server's log.
    """
    import httptools  # noqa: F401 (fail here, with the name, when missing)
    import uvloop  # noqa: F401

    print("uvicorn with loop=uvloop, http=httptools, ws=auto", flush=True)
    return {"loop": "uvloop", "http": "httptools"}


# The listener frameworks' servers (wsactors_listener, litestar_uvicorn) decorate these
# two with their own ``websocket_listener`` and ``websocket_stream``, as their users
# would write them: the code they run per message is the same by construction.
# ``AsyncGenerator`` stays a runtime import: both frameworks resolve these annotations.
async def echo(data: str) -> str:
    """Reply with the message itself."""
    return data


async def push(n: int, size: int) -> AsyncGenerator[str, None]:
    """Yield ``n`` messages of ``size`` bytes (query parameters); the stream then closes."""
    payload = "x" * size
    for _ in range(n):
        yield payload
