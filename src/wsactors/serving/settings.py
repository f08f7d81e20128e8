"""Server settings of ``wsactors run``, independent of the engine that serves them.

:class:`ServerSettings` holds what the user asked for in the engine's neutral terms
(``max_message_size``, ``ping_interval``, ...). An :class:`Engine` says what it
does with each setting: the option of its own that carries it, or why it cannot
honour it: :data:`HYPERCORN` (hypercorn's Trio worker) and :data:`NATIVE`
(wsactors' own server, docs/engines.md); ``wsactors run --engine`` picks one, with
no change to the settings.

A setting left at ``None`` keeps the engine's default. A setting the engine cannot
honour is refused (:class:`UnsupportedSettingError`) rather than ignored: a server
that silently runs without the protection you asked for is worse than one that
does not start.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ENGINES",
    "HYPERCORN",
    "LOG_FORMAT",
    "LOG_LEVELS",
    "NATIVE",
    "Engine",
    "ServerSettings",
    "UnsupportedSettingError",
    "logging_config",
]

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


class UnsupportedSettingError(ValueError):
    """A setting the engine cannot honour; the message says which and why."""

    def __init__(self, setting: str, reason: str) -> None:
        super().__init__(f"{setting}: {reason}")
        self.setting = setting
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """What ``wsactors run`` was asked for. ``None`` keeps the engine's default.

    Attributes:
        max_message_size: Largest incoming message in bytes, enforced by the
            server (close 1009) before the App sees it.
        ping_interval: Seconds between the server's pings.
        ping_timeout: Seconds to wait for the pong before dropping the client.
        graceful_timeout: Seconds the server gives open connections when it stops.
        read_timeout: Seconds without any data from a client before it is dropped.
        workers: Processes, each with its own event loop and its own copy of the App.
        certfile: TLS certificate chain (PEM); serve ``wss://``. Needs ``keyfile``.
        keyfile: The certificate's private key (PEM). Needs ``certfile``.
        log_level: Least severe level logged, one of :data:`LOG_LEVELS`.
        access_log: Log one line per request (the WebSocket handshakes).
        reload: Restart the server when a source file changes (development).
    """

    max_message_size: int | None = None
    ping_interval: float | None = None
    ping_timeout: float | None = None
    graceful_timeout: float | None = None
    read_timeout: float | None = None
    workers: int = 1
    certfile: str | None = None
    keyfile: str | None = None
    log_level: str = "info"
    access_log: bool = False
    reload: bool = False

    def __post_init__(self) -> None:
        if (self.certfile is None) != (self.keyfile is None):
            # hypercorn serves plain ws:// unless it has both; say so instead.
            raise ValueError("certfile and keyfile go together: give both or neither")
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, not {self.workers}")
        if self.log_level not in LOG_LEVELS:
            raise ValueError(f"log_level must be one of {', '.join(LOG_LEVELS)}")

    def chosen(self) -> dict[str, Any]:
        """The settings that differ from the defaults, by name."""
        return {
            field.name: getattr(self, field.name)
            for field in dataclasses.fields(self)
            if getattr(self, field.name) != field.default
        }


@dataclass(frozen=True, slots=True)
class Engine:
    """How one server engine carries the engine-neutral settings.

    Attributes:
        name: Shown in error messages.
        options: Setting name -> the engine's option name, for settings passed
            through as given. Settings the command line handles itself (workers,
            reload, logging) are not listed.
        unsupported: Setting name -> why this engine cannot honour it.
    """

    name: str
    options: Mapping[str, str]
    unsupported: Mapping[str, str]

    def engine_options(self, settings: ServerSettings) -> dict[str, Any]:
        """The engine's options for ``settings``: only those that were chosen.

        Raises:
            UnsupportedSettingError: a chosen setting this engine cannot honour.
        """
        options: dict[str, Any] = {}
        for name, value in settings.chosen().items():
            if name in self.unsupported:
                raise UnsupportedSettingError(name, self.unsupported[name])
            if name in self.options:
                options[self.options[name]] = value
        return options


#: hypercorn's Trio worker: the names are attributes of ``hypercorn.config.Config``.
HYPERCORN = Engine(
    name="hypercorn",
    options={
        "max_message_size": "websocket_max_message_size",
        "ping_interval": "websocket_ping_interval",
        "graceful_timeout": "graceful_timeout",
        "read_timeout": "read_timeout",
        "certfile": "certfile",
        "keyfile": "keyfile",
    },
    unsupported={
        "ping_timeout": (
            "hypercorn sends pings but never checks the pongs; to drop clients that"
            " stop answering, give --read-timeout a little longer than --ping-interval"
        ),
    },
)


#: wsactors' own server: the names are options of ``wsactors.server.options.NativeOptions``.
#: TLS (certfile, keyfile) becomes its ``ssl_context``; workers are its own.
NATIVE = Engine(
    name="native",
    options={
        "max_message_size": "default_max_message_size",
        "ping_interval": "ping_interval",
        "ping_timeout": "ping_timeout",
        "graceful_timeout": "graceful_timeout",
    },
    unsupported={
        "read_timeout": (
            "the native engine checks liveness with pongs: use --ping-interval and"
            " --ping-timeout (a silent client is closed 1011 'keepalive ping timeout')"
        ),
        "access_log": "the native engine logs each accepted connection at INFO instead",
        "reload": "the native engine has no reloader: use --engine hypercorn --reload",
    },
)

#: The engines by name, as ``--engine`` takes them.
ENGINES = {engine.name: engine for engine in (HYPERCORN, NATIVE)}


def logging_config(level: str, *, access_log: bool = False) -> dict[str, Any]:
    """A :func:`logging.config.dictConfig` schema: ``level`` and above to stderr.

    One format for wsactors', hypercorn's and the app's own loggers. hypercorn
    applies the same schema in each worker process (its ``logconfig_dict``), so
    ``--workers`` and ``--reload`` log alike.

    Args:
        level: One of :data:`LOG_LEVELS`.
        access_log: Let hypercorn's access lines (logged at INFO) through at any
            ``level``.

    Returns:
        The schema.
    """
    loggers: dict[str, Any] = {}
    if access_log:
        loggers["hypercorn.access"] = {"level": "INFO"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": LOG_FORMAT}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "plain",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        "loggers": loggers,
    }
