"""The demo App: the page at ``/`` and the WebSocket endpoints it drives.

- ``/ws/chat/{room}``: chat rooms on Channels, one ``WebSocketListener`` class
  (:mod:`.chat`); it also answers ``{"stats": true}`` with its ``statistics()``.
- ``/ws/clock``: the server time every second, a ``@websocket_stream`` (:mod:`.clock`).
- ``/ws/json``: a typed ``@websocket_listener`` of :class:`~.points.Point` (:mod:`.points`).
- ``/ws/echo``: every message back in a frame of its type, a low-level ``@websocket``.

The page and its script are package data (``demo/static/``), served by
:class:`StaticFiles`, a tiny ASGI HTTP app given to the App as ``http_app``. Every
file is read once, when the App is built, so serving a request never touches the
disk (no blocking call in the event loop) and the memory cost is the size of the
``static`` directory (a few kilobytes).
"""

from __future__ import annotations

import mimetypes
from collections import Counter
from collections.abc import Awaitable, Callable
from importlib.resources import files
from typing import Any

from ..app import App
from ..channels import Channels
from ..di.injector import Provide
from ..handlers import websocket
from ..responses import send_response
from ..socket.websocket import WebSocket
from .chat import ChatListener
from .clock import live_clock
from .points import json_box

__all__ = ["StaticFiles", "app", "create_app", "echo"]

Message = dict[str, Any]

# Explicit types for what the demo ships, so the answer does not depend on the
# platform's mimetypes database (which, on some systems, maps .js to text/plain).
_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",  # RFC 9239
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
}


def _content_type(name: str) -> str:
    """The Content-Type header value for a file called ``name``."""
    suffix = name[name.rfind(".") :].lower() if "." in name else ""
    if suffix in _CONTENT_TYPES:
        return _CONTENT_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(name)
    return guessed or "application/octet-stream"


class StaticFiles:
    """An ASGI HTTP app serving the files of one package directory from memory.

    ``GET /name`` and ``HEAD /name`` answer the file ``name`` from the directory;
    ``/`` answers the index file. Subdirectories are not served: paths are looked
    up by name in a table built at construction, so no request can reach outside
    the directory. Anything else is 404; other methods are 405.

    Args:
        package: The package holding the directory, e.g. ``"wsactors.demo"``.
        directory: The directory inside the package.
        index: The file served at ``/``.

    Raises:
        FileNotFoundError: ``index`` is not in the directory.
    """

    def __init__(self, package: str, directory: str = "static", index: str = "index.html") -> None:
        root = files(package).joinpath(directory)
        self.files: dict[str, tuple[str, bytes]] = {
            f"/{entry.name}": (_content_type(entry.name), entry.read_bytes())
            for entry in root.iterdir()
            if entry.is_file()
        }
        if f"/{index}" not in self.files:
            raise FileNotFoundError(f"{index!r} is not in {package}/{directory}")
        self.files["/"] = self.files[f"/{index}"]

    async def __call__(
        self,
        scope: Message,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        """Answer one ASGI ``http`` request (the request body, if any, is not read)."""
        if scope["type"] != "http":
            raise ValueError(f"StaticFiles serves http scopes, not {scope['type']!r}")
        method = scope["method"]
        found = self.files.get(scope["path"])
        if method not in ("GET", "HEAD"):
            status, content_type, body = 405, "text/plain; charset=utf-8", b"Method Not Allowed"
        elif found is None:
            status, content_type, body = 404, "text/plain; charset=utf-8", b"Not Found"
        else:
            status, (content_type, body) = 200, found
        # A demo is edited and reloaded: let the browser revalidate every time.
        headers = [(b"cache-control", b"no-cache"), (b"x-content-type-options", b"nosniff")]
        await send_response(
            send, status, body, content_type=content_type, headers=headers, method=method
        )


@websocket("/ws/echo")
async def echo(socket: WebSocket) -> None:
    """Accept, then send every message back in a frame of the type it came in."""
    await socket.accept()
    async for message in socket.iter_messages():
        await socket.send_message(message)


def create_app(redis_url: str | None = None) -> App:
    """Build a fresh demo App, with chat rooms of its own and the static page at ``/``.

    Args:
        redis_url: Share the chat rooms with every demo process on this Redis
            (needs ``wsactors[redis]``); otherwise they live in this process.
    """
    backend = None
    if redis_url is not None:
        from ..channels import RedisBackend

        backend = RedisBackend(redis_url)
    online: Counter[str] = Counter()  # clients per room, in this process
    return App(
        [ChatListener, live_clock, json_box, echo],
        # Every chat connection that asks for `online` gets this App's counter.
        dependencies={"online": Provide(lambda: online)},
        http_app=StaticFiles("wsactors.demo"),
        channels=Channels(backend),
    )


#: The demo App, for ``wsactors run wsactors.demo.app:app`` and for tests.
app = create_app()
