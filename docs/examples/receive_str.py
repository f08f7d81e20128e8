"""Receive text: ``data: str`` gets the message as it arrived, with no parsing."""

from wsactors import App, websocket_listener


@websocket_listener("/")
async def handler(data: str) -> str:
    return data


app = App([handler])
