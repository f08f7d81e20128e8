"""The native engine's TCP server: listeners, one task per connection, the drain.

Each accepted TCP connection runs :meth:`NativeServer.handle`: TLS (when
configured), the HTTP request (bounded by ``open_timeout`` and
``max_request_size``), then either the App's WebSocket runtime over a
:class:`~wsactors.transport.native.transport.NativeTransport`, a plain HTTP answer, or a
short refusal (503 beyond ``max_connections`` or during the drain).

Shutdown (:meth:`NativeServer.shutdown`) is bounded: ``App.drain()`` closes every
connection with 1001 within ``graceful_timeout`` while new handshakes get 503; the
listeners then close, every connection still open is aborted, and the tasks get
``close_timeout`` to finish before they are cancelled.
"""

from __future__ import annotations

import contextlib
import errno
import logging
from typing import Any, Generic, TypeVar
from urllib.parse import unquote

import trio
from websockets.extensions.permessage_deflate import enable_server_permessage_deflate

from ..routing.denials import SHUTTING_DOWN
from ..transport.native.budget import IncomingBudget
from ..transport.native.deflate import limited
from ..transport.native.timers import Deadlines
from ..transport.native.transport import READ_SIZE, NativeTransport, WireProtocol
from ..transport.native.turns import Turns
from ..types import EngineApp, Matched, Scope
from .handshake import (
    Opening,
    is_upgrade,
    offered_subprotocols,
    read_request,
    simple_response,
    websocket_scope,
)
from .options import NativeOptions
from .plain_http import serve_plain_http

__all__ = ["NativeServer"]

logger = logging.getLogger("wsactors.engine")
# websockets logs "connection open/closed" at INFO for every connection; the
# runtime already logs one line per connection. Lower this logger to see frames.
_WIRE = logging.getLogger("wsactors.engine.wire")
_WIRE.setLevel(logging.WARNING)

# accept() errors that mean "out of resources now", not "the listener is broken".
_ACCEPT_CAPACITY_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS})


_M = TypeVar("_M", bound=Matched)

#: How long, and for how many bytes, a refused request's connection is read (and
#: discarded) after the answer, before it is closed: see :func:`_linger`.
_LINGER_SECONDS = 1.0
_LINGER_BYTES = 1 << 20


async def _linger(stream: trio.abc.Stream, seconds: float) -> None:
    """Half-close, then discard what the client still sends, bounded in time and size.

    A request refused before it was read to its end (414/431 beyond
    ``max_request_size``) leaves bytes unread; closing the socket over them sends a
    reset, and the client's TCP stack may then drop the answer it has not read yet
    (RFC 9112 section 9.6, "Tear-down"). Reading on for a moment, until the client
    closes too, lets it see the answer.

    Cancellation:
        Stops reading; the caller closes the connection.
    """
    received = 0
    with (
        trio.move_on_after(seconds),
        contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError, OSError),
    ):
        if isinstance(stream, trio.SocketStream):
            await stream.send_eof()
        while received < _LINGER_BYTES and (data := await stream.receive_some(READ_SIZE)):
            received += len(data)


