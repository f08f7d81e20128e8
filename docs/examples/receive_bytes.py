"""Receive bytes: ``data: bytes`` gets the raw payload (a text frame is UTF-8 encoded)."""

from wsactors import App, websocket_listener


@websocket_listener("/")
async def handler(data: bytes) -> str:
    return data.decode("utf-8")


app = App([handler])
