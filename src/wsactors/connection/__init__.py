"""The connection's protocol state, sans-I/O: the state machine (RFC 6455), the close
table and how an ending is answered, the typed events a transport exchanges with the
runtime, and the limit options.
"""
