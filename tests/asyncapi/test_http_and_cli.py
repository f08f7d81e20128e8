"""Where users meet the document: ``App(asyncapi_path=...)`` over HTTP on a real
server, and ``wsactors asyncapi module:app`` on the command line."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import trio
import yaml

from helpers import DEADLINE, http_get, http_request
from wsactors import App, Provide
from wsactors.cli.main import main
from wsactors.demo.app import StaticFiles
from wsactors.demo.app import app as demo_app
from wsactors.testing import LiveServer

pytestmark = pytest.mark.e2e

# The native engine hands plain HTTP to the App's http_app directly, so it does not
# serve App(asyncapi_path=...) (a 404); these pin what hypercorn serves.
NATIVE_SKIPS_ASYNCAPI_PATH = pytest.mark.engine(
    "hypercorn", reason="the native engine passes plain HTTP to http_app, not App(asyncapi_path)"
)


@NATIVE_SKIPS_ASYNCAPI_PATH
@pytest.mark.usefixtures("live_engine")
async def test_the_document_is_served_at_asyncapi_path() -> None:
    from wsactors.demo import ChatListener, echo, json_box, live_clock

    app = App(
        [ChatListener, live_clock, json_box, echo],
        dependencies={"online": Provide(lambda: Counter())},
        asyncapi_path="/asyncapi.json",
    )
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server:
            status, body = await http_get(server, "/asyncapi.json")
    assert status == b"HTTP/1.1 200 "
    assert json.loads(body) == app.asyncapi()


@NATIVE_SKIPS_ASYNCAPI_PATH
@pytest.mark.usefixtures("live_engine")
async def test_other_paths_still_reach_the_http_app() -> None:
    from wsactors.demo import create_app

    demo = create_app()
    app = App([], asyncapi_path="/docs/asyncapi.json", http_app=StaticFiles("wsactors.demo"))
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server:
            document_status, body = await http_get(server, "/docs/asyncapi.json")
            page_status, page = await http_get(server, "/")
            head = await http_request(server, "HEAD", "/docs/asyncapi.json")
            post = await http_request(server, "POST", "/docs/asyncapi.json")
    assert document_status.startswith(b"HTTP/1.1 200")
    assert json.loads(body)["asyncapi"] == "3.0.0"
    assert page_status.startswith(b"HTTP/1.1 200")
    assert b"<html" in page.lower()
    head_headers, _, head_body = head.partition(b"\r\n\r\n")
    assert head_headers.startswith(b"HTTP/1.1 200")
    assert head_body == b""
    assert b"content-type: application/json" in head_headers.lower()
    assert post.startswith(b"HTTP/1.1 405")
    assert b"allow: GET, HEAD" in post
    assert demo.asyncapi_path is None  # off unless asked for


@pytest.mark.usefixtures("live_engine")
async def test_without_asyncapi_path_there_is_no_document() -> None:
    with trio.fail_after(DEADLINE):
        async with LiveServer(App([])) as server:
            status, _ = await http_get(server, "/asyncapi.json")
    assert status.startswith(b"HTTP/1.1 404")


# ---------------------------------------------------------------- the command line
@pytest.fixture(autouse=True)
def _restore_sys_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))


def test_cli_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["asyncapi", "wsactors.demo.app:app", "--server", "local=ws://127.0.0.1:8000"])
    out = capsys.readouterr().out
    assert code == 0
    document = json.loads(out)
    expected = demo_app.asyncapi(
        title="wsactors.demo.app:app", servers={"local": "ws://127.0.0.1:8000"}
    )
    assert document == expected


def test_cli_writes_yaml(tmp_path: Path) -> None:
    output = tmp_path / "asyncapi.yaml"
    code = main(
        [
            "asyncapi",
            "wsactors.demo.app:app",
            "--format",
            "yaml",
            "--output",
            str(output),
            "--title",
            "Demo",
            "--api-version",
            "0.1.0",
        ]
    )
    assert code == 0
    document: Any = yaml.safe_load(output.read_text(encoding="utf-8"))
    assert document == demo_app.asyncapi(title="Demo", version="0.1.0")
    assert "description: |" in output.read_text(encoding="utf-8")  # block style text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["asyncapi", "no_such_module:app"], "could not import module"),
        (["asyncapi", "wsactors.demo.app:StaticFiles"], "is not a wsactors App"),
        (["asyncapi", "wsactors.demo.app:app", "--server", "x=http://h"], "not a ws:// or wss://"),
    ],
)
def test_cli_usage_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_cli_rejects_a_malformed_server(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["asyncapi", "wsactors.demo.app:app", "--server", "nourl"]) == 2
    assert "expected NAME=URL" in capsys.readouterr().err


def test_cli_reports_an_unwritable_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "missing" / "asyncapi.json"
    assert main(["asyncapi", "wsactors.demo.app:app", "-o", str(target)]) == 1
    assert "cannot write" in capsys.readouterr().err
