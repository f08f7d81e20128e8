"""Receive JSON: ``data`` annotated with anything but ``str``/``bytes`` is parsed JSON."""

from wsactors import App, websocket_listener


@websocket_listener("/")
async def handler(data: dict[str, str]) -> dict[str, str]:
    # The message was parsed as JSON and validated against dict[str, str]:
    # {"a": 1} would close the connection with 1007 instead of reaching this line.
    return data


app = App([handler])
