"""wsactors' low-level ``@websocket`` handlers on the native engine (wsactors' own
Trio server over the ``websockets`` sans-I/O protocol): the same App as
``wsactors_raw``, so the distance between the two is the engine's."""

from __future__ import annotations

import wsactors

from ._common import HOST, parse_port
from .wsactors_raw import app

if __name__ == "__main__":
    port = parse_port(__doc__ or "")
    # Default options: keepalive on (its timer costs nothing per message).
    wsactors.serve(app, HOST, port, engine="native")
