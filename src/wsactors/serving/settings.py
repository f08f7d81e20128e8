"""Server settings of ``wsactors run``, independent of the engine that serves them.

:class:`ServerSettings` holds what the user asked for in the engine's neutral terms
(``max_message_size``, ``ping_interval``, ...). An :class:`Engine` says what it
does with each setting: the option of its own that carries it, or why it cannot
honour it: :data:`HYPERCORN` (hypercorn's Trio worker) and :data:`NATIVE`
(wsactors' own server, docs/engines.md); ``wsactors run --engine`` picks one, with
no change to the settings.

A setting left at ``None`` keeps the engine's default. A setting the engine cannot
honour is refused (:class:`UnsupportedSettingError`, whose reason names the other
engine) rather than ignored: a server that silently runs without the protection you
asked for is worse than one that does not start. Each engine's table also holds its
defaults, which ``wsactors run --help`` shows (:func:`default_help`); the tests
check them against hypercorn's ``Config`` and ``NativeOptions``.
"""

from __future__ import annotations

import dataclasses
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "ENGINES",
    "HYPERCORN",
    "LOG_FORMAT",
    "LOG_LEVELS",
    "NATIVE",
    "Engine",
    "ServerSettings",
    "SettingError",
    "UnsupportedSettingError",
    "default_help",
    "logging_config",
    "tls_context",
]

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


class SettingError(ValueError):
    """A setting that cannot be served as given; the message says which and why.

    Attributes:
        setting: The setting's name in :class:`ServerSettings` (``certfile``).
        reason: Why, in one line.
    """

    def __init__(self, setting: str, reason: str) -> None:
        super().__init__(f"{setting}: {reason}")
        self.setting = setting
        self.reason = reason


class UnsupportedSettingError(SettingError):
    """A setting the engine cannot honour; the reason names the engine that can."""


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
        compression: ``"deflate"`` (permessage-deflate when the client offers it)
            or ``"none"``.
        max_connections: WebSocket connections served at once; handshakes beyond
            are refused with 503.
        open_timeout: Seconds for the TLS handshake and the HTTP request to arrive.
        close_timeout: Seconds the closing handshake may take before the TCP
            connection is aborted.
        max_request_size: Bytes the HTTP request line and headers may take (431
            beyond, 414 when the request line alone is over it).
        max_buffered_bytes: Bytes all connections may hold in unfinished incoming
            messages; past it those connections are not read (native engine).
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
    compression: Literal["deflate", "none"] | None = None
    max_connections: int | None = None
    open_timeout: float | None = None
    close_timeout: float | None = None
    max_request_size: int | None = None
    max_buffered_bytes: int | None = None
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
        if self.compression not in (None, "deflate", "none"):
            raise ValueError(f"compression must be 'deflate' or 'none', not {self.compression!r}")

    def chosen(self) -> dict[str, Any]:
        """The settings that differ from the defaults, by name."""
        return {
            item.name: getattr(self, item.name)
            for item in dataclasses.fields(self)
            if getattr(self, item.name) != item.default
        }


@dataclass(frozen=True, slots=True)
class Engine:
    """How one server engine carries the engine-neutral settings.

    Attributes:
        name: Shown in error messages.
        options: Setting name -> the engine's option name, for settings passed
            through as given. Settings the command line handles itself (workers,
            reload, logging) are not listed.
        unsupported: Setting name -> why this engine cannot honour it (naming the
            engine that can).
        fixed: Setting name -> (the one value this engine has, why it has no
            other): the value itself is accepted and changes nothing.
        defaults: Setting name -> the engine's default, for every setting it
            carries (shown by ``--help``, see :func:`default_help`).
    """

    name: str
    options: Mapping[str, str]
    unsupported: Mapping[str, str]
    fixed: Mapping[str, tuple[Any, str]] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)

    def engine_options(self, settings: ServerSettings) -> dict[str, Any]:
        """The engine's options for ``settings``: only those that were chosen.

        Raises:
            UnsupportedSettingError: a chosen setting this engine cannot honour.
        """
        options: dict[str, Any] = {}
        for name, value in settings.chosen().items():
            if name in self.unsupported:
                raise UnsupportedSettingError(name, self.unsupported[name])
            if name in self.fixed:
                only, reason = self.fixed[name]
                if value != only:
                    raise UnsupportedSettingError(name, reason)
            elif name in self.options:
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
            "hypercorn sends pings but never checks the pongs; use --engine native, which"
            " closes 1011 a client whose pong is late, or give --read-timeout a little"
            " longer than --ping-interval"
        ),
        "max_connections": (
            "hypercorn has no connection limit; use --engine native, which answers"
            " handshakes beyond it with 503"
        ),
        "open_timeout": (
            "hypercorn times the TLS handshake (60 s) and the wait for the request (5 s)"
            " apart, with no setting for the two; use --engine native, which bounds both"
            " with this one"
        ),
        "close_timeout": (
            "hypercorn waits for the client's close frame without a limit (only"
            " --read-timeout ends the wait); use --engine native, which aborts after it"
        ),
        "max_buffered_bytes": (
            "hypercorn has no server-wide budget for incoming messages (each connection"
            " may buffer its websocket_max_message_size); use --engine native"
        ),
        "max_request_size": (
            "hypercorn's HTTP/1.1 parser limits only a request still incomplete (16 KiB),"
            " not the request; use --engine native, which answers 431 beyond it"
        ),
    },
    fixed={
        "compression": (
            "deflate",
            "hypercorn always accepts permessage-deflate when the client offers it; use"
            " --engine native, where compression is off unless --compression deflate",
        ),
    },
    defaults={
        "max_message_size": 16 * 2**20,
        "ping_interval": None,
        "graceful_timeout": 3.0,
        "read_timeout": None,
        "compression": "deflate",
        "access_log": False,
        "reload": False,
    },
)


