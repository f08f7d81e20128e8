"""``wsactors.serve()``: the blocking entry point, on the engine the caller names."""

from __future__ import annotations

from typing import Any

from ..types import ASGIApp
from .hypercorn import serve_hypercorn
from .signals import OnServing

__all__ = ["run_engine", "serve"]


def serve(
    app: ASGIApp,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    engine: str = "hypercorn",
    **hypercorn_options: Any,
) -> None:
    """Serve ``app`` on ``host:port`` until SIGINT or SIGTERM; blocks (like ``uvicorn.run``).

    Starts its own Trio run, so call it from synchronous code in the main thread.

    Args:
        app: The ASGI 3 application, e.g. a :class:`wsactors.App`.
        host: Interface to listen on.
        port: TCP port; 0 lets the OS pick one (the log line names it).
        engine: ``"hypercorn"`` (default: hypercorn's Trio worker) or ``"native"``
            (wsactors' own server, a :class:`wsactors.App` only; its options are
            :class:`wsactors.server.options.NativeOptions`, see docs/engines.md).
        **hypercorn_options: Settable :class:`hypercorn.config.Config` attributes,
            see :func:`~wsactors.serving.hypercorn.hypercorn_config` (with
            ``engine="native"``: the native engine's options).

    Raises:
        TypeError: unknown option.
        ValueError: unknown engine.
        OSError: the address could not be bound.
    """
    run_engine(app, host, port, engine=engine, options=hypercorn_options)


def run_engine(
    app: ASGIApp,
    host: str,
    port: int,
    *,
    engine: str,
    options: dict[str, Any],
    on_serving: OnServing | None = None,
) -> None:
    """:func:`serve` with its options as a dict, and ``on_serving``: called with the
    bound URLs once the server listens (``wsactors demo`` prints its address then).

    Raises:
        As :func:`serve`.
    """
    if engine == "native":
        # Imported here: an App served on hypercorn never loads the native engine.
        from .native import run_native

        run_native(app, host, port, on_serving=on_serving, **options)
        return
    if engine != "hypercorn":
        raise ValueError(f"engine must be 'hypercorn' or 'native', got {engine!r}")
    serve_hypercorn(app, host, port, on_serving=on_serving, **options)
