"""Handler kinds: each wraps user code into a behaviour for the connection supervisor."""

from ..routing.route import Layer, Route, RouteHandler
from .listener import ListenerRouteHandler, websocket_listener
from .listener_class import WebSocketListener
from .stream import StreamRouteHandler, send_websocket_stream, websocket_stream
from .websocket import WebSocketRouteHandler, websocket

__all__ = [
    "Layer",
    "ListenerRouteHandler",
    "Route",
    "RouteHandler",
    "StreamRouteHandler",
    "WebSocketListener",
    "WebSocketRouteHandler",
    "send_websocket_stream",
    "websocket",
    "websocket_listener",
    "websocket_stream",
]
