"""Send text: a returned ``str`` is sent as it is."""

from wsactors import App, websocket_listener


@websocket_listener("/")
async def handler(data: str) -> str:
    return data


app = App([handler])
