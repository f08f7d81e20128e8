"""Reading and writing a TCP socket through its file descriptor, the Trio way.

Trio's socket ``recv`` tries first and waits for readiness on ``EAGAIN``: two
syscalls per message when (as usual) the last read took everything there was;
and every successful ``recv``/``send`` ends with an extra schedule point. The
native transport reads and writes plain TCP through these two functions instead
(TLS keeps the stream's methods). They wait with :func:`trio.lowlevel.wait_readable`
/ :func:`~trio.lowlevel.wait_writable`, so closing the socket (an abort) wakes them
with :class:`trio.ClosedResourceError`; the descriptor is looked up again after
every wait, so a closed socket's number, reused by another connection, is never read.
"""

from __future__ import annotations

import os

import trio

__all__ = ["read_socket", "write_socket"]


def _descriptor(sock: trio.socket.SocketType) -> int:
    fd = sock.fileno()
    if fd < 0:  # closed (aborted) by another task meanwhile
        raise trio.ClosedResourceError("the connection was aborted")
    return fd


async def read_socket(sock: trio.socket.SocketType, size: int, *, ready: bool) -> bytes:
    """One read of at most ``size`` bytes (``b""``: the peer ended the stream).

    Args:
        ready: Data is probably waiting (the last read filled its buffer): read
            at once; otherwise wait for readiness first.

    Raises:
        trio.ClosedResourceError: the socket was closed.
        OSError: the connection broke.

    Cancellation:
        A checkpoint (both ways pass a schedule point, so a peer that floods
        cannot keep the reader from yielding); a cancelled read consumed nothing.
    """
    if ready:
        await trio.lowlevel.checkpoint()
    else:
        await trio.lowlevel.wait_readable(sock)
    while True:
        try:
            return os.read(_descriptor(sock), size)
        except BlockingIOError:
            await trio.lowlevel.wait_readable(sock)


async def write_socket(sock: trio.socket.SocketType, data: bytes) -> bool:
    """Write all of ``data``; no schedule point when the kernel takes it at once.

    Returns:
        Whether it waited for the socket (other tasks ran meanwhile).

    Raises:
        trio.BrokenResourceError: the peer is gone (the OSError is its cause).
        trio.ClosedResourceError: the socket was closed meanwhile.

    Cancellation:
        A cancellation point; a cancelled write may leave ``data`` half written.
    """
    await trio.lowlevel.checkpoint_if_cancelled()
    view = memoryview(data)
    waited = False
    while view:
        try:
            sent = os.write(_descriptor(sock), view)
        except BlockingIOError:
            await trio.lowlevel.wait_writable(sock)
            waited = True
            continue
        except OSError as exc:
            raise trio.BrokenResourceError(f"write failed: {exc}") from exc
        view = view[sent:]
    return waited
