"""wsactors: Litestar-style WebSockets for Trio, built as an actor runtime.

Every public name is importable from here (and only from here); the rest of the
package may change freely. ``tests/test_public_api.py`` pins this surface.
"""

from .app import App
from .channels import Channels, ChannelStatistics, Gap, MemoryBackend, Message
from .codec.dto import DTO
from .di.injector import Provide
from .exceptions import (
    DataDiscardedWarning,
    ImproperlyConfiguredError,
    NotAuthorizedError,
    PermissionDeniedError,
    WebSocketDisconnect,
    WebSocketException,
)
from .handlers import (
    WebSocketListener,
    send_websocket_stream,
    websocket,
    websocket_listener,
    websocket_stream,
)
from .routing.router import Router
from .serving.serve import serve
from .socket.websocket import WebSocket

__all__ = [
    "DTO",
    "App",
    "ChannelStatistics",
    "Channels",
    "DataDiscardedWarning",
    "Gap",
    "ImproperlyConfiguredError",
    "MemoryBackend",
    "Message",
    "NotAuthorizedError",
    "PermissionDeniedError",
    "Provide",
    "Router",
    "WebSocket",
    "WebSocketDisconnect",
    "WebSocketException",
    "WebSocketListener",
    "send_websocket_stream",
    "serve",
    "websocket",
    "websocket_listener",
    "websocket_stream",
]

__version__ = "0.1.0"
