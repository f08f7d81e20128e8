"""The app Autobahn|Testsuite's fuzzing client tests: an echo at ``/`` that keeps frame types.

``python conformance/echo_app.py --port 9001 [--engine native] [--compression deflate]``
serves it with :func:`wsactors.serve` (hypercorn's Trio worker by default, or the native
engine) on 127.0.0.1 until SIGINT or SIGTERM. ``run.py`` starts it.
"""

from __future__ import annotations

import argparse
import logging

from wsactors import App, WebSocket, serve, websocket

# Cases 9.1.6 and 9.2.6 send one 16 MiB message; hypercorn refuses a message only when
# it is longer than this limit (its default is the same 16 MiB), so they fit exactly.
MAX_MESSAGE_SIZE = 16 * 1024 * 1024
# Cases 9.3.1 and 9.4.1 send a 4 MiB message in 64-byte fragments: over 65536 frames.
MAX_FRAGMENTS = 2**17


@websocket("/")
async def echo(socket: WebSocket) -> None:
    """Send every message back as it came: text frames as text, binary frames as binary."""
    await socket.accept()
    async for message in socket.iter_messages():
        await socket.send_message(message)


app = App([echo])
# The native engine enforces the route's max_message_size on frames (its default is
# 1 MiB); hypercorn has its own option for the same limit, below.
native_app = App([echo], max_message_size=MAX_MESSAGE_SIZE)


def main() -> None:
    """Serve :data:`app` on 127.0.0.1 until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=9001, help="TCP port (default: %(default)s)")
    parser.add_argument("--engine", choices=["hypercorn", "native"], default="hypercorn")
    parser.add_argument("--compression", choices=["deflate"], default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.engine == "native":
        serve(
            native_app,
            "127.0.0.1",
            args.port,
            engine="native",
            compression=args.compression,
            max_fragments=MAX_FRAGMENTS,
        )
        return
    # Given a logger, hypercorn logs through it instead of adding a stderr handler of its own.
    serve(
        app,
        "127.0.0.1",
        args.port,
        websocket_max_message_size=MAX_MESSAGE_SIZE,
        errorlog=logging.getLogger("hypercorn.error"),
    )


if __name__ == "__main__":
    main()
