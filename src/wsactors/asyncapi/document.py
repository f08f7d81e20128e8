"""The AsyncAPI 3.0 document of an App: one channel per route.

Operations are written from the App's side, as AsyncAPI 3.0 wants: ``receive`` is
what clients send (a listener's ``data``), ``send`` is what the App pushes (a
stream's items); a listener that returns something has a ``reply``.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ..di.signature import ParamSpec
from ..exceptions import ImproperlyConfiguredError
from .introspect import Documented, MessageInfo, RouteInfo, routes_of
from .schema import Schema, SchemaSet

__all__ = ["asyncapi_document"]

ASYNCAPI_VERSION = "3.0.0"
WS_BINDING_VERSION = "0.1.0"

_PATH_FORMATS = {
    "str": "one path segment (no `/`)",
    "int": "an integer (`-?[0-9]+`)",
    "float": "a decimal number (`-?[0-9]+(.[0-9]+)?`)",
    "uuid": "a UUID (hex digits, dashes optional)",
    "path": "the rest of the path, `/` included",
}
#: Close 1000, by route kind; every route may also close 1001 and 1011.
_NORMAL = {
    "listener": "the client left",
    "stream": "the stream is exhausted",
    "websocket": "the handler returned (or closes with a code of its own)",
}
_ALWAYS = [(1001, "the server is shutting down"), (1011, "an error in the application")]


def _ident(name: str, taken: set[str]) -> str:
    """A key for ``name`` made of ``[A-Za-z0-9_-]``, unique among ``taken``."""
    base = re.sub(r"[^A-Za-z0-9_\-]", "_", name) or "route"
    key, number = base, 2
    while key in taken:
        key, number = f"{base}_{number}", number + 1
    taken.add(key)
    return key


def _split_doc(doc: str | None) -> tuple[str | None, str | None]:
    if not doc:
        return None, None
    first, _, rest = doc.strip().partition("\n\n")
    return " ".join(first.split()), rest.strip() or None


def _type_name(tp: Any) -> str:
    """``Point``, ``ChatIn | StatsRequest``, ``list``: a short name for a message."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return " | ".join(_type_name(arg) for arg in typing.get_args(tp))
    name = getattr(tp, "__name__", None)
    return name if isinstance(name, str) else str(tp).replace("typing.", "")


def _message(info: MessageInfo, schemas: SchemaSet, direction: str) -> dict[str, Any]:
    tp = info.annotation
    message: dict[str, Any] = {}
    if info.frame is not None:
        message["x-wsactors-frame"] = info.frame
    if tp is None:
        message["name"] = "frame"
        message["summary"] = "Any text or binary frame (not declared)"
        return message
    if tp is str or tp is bytes:
        binary = info.frame == "binary" if info.frame is not None else tp is bytes
        message["contentType"] = "application/octet-stream" if binary else "text/plain"
        message["payload"] = (
            {"type": "string"} if tp is str else {"type": "string", "format": "binary"}
        )
    else:
        message["contentType"] = "application/json"
        message["payload"] = schemas.payload(
            tp,
            info.dto,
            "in" if direction == "in" else "out",
            forbid_unknown_fields=info.forbid_unknown_fields,
        )
    message["name"] = "json" if tp is Any else _type_name(tp)
    return message


def _query_schema(params: list[ParamSpec], schemas: SchemaSet) -> Schema:
    properties: dict[str, Schema] = {}
    required = []
    for param in params:
        annotation = param.annotation
        args = typing.get_args(annotation)
        optional = type(None) in args
        members = [a for a in args if a is not type(None)]
        if optional and len(members) == 1:
            annotation = members[0]
        schema = SchemaSet().payload(annotation if param.annotated else str)
        default = param.default
        if default is not inspect.Parameter.empty and isinstance(default, str | int | float | bool):
            schema["default"] = default
        properties[param.name] = schema
        if param.required and not optional:
            required.append(param.name)
    out: Schema = {"type": "object", "properties": properties}
    if required:
        out["required"] = required
    return out


