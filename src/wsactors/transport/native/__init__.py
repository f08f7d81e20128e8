"""The native transport: websockets' sans-I/O protocol over a Trio stream.

:class:`~wsactors.transport.native.transport.NativeTransport` (``transport``) is the
runtime's :class:`~wsactors.transport.base.Transport`; it is glue between two parts
it owns:

- ``core``: :class:`~wsactors.transport.native.core.ConnectionCore`, sans-I/O:
  bytes and time in, the runtime's events and the bytes to write out; websockets'
  protocol, messages and their UTF-8, the held failure, keepalive
  (``keepalive``), close codes;
- ``wire``: :class:`~wsactors.transport.native.wire.Wire`, the stream: reads,
  writes (by the sender actor only), the write timeout's bookkeeping, the abort
  (through ``sockio``: plain TCP read and written through its file descriptor).

Below the core, sans-I/O: ``wireprotocol`` (websockets' server protocol as the
runtime needs it), ``assembler`` (messages and their UTF-8), ``framescan`` (UTF-8
of a text frame still arriving), ``rfc6455`` (opcodes and connection states).
Beside them: ``handshake`` (the 101 and HTTP denials) and ``timers`` (the server's
one timer task, :class:`~wsactors.transport.native.timers.Deadlines`, which calls
``NativeTransport.on_deadline``).
"""
