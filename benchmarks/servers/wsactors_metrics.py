"""wsactors' low-level ``@websocket`` handlers with ``App(metrics=True)``, on
hypercorn's Trio worker: ``wsactors_raw``'s handlers, so the distance between the
two is what the metrics cost per message (they read the connections' own counters
at scrape time: nothing should show)."""

from __future__ import annotations

from wsactors import App

from ._common import parse_port, serve_hypercorn_trio
from .wsactors_raw import echo, push

app = App([echo, push], metrics=True)

if __name__ == "__main__":
    serve_hypercorn_trio(app, parse_port(__doc__ or ""))
