"""Send bytes: a returned ``bytes`` is sent as it is, in a frame of the send mode."""

from wsactors import App, websocket_listener


@websocket_listener("/")
async def handler(data: str) -> bytes:
    # send_mode is "text" (the default), so these bytes travel in a text frame:
    # they must be UTF-8. Use send_mode="binary" for arbitrary bytes.
    return data.encode("utf-8")


app = App([handler])
