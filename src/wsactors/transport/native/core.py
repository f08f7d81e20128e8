"""The sans-I/O heart of a native connection: bytes and time in, events and bytes out.

:class:`ConnectionCore` knows no Trio and no socket. It is fed what the socket read
(:meth:`~ConnectionCore.receive_data`, :meth:`~ConnectionCore.receive_eof`), what the
runtime sends (:meth:`~ConnectionCore.send`) and the current time
(:meth:`~ConnectionCore.on_time`); it hands out the events for the runtime
(:attr:`~ConnectionCore.pending`, :meth:`~ConnectionCore.take`) and the bytes to
write (:meth:`~ConnectionCore.data_to_send`). It owns every rule of the wire:

- websockets' server protocol (:class:`~wsactors.transport.native.wireprotocol.WireProtocol`):
  framing, masking, permessage-deflate, the closing handshake;
- what an unfinished message holds: a large frame's payload (:data:`GATHER_FROM`
  bytes or more) is gathered here, in the reads as they came, and handed to the
  protocol whole once it is in, so no buffer grows by reallocation while a peer
  sends it (that fragments the heap: RSS twice the bytes held, kept after they
  are freed); :meth:`~ConnectionCore.held_bytes` counts it for the server's budget;
- message assembly and the fail-fast UTF-8 checks (the protocol's
  :class:`~wsactors.transport.native.assembler.MessageAssembler`, fed ahead by a
  :class:`~wsactors.transport.native.framescan.FrameScanner`);
- the held failure: a 1002, 1007 or 1009 is announced to the runtime
  (:class:`~wsactors.connection.events.Failing`) and its close frame waits for the
  runtime's close, so the replies to the messages before it go out first (RFC 6455
  section 7.1.7); nothing overrides it, keepalive included;
- keepalive (:class:`~wsactors.transport.native.keepalive.Keepalive`): the next ping,
  the pong that is due, the round trip; paused while a failure is held;
- at most :data:`~wsactors.transport.native.wireprotocol.PENDING_PONGS` pongs
  waiting to be written, then only the most recent ping's (RFC 6455 section 5.5.3
  allows answering only the most recent ping), so what waits for the socket is
  bounded by what the runtime sent plus a fixed amount of control frames;
- close codes, from the one table (:class:`~wsactors.connection.closes.Why`).

:class:`~wsactors.transport.native.transport.NativeTransport` composes it with the
socket (:class:`~wsactors.transport.native.wire.Wire`): the receiver actor feeds it
reads, the server's timer feeds it the time, and only the sender actor writes what
it returns.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Final, cast

from websockets.frames import Frame
from websockets.http11 import Response
from websockets.protocol import SEND_EOF

from ...connection.closes import ABNORMAL, Why
from ...connection.events import (
    Accept,
    Close,
    Connect,
    Deny,
    Disconnect,
    Failing,
    Incoming,
    Message,
    Outgoing,
    Ping,
    Send,
    SharedText,
)
from .assembler import AssemblyError
from .framescan import FrameScanner
from .handshake import accepted_response, denied_response
from .keepalive import Keepalive
from .rfc6455 import CLOSE, CLOSED, CONNECTING, OPEN, PONG, text_frame
from .wireprotocol import WireProtocol

__all__ = ["ABORTED", "DROPPED", "GATHER_FROM", "SEND_EOF", "ConnectionCore"]

#: A frame whose payload has at least this many bytes and does not arrive in one
#: slice is gathered by the core (see :meth:`ConnectionCore.receive_data`);
#: smaller ones wait in the protocol's buffer.
GATHER_FROM: Final = 65536

_CONNECT: Final = Connect()
#: The connection ended without a close frame (RFC 6455 section 7.1.5: 1006).
DROPPED: Final = Disconnect(ABNORMAL, "")
#: The engine aborted the connection itself (a stalled write, the shutdown).
ABORTED: Final = Disconnect(ABNORMAL, "", by_peer=False)


class ConnectionCore:
    """The protocol state of one native connection, after its handshake request.

    Args:
        protocol: The ``websockets`` protocol that parsed the handshake request.
        response: The 101 response ``protocol.accept(request)`` prepared; sent on
            :class:`~wsactors.connection.events.Accept`.
        ping_interval: Seconds between keepalive pings (``None``: no keepalive).
        ping_timeout: Seconds a pong may take before the connection is failed with
            1011 "keepalive ping timeout".
        clock: The current time, in seconds (read when a pong arrives and when
            the 101 goes out; the timer passes its own to :meth:`on_time`).
        early: The frames the protocol parsed from bytes that came with the
            handshake request, and those bytes.

    Attributes:
        pending: Events parsed and not handed out yet (from the ``_taken``-th on):
            ``Connect`` first.
        unfed: The rest of the last read, not fed to the protocol yet.
        gone: The end of the connection is queued (or was handed out): nothing
            more the peer sends is turned into events.
        retime: The next deadline (:meth:`next_deadline`) may have changed; the
            owner reschedules its timer and clears the flag.
        drop_after_write: The connection was failed at once (keepalive): once its
            close frame is written, the TCP connection is dropped (RFC 6455 section
            7.1.7), whatever the peer does.
    """

    __slots__ = (
        "_abort_at",
        "_chunks",
        "_clock",
        "_close_out",
        "_failing",
        "_feed_size",
        "_gathered",
        "_kept",
        "_need",
        "_response",
        "_scanner",
        "_taken",
        "drop_after_write",
        "gone",
        "keepalive",
        "pending",
        "protocol",
        "retime",
        "unfed",
    )

    def __init__(
        self,
        protocol: WireProtocol,
        response: Response | None,
        *,
        ping_interval: float | None,
        ping_timeout: float,
        clock: Callable[[], float],
        early: tuple[list[Message | Frame], bytes] = ([], b""),
    ) -> None:
        self.protocol = protocol
        self._clock = clock
        # Kept only until the handshake is answered (memory per idle connection).
        self._response = response
        self.keepalive = Keepalive(ping_interval, ping_timeout)
        self.gone = False
        # Events parsed from one read, handed out one by one (from index _taken): at
        # most one read's worth. A list, emptied once handed out: an idle connection
        # keeps 56 bytes here, where a deque keeps its 760-byte block.
        self.pending: list[Incoming] = [_CONNECT]
        self._taken = 0
        self.unfed: memoryview | None = None
        self._feed_size = 1024 if protocol.extensions else 16384
        self._scanner = FrameScanner()
        # The payload of a large frame in flight, as it arrived (None: none), its
        # length so far, and the bytes still to come.
        self._chunks: list[bytes] | None = None
        self._gathered = 0
        self._need = 0
        # A failure is held (Failing was queued): the close waits for the runtime's.
        self._failing = False
        self._close_out = False  # a close frame was handed to the writer
        # What the socket did not take of a direct write: the head of the output.
        self._kept: bytes | None = None
        self._abort_at = math.inf  # failed at once: the TCP connection ends by then
        self.retime = False
        self.drop_after_write = False
        if protocol.extensions:
            # Compressed text is checked once inflated, as a whole frame.
            self._scanner.stop()
        frames, rest = early
        if frames or rest:
            # Sent with the handshake request (RFC 6455 section 4.1 says a client
            # waits for the 101; what it sent anyway is not dropped).
            self._queue(frames, self._scanner.feed(rest) if rest else None)

    # ------------------------------------------------------------------ incoming
    def take(self) -> Incoming:
        """The next pending event (``pending`` is not empty)."""
        pending = self.pending
        taken = self._taken
        event = pending[taken]
        taken += 1
        if taken == len(pending):
            pending.clear()  # frees the list's item array
            taken = 0
        self._taken = taken
        return event

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Feed a read and queue the events it completes
        (``b""``: the stream ended).

        A slice at a time (16 KiB; 1 KiB with compression, where a small slice can
        inflate to a whole message): the rest is kept in :attr:`unfed`, to be fed
        once the events of this slice were handed out, so what is buffered stays
        bounded whatever the peer packs into one read.

        A frame of :data:`GATHER_FROM` bytes or more that a slice leaves
        unfinished: once the protocol took its header (and so checked its size
        against the limit), its payload is gathered here, the reads kept as they
        came, and handed to the protocol whole when its last byte is in. The text
        it carries is still checked as it arrives.
        """
        chunks = self._chunks
        if chunks is not None:
            self._gather(data, chunks)
            return
        size = self._feed_size
        if len(data) > size:
            view = memoryview(data)
            self.unfed, data = view[size:], view[:size]
        if not data:
            self.receive_eof()
            return
        # Before the protocol: the scanner sees the bytes in the same order.
        scanner = self._scanner
        ahead = scanner.feed(data)
        protocol = self.protocol
        tail = scanner.tail
        if tail is not None and tail[1] >= GATHER_FROM:
            start = tail[0]
            protocol.receive_data(data[:start])  # type: ignore[arg-type]  # up to its payload
            piece = data[start:]
            if protocol.expects_payload():
                self._chunks = [bytes(piece)]
                self._gathered = len(piece)
                self._need = tail[1] - len(piece)
            else:
                protocol.receive_data(piece)  # type: ignore[arg-type]  # refused, or discarded
        else:
            protocol.receive_data(data)  # type: ignore[arg-type]  # it copies into its buffer
        self._queue(cast(list[Message | Frame], protocol.events_received()), ahead)

    def _gather(self, data: bytes | bytearray | memoryview, chunks: list[bytes]) -> None:
        """Keep the next bytes of the payload being gathered; at its end, hand it
        to the protocol whole (the rest of the read stays in :attr:`unfed`)."""
        need = self._need
        if len(data) > need:
            view = memoryview(data)
            self.unfed, data = view[need:], view[:need]
        elif not data:
            self.receive_eof()
            return
        ahead = self._scanner.feed(data)
        chunks.append(data if type(data) is bytes else bytes(data))
        self._gathered += len(data)
        self._need = need = need - len(data)
        if need:
            self._queue([], ahead)  # the text in flight is checked
            return
        # One buffer of the frame's exact size; the protocol parses it in place.
        payload = bytearray().join(chunks)
        chunks.clear()  # freed before the parser copies the payload out
        self._drop_gathered()
        protocol = self.protocol
        protocol.receive_payload(payload)
        del payload
        self._queue(cast(list[Message | Frame], protocol.events_received()), None)

    def _drop_gathered(self) -> None:
        self._chunks = None
        self._gathered = 0
        self._need = 0

    def _flush_gathered(self) -> None:
        """Hand what was gathered to the protocol as it is (it parses on as if it
        had buffered it itself)."""
        chunks = self._chunks
        if chunks is not None:
            self._drop_gathered()
            self.protocol.receive_data(b"".join(chunks))

    def receive_eof(self) -> None:
        """The peer ended the stream (or it broke)."""
        self.unfed = None
        self._drop_gathered()
        self.protocol.receive_eof()
        if not self.gone:
            self.gone = True
            self.pending.append(DROPPED)

    def _queue(self, parsed: list[Message | Frame], ahead: tuple[bytes, bool, bool] | None) -> None:
        """Queue the protocol's events; then check the text of a frame in flight."""
        protocol = self.protocol
        pending = self.pending
        for frame in parsed:
            if type(frame) is Message:  # assembled by the protocol (WireProtocol)
                pending.append(frame)
                continue
            assert isinstance(frame, Frame)
            opcode = frame.opcode
            if opcode is PONG:
                pong = self.keepalive.pong(bytes(frame.data), self._clock())
                if pong.latency is not None:
                    self.retime = True  # the next ping is due one interval after the last
                pending.append(pong)
            elif opcode is CLOSE:
                # The protocol echoed the close; the peer's own code and reason.
                received = protocol.close_rcvd
                assert received is not None
                self.gone = True
                pending.append(Disconnect(int(received.code), received.reason))
                return
        if protocol.failed:
            if not self.gone and not self._failing:
                # The protocol failed the connection: 1002 (framing), 1007 (a close
                # reason that is not UTF-8), 1009 (too big, refused before buffering).
                self._scanner.stop()
                held = protocol.held
                if held is not None:
                    self._failing = True
                    self.retime = True  # keepalive pauses
                    pending.append(Failing(held.code, held.reason))
                    return
                sent = protocol.close_sent
                self.gone = True
                if sent is None:  # the stream ended inside a frame
                    pending.append(DROPPED)
                else:
                    pending.append(Disconnect(int(sent.code), sent.reason, by_peer=False))
            return
        if ahead is not None:
            # RFC 6455 section 8.1: invalid UTF-8 fails the connection as soon as it
            # arrives, also inside a frame whose end has not arrived yet.
            try:
                protocol.assembler.check_ahead(*ahead)
            except AssemblyError as exc:
                if protocol.state is OPEN:
                    self._fail_held(exc.code, exc.reason)
                # Before the 101 (bytes sent with the request): nothing can be failed
                # yet; the frame is judged whole once it is in.

    def _fail_held(self, code: int, reason: str) -> None:
        """Fail the connection for what the peer sent, after the replies to what it
        sent before (see ``events.Failing``)."""
        protocol = self.protocol
        if protocol.state is not OPEN or self._failing:
            self.fail_now(code, reason)
            return
        protocol.hold(code, reason)
        self._drop_gathered()  # the unfinished message is dropped
        self._failing = True
        self.retime = True  # keepalive pauses
        self._scanner.stop()
        self.pending.append(Failing(code, reason))

    def held_bytes(self) -> int:
        """Bytes held for the unfinished message (0 between messages): its earlier
        fragments and what arrived of the frame in flight."""
        return self.protocol.buffered() + self._gathered

    def fail_buffers_full(self) -> None:
        """The server's budget for unfinished messages stayed spent: fail with 1013
        (held like a failure the peer caused: the replies before it go first); the
        unfinished message is dropped at once."""
        if not self.gone and not self._failing:
            self._fail_held(*Why.BUFFERS_FULL.value)

    # ------------------------------------------------------------------ outgoing
    def send(self, events: Sequence[Outgoing]) -> None:
        """Turn the runtime's ``events`` into output (:meth:`data_to_send`); an
        ``Accept`` starts keepalive."""
        protocol = self.protocol
        for event in events:
            kind = type(event)
            if kind is Send:
                if protocol.state is not OPEN:
                    continue  # the peer's close or a failure is already queued
                data = event.data  # type: ignore[union-attr]
                if type(data) is str:
                    protocol.send_text(data.encode())
                elif type(data) is SharedText:
                    self._send_shared(data)
                else:
                    protocol.send_binary(data)  # type: ignore[arg-type]
            elif kind is Close:
                assert isinstance(event, Close)
                if protocol.held is not None:
                    protocol.release()  # the failure's close, with its own code
                elif protocol.state is OPEN:
                    protocol.send_close(event.code, event.reason)
                elif self._response is not None:
                    # Close before accept: the handshake is rejected with HTTP 403.
                    self._response = None
                    protocol.send_response(protocol.reject(403, "Forbidden\n"))
            elif kind is Accept:
                assert isinstance(event, Accept)
                self._accept(event)
            elif kind is Deny:
                assert isinstance(event, Deny)
                self._deny(event)
            elif kind is Ping:
                assert isinstance(event, Ping)
                if protocol.state is OPEN and protocol.held is None:
                    protocol.send_ping(event.data)

    def _send_shared(self, message: SharedText) -> None:
        """A subscription's delivery: without an extension, its shared frame (built
        once for every connection, cached on the message); compressed with this
        connection's context otherwise."""
        protocol = self.protocol
        if protocol.extensions:
            protocol.send_text(message.data)
            return
        frame = message.frame
        if frame is None:
            frame = message.frame = text_frame(message.data)
        protocol.writes.append(frame)  # what send_text would append, built once

    def _accept(self, event: Accept) -> None:
        protocol = self.protocol
        response, self._response = self._response, None
        if protocol.state is not CONNECTING or response is None:
            return  # the handshake was answered already
        protocol.send_response(accepted_response(protocol, response, event))
        self.keepalive.start(self._clock())
        self.retime = True

    def _deny(self, event: Deny) -> None:
        if self.protocol.state is not CONNECTING or self._response is None:
            return  # the handshake was answered already
        self._response = None
        self.protocol.send_response(denied_response(event))

    @property
    def accepted(self) -> bool:
        """Whether the 101 was handed out (the connection is past CONNECTING)."""
        return self.protocol.state is not CONNECTING

    def wants_write(self) -> bool:
        """Whether :meth:`data_to_send` has something."""
        return self._kept is not None or self.protocol.has_output()

    def data_to_send(self) -> list[bytes]:
        """The bytes to write, in order; :data:`SEND_EOF` (``b""``) asks for the end of
        the stream (a half-close).

        What a direct write left unwritten comes first (the rest of a frame the
        peer has begun to receive), then the pending pongs: a pong may go between
        any two frames, and never after the close frame (a pong for a ping the
        peer sent once we had closed is dropped).
        """
        protocol = self.protocol
        writes = protocol.data_to_send()
        pongs = protocol.pongs
        if pongs is not None:
            protocol.pongs = None
            if not self._close_out:
                writes[0:0] = pongs
        if protocol.close_sent is not None and writes:
            self._close_out = True
        kept = self._kept
        if kept is not None:
            self._kept = None
            writes.insert(0, kept)
        return writes

    # ------------------------------------------------------------------ direct writes
    def direct_ready(self) -> bool:
        """Whether :meth:`direct_write` would take a frame now (see there)."""
        protocol = self.protocol
        return (
            protocol.state is OPEN
            and protocol.held is None
            and not protocol.extensions
            and self._kept is None
        )

    def direct_write(self, frame: bytes) -> bytes | None:
        """The bytes of a direct write of ``frame``, a whole frame made by the
        caller, or None when it cannot be written that way now.

        Only on an open connection, without a held failure, without an extension
        (permessage-deflate compresses with a context of its own), and nothing kept
        from the last direct write. What the core has to write goes first (pending
        pongs, a keepalive ping): taken from the output here, so the caller writes
        the returned bytes whole, or hands what the socket did not take to
        :meth:`keep`.
        """
        if not self.direct_ready():
            return None
        protocol = self.protocol
        if not protocol.has_output():
            return frame
        writes = self.data_to_send()
        writes.append(frame)
        return b"".join(writes)

    def keep(self, rest: bytes) -> None:
        """What the socket did not take of a direct write: it goes out first, with
        the next :meth:`data_to_send` (the output was taken whole, so nothing is
        lost or reordered)."""
        self._kept = rest

    # ------------------------------------------------------------------ time
    def next_deadline(self) -> float:
        """When :meth:`on_time` must next be called (``inf``: never)."""
        if self._failing or self.gone:
            # A held failure waits for the runtime's close (bounded by its own time
            # limits): no ping, and no pong can be read any more.
            return self._abort_at
        return min(self.keepalive.wake(), self._abort_at)

    def abort_due(self, now: float) -> bool:
        """Whether the connection, failed at once, must be dropped by ``now``."""
        return now >= self._abort_at

    def on_time(self, now: float) -> None:
        """The timer calls at ``now``: a keepalive ping is queued when due; a late
        pong fails the connection with 1011 "keepalive ping timeout".

        Nothing while a failure is held: keepalive never overrides it.
        """
        if self._failing or self.gone:
            return
        protocol = self.protocol
        if protocol.state is not OPEN:
            return  # closing: the closing handshake has its own bound
        keepalive = self.keepalive
        if keepalive.late(now):
            self.fail_now(*Why.KEEPALIVE_TIMEOUT.value)
            self.drop_after_write = True
            self._abort_at = now + keepalive.timeout
            return
        if keepalive.ping_due(now):
            protocol.send_ping(keepalive.ping(now))

    # ------------------------------------------------------------------ ending
    def fail_now(self, code: int, reason: str) -> None:
        """Fail the connection (RFC 6455 section 7.1.7): close frame, then TCP close."""
        self.protocol.fail_now(code, reason)
        self._drop_gathered()
        self._scanner.stop()
        if not self.gone:
            self.gone = True
            self.pending.append(Disconnect(code, reason, by_peer=False))

    def release(self) -> None:
        """The runtime is done: a held failure's close frame is due now."""
        self.protocol.release()

    def owes_close(self) -> bool:
        """Whether a closing handshake is under way (after :meth:`release`): a close
        frame or the end of the stream was queued. Otherwise the runtime never
        closed the WebSocket, and nothing graceful is due."""
        protocol = self.protocol
        state = protocol.state
        return not (state is OPEN or (state is CONNECTING and not protocol.eof_queued))

    @property
    def closed(self) -> bool:
        """Both close frames crossed, or the stream ended (RFC 6455 CLOSED)."""
        return self.protocol.state is CLOSED

    def absorb_closing(self, data: bytes | bytearray) -> None:
        """Feed what arrives during the closing handshake; its events are dropped."""
        protocol = self.protocol
        self._flush_gathered()  # the frame in flight goes on from where it is
        if data:
            protocol.receive_data(data)
        else:
            protocol.receive_eof()
        protocol.events_received()
