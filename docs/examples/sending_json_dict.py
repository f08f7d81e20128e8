"""Send JSON: a returned dict is serialized as JSON."""

from wsactors import App, websocket_listener


@websocket_listener("/")
async def handler(data: str) -> dict[str, str]:
    return {"message": data}


app = App([handler])
