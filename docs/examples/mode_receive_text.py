"""Receive mode "text" (the default): only text frames reach the listener."""

from wsactors import App, websocket_listener


@websocket_listener("/", receive_mode="text")
async def handler(data: str) -> str:
    return data


app = App([handler])
