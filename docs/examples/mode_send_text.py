"""Send mode "text" (the default): every reply travels in a text frame."""

from wsactors import App, websocket_listener


@websocket_listener("/", send_mode="text")
async def handler(data: str) -> str:
    return data


app = App([handler])
