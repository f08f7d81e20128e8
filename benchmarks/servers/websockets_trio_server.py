"""Reference: the ``websockets`` library's own Trio server (``websockets.trio``).

Compression off and no keepalive, as the other servers here run (the client offers
no permessage-deflate anyway).
"""

from __future__ import annotations

from functools import partial

import trio
from websockets.exceptions import ConnectionClosed
from websockets.trio.server import ServerConnection, serve

from ._common import HOST, parse_port, push_request


async def handler(ws: ServerConnection) -> None:
    """Route by path: ``/echo`` and ``/push``; anything else is closed 1008."""
    path, _, query = ws.request.path.partition("?") if ws.request else ("", "", "")
    try:
        if path == "/echo":
            async for message in ws:
                await ws.send(message)
        elif path == "/push":
            count, payload = push_request(query)
            for _ in range(count):
                await ws.send(payload)
            await ws.aclose(1000)
        else:
            await ws.aclose(1008, "no such path")
    except ConnectionClosed:
        return


if __name__ == "__main__":
    port = parse_port(__doc__ or "")
    trio.run(partial(serve, handler, port, host=HOST, compression=None, ping_interval=None))
