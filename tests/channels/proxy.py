"""A TCP proxy in front of Redis that a test can cut: one client's view of an outage.

``cut()`` drops every proxied connection and refuses new ones until ``restore()``,
while Redis itself (and every client not behind the proxy) carries on.
"""

from __future__ import annotations

from functools import partial

import trio


class CuttableProxy:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.open = True
        self._scopes: set[trio.CancelScope] = set()

    async def serve(
        self,
        task_status: trio.TaskStatus[list[trio.SocketListener]] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self.port = listeners[0].socket.getsockname()[1]
        await trio.serve_listeners(self._handle, listeners, task_status=task_status)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def cut(self) -> None:
        self.open = False
        for scope in self._scopes:
            scope.cancel()

    def restore(self) -> None:
        self.open = True

    async def _handle(self, client: trio.SocketStream) -> None:
        async with client:
            if not self.open:
                return
            try:
                upstream = await trio.open_tcp_stream("127.0.0.1", self.target_port)
            except OSError:
                return
            async with upstream:
                with trio.CancelScope() as scope:
                    self._scopes.add(scope)
                    try:
                        async with trio.open_nursery() as nursery:
                            nursery.start_soon(partial(_pipe, client, upstream, scope))
                            nursery.start_soon(partial(_pipe, upstream, client, scope))
                    finally:
                        self._scopes.discard(scope)


async def _pipe(
    source: trio.SocketStream, sink: trio.SocketStream, scope: trio.CancelScope
) -> None:
    try:
        while data := await source.receive_some(65536):
            await sink.send_all(data)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass
    scope.cancel()  # one side ended: end the other
