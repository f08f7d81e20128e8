"""The app Autobahn|Testsuite's fuzzing client tests: an echo at ``/`` that keeps frame types.

``python conformance/echo_app.py --port 9001`` serves it with :func:`wsactors.serve`, that
is hypercorn's Trio worker, on 127.0.0.1 until SIGINT or SIGTERM. ``run.py`` starts it.
"""

from __future__ import annotations

import argparse
import logging

from wsactors import App, WebSocket, serve, websocket

# Cases 9.1.6 and 9.2.6 send one 16 MiB message; hypercorn refuses a message only when
# it is longer than this limit (its default is the same 16 MiB), so they fit exactly.
MAX_MESSAGE_SIZE = 16 * 1024 * 1024


@websocket("/")
async def echo(socket: WebSocket) -> None:
    """Send every message back as it came: text frames as text, binary frames as binary."""
    await socket.accept()
    async for message in socket.iter_messages():
        await socket.send_message(message)


app = App([echo])


def main() -> None:
    """Serve :data:`app` on 127.0.0.1 until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=9001, help="TCP port (default: %(default)s)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
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
