"""Handler kinds: each wraps user code into a behaviour for the connection supervisor."""

from .base import Layer, Route, RouteHandler
from .websocket import WebSocketRouteHandler, websocket

__all__ = ["Layer", "Route", "RouteHandler", "WebSocketRouteHandler", "websocket"]
