"""Answering scrapes: on the App's own HTTP side (ASGI), or on a port of their own.

:func:`send_metrics` answers an ASGI ``http`` request at ``App(metrics_path=...)``,
on hypercorn and on the native engine alike (both hand plain HTTP to the App).
:func:`serve_metrics_port` is a minimal HTTP/1.1 responder for ``wsactors run
--metrics-port`` and ``App(metrics_port=...)``: it runs in the App's Trio run (a
task of its lifespan), not in a thread, so a scrape reads the live counters from
the thread that writes them. One GET per connection, any path, then close.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, Final

import trio

from ..responses import send_response
from .collect import AppMetrics

__all__ = [
    "LISTEN_ENV",
    "listen_from_environ",
    "listening",
    "metrics_response",
    "send_metrics",
    "serve_metrics_port",
]

logger = logging.getLogger("wsactors.metrics")

Message = dict[str, Any]

#: A scraper sends its request at once; the request head is small.
_REQUEST_TIMEOUT: Final = 5.0
_MAX_REQUEST: Final = 8192
#: Bound of writing one response (a scraper that stops reading is dropped).
_RESPONSE_TIMEOUT: Final = 10.0


def metrics_response(metrics: AppMetrics, method: str, accept: str) -> tuple[int, str, bytes]:
    """``(status, content type, body)`` for a scrape: 405 for methods other than GET/HEAD."""
    if method not in ("GET", "HEAD"):
        return 405, "text/plain; charset=utf-8", b"Method Not Allowed\n"
    from .prometheus import exposition

    body, content_type = exposition(metrics, accept)
    return 200, content_type, body


async def send_metrics(
    metrics: AppMetrics,
    scope: Message,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    """Answer one ASGI ``http`` request with the exposition (``HEAD`` without the body).

    The request body, if any, is not read.

    Cancellation:
        Nothing to clean up: a cancelled response is simply cut short.
    """
    method = scope.get("method", "GET")
    accept = b""
    for name, value in scope.get("headers", ()):
        if bytes(name).lower() == b"accept":
            accept = bytes(value)
    status, content_type, body = metrics_response(metrics, method, accept.decode("latin-1"))
    await send_response(send, status, body, content_type=content_type, method=method)


async def _bind(host: str, port: int, tries: int) -> tuple[list[trio.SocketListener], int]:
    """Listeners on the first free port of ``port .. port + tries - 1`` (port 0:
    one the system picks).

    Raises:
        OSError: none of them is free (or another error binding).
    """
    last: OSError | None = None
    for candidate in range(port, port + max(tries, 1)) if port else (0,):
        try:
            listeners = await trio.open_tcp_listeners(candidate, host=host)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            last = exc
            continue
        bound = listeners[0].socket.getsockname()[1]
        return listeners, int(bound)
    assert last is not None
    raise last


async def serve_metrics_port(
    metrics: AppMetrics,
    host: str,
    port: int,
    tries: int = 1,
    *,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve the exposition on ``host`` and the first free port from ``port`` on.

    ``tries`` > 1 lets the worker processes of one server take consecutive ports
    (``wsactors run --workers N --metrics-port P``: P to P+N-1, one each; with
    port 0 each picks a free one, which it logs).

    Args:
        metrics: The App's metrics.
        host: Interface to listen on.
        port: The first port to try; 0 picks a free one.
        tries: How many consecutive ports to try.
        task_status: Receives the URL once listening (also in ``metrics.url``).

    Raises:
        OSError: no port of the range could be bound.

    Cancellation:
        Stops listening; scrapes in progress are cut short.
    """
    listeners, bound = await _bind(host, port, tries)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{bound}/metrics"
    metrics.url = url
    logger.info("metrics served on %s", url)
    try:
        async with trio.open_nursery() as nursery:
            for listener in listeners:
                nursery.start_soon(_accept_loop, metrics, listener, nursery)
            task_status.started(url)
    finally:
        metrics.url = None
        for listener in listeners:
            await trio.aclose_forcefully(listener)


async def _accept_loop(
    metrics: AppMetrics, listener: trio.SocketListener, nursery: trio.Nursery
) -> None:
    while True:
        try:
            stream = await listener.accept()
        except trio.ClosedResourceError:
            return
        except OSError as exc:  # out of file descriptors: the next scrape may do
            logger.warning("metrics listener: accept() failed: %s", exc)
            await trio.sleep(0.1)
            continue
        nursery.start_soon(_answer, metrics, stream)


async def _answer(metrics: AppMetrics, stream: trio.SocketStream) -> None:
    """Read one request head, answer it, close. Errors end only this connection."""
    try:
        head = b""
        with trio.move_on_after(_REQUEST_TIMEOUT):
            while b"\r\n\r\n" not in head and len(head) < _MAX_REQUEST:
                chunk = await stream.receive_some(_MAX_REQUEST)
                if not chunk:
                    break
                head += chunk
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ")
        if b"\r\n\r\n" not in head or len(parts) != 3:
            status, content_type, body = 400, "text/plain; charset=utf-8", b"Bad Request\n"
            method = "GET"
        else:
            method = parts[0].decode("latin-1")
            accept = ""
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"accept":
                    accept = value.strip().decode("latin-1")
            status, content_type, body = metrics_response(metrics, method, accept)
        response = (
            f"HTTP/1.1 {status} {_PHRASES[status]}\r\n"
            f"Content-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n"
            + ("Allow: GET, HEAD\r\n" if status == 405 else "")
            + "Connection: close\r\n\r\n"
        ).encode("latin-1")
        with trio.move_on_after(_RESPONSE_TIMEOUT):
            await stream.send_all(response + (b"" if method == "HEAD" else body))
    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
        logger.debug("metrics listener: connection dropped: %r", exc)
    except Exception:
        logger.exception("metrics listener: error answering a scrape")
    finally:
        await trio.aclose_forcefully(stream)


_PHRASES: Final = {200: "OK", 400: "Bad Request", 405: "Method Not Allowed"}


@asynccontextmanager
async def listening(metrics: AppMetrics) -> AsyncIterator[None]:
    """While the App serves: the metrics listener of ``metrics.listen``, if any.

    Entered by the App's lifespan (in every worker process), so the port is bound
    once the startup hooks ran and closed at shutdown.

    Raises:
        OSError: the port could not be bound (the startup fails).
    """
    if metrics.listen is None:
        yield
        return
    host, port, tries = metrics.listen
    async with trio.open_nursery() as nursery:
        await nursery.start(serve_metrics_port, metrics, host, port, tries)
        try:
            yield
        finally:
            nursery.cancel_scope.cancel()


#: How ``wsactors run --metrics-port`` reaches the worker processes hypercorn
#: spawns (each imports the App anew): ``HOST:PORT:TRIES``, read by the App.
LISTEN_ENV: Final = "WSACTORS_METRICS_LISTEN"


def listen_from_environ(environ: Mapping[str, str]) -> tuple[str, int, int] | None:
    """``(host, port, tries)`` from :data:`LISTEN_ENV`, or None when it is not set.

    Raises:
        ValueError: the variable is set but malformed.
    """
    value = environ.get(LISTEN_ENV)
    if not value:
        return None
    host, port, tries = value.rsplit(":", 2)
    return host, int(port), int(tries)