class NativeServer(Generic[_M]):
    """Serves one App on listeners it is given.

    Args:
        app: A :class:`wsactors.App` (:class:`wsactors.types.EngineApp`).
        options: The engine's options.
    """

    def __init__(self, app: EngineApp[_M], options: NativeOptions) -> None:
        self.app = app
        self.options = options
        #: The lifespan state, copied into every scope.
        self.state: dict[str, Any] = {}
        self.live: set[NativeTransport] = set()
        self._extensions = (
            limited(enable_server_permessage_deflate(None))
            if options.compression == "deflate"
            else None
        )
        #: Keepalive and write timeouts of every connection: the caller runs
        #: ``deadlines.run()`` beside the accept loops.
        self.deadlines = Deadlines()
        #: Bytes held in unfinished incoming messages, for every connection.
        self.budget = (
            IncomingBudget(options.max_buffered_bytes, options.buffer_pause_timeout)
            if options.max_buffered_bytes is not None
            else None
        )
        #: Turns for idle connections that wake together: the caller runs
        #: ``turns.run()`` beside the accept loops.
        self.turns = Turns()
        self._tasks = 0
        self._idle = trio.Event()
        self._idle.set()

    async def accept_loop(self, listener: trio.SocketListener, nursery: trio.Nursery) -> None:
        """Accept connections until ``listener`` is closed; each runs in ``nursery``.

        Cancellation:
            Stops accepting.
        """
        while True:
            try:
                stream = await listener.accept()
            except trio.ClosedResourceError:
                return
            except OSError as exc:
                if exc.errno not in _ACCEPT_CAPACITY_ERRNOS:
                    raise
                logger.error("accept() failed: %s; retrying in 0.1 s", exc)
                await trio.sleep(0.1)
                continue
            nursery.start_soon(self.handle, stream)

    async def handle(self, tcp: trio.SocketStream) -> None:
        """Serve one TCP connection to its end; errors of the connection are logged.

        Cancellation:
            The connection is aborted (the App closes its WebSocket with 1001 first,
            within its time limits).
        """
        self._tasks += 1
        self._idle = trio.Event() if self._tasks == 1 else self._idle
        options = self.options
        stream: trio.abc.Stream = tcp
        if options.ssl_context is not None:
            stream = trio.SSLStream(tcp, options.ssl_context, server_side=True)
        finished = False  # the transport closed (or aborted) the TCP stream
        try:
            opened = await self._open(stream)
            if opened is not None:
                # Served here, not in _open: its frame (the handshake's locals) is
                # gone while the connection lives.
                transport, scope, matched = opened
                del opened
                self.live.add(transport)
                try:
                    # Keepalive and the write timeout: the server's timer (one task
                    # for all connections), not a cancel scope per read and write.
                    await self.app.serve_matched(scope, transport, matched)
                finally:
                    # A ping or abort the timer is writing is cancelled (as the
                    # connection's own timer task was): no timer work outlives it.
                    self.deadlines.cancel(transport)
                    self.live.discard(transport)
                    with trio.CancelScope(shield=True):
                        await transport.finish(options.close_timeout)
                    finished = stream is tcp
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            logger.debug("connection dropped: %r", exc)
        except Exception:
            # One connection's failure must not stop the server (its nursery).
            logger.exception("error serving a connection")
        finally:
            # Already closed by the transport, or a TLS stream over an aborted TCP one:
            # nothing to report, and nothing may escape into the server's nursery.
            # Skipped when finish() closed plain TCP: one scheduler round less for
            # each of thousands of connections closing at once.
            if not finished:
                with contextlib.suppress(
                    trio.BrokenResourceError, trio.ClosedResourceError, OSError
                ):
                    await trio.aclose_forcefully(stream)
            self._tasks -= 1
            if self._tasks == 0:
                self._idle.set()

    async def _open(
        self, stream: trio.abc.Stream
    ) -> tuple[NativeTransport, Scope, _M | None] | None:
        """The handshake request and what answers it.

        Returns:
            The WebSocket's transport, scope and matched route (the only match of
            this handshake), for the App to serve; ``None`` when the connection was
            answered here (plain HTTP, a refusal, no request).
        """
        options = self.options
        app = self.app
        protocol = WireProtocol(
            extensions=self._extensions,
            max_size=options.default_max_message_size,
            max_fragments=options.max_fragments,
            logger=_WIRE,
        )
        got: Opening | bytes | None = None
        with trio.move_on_after(options.open_timeout):
            got = await read_request(stream, protocol, options.max_request_size)
        if got is None:
            logger.info(
                "no handshake within open_timeout=%.1f s: connection closed", options.open_timeout
            )
            return None
        if isinstance(got, bytes):
            if got:
                await self._send_bounded(stream, got)
                await _linger(stream, min(options.close_timeout, _LINGER_SECONDS))
            return None
        request = got.request
        tls = options.ssl_context is not None
        path = request.path.partition("?")[0]
        matched = app.match(unquote(path))
        if not is_upgrade(request):
            with trio.move_on_after(options.default_send_timeout):
                await serve_plain_http(
                    stream,
                    request,
                    app.plain_http,
                    is_websocket_route=matched is not None,
                    tls=tls,
                    state=self.state,
                )
            return None
        limit = options.max_connections
        draining = app.draining
        if draining or (limit is not None and len(self.live) >= limit):
            # The App's wording during the drain, so both engines answer alike.
            text = SHUTTING_DOWN if draining else "Too many connections"
            logger.info("%s: handshake for %r denied with 503", text, path)
            app.handshake_denied(matched, 503)
            answer = simple_response(503, text, [("Retry-After", "1")])
            await self._send_bounded(stream, answer)
            return None
        config = matched.config if matched is not None else None
        max_size = config.max_message_size if config is not None else None
        send_timeout = config.send_timeout if config is not None else None
        response = protocol.accept(request)
        # After accept: the limit depends on the extensions it negotiated.
        protocol.limit_messages(max_size or options.default_max_message_size)
        try:
            subprotocols = offered_subprotocols(request)
        except Exception:
            response = protocol.reject(400, "Invalid Sec-WebSocket-Protocol header\n")
        if response.status_code != 101:
            # Not a valid WebSocket request (a missing key, a bad version): websockets'
            # own answer (400, 426...).
            app.handshake_denied(matched, response.status_code)
            protocol.send_response(response)
            await self._send_bounded(stream, b"".join(protocol.data_to_send()))
            return None
        transport = NativeTransport(
            stream,
            protocol,
            response,
            subprotocols=subprotocols,
            ping_interval=options.ping_interval,
            ping_timeout=options.ping_timeout,
            send_timeout=send_timeout or options.default_send_timeout,
            deadlines=self.deadlines,
            budget=self.budget,
            turns=self.turns,
            early=(got.events, got.rest),
        )
        scope = websocket_scope(request, stream, subprotocols, tls=tls, state=self.state)
        # The protocol's parser (a generator suspended in websockets' parse()) keeps
        # the request for the connection's life: empty its headers, which the scope
        # and the 101 response have copied (about 1.5 KiB per connection).
        request.headers.clear()
        return transport, scope, matched

    async def _send_bounded(self, stream: trio.abc.Stream, data: bytes) -> None:
        with trio.move_on_after(self.options.close_timeout):
            await stream.send_all(data)

    async def shutdown(self, listeners: list[trio.SocketListener]) -> None:
        """Drain, stop listening, abort what is left, wait for the tasks (bounded).

        Returns within ``graceful_timeout + close_timeout`` (plus the App's
        ``cleanup_timeout`` for a dependency cleanup that does not return).

        Cancellation:
            Stops waiting; the caller cancels the connections.
        """
        options = self.options
        with trio.move_on_after(options.graceful_timeout):
            # Handshakes arriving from now on get 503: App.drain sets the App's
            # draining flag before its first checkpoint, and _open reads it.
            await self.app.drain()
        for listener in listeners:
            await listener.aclose()
        left = list(self.live)
        if left:
            logger.warning("aborting %d connection(s) still open after the drain", len(left))
        for transport in left:
            await transport.abort()
        with trio.move_on_after(options.close_timeout):
            await self._idle.wait()
