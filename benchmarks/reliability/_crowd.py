"""The crowd of the fairness probe: many idle WebSocket connections, closed at once.

``python -m benchmarks.reliability._crowd --port P --count N [--how frame|fin]``
opens ``N`` connections to ``/hold`` (blocking sockets, no client library, so the
crowd costs its own process only the sockets), prints ``open N``, then waits for a
line on stdin; at it, closes them all as fast as it can (``frame``: a close frame
1000 on each, then the sockets; ``fin``: only the sockets), prints
``closed SECONDS`` and waits for stdin to end. A separate process, so that the
probe's control clients measure the server, not the crowd's work.
"""

from __future__ import annotations

import argparse
import sys
import time

from ..procstat import raise_nofile_limit
from ..rawclient import CLOSE, frame, open_idle, upgrade_request

__all__ = ["main"]

#: Handshakes in flight at a time: thousands of connections open in seconds.
_BATCH = 200


def main() -> None:
    """Open, wait, close, report (see the module's docstring)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--how", choices=("frame", "fin"), default="frame")
    args = parser.parse_args()
    raise_nofile_limit()
    held = open_idle(args.port, upgrade_request("/hold"), args.count, batch=_BATCH)
    print(f"open {len(held)}", flush=True)
    sys.stdin.readline()
    started = time.monotonic()
    if args.how == "frame":
        goodbye = frame(CLOSE, (1000).to_bytes(2, "big"))
        for sock in held:
            sock.sendall(goodbye)
    for sock in held:
        sock.close()
    print(f"closed {time.monotonic() - started:.3f}", flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
