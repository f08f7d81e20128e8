"""The server's line for idle connections (Turns), over socket pairs: no server."""

from __future__ import annotations

import select
import socket

import pytest
import trio
import trio.testing

from helpers import DEADLINE
from wsactors.transport.native.turns import Turns

pytestmark = pytest.mark.skipif(not hasattr(select, "epoll"), reason="the line needs epoll")


def _pair() -> tuple[trio.socket.SocketType, socket.socket]:
    """Our end (Trio's), and the peer's (a plain blocking socket: its sends
    are not schedule points)."""
    ours, peer = socket.socketpair()
    return trio.socket.from_stdlib_socket(ours), peer


async def test_a_quiet_reader_waits_in_the_line_and_gets_its_data() -> None:
    turns = Turns(idle_after=DEADLINE * 2)
    ours, peer = _pair()
    got: list[tuple[bytes, bool]] = []

    async def reader() -> None:
        got.append(await turns.read(ours, 100, ready=False, quiet=True))

    with trio.fail_after(DEADLINE), ours, peer:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(turns.run)
            async with trio.open_nursery() as readers:
                readers.start_soon(reader)
                await trio.testing.wait_all_tasks_blocked()
                assert turns.waiting == 1
                peer.send(b"hello")
            nursery.cancel_scope.cancel()
    # A short wait: the next one is in Trio's set, not in the line.
    assert got == [(b"hello", False)]
    assert turns.waiting == 0


async def test_a_crowd_ready_at_once_is_woken_a_share_at_a_time() -> None:
    turns = Turns()
    pairs = [_pair() for _ in range(200)]
    done = 0

    async def reader(sock: trio.socket.SocketType) -> None:
        nonlocal done
        data, _ = await turns.read(sock, 100, ready=False, quiet=True)
        assert data == b"\x88\x02\x03\xe8"
        done += 1

    try:
        with trio.fail_after(DEADLINE):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(turns.run)
                async with trio.open_nursery() as readers:
                    for ours, _ in pairs:
                        readers.start_soon(reader, ours)
                    await trio.testing.wait_all_tasks_blocked()
                    assert turns.waiting == len(pairs)
                    for _, peer in pairs:
                        peer.send(b"\x88\x02\x03\xe8")
                    seen: list[int] = []
                    while done < len(pairs):
                        await trio.lowlevel.checkpoint()  # once per scheduler batch
                        seen.append(done)
                nursery.cancel_scope.cancel()
    finally:
        for ours, peer in pairs:
            ours.close()
            peer.close()
    woken = [n for n in seen if n]
    assert woken[0] < len(pairs)  # not everyone in the first batch that woke some
    assert done == len(pairs)


async def test_forget_ends_a_wait_in_the_line() -> None:
    turns = Turns()
    ours, peer = _pair()
    errors: list[BaseException] = []

    async def reader() -> None:
        try:
            await turns.read(ours, 100, ready=False, quiet=True)
        except trio.ClosedResourceError as exc:
            errors.append(exc)

    with trio.fail_after(DEADLINE), ours, peer:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(turns.run)
            async with trio.open_nursery() as readers:
                readers.start_soon(reader)
                await trio.testing.wait_all_tasks_blocked()
                turns.forget(ours)  # as an abort does before it closes the socket
            nursery.cancel_scope.cancel()
    assert len(errors) == 1
    assert turns.waiting == 0


async def test_a_cancelled_wait_leaves_the_line_and_consumes_nothing() -> None:
    turns = Turns()
    ours, peer = _pair()

    with trio.fail_after(DEADLINE), ours, peer:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(turns.run)
            with trio.move_on_after(0.05) as waiting:
                await turns.read(ours, 100, ready=False, quiet=True)
            assert waiting.cancelled_caught
            assert turns.waiting == 0
            peer.send(b"later")
            # The next wait (in the line again) gets what came after.
            data, _ = await turns.read(ours, 100, ready=False, quiet=True)
            assert data == b"later"
            nursery.cancel_scope.cancel()


async def test_readers_still_in_the_line_when_it_ends_wait_in_trios_set() -> None:
    turns = Turns()
    ours, peer = _pair()
    got: list[bytes] = []

    async def reader() -> None:
        data, _ = await turns.read(ours, 100, ready=False, quiet=True)
        got.append(data)

    with trio.fail_after(DEADLINE), ours, peer:
        async with trio.open_nursery() as readers:
            readers.start_soon(reader)
            async with trio.open_nursery() as line:
                line.start_soon(turns.run)
                await trio.testing.wait_all_tasks_blocked()
                assert turns.waiting == 1
                line.cancel_scope.cancel()  # the server's connections are cancelled
            assert turns.waiting == 0
            peer.send(b"bye")
        turns.forget(ours)  # the line's epoll set is closed: nothing to undo
    assert got == [b"bye"]
