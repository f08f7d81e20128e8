"""The handshake's ``Origin`` check: ``App(allowed_origins=..., require_origin=...)``.

Browsers always send ``Origin`` on WebSocket handshakes and CORS does not apply
to WebSockets, so this check is what stops cross-site WebSocket hijacking (a page
elsewhere riding the user's cookies).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["origin_allowed", "origin_refusal"]


def origin_refusal(
    scope: dict[str, Any], allowed_origins: Sequence[str] | None, require_origin: bool
) -> str | None:
    """Why the handshake's Origin is refused, or None."""
    origin = _header(scope, b"origin")
    if origin is None:
        return "Origin header required" if require_origin else None
    if allowed_origins is not None and not origin_allowed(origin, allowed_origins):
        return "Origin not allowed"
    return None


def origin_allowed(origin: str, allowed: Sequence[str]) -> bool:
    """Exact origins, ``"*"``, and ``"https://*.example.com"`` subdomain patterns."""
    for pattern in allowed:
        if pattern in ("*", origin):
            return True
        scheme, sep, host = pattern.partition("://*.")
        if sep and origin.startswith(f"{scheme}://") and origin.endswith(f".{host}"):
            return True
    return False


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None
