"""A first app: a listener, a typed path parameter and a query parameter."""

from wsactors import App, websocket_listener


@websocket_listener("/echo")
async def echo(data: str) -> str:
    return data


@websocket_listener("/rooms/{room:str}")
async def room(data: str, room: str, nickname: str = "anonymous") -> dict[str, str]:
    # `room` comes from the path, `nickname` from the query string (?nickname=ada).
    return {"room": room, "from": nickname, "text": data}


app = App([echo, room])
