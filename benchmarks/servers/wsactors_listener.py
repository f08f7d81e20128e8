"""wsactors as most users write it: ``@websocket_listener`` echo, ``@websocket_stream`` push.

On hypercorn's Trio worker with the same settings as the raw ASGI floor.
"""

from __future__ import annotations

from wsactors import App, websocket_listener, websocket_stream

from . import _common

# The handler functions are _common's, shared with litestar_uvicorn.
echo = websocket_listener("/echo")(_common.echo)
push = websocket_stream("/push")(_common.push)

app = App([echo, push])

if __name__ == "__main__":
    _common.serve_hypercorn_trio(app, _common.parse_port(__doc__ or ""))
