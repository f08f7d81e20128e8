"""A yield dependency: the code after ``yield`` runs once the connection has ended.

``state`` is the App's state, shared by every connection, so the dependency can
count the clients that are connected right now.
"""

from collections.abc import AsyncIterator

from wsactors import App, Provide, websocket_listener
from wsactors.socket.datastructures import State


def reset_counter(app: App) -> None:
    app.state["connected_clients"] = 0  # or app.state.connected_clients = 0


async def count_client(state: State) -> AsyncIterator[int]:
    state["connected_clients"] += 1
    try:
        # Resolved once, before accept: this connection's number.
        yield state["connected_clients"]
    finally:
        # Runs after the connection closed (also after an error or a cancellation).
        state["connected_clients"] -= 1


@websocket_listener("/", dependencies={"client_number": Provide(count_client)})
async def handler(data: str, client_number: int, state: State) -> dict[str, int | str]:
    return {"echo": data, "you_are": client_number, "online": state["connected_clients"]}


app = App([handler], on_startup=[reset_counter])
