"""``wsactors run``'s server settings: from the command line to hypercorn's Config.

In-process and sans-I/O: each option is parsed, turned into ServerSettings and
mapped onto the Config that serve() would be given. test_cli_serving.py checks in
a real server process that the settings take effect.
"""

from __future__ import annotations

import logging
import logging.config
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypercorn.config import Config

from cli_helpers import assert_one_line_usage_error
from wsactors import serve
from wsactors.cli import main as cli
from wsactors.cli.parser import build_parser
from wsactors.serving.hypercorn import hypercorn_config, hypercorn_options, serve_processes
from wsactors.serving.settings import (
    HYPERCORN,
    Engine,
    ServerSettings,
    UnsupportedSettingError,
    logging_config,
)


def _unused(args: Any) -> int:
    raise AssertionError("not run in these tests")


def settings_of(*argv: str) -> ServerSettings:
    """The ServerSettings ``wsactors run app:app ARGV...`` serves with."""
    args = build_parser(run=_unused, demo=_unused).parse_args(["run", "app:app", *argv])
    return cli._settings(args)


def config_of(*argv: str) -> Config:
    """The hypercorn Config ``wsactors run app:app ARGV...`` serves with (one process)."""
    return hypercorn_config("127.0.0.1", 0, **hypercorn_options(settings_of(*argv)))


@pytest.mark.parametrize(
    ("argv", "attribute", "value"),
    [
        (["--max-message-size", "1024"], "websocket_max_message_size", 1024),
        (["--ping-interval", "20"], "websocket_ping_interval", 20.0),
        (["--ping-interval", "0.5"], "websocket_ping_interval", 0.5),
        (["--graceful-timeout", "0"], "graceful_timeout", 0.0),
        (["--graceful-timeout", "7.5"], "graceful_timeout", 7.5),
        (["--read-timeout", "30"], "read_timeout", 30.0),
        (["--certfile", "c.pem", "--keyfile", "k.pem"], "certfile", "c.pem"),
        (["--certfile", "c.pem", "--keyfile", "k.pem"], "keyfile", "k.pem"),
        (["--certfile", "c.pem", "--keyfile", "k.pem"], "ssl_enabled", True),
        (["--log-level", "DEBUG"], "loglevel", "DEBUG"),
    ],
)
def test_each_option_reaches_the_config(argv: list[str], attribute: str, value: Any) -> None:
    assert getattr(config_of(*argv), attribute) == value


def test_without_options_hypercorns_defaults_stay() -> None:
    config, default = config_of(), Config()
    for attribute in (
        "websocket_max_message_size",
        "websocket_ping_interval",
        "graceful_timeout",
        "read_timeout",
        "certfile",
        "keyfile",
        "workers",
        "use_reloader",
    ):
        assert getattr(config, attribute) == getattr(default, attribute), attribute
    assert config.accesslog is None


def test_logging_goes_through_named_loggers_at_the_chosen_level() -> None:
    config = config_of("--log-level", "warning")
    assert config.errorlog is logging.getLogger("hypercorn.error")
    assert config.accesslog is None
    schema = config.logconfig_dict
    assert schema is not None
    assert schema["root"]["level"] == "WARNING"
    assert "hypercorn.access" not in schema["loggers"]


def test_access_log_is_logged_at_info_whatever_the_level() -> None:
    config = config_of("--access-log", "--log-level", "error")
    assert config.accesslog is logging.getLogger("hypercorn.access")
    assert config.logconfig_dict is not None
    assert config.logconfig_dict["loggers"]["hypercorn.access"] == {"level": "INFO"}


def test_logging_schema_is_accepted_by_dictconfig() -> None:
    # Validated without touching this process's logging: the configurator checks
    # the schema as it builds the objects, and only configure() would install them.
    schema = logging_config("debug", access_log=True)
    configurator = logging.config.DictConfigurator(schema)
    formatter = configurator.configure_formatter(schema["formatters"]["plain"])
    assert formatter.format(logging.makeLogRecord({"name": "x", "msg": "m"})).endswith("x: m")
    assert schema["handlers"]["stderr"]["formatter"] == "plain"


@pytest.mark.parametrize(
    ("argv", "workers", "reload"),
    [([], 1, False), (["--workers", "3"], 3, False), (["--reload"], 1, True)],
)
def test_workers_and_reload_go_to_hypercorns_supervisor(
    argv: list[str], workers: int, reload: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_of(*argv)
    assert (settings.workers, settings.reload) == (workers, reload)
    # The one-process Config never carries them: serve() refuses both.
    assert "workers" not in hypercorn_options(settings)
    assert "use_reloader" not in hypercorn_options(settings)

    ran: list[Config] = []

    def run(config: Config) -> int:
        ran.append(config)
        return 0

    monkeypatch.setattr("hypercorn.run.run", run)
    config = hypercorn_config("127.0.0.1", 0, **hypercorn_options(settings))
    assert serve_processes("echoapp:app", config, workers=workers, reload=reload) == 0
    [given] = ran
    assert given.worker_class == "trio"
    assert given.application_path == "echoapp:app"
    assert (given.workers, given.use_reloader) == (workers, reload)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"workers": 2}, "wsactors run --workers N"),
        ({"use_reloader": True}, "wsactors run --reload"),
    ],
)
def test_serve_refuses_what_needs_the_process_supervisor(
    options: dict[str, Any], message: str
) -> None:
    app: Any = None  # never reached: the options are checked first
    with pytest.raises(TypeError, match=message):
        serve(app, "127.0.0.1", 0, **options)


