"""One server per benchmark configuration, each run as ``python -m benchmarks.servers.NAME
--port PORT`` and each serving the same two WebSocket routes on 127.0.0.1:

- ``/echo``: every message is sent back (text stays text, binary stays binary).
- ``/push?n=N&size=S``: once accepted, the server sends ``N`` text messages of ``S``
  bytes, then closes with 1000.

A server runs until it is terminated (SIGTERM; the harness kills it if it lingers).
"""
