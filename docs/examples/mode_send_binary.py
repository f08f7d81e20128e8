"""Send mode "binary": every reply travels in a binary frame (str is UTF-8 encoded)."""

from wsactors import App, websocket_listener


@websocket_listener("/", send_mode="binary")
async def handler(data: str) -> str:
    return data


app = App([handler])