def test_ping_timeout_is_refused_on_hypercorn() -> None:
    with pytest.raises(UnsupportedSettingError, match="never checks the pongs") as refused:
        hypercorn_options(settings_of("--ping-interval", "10", "--ping-timeout", "5"))
    assert refused.value.setting == "ping_timeout"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--ping-timeout", "5"], "--ping-timeout: hypercorn sends pings but never checks"),
        (["--certfile", "c.pem"], "--certfile and --keyfile go together"),
        (["--keyfile", "k.pem"], "--certfile and --keyfile go together"),
    ],
)
def test_run_refuses_settings_with_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["run", "wsactors.demo.app:app", *argv]) == 2
    assert_one_line_usage_error(capsys.readouterr().err, message)


@pytest.mark.parametrize(
    "argv",
    [
        ["--max-message-size", "0"],
        ["--max-message-size", "1.5"],
        ["--ping-interval", "0"],
        ["--ping-interval", "soon"],
        ["--graceful-timeout", "-1"],
        ["--read-timeout", "0"],
        ["--workers", "0"],
    ],
)
def test_bad_values_are_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", "wsactors.demo.app:app", *argv]) == 2
    assert argv[0] in capsys.readouterr().err


#: Every option of ``wsactors run``.
RUN_OPTIONS = (
    "--host",
    "--port",
    "--log-level",
    "--engine",
    "--max-message-size",
    "--ping-interval",
    "--ping-timeout",
    "--graceful-timeout",
    "--read-timeout",
    "--workers",
    "--certfile",
    "--keyfile",
    "--access-log",
    "--reload",
    "--factory",
    "--compression",
    "--max-connections",
    "--open-timeout",
    "--close-timeout",
    "--max-request-size",
    "--max-buffered-bytes",
    "--metrics-port",
)


def test_help_documents_every_setting(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for option in RUN_OPTIONS:
        assert f"{option} " in text, option
    # Each engine's own default, or which engine alone takes the setting.
    assert "(default: hypercorn 3s, native 5s)" in text
    assert "(native only, default 20s)" in text


def test_the_docs_list_every_setting(capsys: pytest.CaptureFixture[str]) -> None:
    # The option list above is the parser's: a new option fails here until listed.
    assert cli.main(["run", "--help"]) == 0
    usage = capsys.readouterr().out.split("positional arguments")[0]
    assert set(re.findall(r"\[(--[a-z-]+)", usage)) == set(RUN_OPTIONS)
    page = (Path(__file__).parents[2] / "docs" / "serving.md").read_text()
    for option in RUN_OPTIONS:
        assert f"`{option}" in page, option


def test_an_engine_maps_and_refuses_by_its_own_table() -> None:
    # How a second engine plugs in: its own names, its own refusals.
    native = Engine(
        name="native",
        options={"ping_interval": "ping_every", "ping_timeout": "pong_deadline"},
        unsupported={"max_message_size": "not yet"},
    )
    settings = ServerSettings(ping_interval=10, ping_timeout=5, graceful_timeout=1)
    assert native.engine_options(settings) == {"ping_every": 10, "pong_deadline": 5}
    with pytest.raises(UnsupportedSettingError, match="max_message_size: not yet"):
        native.engine_options(ServerSettings(max_message_size=1))
    assert HYPERCORN.engine_options(ServerSettings(graceful_timeout=1)) == {"graceful_timeout": 1}


def test_the_docs_hypercorn_log_config_parses() -> None:
    # test_cli_serving.py runs hypercorn with it; this checks the file itself.
    path = Path(__file__).parents[2] / "docs" / "examples" / "logging.toml"
    schema = tomllib.loads(path.read_text())
    assert schema["version"] == 1
    assert schema["loggers"]["wsactors"]["level"] == "INFO"
    assert schema["loggers"]["hypercorn.error"]["handlers"] == []
    configurator = logging.config.DictConfigurator(schema)
    formatter = configurator.configure_formatter(schema["formatters"]["plain"])
    record = logging.makeLogRecord({"name": "wsactors.connection", "msg": "accepted"})
    assert formatter.format(record).endswith("wsactors.connection: accepted")
