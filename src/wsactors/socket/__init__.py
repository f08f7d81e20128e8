"""The ``WebSocket`` handle handlers talk to, and its read-only views of the handshake."""
