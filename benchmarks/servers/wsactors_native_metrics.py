"""wsactors' low-level ``@websocket`` handlers with ``App(metrics=True)`` on the
native engine: the same App as ``wsactors_metrics``, compared with
``wsactors_native`` (the same handlers without metrics)."""

from __future__ import annotations

import wsactors

from ._common import HOST, parse_port
from .wsactors_metrics import app

if __name__ == "__main__":
    port = parse_port(__doc__ or "")
    # Default options, as wsactors_native: keepalive on.
    wsactors.serve(app, HOST, port, engine="native")
