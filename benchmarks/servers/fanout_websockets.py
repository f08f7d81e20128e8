"""Fan-out reference: ``websockets.asyncio.server.broadcast()`` on asyncio (websockets'
new asyncio server, the default event loop), routes as ``fanout_wsactors``.

``broadcast()`` writes the frame to every connection's transport at once, with no
backlog bound of its own (websockets' documented trade-off: a slow client's data
waits in its write buffer until the connection times out). Compression off (the
client offers none anyway); keepalive at websockets' default, as the others.
"""

from __future__ import annotations

import asyncio

from websockets.asyncio.server import ServerConnection, broadcast, serve

from ._common import HOST, parse_port

ROOM: set[ServerConnection] = set()


async def handler(ws: ServerConnection) -> None:
    """Route by path: ``/room``, ``/idle``, ``/publish``; anything else is closed 1008."""
    path = ws.request.path if ws.request else ""
    if path == "/publish":
        async for message in ws:
            broadcast(ROOM, message)
    elif path == "/room":
        ROOM.add(ws)
        try:
            await ws.wait_closed()
        finally:
            ROOM.discard(ws)
    elif path == "/idle":
        await ws.wait_closed()
    else:
        await ws.close(1008, "no such path")


async def main(port: int) -> None:
    """Serve until terminated."""
    async with serve(handler, HOST, port, compression=None) as server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(parse_port(__doc__ or "")))
