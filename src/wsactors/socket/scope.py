"""Read-only views of the handshake request's ASGI scope, shared by the handle."""

from __future__ import annotations

from typing import Any

from .datastructures import Address, Headers, QueryParams, State, parse_cookies

__all__ = ["ScopeViews"]


class ScopeViews:
    """What a handler can read about the handshake request, parsed lazily.

    Args:
        scope: The ASGI websocket scope.
        path_params: Path parameters, already converted to their types.
    """

    def __init__(self, scope: dict[str, Any], path_params: dict[str, Any] | None = None) -> None:
        self._scope = scope
        self._path_params = path_params or {}
        self._headers: Headers | None = None
        self._query: QueryParams | None = None
        self._state: State | None = None

    @property
    def scope(self) -> dict[str, Any]:
        """The ASGI scope of the handshake request."""
        return self._scope

    @property
    def app(self) -> Any:
        """The :class:`~wsactors.App` serving this connection."""
        return self._scope.get("app")

    @property
    def path(self) -> str:
        """The request path, percent-decoded."""
        return str(self._scope.get("path", ""))

    @property
    def path_params(self) -> dict[str, Any]:
        """Path parameters, converted to their declared types."""
        return self._path_params

    @property
    def query_params(self) -> QueryParams:
        """Query parameters (``params["a"]`` is the first ``a``; ``getall`` for all)."""
        if self._query is None:
            self._query = QueryParams(self._scope.get("query_string", b""))
        return self._query

    @property
    def headers(self) -> Headers:
        """Handshake request headers, case-insensitive."""
        if self._headers is None:
            self._headers = Headers(self._scope.get("headers", []))
        return self._headers

    @property
    def cookies(self) -> dict[str, str]:
        """Cookies sent with the handshake."""
        return parse_cookies(self.headers.get("cookie", ""))

    @property
    def client(self) -> Address | None:
        """The client's address, if the server reports it."""
        client = self._scope.get("client")
        return Address(client[0], int(client[1])) if client else None

    @property
    def state(self) -> State:
        """Per-connection state, seeded with the lifespan state the server passes."""
        if self._state is None:
            self._state = State(self._scope.get("state"))
        return self._state

    @property
    def subprotocols(self) -> list[str]:
        """The subprotocols the client offered, in its order of preference."""
        return list(self._scope.get("subprotocols") or ())
