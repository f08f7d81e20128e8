"""Transports: how the connection runtime reaches a peer.

The actors depend only on :class:`~.base.Transport`; :mod:`.asgi` adapts an ASGI
server (hypercorn). See docs/architecture.md, "Transports: the extension point".
"""

from .base import Capabilities, Transport

__all__ = ["Capabilities", "Transport"]
