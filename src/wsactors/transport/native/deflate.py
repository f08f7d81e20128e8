"""permessage-deflate (RFC 7692) whose size limit counts what a message inflates to.

websockets checks a frame's *compressed* length against the message size limit
before reading it, and passes the same limit to the extension for the inflated
size. So 1 MiB of random bytes, which grows a little when compressed, was refused
at a limit of 1 MiB, and a deflate bomb was refused with another wording ("frame
exceeds limit of N bytes").

Here, through websockets' documented extension API
(:class:`~websockets.extensions.ServerExtensionFactory`,
:class:`~websockets.extensions.Extension`), the negotiated extension is wrapped:

- the limit (the route's ``max_message_size``) counts the *inflated* bytes of the
  whole message, fragments included, and inflating stops as soon as it is crossed
  (a bomb is never inflated whole);
- the compressed length is only bounded by :func:`compressed_bound` of the limit,
  so what is buffered stays in proportion to the limit;
- an oversized message is refused with the one 1009 wording of the runtime,
  ``message too big: N bytes > M`` (for a message refused while inflating, N is
  what was inflated when the engine stopped: at least M + 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, NoReturn

from websockets.exceptions import PayloadTooBig, ProtocolError
from websockets.extensions import Extension, ServerExtensionFactory
from websockets.frames import Frame
from websockets.typing import ExtensionName, ExtensionParameter

from .assembler import AssemblyError
from .rfc6455 import CLOSE, CONT

__all__ = [
    "InflateLimit",
    "InflateLimitFactory",
    "compressed_bound",
    "limited",
    "refuse",
]

#: Bytes a compressed message may take beyond its inflated size (deflate's
#: fixed-Huffman worst case is 9 bits a byte, plus block headers).
_SLACK: Final = 1024


def compressed_bound(limit: int) -> int:
    """The most a message of ``limit`` inflated bytes can take compressed."""
    return limit + limit // 8 + _SLACK


def refuse(size: int, limit: int) -> NoReturn:
    """Stop the parser: a message of ``size`` bytes is over ``limit`` (1009).

    Raises:
        ProtocolError: always; WireProtocol.fail takes the code and the reason
            from its cause, as for an assembly error.
    """
    reason = f"message too big: {size} bytes > {limit}"
    raise ProtocolError(reason) from AssemblyError(1009, reason)


class InflateLimit(Extension):
    """A negotiated extension whose inflated messages are limited to :attr:`limit`.

    Args:
        inner: websockets' permessage-deflate extension, as negotiated.

    Attributes:
        limit: Inflated bytes a message may take (``None``: no limit); set once
            the route is known, before the first frame.
    """

    def __init__(self, inner: Extension) -> None:
        self._inner = inner
        self.name: ExtensionName = inner.name
        self.limit: int | None = None
        self._size = 0  # inflated bytes of the message in progress, before this frame

    def decode(self, frame: Frame, *, max_size: int | None = None) -> Frame:
        """Inflate ``frame`` (``max_size``, websockets' compressed limit, is ignored).

        Raises:
            ProtocolError: the message is over :attr:`limit` (caused by an
                :class:`~wsactors.transport.native.assembler.AssemblyError` 1009),
                or does not inflate.
        """
        opcode = frame.opcode
        if opcode >= CLOSE:  # control frames are never compressed (RFC 7692 6.1)
            return self._inner.decode(frame)
        before = self._size if opcode is CONT else 0
        limit = self.limit
        if limit is None:
            decoded = self._inner.decode(frame)
        else:
            room = limit - before
            try:
                # At least 1: websockets reads a limit of 0 as "no limit".
                decoded = self._inner.decode(frame, max_size=max(room, 1))
            except PayloadTooBig:
                refuse(limit + 1, limit)
            size = before + len(decoded.data)
            if size > limit:
                refuse(size, limit)
        self._size = 0 if frame.fin else before + len(decoded.data)
        return decoded

    def encode(self, frame: Frame) -> Frame:
        """Compress ``frame`` as the inner extension does."""
        return self._inner.encode(frame)


class InflateLimitFactory(ServerExtensionFactory):
    """Negotiates as ``inner`` does, and wraps what it negotiates in :class:`InflateLimit`."""

    def __init__(self, inner: ServerExtensionFactory) -> None:
        self._inner = inner
        self.name: ExtensionName = inner.name

    def process_request_params(
        self, params: Sequence[ExtensionParameter], accepted_extensions: Sequence[Extension]
    ) -> tuple[list[ExtensionParameter], Extension]:
        """See :meth:`ServerExtensionFactory.process_request_params
        <websockets.extensions.ServerExtensionFactory.process_request_params>`."""
        response, extension = self._inner.process_request_params(params, accepted_extensions)
        return response, InflateLimit(extension)


def limited(factories: Sequence[ServerExtensionFactory]) -> list[ServerExtensionFactory]:
    """``factories`` with each one's extension limited by :class:`InflateLimit`."""
    return [InflateLimitFactory(factory) for factory in factories]
