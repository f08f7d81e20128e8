"""The ASGI scopes the in-process client calls the app with, built as hypercorn does."""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias
from urllib.parse import quote, unquote, urlencode, urlsplit

__all__ = [
    "Headers",
    "Message",
    "Origin",
    "QueryParams",
    "websocket_scope",
]

#: An ASGI scope or event.
Message: TypeAlias = dict[str, Any]
HeaderPairs: TypeAlias = Sequence[tuple[str | bytes, str | bytes]]
Headers: TypeAlias = Mapping[str, str] | HeaderPairs
QueryParams: TypeAlias = Mapping[str, str] | Sequence[tuple[str, str]]

# Left unencoded in a path: RFC 3986 section 3.3 pchar and "/" (a query also allows "?",
# section 3.4); "%" keeps escapes the test wrote itself.
_PATH_SAFE = "/%!$&'()*+,;=:@"


@dataclass(frozen=True)
class Origin:
    """Where the client pretends to connect: the scope's ``scheme``, ``server`` and ``host``.

    Attributes:
        scheme: ``ws`` or ``wss``.
        netloc: ``host[:port]`` as given, for the ``host`` header.
        server: ``(host, port)``, the port defaulting to 80 or 443.
    """

    scheme: str
    netloc: str
    server: tuple[str, int]

    @classmethod
    def from_url(cls, base_url: str) -> Origin:
        """Parse ``ws://host[:port]`` or ``wss://...``.

        Raises:
            ValueError: the base URL is not a ws:// or wss:// URL.
        """
        parts = urlsplit(base_url)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise ValueError(f"base_url must be a ws:// or wss:// URL, not {base_url!r}")
        port = parts.port or (443 if parts.scheme == "wss" else 80)
        return cls(parts.scheme, parts.netloc, (parts.hostname, port))


def websocket_scope(
    origin: Origin,
    path: str,
    subprotocols: Sequence[str],
    headers: Headers | None,
    params: QueryParams | None,
    state: Mapping[str, Any],
) -> Message:
    """A ``websocket`` scope with the headers of a real handshake request.

    The arguments are those of :meth:`TestClient.websocket_connect`, plus the
    client's ``origin`` and the lifespan ``state``, shallow-copied into the scope.

    Raises:
        ValueError: the path does not start with ``/``.
    """
    path, _, query = path.partition("?")
    if not path.startswith("/"):
        raise ValueError(f"the path must start with '/', not {path!r}")
    raw_path = quote(path, safe=_PATH_SAFE).encode("ascii")
    query_string = quote(query, safe=_PATH_SAFE + "?").encode("ascii")
    if params:
        extra = urlencode(params).encode("ascii")
        query_string = query_string + b"&" + extra if query_string else extra
    key = base64.b64encode(os.urandom(16))
    request_headers = [
        (b"host", origin.netloc.encode("idna")),
        (b"connection", b"Upgrade"),
        (b"upgrade", b"websocket"),
        (b"sec-websocket-version", b"13"),
        (b"sec-websocket-key", key),
    ]
    if subprotocols:
        request_headers.append((b"sec-websocket-protocol", ", ".join(subprotocols).encode()))
    user_headers = _header_pairs(headers)
    replaced = {name for name, _ in user_headers}
    request_headers = [h for h in request_headers if h[0] not in replaced] + user_headers
    return {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "scheme": origin.scheme,
        "http_version": "1.1",
        "path": unquote(raw_path.decode("ascii")),
        "raw_path": raw_path,
        "query_string": query_string,
        "root_path": "",
        "headers": request_headers,
        "client": ("testclient", 50000),
        "server": origin.server,
        "subprotocols": list(subprotocols),
        "state": dict(state),
        "extensions": {"websocket.http.response": {}},
    }


def _header_pairs(headers: Headers | None) -> list[tuple[bytes, bytes]]:
    # Names lower-cased as ASGI requires; str encoded as latin-1, as HTTP/1.1 sends it.
    pairs: HeaderPairs = list(headers.items()) if isinstance(headers, Mapping) else headers or []
    return [
        (
            (name.encode("latin-1") if isinstance(name, str) else name).lower(),
            value.encode("latin-1") if isinstance(value, str) else value,
        )
        for name, value in pairs
    ]
