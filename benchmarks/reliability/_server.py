"""The server every reliability probe measures: a wsactors App on the native engine.

``python -m benchmarks.reliability._server --options '{"ping_interval": 1}'`` serves
on 127.0.0.1 and a port the OS picks, prints ``listening <port>`` once it listens,
and stops on SIGTERM or SIGINT. Routes:

- ``/echo``: sends every message back (``benchmarks.servers.wsactors_raw``'s);
- ``/push?size=N``: sends messages of ``N`` bytes until the connection ends;
- ``/hold``: accepts and waits for one message (the probes never send it).
"""

from __future__ import annotations

import argparse
import json
import sys
from urllib.parse import parse_qs, urlsplit

from wsactors import App, WebSocket, WebSocketDisconnect, websocket
from wsactors.serving.serve import run_engine

from ..procstat import raise_nofile_limit
from ..servers.wsactors_raw import echo

__all__ = ["app"]


@websocket("/push")
async def push(socket: WebSocket) -> None:
    """Send messages of ``size`` bytes (query parameter) until the client leaves."""
    values = parse_qs(socket.scope.get("query_string", b"").decode("ascii"))
    payload = "x" * int(values.get("size", ["1024"])[0])
    await socket.accept()
    try:
        while True:
            await socket.send_message(payload)
    except WebSocketDisconnect:
        return


@websocket("/hold")
async def hold(socket: WebSocket) -> None:
    """Accept, then wait for a message that never comes."""
    await socket.accept()
    try:
        await socket.receive_message()
    except WebSocketDisconnect:
        return


app = App([echo, push, hold])


def _print_port(urls: list[str]) -> None:
    port = urlsplit(urls[0]).port
    print(f"listening {port}", flush=True)


def main() -> None:
    """Serve :data:`app` with the options given as JSON on the command line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--options", default="{}", help="native engine options, as JSON")
    options = json.loads(parser.parse_args().options)
    raise_nofile_limit()
    run_engine(app, "127.0.0.1", 0, engine="native", options=options, on_serving=_print_port)


if __name__ == "__main__":
    main()
    sys.exit(0)
