"""Dependencies are resolved once per connection, before accept, and injected by name."""

from wsactors import App, Provide, websocket_listener


def some_dependency() -> str:
    return "!"


@websocket_listener("/", dependencies={"suffix": Provide(some_dependency)})
async def handler(data: str, suffix: str) -> str:
    return data + suffix


app = App([handler])
