"""The soak test's server app, run alone: ``python -m wsactors run soak_app:app``.

Run from this directory. Per-connection log lines are turned off, so holding
thousands of connections logs nothing but the startup and shutdown.
"""

from __future__ import annotations

import logging

from wsactors import App, websocket_listener

logging.getLogger("wsactors.connection").setLevel(logging.WARNING)


@websocket_listener("/soak")
async def soak_echo(data: str) -> str:
    return data


app = App([soak_echo])
