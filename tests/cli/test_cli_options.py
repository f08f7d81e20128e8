"""``wsactors run``'s engine options, --factory, --help and usage errors, in-process.

Sans-I/O: each command line is parsed and mapped onto the options each engine would
be given, or refused before anything is served. test_cli_engines.py serves them in
real processes on both engines.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import trustme
from hypercorn.config import Config

from wsactors import App
from wsactors.cli import main as cli
from wsactors.cli.apps import AppImportError, import_app
from wsactors.cli.parser import build_parser
from wsactors.server.options import NativeOptions
from wsactors.serving.hypercorn import hypercorn_options
from wsactors.serving.native import native_options
from wsactors.serving.settings import (
    HYPERCORN,
    NATIVE,
    ServerSettings,
    default_help,
)

ENGINES = ("hypercorn", "native")

#: The settings each engine may lack, with what the other engine's refusal names.
NATIVE_ONLY = {
    "--max-connections": "2",
    "--open-timeout": "1",
    "--close-timeout": "1",
    "--max-request-size": "4096",
    "--max-buffered-bytes": "1048576",
    "--ping-timeout": "5",
}
HYPERCORN_ONLY = {"--read-timeout": "1", "--access-log": None, "--reload": None}


@pytest.fixture(autouse=True)
def _restore_sys_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """``wsactors run`` puts the working directory on sys.path; undo it after each test."""
    monkeypatch.setattr(sys, "path", list(sys.path))


def _unused(args: Any) -> int:
    raise AssertionError("not run in these tests")


def settings_of(*argv: str) -> ServerSettings:
    """The ServerSettings ``wsactors run app:app ARGV...`` serves with."""
    args = build_parser(run=_unused, demo=_unused).parse_args(["run", "app:app", *argv])
    return cli._settings(args)


def refusal(argv: list[str], capsys: pytest.CaptureFixture[str], command: str = "run") -> str:
    """The error line of a usage error (exit code 2) after the subcommand's usage."""
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: wsactors {command} "), err
    assert "Traceback" not in err
    last = err.splitlines()[-1]
    assert last.startswith(f"wsactors {command}: error: "), err
    return last


# ------------------------------------------------------------------ each engine's defaults
def test_the_hypercorn_table_holds_hypercorns_own_defaults() -> None:
    config = Config()
    for setting, option in HYPERCORN.options.items():
        if setting in HYPERCORN.defaults:
            assert HYPERCORN.defaults[setting] == getattr(config, option), setting
    assert HYPERCORN.defaults["compression"] == HYPERCORN.fixed["compression"][0]
    assert (config.accesslog, config.use_reloader) == (None, False)


def test_the_native_table_holds_the_native_engines_own_defaults() -> None:
    defaults = {field.name: field.default for field in dataclasses.fields(NativeOptions)}
    for setting, option in NATIVE.options.items():
        expected = defaults[option]
        shown = NATIVE.defaults[setting]
        assert (None if shown == "none" else shown) == expected, setting


@pytest.mark.parametrize(
    ("setting", "text"),
    [
        ("max_message_size", "default: hypercorn 16MiB, native 1MiB"),
        ("ping_interval", "default: hypercorn no pings, native 20s"),
        ("graceful_timeout", "default: hypercorn 3s, native 5s"),
        ("compression", "default: hypercorn deflate, native none"),
        ("ping_timeout", "native only, default 20s"),
        ("max_connections", "native only, default no limit"),
        ("open_timeout", "native only, default 10s"),
        ("close_timeout", "native only, default 5s"),
        ("max_request_size", "native only, default 64KiB"),
        ("max_buffered_bytes", "native only, default 64MiB"),
        ("read_timeout", "hypercorn only, default never"),
        ("access_log", "hypercorn only, default off"),
    ],
)
def test_default_help_names_each_engines_default(setting: str, text: str) -> None:
    assert default_help(setting) == text


