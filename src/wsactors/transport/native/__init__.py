"""The native transport: websockets' sans-I/O protocol over a Trio stream.

:class:`~wsactors.transport.native.transport.NativeTransport` (``transport``) is the
runtime's :class:`~wsactors.transport.base.Transport`; it owns its parts as
attributes and composes them:

- ``wire``: :class:`~wsactors.transport.native.wire.Wire`, the stream: reads, the
  one writer, the write timeout's bookkeeping, the abort, the closing handshake
  (through ``sockio``: plain TCP read and written through its file descriptor);
- ``keepalive``: :class:`~wsactors.transport.native.keepalive.Keepalive`, the ping
  schedule, the pong deadline, the latency (sans-I/O);
- ``intake``: :class:`~wsactors.transport.native.intake.FrameIntake`, reads turned
  into the queue of events for the runtime, failures held or immediate (sans-I/O).

Below them, sans-I/O: ``wireprotocol`` (websockets' server protocol as the runtime
needs it), ``assembler`` (messages and their UTF-8), ``framescan`` (UTF-8 of a text
frame still arriving), ``rfc6455`` (opcodes and connection states). Beside them:
``handshake`` (the 101 and HTTP denials) and ``timers`` (the server's one timer
task, :class:`~wsactors.transport.native.timers.Deadlines`, which calls
``NativeTransport.on_deadline``).
"""
