"""The events the connection runtime exchanges with a transport.

Incoming (transport -> receiver actor): :class:`Connect`, :class:`Message`,
:class:`Failing`, :class:`Disconnect`, :class:`Pong`. Outgoing (sender actor -> transport):
:class:`Accept`, :class:`Send`, :class:`Close`, :class:`Deny`, :class:`Ping`.

They are ``NamedTuple``s: immutable, typed, and the cheapest Python object to build
on the per-message path. Sans-I/O: no Trio.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import NamedTuple

__all__ = [
    "Accept",
    "Close",
    "Connect",
    "Deny",
    "Disconnect",
    "Failing",
    "HeaderPairs",
    "HeadersArg",
    "Incoming",
    "Message",
    "Outgoing",
    "Ping",
    "Pong",
    "Send",
    "SharedText",
    "encode_headers",
]

HeaderPairs = tuple[tuple[bytes, bytes], ...]
HeadersArg = Mapping[str, str] | Iterable[tuple[str | bytes, str | bytes]] | None


class Connect(NamedTuple):
    """The client asked to open the WebSocket (the handshake request arrived)."""


class Message(NamedTuple):
    """A whole message: ``str`` from a text frame, ``bytes`` from a binary one."""

    data: str | bytes


class Disconnect(NamedTuple):
    """The peer is gone. ``code`` is its close code (1005: none given; 1006: the
    connection dropped without a close frame, RFC 6455 section 7.4.1).

    ``by_peer`` is False when the transport itself ended the connection (the native
    engine failing it with 1002, 1007, 1009 or 1011, or aborting a stalled write):
    then ``code`` is the one the transport closed with, not the client's.
    """

    code: int
    reason: str = ""
    by_peer: bool = True


class Failing(NamedTuple):
    """The transport must fail the connection with ``code`` (RFC 6455 section 7.1.7):
    the peer sent something it cannot accept (1002, 1007, 1009).

    Nothing the peer sends after it is read. The messages before it are still
    delivered, and what the application sends in reply still goes out: the
    transport sends its close frame, with this code, in place of the runtime's
    close (or when the connection ends). A :class:`Disconnect` follows once the
    connection is over. Only transports that own the wire send it (the native
    engine).
    """

    code: int
    reason: str = ""


class Pong(NamedTuple):
    """A pong answering one of our pings (transports that can ping).

    ``latency`` is the round trip in seconds when the transport measured it (a
    pong answering its keepalive ping), else ``None``.
    """

    data: bytes
    latency: float | None = None


class Accept(NamedTuple):
    """Complete the handshake (HTTP 101)."""

    subprotocol: str | None = None
    headers: HeaderPairs = ()


class SharedText:
    """A text message that many connections send: encoded once, framed once.

    Channels make one per published message and give the same object to every
    subscribed connection. A transport that frames messages itself may cache the
    frame here (:attr:`frame`): server frames are unmasked (RFC 6455 section 5.1),
    so the uncompressed frame of a message is the same bytes for every connection.

    Attributes:
        text: The message.
        data: Its UTF-8 bytes.
        frame: The uncompressed, unmasked RFC 6455 text frame of ``data``, once a
            transport built it; None until then.
    """

    __slots__ = ("data", "frame", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.data = text.encode()
        self.frame: bytes | None = None


class Send(NamedTuple):
    """Send one message; ``str`` as a text frame, ``bytes`` as a binary frame.

    A :class:`SharedText` is a text message queued for many connections (a
    subscription's delivery): a transport that frames messages itself writes its
    shared frame.
    """

    data: str | bytes | SharedText


class Close(NamedTuple):
    """Send a close frame; before accept, a transport rejects the handshake (HTTP 403)."""

    code: int
    reason: str = ""


class Deny(NamedTuple):
    """Reject the handshake with an HTTP response (before accept only)."""

    status: int
    headers: HeaderPairs = ()
    body: bytes = b""


class Ping(NamedTuple):
    """Send a ping (transports that can ping)."""

    data: bytes = b""


Incoming = Connect | Message | Failing | Disconnect | Pong
Outgoing = Accept | Send | Close | Deny | Ping

# RFC 9110 section 5.1 (field-name = token) and 5.5 (field values: no CR, LF or NUL;
# other controls but HTAB are obsolete and refused too). Checked at the call that
# names the header, so a bad value is the caller's ValueError, not a broken response.
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


def _as_bytes(part: str | bytes, what: str, name: object) -> bytes:
    if isinstance(part, bytes):
        return part
    try:
        return part.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(f"header {name!r}: {what} is not latin-1 encodable") from None


def encode_headers(headers: HeadersArg) -> HeaderPairs:
    """Turn header pairs (or a mapping) into validated, lower-cased byte pairs.

    Raises:
        ValueError: a name that is not an HTTP token, or a value with CR, LF, NUL or
            another control character, or text that is not latin-1; the message
            names the header.
    """
    if not headers:
        return ()
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    out: list[tuple[bytes, bytes]] = []
    for name, value in pairs:
        raw_name = _as_bytes(name, "the name", name)
        raw_value = _as_bytes(value, "the value", name)
        if not _TOKEN.fullmatch(raw_name):
            raise ValueError(f"header name {name!r} is not a valid HTTP token")
        if _BAD_VALUE.search(raw_value):
            raise ValueError(f"header {name!r}: the value contains CR, LF, NUL or a control")
        out.append((raw_name.lower(), raw_value))
    return tuple(out)
