"""Fan-out: wsactors Channels on the native engine, the same App as ``fanout_wsactors``
(default options: keepalive on, as uvicorn and websockets have it)."""

from __future__ import annotations

import wsactors

from ._common import HOST, parse_port
from .fanout_wsactors import SUBSCRIPTION, app

if __name__ == "__main__":
    port = parse_port(__doc__ or "")
    print(f"wsactors fan-out on the native engine, subscribers via {SUBSCRIPTION}", flush=True)
    wsactors.serve(app, HOST, port, engine="native")
