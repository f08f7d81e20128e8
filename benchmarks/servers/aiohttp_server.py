"""Reference: aiohttp's own WebSocket server (``aiohttp.web``) on asyncio's default
event loop, as ``web.run_app`` runs it: no compression (the client offers none),
no heartbeat (aiohttp's default)."""

from __future__ import annotations

from aiohttp import WSMsgType, web

from ._common import HOST, parse_port, push_request


async def echo(request: web.Request) -> web.WebSocketResponse:
    """Send every message back, keeping its frame type."""
    ws = web.WebSocketResponse(compress=False)
    await ws.prepare(request)
    async for message in ws:
        if message.type == WSMsgType.TEXT:
            await ws.send_str(message.data)
        elif message.type == WSMsgType.BINARY:
            await ws.send_bytes(message.data)
    return ws


async def push(request: web.Request) -> web.WebSocketResponse:
    """Send the requested messages, then close with 1000."""
    count, payload = push_request(request.query_string)
    ws = web.WebSocketResponse(compress=False)
    await ws.prepare(request)
    for _ in range(count):
        await ws.send_str(payload)
    await ws.close()
    return ws


app = web.Application()
app.add_routes([web.get("/echo", echo), web.get("/push", push)])

if __name__ == "__main__":
    web.run_app(app, host=HOST, port=parse_port(__doc__ or ""), access_log=None, print=None)
