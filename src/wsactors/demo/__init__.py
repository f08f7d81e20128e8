"""The bundled demo: a browser page with chat rooms, a live clock, a typed JSON box and
connection statistics, all over WebSockets, and an echo handler that no panel uses.

Run it with ``wsactors demo`` or ``python -m wsactors.demo`` and open the printed
URL. The App is ``wsactors.demo.app:app``, an ordinary :class:`wsactors.App`, so
``wsactors run wsactors.demo.app:app`` serves it too. (It is deliberately not
re-exported here: a package attribute ``app`` would hide the ``app`` submodule.)
"""

from .app import StaticFiles, create_app, echo
from .chat import ChatIn, ChatListener, StatsRequest
from .clock import Tick, live_clock
from .points import Point, PointResult, json_box

__all__ = [
    "ChatIn",
    "ChatListener",
    "Point",
    "PointResult",
    "StaticFiles",
    "StatsRequest",
    "Tick",
    "create_app",
    "echo",
    "json_box",
    "live_clock",
]
