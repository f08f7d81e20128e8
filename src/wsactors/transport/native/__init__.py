"""The native transport: websockets' sans-I/O protocol over a Trio stream."""
