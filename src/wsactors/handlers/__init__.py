"""Handler kinds: each wraps user code into a behaviour for the connection supervisor."""

from .base import Layer, Route, RouteHandler
from .listener import ListenerRouteHandler, websocket_listener
from .listener_class import WebSocketListener
from .websocket import WebSocketRouteHandler, websocket

__all__ = [
    "Layer",
    "ListenerRouteHandler",
    "Route",
    "RouteHandler",
    "WebSocketListener",
    "WebSocketRouteHandler",
    "websocket",
    "websocket_listener",
]