def _headers_schema(app: Documented) -> Schema | None:
    if not app.require_origin and app.allowed_origins is None:
        return None
    origin: Schema = {"type": "string"}
    if app.allowed_origins is not None:
        origin["description"] = "One of: " + ", ".join(f"`{o}`" for o in app.allowed_origins)
    out: Schema = {"type": "object", "properties": {"Origin": origin}}
    if app.require_origin:
        out["required"] = ["Origin"]
    return out


def _description(route: RouteInfo, body: str | None) -> str:
    codes = [(1000, _NORMAL[route.kind]), *route.close_codes, *_ALWAYS]
    lines = [f"- **{code}**: {why}" for code, why in sorted(codes, key=lambda c: c[0])]
    parts = [body] if body else []
    parts.append("Close codes:\n\n" + "\n".join(lines))
    if route.query:
        parts.append("A missing or malformed query parameter refuses the handshake (HTTP 400).")
    return "\n\n".join(parts)


def _channel(app: Documented, route: RouteInfo, schemas: SchemaSet) -> dict[str, Any]:
    summary, body = _split_doc(route.doc)
    channel: dict[str, Any] = {"address": route.address, "title": route.name}
    if summary:
        channel["summary"] = summary
    channel["description"] = _description(route, body)
    messages: dict[str, Any] = {}
    if route.receives is not None:
        messages["received"] = _message(route.receives, schemas, "in")
    if route.sends is not None:
        messages["reply" if route.reply else "sent"] = _message(route.sends, schemas, "out")
    channel["messages"] = messages
    if route.path_params:
        channel["parameters"] = {
            name: {"description": f"`{converter}`: {_PATH_FORMATS.get(converter, converter)}"}
            for name, converter in route.path_params.items()
        }
    binding: dict[str, Any] = {"method": "GET"}
    if route.query:
        binding["query"] = _query_schema(route.query, schemas)
    headers = _headers_schema(app)
    if headers is not None:
        binding["headers"] = headers
    binding["bindingVersion"] = WS_BINDING_VERSION
    channel["bindings"] = {"ws": binding}
    return channel


def _operations(key: str, route: RouteInfo) -> dict[str, Any]:
    ref = {"$ref": f"#/channels/{key}"}

    def message_ref(name: str) -> dict[str, str]:
        return {"$ref": f"#/channels/{key}/messages/{name}"}

    out: dict[str, Any] = {}
    if route.receives is not None:
        receive: dict[str, Any] = {
            "action": "receive",
            "channel": ref,
            "summary": f"Messages {route.name} receives from the client",
            "messages": [message_ref("received")],
        }
        if route.reply:
            receive["reply"] = {"channel": ref, "messages": [message_ref("reply")]}
        out[f"{key}_receive"] = receive
    if route.sends is not None and not route.reply:
        out[f"{key}_send"] = {
            "action": "send",
            "channel": ref,
            "summary": f"Messages {route.name} sends to the client",
            "messages": [message_ref("sent")],
        }
    return out


def _server(name: str, spec: str | Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(spec, str):
        return dict(spec)
    url = urlsplit(spec)
    if url.scheme not in ("ws", "wss") or not url.netloc:
        raise ImproperlyConfiguredError(
            f"server {name!r}: {spec!r} is not a ws:// or wss:// URL (or pass a Server Object)"
        )
    server: dict[str, Any] = {"host": url.netloc, "protocol": url.scheme}
    if url.path not in ("", "/"):
        server["pathname"] = url.path
    return server


def asyncapi_document(
    app: Documented,
    *,
    title: str,
    version: str,
    description: str | None = None,
    servers: Mapping[str, str | Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of ``app`` (see :meth:`wsactors.App.asyncapi`)."""
    schemas = SchemaSet()
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    taken: set[str] = set()
    for route in routes_of(app):
        key = _ident(route.name, taken)
        channels[key] = _channel(app, route, schemas)
        operations.update(_operations(key, route))
    info: dict[str, Any] = {"title": title, "version": version}
    if description:
        info["description"] = description
    document: dict[str, Any] = {"asyncapi": ASYNCAPI_VERSION, "info": info}
    if servers:
        document["servers"] = {name: _server(name, spec) for name, spec in servers.items()}
    document["channels"] = channels
    document["operations"] = operations
    if schemas.components:
        document["components"] = {"schemas": dict(sorted(schemas.components.items()))}
    return document
