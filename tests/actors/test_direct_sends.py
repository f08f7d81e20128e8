"""The handler's own sends written directly while the sender is idle (one hop fewer).

Through the fake transport with direct writes (``runtime_harness.FakeTransport``):
a send goes direct only while the sender is parked on an empty outbox, and every
message, direct or queued, reaches the transport in the order it was sent, before
the close. The same over real sockets, on both engines: tests/e2e/test_send_order.py.
"""

from __future__ import annotations

import trio
import trio.testing
from runtime_harness import FakeTransport, serving

from helpers import DEADLINE
from wsactors import WebSocket
from wsactors.connection.events import Close, Send
from wsactors.transport.base import Capabilities, WriteNow

DIRECT = Capabilities(direct_writes=True)


async def settled() -> None:
    """Let the sender hand over what was queued and park again."""
    with trio.fail_after(DEADLINE):
        await trio.testing.wait_all_tasks_blocked()


async def test_replies_while_the_sender_is_idle_are_written_directly_then_the_close() -> None:
    transport = FakeTransport(capabilities=DIRECT)

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        await socket.send_text((await socket.receive_text()).upper())
        await socket.send_bytes(b"bc")  # a second send: queued (one direct per message)
        await socket.receive_text()
        await socket.send_json({"d": 1})

    async with serving(handler, transport=transport) as conn:
        await settled()
        transport.client_sends("a")
        await settled()
        transport.client_sends("next")
        await conn.wait_done()
    assert transport.direct_writes == ["A", '{"d":1}']
    assert transport.data == ["A", b"bc", '{"d":1}']
    assert transport.kinds == ["Accept", "Send", "Send", "Send", "Close"]
    assert transport.closes == [(1000, "")]
    stats = conn.socket.statistics()
    assert (stats.messages_out, stats.bytes_out) == (3, 10)


async def test_a_burst_writes_its_first_message_directly_and_queues_the_rest() -> None:
    transport = FakeTransport(capabilities=DIRECT)
    go = trio.Event()

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        await go.wait()
        for n in range(40):  # more than the outbox holds: the handler waits for room
            await socket.send_text(str(n))

    async with serving(handler, transport=transport) as conn:
        await settled()
        go.set()
        await conn.wait_done()
    assert transport.data == [str(n) for n in range(40)]
    assert transport.direct_writes[0] == "0"
    # Each time the sender has drained the outbox, one message goes direct again.
    assert 1 <= len(transport.direct_writes) < 10
    assert transport.kinds[-1] == "Close"


async def test_without_direct_writes_sends_are_queued() -> None:
    transport = FakeTransport()  # the ASGI transport's capabilities
    go = trio.Event()

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        await go.wait()
        await socket.send_text("a")

    async with serving(handler, transport=transport) as conn:
        await settled()  # the sender is idle: only the capability is missing
        go.set()
        await conn.wait_done()
    assert transport.direct_writes == []
    assert transport.data == ["a"]


async def test_sends_while_the_sender_writes_are_queued_in_order() -> None:
    gate = trio.Event()
    transport = FakeTransport(capabilities=DIRECT, send_gate=gate)
    sent = trio.Event()

    async def handler(socket: WebSocket) -> None:
        await socket.accept()  # the sender is held in the write of the 101
        await socket.send_text("queued 1")
        await socket.send_text("queued 2")
        sent.set()
        await socket.receive_text()
        await socket.send_text("direct")

    async with serving(handler, transport=transport) as conn:
        with trio.fail_after(DEADLINE):
            await sent.wait()
        transport.send_gate = None
        gate.set()
        await settled()
        transport.client_sends("go")
        await conn.wait_done()
    assert transport.direct_writes == ["direct"]
    assert transport.closes == [(1000, "")]  # the handler returned: it did not raise
    assert transport.data == ["queued 1", "queued 2", "direct"]


async def test_a_kept_rest_wakes_the_sender_and_later_sends_queue_behind_it() -> None:
    transport = FakeTransport(capabilities=DIRECT)
    transport.direct_answer = WriteNow.PENDING
    go = trio.Event()

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        await go.wait()
        await socket.send_text("partly written")  # the rest is the transport's
        await socket.send_text("next")  # the sender is awake: queued
        await socket.send_text("then")

    async with serving(handler, transport=transport) as conn:
        await settled()
        go.set()
        await conn.wait_done()
    assert transport.direct_writes == ["partly written"]
    assert transport.data == ["partly written", "next", "then"]
    assert transport.kinds == ["Accept", "Send", "Send", "Send", "Close"]
    # Woken, the sender wrote the rest first (an empty batch: only the transport's
    # own bytes), then the queued sends.
    assert transport.batches[2] == []


async def test_a_refused_direct_write_is_queued() -> None:
    transport = FakeTransport(capabilities=DIRECT)
    transport.direct_answer = WriteNow.REFUSED
    go = trio.Event()

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        await go.wait()
        await socket.send_text("a")
        await socket.send_text("b")

    async with serving(handler, transport=transport) as conn:
        await settled()
        go.set()
        await conn.wait_done()
    assert transport.direct_writes == []
    assert transport.data == ["a", "b"]
    assert conn.socket.statistics().messages_out == 2


async def test_a_cancelled_send_writes_nothing() -> None:
    transport = FakeTransport(capabilities=DIRECT)
    go = trio.Event()

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        await go.wait()
        with trio.CancelScope() as scope:
            scope.cancel()
            await socket.send_text("never")
        assert scope.cancelled_caught
        await socket.send_text("sent")

    async with serving(handler, transport=transport) as conn:
        await settled()
        go.set()
        await conn.wait_done()
    assert transport.data == ["sent"]
    assert conn.socket.statistics().messages_out == 1


async def test_a_direct_send_is_a_checkpoint() -> None:
    transport = FakeTransport(capabilities=DIRECT)
    go = trio.Event()

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        await go.wait()
        # A cancellation point and a schedule point (Trio's rule for async functions):
        # a handler sending in a loop lets the other tasks run.
        with trio.testing.assert_checkpoints():
            await socket.send_text("direct")

    async with serving(handler, transport=transport) as conn:
        await settled()
        go.set()
        await conn.wait_done()
    assert transport.direct_writes == ["direct"]
    assert transport.closes == [(1000, "")]  # the handler returned: it did not raise


async def test_nothing_is_written_directly_after_the_close_was_queued() -> None:
    transport = FakeTransport(capabilities=DIRECT)
    go = trio.Event()

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        await go.wait()
        await socket.send_text("before")
        await socket.close(4000, "done")

    async with serving(handler, transport=transport) as conn:
        await settled()
        go.set()
        await conn.wait_done()
    assert transport.direct_writes == ["before"]
    assert transport.sent[-1] == Close(4000, "done")
    assert transport.sent[-2] == Send("before")
