"""Running an App until a signal: on hypercorn's Trio worker (:mod:`.hypercorn`) or on
the native engine (:mod:`.native`), with ``wsactors run``'s settings (:mod:`.settings`)
and one signal helper (:mod:`.signals`). :func:`wsactors.serve` is :mod:`.serve`.

The lower-level functions below serve an app from inside a Trio program.
"""

from .hypercorn import hypercorn_config, serve_async
from .native import run_native, serve_native_async
from .serve import serve

__all__ = ["hypercorn_config", "run_native", "serve", "serve_async", "serve_native_async"]
