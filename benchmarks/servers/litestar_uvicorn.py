"""Reference: Litestar's ``websocket_listener`` echo and ``websocket_stream`` push on
uvicorn with uvloop and httptools (``uvicorn[standard]``, what Litestar users deploy;
named, so a missing one fails the start) and uvicorn's default WebSocket protocol."""

from __future__ import annotations

import uvicorn
from litestar import Litestar
from litestar.handlers import websocket_listener, websocket_stream

from . import _common

# The handler functions are _common's, shared with wsactors_listener.
echo = websocket_listener("/echo")(_common.echo)
push = websocket_stream("/push")(_common.push)

app = Litestar([echo, push])

if __name__ == "__main__":
    port = _common.parse_port(__doc__ or "")
    uvicorn.run(
        app,
        host=_common.HOST,
        port=port,
        log_level="warning",
        access_log=False,
        **_common.uvicorn_standard(),
    )
