"""Every undocumented part of websockets that ``wireprotocol.py`` relies on, pinned.

``transport/native/wireprotocol.py`` is the one module of the native engine that
touches them; a websockets release that changes one fails here, by name, before
any behaviour test does.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Generator
from typing import Any

from websockets.exceptions import PayloadTooBig, ProtocolError
from websockets.frames import Frame, Opcode
from websockets.protocol import OPEN, Protocol
from websockets.server import ServerProtocol
from websockets.streams import StreamReader

from wsactors.transport.native import wireprotocol


def _open() -> ServerProtocol:
    return ServerProtocol(state=OPEN, max_size=100)


def _masked(opcode: int, payload: bytes) -> bytes:
    frame = Frame(Opcode(opcode), payload)
    return frame.serialize(mask=True, extensions=[])


def test_the_parser_state_it_replaces_and_reads() -> None:
    protocol = _open()
    assert isinstance(protocol.parser, Generator)
    assert isinstance(protocol.reader, StreamReader)
    assert isinstance(protocol.reader.buffer, bytearray)
    assert inspect.isgeneratorfunction(StreamReader.at_eof)
    assert callable(protocol.reader.discard)
    assert protocol.events == []
    assert protocol.writes == []
    assert protocol.current_size is None
    assert protocol.max_message_size == 100
    assert protocol.parser_exc is None
    assert protocol.eof_sent is False


def test_the_reader_buffer_holds_the_part_of_a_frame_not_yet_parsed() -> None:
    protocol = _open()
    data = _masked(0x2, b"x" * 50)
    protocol.receive_data(data[:30])
    assert len(protocol.reader.buffer) == 30 - 2 - 4  # after the header and the mask
    protocol.receive_data(data[30:])
    assert len(protocol.reader.buffer) == 0


def test_the_parser_keeps_the_last_frame_it_parsed_until_the_next() -> None:
    # WireProtocol.recv_frame empties a data frame's payload for that reason.
    protocol = _open()
    protocol.receive_data(_masked(0x2, b"z" * 50))
    (frame,) = protocol.events_received()
    frames = [
        value
        for value in inspect.getgeneratorlocals(_innermost(protocol.parser)).values()
        if value is frame
    ]
    assert frames == [frame]


def _innermost(generator: Any) -> Any:
    """The innermost of the parser's generators that is still a ``parse``."""
    while True:
        inner = generator.gi_yieldfrom
        if not inspect.isgenerator(inner) or "parse" not in inner.gi_code.co_name:
            return generator
        generator = inner


def test_a_payload_put_in_the_reader_buffer_is_parsed_as_if_fed() -> None:
    # WireProtocol.receive_payload: the reader's buffer is replaced by a gathered
    # payload, and receive_data(b"") runs the parser on it.
    protocol = _open()
    data = _masked(0x2, b"y" * 50)
    protocol.receive_data(data[:6])  # the header and the mask
    assert len(protocol.reader.buffer) == 0
    assert not protocol.events_received()
    protocol.reader.buffer = bytearray(data[6:])
    protocol.receive_data(b"")
    (frame,) = protocol.events_received()
    assert isinstance(frame, Frame)
    assert frame.data == b"y" * 50
    assert len(protocol.reader.buffer) == 0


def test_recv_frame_is_the_per_frame_hook_and_appends_the_event_last() -> None:
    seen: list[Frame] = []

    class Hooked(ServerProtocol):
        def recv_frame(self, frame: Frame) -> None:
            super().recv_frame(frame)
            assert self.events[-1] is frame  # the frame's event is the last one
            seen.append(frame)

    protocol = Hooked(state=OPEN)
    protocol.receive_data(_masked(0x1, b"hi"))
    assert [bytes(f.data) for f in seen] == [b"hi"]
    assert list(inspect.signature(Protocol.recv_frame).parameters) == ["self", "frame"]


def test_a_ping_queues_its_pong_last_in_writes() -> None:
    protocol = _open()
    protocol.receive_data(_masked(0x9, b"p"))
    assert len(protocol.writes) == 1
    assert protocol.writes[-1] == Frame(Opcode.PONG, b"p").serialize(mask=False, extensions=[])


def test_fail_is_called_inside_the_parsers_except_block_with_the_cause() -> None:
    caught: list[BaseException | None] = []

    class Failing(ServerProtocol):
        def recv_frame(self, frame: Frame) -> None:
            raise ProtocolError("bad") from ValueError("cause")

        def fail(self, code: int, reason: str = "") -> None:
            caught.append(sys.exception())
            super().fail(code, reason)

    protocol = Failing(state=OPEN)
    protocol.receive_data(_masked(0x1, b"x"))
    (exc,) = caught
    assert isinstance(exc, ProtocolError)
    assert isinstance(exc.__cause__, ValueError)
    assert protocol.parser_exc is exc


def test_payload_too_big_carries_the_frame_size_and_the_running_size() -> None:
    caught: list[BaseException | None] = []
    running: list[int | None] = []

    class Sized(ServerProtocol):
        def fail(self, code: int, reason: str = "") -> None:
            caught.append(sys.exception())
            running.append(self.current_size)
            super().fail(code, reason)

    protocol = Sized(state=OPEN, max_size=10)
    protocol.receive_data(Frame(Opcode.BINARY, b"x" * 6, fin=False).serialize(mask=True))
    assert protocol.current_size == 6
    protocol.receive_data(Frame(Opcode.CONT, b"y" * 6).serialize(mask=True))
    (exc,) = caught
    assert isinstance(exc, PayloadTooBig)
    # The frame's size, the whole limit; the running size of the message still set.
    assert (exc.size, exc.max_size) == (6, 10)
    assert running == [6]


def test_the_c_masking_function_is_where_the_scanner_imports_it() -> None:
    assert wireprotocol.apply_mask(b"\x00\x00\x00\x00", b"\x01\x02\x03\x04") == b"\x01\x02\x03\x04"
