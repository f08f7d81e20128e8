"""wsactors as most users write it (``@websocket_listener`` echo, ``@websocket_stream``
push) on the native engine: the same App as ``wsactors_listener``."""

from __future__ import annotations

import wsactors

from ._common import HOST, parse_port
from .wsactors_listener import app

if __name__ == "__main__":
    port = parse_port(__doc__ or "")
    wsactors.serve(app, HOST, port, engine="native")
