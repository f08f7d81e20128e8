"""Serve an app: ``python serving.py``, or ``wsactors run serving:app``.

Set ``CERTFILE`` and ``KEYFILE`` to serve ``wss://`` (hypercorn's TLS options).
"""

import os

from wsactors import App, serve, websocket_listener


@websocket_listener("/echo")
async def echo(data: str) -> str:
    return data


app = App([echo])

if __name__ == "__main__":
    tls = {}
    if "CERTFILE" in os.environ:
        tls = {"certfile": os.environ["CERTFILE"], "keyfile": os.environ["KEYFILE"]}
    # Blocks until Ctrl+C or SIGTERM; any other hypercorn Config option may be given.
    serve(app, host="127.0.0.1", port=8000, **tls)
