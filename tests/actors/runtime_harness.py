"""The harness of the actor tests: one connection's ``supervise()`` over a fake transport.

:class:`FakeTransport` implements ``wsactors.transport.base.Transport`` in memory:
the test plays the client (:meth:`~FakeTransport.client_sends`,
:meth:`~FakeTransport.client_leaves`) and sees every batch the sender actor hands
over. A send can be held back (``send_gate``), made immune to cancellation like
hypercorn's socket writes (``shielded_sends``), or made to fail. Imported as
``runtime_harness`` (pytest puts this folder on ``sys.path``, as
``tests/conftest.py`` explains). Its waits are bounded by ``helpers.DEADLINE``: virtual
seconds under the ``autojump_clock`` fixture, real ones otherwise.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import trio
import trio.testing

from helpers import DEADLINE
from wsactors import WebSocket
from wsactors.actors.cleanups import Cleanups
from wsactors.actors.registry import LiveConnections
from wsactors.actors.runtime import ConnectionRuntime
from wsactors.actors.supervisor import supervise
from wsactors.codec.codec import Codec
from wsactors.connection.events import (
    Close,
    Connect,
    Disconnect,
    Failing,
    Incoming,
    Message,
    Outgoing,
    Send,
    SharedText,
)
from wsactors.connection.limits import RuntimeConfig
from wsactors.routing.route import Behaviour
from wsactors.transport.base import Capabilities, Transport, WriteNow

Handler = Callable[[WebSocket], Awaitable[None]]

PATH = "/ws"
#: What the ASGI transport over hypercorn declares, plus HTTP denials.
DENIALS = Capabilities(http_denials=True)


class FakeTransport:
    """The server side of one connection, as the runtime sees it.

    Args:
        capabilities: What it declares.
        subprotocols: The subprotocols "the client offered".
        incoming_size: The bound of the queue of client events.
        send_gate: While set and not yet released, every ``send`` waits for it.
        shielded_sends: A held-back ``send`` cannot be cancelled (hypercorn).

    With ``Capabilities(direct_writes=True)`` it has direct writes (``send_now``,
    ``send_data_now``), answered with :attr:`direct_answer`: a written message is
    delivered as a batch of its own (in :attr:`batches`, and in
    :attr:`direct_writes`); ``PENDING`` also keeps a "rest" that the sender's
    next ``send`` writes (the wake-up of ``attach_sender`` is called, as the native
    transport does), and refuses direct writes until then.
    """

    def __init__(
        self,
        *,
        capabilities: Capabilities = DENIALS,
        subprotocols: tuple[str, ...] = (),
        incoming_size: int = 64,
        send_gate: trio.Event | None = None,
        shielded_sends: bool = False,
    ) -> None:
        self.capabilities = capabilities
        self.subprotocols = subprotocols
        self.send_gate = send_gate
        self.shielded_sends = shielded_sends
        #: Batches handed to ``send``, delivered or not (the last may be in flight).
        self.attempts: list[list[Outgoing]] = []
        #: Batches ``send`` completed.
        self.batches: list[list[Outgoing]] = []
        #: What direct writes answer (``WriteNow``), and what they wrote.
        self.direct_answer = WriteNow.WRITTEN
        self.direct_writes: list[str | bytes | SharedText] = []
        self.kept = False  # a PENDING direct write's rest waits for the sender
        self.receiving = 0  # receive() calls in flight
        self.sending = 0  # send() calls in flight
        self.aborted = False
        #: The sender's wake-up (``Transport.attach_sender``).
        self.wake: Callable[[], None] | None = None
        #: Raised by every receive() when set.
        self.receive_error: Exception | None = None
        #: ``(event type, error)``: a batch holding such an event raises ``error``.
        self.send_error: tuple[type[Outgoing], Exception] | None = None
        self._client, self._incoming = trio.open_memory_channel[Incoming](incoming_size)
        self._client.send_nowait(Connect())

    # ------------------------------------------------------------------ Transport
    async def receive(self) -> Incoming:
        if self.receive_error is not None:
            await trio.lowlevel.checkpoint()
            raise self.receive_error
        self.receiving += 1
        try:
            return await self._incoming.receive()
        finally:
            self.receiving -= 1

    async def send(self, events: Sequence[Outgoing]) -> None:
        self.kept = False  # the rest goes out first
        batch = list(events)
        self.attempts.append(batch)
        self.sending += 1
        try:
            gate = self.send_gate
            if gate is None:
                await trio.lowlevel.checkpoint()
            else:
                with trio.CancelScope(shield=self.shielded_sends):
                    await gate.wait()
            if self.send_error is not None:
                kind, error = self.send_error
                if any(isinstance(event, kind) for event in batch):
                    raise error
            self.batches.append(batch)
        finally:
            self.sending -= 1

    def attach_sender(self, wake: Callable[[], None]) -> None:
        self.wake = wake

    def send_now(self, message: SharedText) -> int:
        return self._direct(message)

    def send_data_now(self, data: str | bytes) -> int:
        return self._direct(data)

    def _direct(self, data: str | bytes | SharedText) -> int:
        # Only while the sender is idle: no write of its own in progress.
        assert self.sending == 0, "a direct write during the sender's write"
        answer = self.direct_answer
        if answer == WriteNow.REFUSED or self.kept:
            return WriteNow.REFUSED
        self.direct_writes.append(data)
        self.batches.append([Send(data)])
        if answer == WriteNow.PENDING:
            self.kept = True
            assert self.wake is not None
            self.wake()
        return answer

    async def abort(self) -> None:
        self.aborted = True
        await trio.lowlevel.checkpoint()

    # ------------------------------------------------------------------ the client
    def client_sends(self, data: str | bytes) -> None:
        self._client.send_nowait(Message(data))

    def client_leaves(self, code: int = 1006, reason: str = "") -> None:
        self._client.send_nowait(Disconnect(code, reason))

    def engine_fails(self, code: int, reason: str = "") -> None:
        """The transport itself ends the connection (the native engine's 1002...)."""
        self._client.send_nowait(Disconnect(code, reason, by_peer=False))

    def engine_holds_a_failure(self, code: int, reason: str = "") -> None:
        """The transport will fail the connection after the replies (``Failing``)."""
        self._client.send_nowait(Failing(code, reason))

    # ------------------------------------------------------------------ what went out
    @property
    def sent(self) -> list[Outgoing]:
        """Every delivered event, in order."""
        return [event for batch in self.batches for event in batch]

    @property
    def kinds(self) -> list[str]:
        return [type(event).__name__ for event in self.sent]

    @property
    def closes(self) -> list[tuple[int, str]]:
        return [(e.code, e.reason) for e in self.sent if isinstance(e, Close)]

    @property
    def data(self) -> list[str | bytes]:
        return [
            e.data.text if isinstance(e.data, SharedText) else e.data
            for e in self.sent
            if isinstance(e, Send)
        ]


def _check(transport: FakeTransport) -> Transport:
    return transport  # mypy: FakeTransport implements the protocol


def make_scope(path: str = PATH) -> dict[str, Any]:
    return {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [],
        "subprotocols": [],
    }


@dataclass
class Connection:
    """A connection being served in the test's nursery."""

    transport: FakeTransport
    nursery: trio.Nursery
    done: trio.Event
    sockets: list[WebSocket]

    @property
    def socket(self) -> WebSocket:
        return self.sockets[0]

    async def wait_done(self) -> None:
        """Wait for ``supervise`` to return, then check nothing of it is left."""
        with trio.fail_after(DEADLINE):
            await self.done.wait()
        await assert_nothing_left(self)

    async def client_leaves(self) -> float:
        """The client goes away now; wait as :meth:`wait_done` does.

        Returns:
            The (virtual) time the client left, to measure the grace from.
        """
        left_at = trio.current_time()
        self.transport.client_leaves()
        await self.wait_done()
        return left_at


async def assert_nothing_left(conn: Connection) -> None:
    await trio.testing.wait_all_tasks_blocked()
    # supervise() returned, so its nursery closed: no receiver, sender, watcher or
    # behaviour task is still running in it or in the test's own nursery ...
    assert conn.nursery.child_tasks == frozenset()
    # ... and none of them is parked inside a transport call.
    assert conn.transport.receiving == 0
    assert conn.transport.sending == 0


def behaviour_of(handler: Handler) -> Behaviour:
    async def behaviour(socket: WebSocket, stack: Cleanups) -> None:
        await handler(socket)

    return behaviour


def socket_maker(sockets: list[WebSocket]) -> Callable[[ConnectionRuntime], WebSocket]:
    def make_socket(runtime: ConnectionRuntime) -> WebSocket:
        socket = WebSocket(runtime, make_scope())
        sockets.append(socket)
        return socket

    return make_socket


async def run_supervise(
    transport: FakeTransport,
    handler: Handler,
    *,
    config: RuntimeConfig | None = None,
    sockets: list[WebSocket] | None = None,
) -> None:
    """``supervise`` for ``handler`` in the calling task (no harness around it)."""
    await supervise(
        _check(transport),
        path=PATH,
        behaviour=behaviour_of(handler),
        make_socket=socket_maker([] if sockets is None else sockets),
        config=config or RuntimeConfig(),
        codec=Codec(),
    )


@asynccontextmanager
async def serving(
    handler: Handler | None = None,
    *,
    transport: FakeTransport | None = None,
    config: RuntimeConfig | None = None,
    behaviour: Behaviour | None = None,
    reader: bool = False,
    registry: LiveConnections | None = None,
) -> AsyncIterator[Connection]:
    """Run ``supervise`` for ``handler`` (or ``behaviour``) in a nursery; the body
    drives the client."""
    if behaviour is None:
        assert handler is not None
        behaviour = behaviour_of(handler)
    transport = transport or FakeTransport()
    sockets: list[WebSocket] = []
    done = trio.Event()

    async def run() -> None:
        try:
            await supervise(
                _check(transport),
                path=PATH,
                behaviour=behaviour,
                make_socket=socket_maker(sockets),
                config=config or RuntimeConfig(),
                codec=Codec(),
                reader=reader,
                registry=registry,
            )
        finally:
            done.set()

    with trio.fail_after(DEADLINE):
        # A nursery of our own whose only child is the connection: once supervise()
        # returns it must have no children left.
        async with trio.open_nursery() as nursery:
            nursery.start_soon(run)
            await trio.testing.wait_all_tasks_blocked()
            yield Connection(transport, nursery, done, sockets)


async def accept_and_return(socket: WebSocket) -> None:
    await socket.accept()