#: wsactors' own server: the names are options of ``wsactors.server.options.NativeOptions``.
#: TLS (certfile, keyfile) becomes its ``ssl_context``; workers are its own;
#: ``compression="none"`` is its ``compression=None``.
NATIVE = Engine(
    name="native",
    options={
        "max_message_size": "default_max_message_size",
        "ping_interval": "ping_interval",
        "ping_timeout": "ping_timeout",
        "graceful_timeout": "graceful_timeout",
        "compression": "compression",
        "max_connections": "max_connections",
        "open_timeout": "open_timeout",
        "close_timeout": "close_timeout",
        "max_request_size": "max_request_size",
        "max_buffered_bytes": "max_buffered_bytes",
    },
    unsupported={
        "read_timeout": (
            "the native engine checks liveness with pongs: use --ping-interval and"
            " --ping-timeout (a silent client is closed 1011 'keepalive ping timeout'),"
            " or --engine hypercorn for a read timeout"
        ),
        "access_log": (
            "the native engine logs each accepted connection at INFO instead; use"
            " --engine hypercorn for an access log"
        ),
        "reload": "the native engine has no reloader: use --engine hypercorn --reload",
    },
    defaults={
        "max_message_size": 2**20,
        "ping_interval": 20.0,
        "ping_timeout": 20.0,
        "graceful_timeout": 5.0,
        "compression": "none",
        "max_connections": None,
        "open_timeout": 10.0,
        "close_timeout": 5.0,
        "max_request_size": 65536,
        "max_buffered_bytes": 64 * 2**20,
    },
)

#: The engines by name, as ``--engine`` takes them.
ENGINES = {engine.name: engine for engine in (HYPERCORN, NATIVE)}

#: How ``--help`` shows a value: its unit, and what ``None`` means.
_BYTES = frozenset({"max_message_size", "max_request_size", "max_buffered_bytes"})
_NONE = {
    "ping_interval": "no pings",
    "read_timeout": "never",
    "max_connections": "no limit",
}


def _shown(setting: str, value: Any) -> str:
    if value is None:
        return _NONE.get(setting, "none")
    if isinstance(value, bool):
        return "on" if value else "off"
    if setting in _BYTES:
        for unit, size in (("MiB", 2**20), ("KiB", 2**10)):
            if value % size == 0:
                return f"{value // size}{unit}"
        return f"{value} bytes"
    if isinstance(value, float):
        return f"{value:g}s"
    return str(value)


def default_help(setting: str) -> str:
    """Each engine's default for ``setting``, as ``wsactors run --help`` shows it.

    ``"default: hypercorn 3s, native 5s"``, ``"default: 1MiB"`` when both agree,
    ``"native only, default 10s"`` when one engine refuses the setting.
    """
    carried = [engine for engine in ENGINES.values() if setting not in engine.unsupported]
    shown = {engine.name: _shown(setting, engine.defaults[setting]) for engine in carried}
    if len(carried) == 1:
        [(name, value)] = shown.items()
        return f"{name} only, default {value}"
    if len(set(shown.values())) == 1:
        return f"default: {next(iter(shown.values()))}"
    return "default: " + ", ".join(f"{name} {value}" for name, value in shown.items())


def tls_context(certfile: str, keyfile: str) -> ssl.SSLContext:
    """A server TLS context with ``certfile`` and ``keyfile`` loaded.

    Both engines' settings go through it, so a file that is missing or unusable is
    reported the same way, by name, before anything is served.

    Raises:
        SettingError: a file does not exist, or the pair cannot be loaded.
    """
    for setting, path in (("certfile", certfile), ("keyfile", keyfile)):
        if not os.path.isfile(path):
            raise SettingError(setting, f"no such file: {path}")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(certfile, keyfile)
    except (OSError, ssl.SSLError) as exc:
        raise SettingError(
            "certfile", f"cannot load the certificate {certfile} with the key {keyfile}: {exc}"
        ) from None
    return context


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
