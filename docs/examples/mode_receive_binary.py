"""Receive mode "binary": only binary frames reach the listener; text frames are dropped."""

from wsactors import App, websocket_listener


@websocket_listener("/", receive_mode="binary")
async def handler(data: str) -> str:
    # A binary frame for a `str` parameter is decoded as UTF-8.
    return data


app = App([handler])
