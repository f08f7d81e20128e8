"""The native engine: TCP/TLS server, handshake, plain HTTP answers, workers, options."""