def test_help_shows_a_default_for_every_server_setting(capsys: pytest.CaptureFixture[str]) -> None:
    run = build_parser(run=_unused, demo=_unused).parse_args(["run", "x:app"]).command_parser
    [group] = [group for group in run._action_groups if group.title.startswith("server settings")]
    assert len(group._group_actions) == 17  # the 16 engine settings and --metrics-port
    for action in group._group_actions:
        # Each help ends with its defaults: "(default: ...)" or "(X only, default ...)".
        assert re.search(r"\((default: |hypercorn only|native only)[^()]*\)$", action.help), action
    assert cli.main(["run", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--compression {deflate,none}" in text
    assert "(default: hypercorn deflate, native none)" in text


# ------------------------------------------------------------------ mapping onto each engine
@pytest.mark.parametrize(
    ("argv", "option", "value"),
    [
        (["--compression", "deflate"], "compression", "deflate"),
        (["--compression", "none"], "compression", None),
        (["--max-connections", "2"], "max_connections", 2),
        (["--open-timeout", "0.5"], "open_timeout", 0.5),
        (["--close-timeout", "0.25"], "close_timeout", 0.25),
        (["--max-request-size", "4096"], "max_request_size", 4096),
        (["--max-buffered-bytes", "1048576"], "max_buffered_bytes", 2**20),
    ],
)
def test_native_engine_gets_each_new_option(argv: list[str], option: str, value: Any) -> None:
    options = native_options(settings_of(*argv))
    assert options[option] == value
    options.pop("workers")
    # The engine itself accepts them as they are.
    assert getattr(NativeOptions.from_options(options), option) == value


def test_without_options_the_native_engine_keeps_its_defaults() -> None:
    assert native_options(settings_of()) == {"workers": 1}


def test_hypercorn_takes_compression_deflate_as_what_it_does_anyway() -> None:
    options = hypercorn_options(settings_of("--compression", "deflate"))
    assert options == hypercorn_options(settings_of())


@pytest.mark.parametrize(("option", "value"), [*NATIVE_ONLY.items(), ("--compression", "none")])
def test_hypercorn_refuses_what_only_the_native_engine_does(
    option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    line = refusal(["run", "wsactors.demo.app:app", option, value], capsys)
    assert line.startswith(f"wsactors run: error: {option}: hypercorn")
    assert "use --engine native" in line


@pytest.mark.parametrize(("option", "value"), HYPERCORN_ONLY.items())
def test_native_engine_refuses_what_only_hypercorn_does(
    option: str, value: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", "wsactors.demo.app:app", "--engine", "native", option]
    line = refusal(argv if value is None else [*argv, value], capsys)
    assert line.startswith(f"wsactors run: error: {option}: the native engine ")
    assert "--engine hypercorn" in line


@pytest.mark.parametrize(
    "argv",
    [
        ["--compression", "gzip"],
        ["--max-connections", "0"],
        ["--open-timeout", "0"],
        ["--close-timeout", "-1"],
        ["--max-request-size", "0"],
    ],
)
@pytest.mark.parametrize("engine", ENGINES)
def test_bad_values_of_the_new_options_are_usage_errors(
    argv: list[str], engine: str, capsys: pytest.CaptureFixture[str]
) -> None:
    line = refusal(["run", "wsactors.demo.app:app", "--engine", engine, *argv], capsys)
    assert argv[0] in line


# ------------------------------------------------------------------ usage errors
@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["run", "x:app", "--bogus"], "run"),
        (["run", "--bogus", "x:app"], "run"),
        (["demo", "--bogus"], "demo"),
        (["asyncapi", "x:app", "--bogus"], "asyncapi"),
    ],
)
def test_an_unknown_option_prints_the_subcommands_usage(
    argv: list[str], command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert refusal(argv, capsys, command).endswith("unrecognized arguments: --bogus")


def test_a_bad_import_string_prints_the_subcommands_usage(
    capsys: pytest.CaptureFixture[str],
) -> None:
    refusal(["asyncapi", "no_such_module:app"], capsys, "asyncapi")
    refusal(["run", "no_such_module:app"], capsys)


# ------------------------------------------------------------------ TLS files
@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate and its key, as PEM files."""
    cert = trustme.CA().issue_cert("127.0.0.1")
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.cert_chain_pems[0].write_to_path(str(certfile))
    cert.private_key_pem.write_to_path(str(keyfile))
    return certfile, keyfile


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("missing", ["--certfile", "--keyfile"])
def test_a_missing_tls_file_is_named_the_same_way_by_both_engines(
    engine: str,
    missing: str,
    certificate: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    files = dict(zip(("--certfile", "--keyfile"), map(str, certificate), strict=True))
    files[missing] = str(tmp_path / "nowhere.pem")
    argv = ["run", "wsactors.demo.app:app", "--engine", engine]
    line = refusal([*argv, *(item for pair in files.items() for item in pair)], capsys)
    assert line == f"wsactors run: error: {missing}: no such file: {tmp_path / 'nowhere.pem'}"


@pytest.mark.parametrize("engine", ENGINES)
def test_an_unusable_tls_pair_names_both_files(
    engine: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bogus = tmp_path / "bogus.pem"
    bogus.write_text("not a certificate\n")
    argv = ["run", "wsactors.demo.app:app", "--engine", engine]
    line = refusal([*argv, "--certfile", str(bogus), "--keyfile", str(bogus)], capsys)
    assert f"--certfile: cannot load the certificate {bogus} with the key {bogus}" in line


# ------------------------------------------------------------------ --factory
FACTORIES = """\
from wsactors import App, websocket_listener


@websocket_listener("/echo")
async def echo(data: str) -> str:
    return data


app = App([echo])
made = []


def create_app():
    made.append(1)
    return App([echo])


async def async_factory():
    return app


def needs_arguments(name):
    return app


def returns_nothing():
    return None


class NotAnApp:
    pass
"""


@pytest.fixture
def factories(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The name of a fresh module with an app, factories and things that are neither."""
    name = f"wsactors_test_factories_{tmp_path.name}"
    (tmp_path / f"{name}.py").write_text(FACTORIES)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    return name


def test_factory_is_called_once_and_returns_the_app(factories: str) -> None:
    app = import_app(f"{factories}:create_app", factory=True)
    assert isinstance(app, App)
    assert sys.modules[factories].made == [1]


def test_a_factory_without_factory_is_refused_with_the_hint(
    factories: str, capsys: pytest.CaptureFixture[str]
) -> None:
    line = refusal(["run", f"{factories}:create_app"], capsys)
    assert line.endswith(
        f"{factories}:create_app takes no arguments: it is not an ASGI application, which"
        " takes (scope, receive, send); if it returns the app, add --factory"
    )
    assert sys.modules[factories].made == []  # never called


@pytest.mark.parametrize(
    ("attribute", "message"),
    [
        ("app", "app takes (scope, receive, send); a factory is called with no arguments"),
        ("async_factory", "async_factory is async; the factory is called before any event"),
        ("needs_arguments", "needs_arguments takes (name); a factory is called with no"),
        ("returns_nothing", "returns_nothing() is a NoneType, not an ASGI application"),
        ("NotAnApp", "NotAnApp() is a NotAnApp, not an ASGI application"),
    ],
)
def test_factory_refuses_what_cannot_make_an_app(
    factories: str, attribute: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    line = refusal(["run", f"{factories}:{attribute}", "--factory"], capsys)
    assert message in line


@pytest.mark.parametrize(
    ("attribute", "message"),
    [
        ("needs_arguments", "needs_arguments takes (name): it is not an ASGI application"),
        ("NotAnApp", "is the class NotAnApp, not an ASGI application (an instance may be)"),
    ],
)
def test_run_refuses_a_callable_that_is_not_an_asgi_app(
    factories: str, attribute: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    line = refusal(["run", f"{factories}:{attribute}"], capsys)
    assert message in line
    assert "--factory" not in line  # it takes arguments: not a factory either


def test_import_app_accepts_asgi_callables(factories: str) -> None:
    assert isinstance(import_app(f"{factories}:app"), App)
    with pytest.raises(AppImportError, match="add --factory"):
        import_app(f"{factories}:returns_nothing")


def test_native_engine_refuses_an_asgi_app_that_is_not_an_app(
    capsys: pytest.CaptureFixture[str],
) -> None:
    line = refusal(["run", "wsactors.demo.app:app.http_app", "--engine", "native"], capsys)
    assert line.endswith(
        "--engine native serves a wsactors App, and wsactors.demo.app:app.http_app is a"
        " StaticFiles: use --engine hypercorn for other ASGI apps"
    )
