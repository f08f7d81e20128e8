"""Every document we can render is valid for the official parser, ``@asyncapi/parser``.

The documents of the demo, of the typed test App and of every docs example are
written to files and validated by ``validate.cjs`` under node. The parser is
installed by ``nox -s asyncapi`` (into nox's cache, ``.nox/.cache/asyncapi-parser``)
or found through ``WSACTORS_ASYNCAPI_PARSER`` (a ``node_modules`` directory).
Without node or the parser these tests are skipped, except in CI (``CI=true``),
where they fail: CI installs the parser first.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from apps import APPS

from wsactors.asyncapi import render

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "validate.cjs"
DEFAULT_MODULES = HERE.parents[1] / ".nox" / ".cache" / "asyncapi-parser" / "node_modules"
SERVERS = {"local": "ws://127.0.0.1:8000", "production": "wss://example.com/api"}


def _parser() -> tuple[str, Path]:
    """node and the parser's node_modules; skip (fail in CI) when either is missing."""
    node = shutil.which("node")
    modules = Path(os.environ.get("WSACTORS_ASYNCAPI_PARSER") or DEFAULT_MODULES)
    missing = None
    if node is None:
        missing = "node is not installed"
    elif not (modules / "@asyncapi" / "parser" / "package.json").is_file():
        missing = f"@asyncapi/parser is not installed in {modules} (run `nox -s asyncapi`)"
    if missing is None:
        assert node is not None
        return node, modules
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must validate the AsyncAPI documents: {missing}")
    pytest.skip(missing)


def _validate(paths: list[Path]) -> dict[str, dict[str, Any]]:
    node, modules = _parser()
    done = subprocess.run(
        [node, str(SCRIPT), str(modules), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    results = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return {Path(r["file"]).name: r for r in results}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The parser's verdict on every App's document (one node run for all)."""
    folder = tmp_path_factory.mktemp("asyncapi")
    paths = []
    for name, make in APPS.items():
        document = make().asyncapi(title=name, version="1.0.0", servers=SERVERS)
        path = folder / f"{name}.json"
        path.write_text(render(document, "json"), encoding="utf-8")
        paths.append(path)
    demo_yaml = folder / "demo-yaml.yaml"
    demo_yaml.write_text(render(APPS["demo"]().asyncapi(servers=SERVERS), "yaml"))
    paths.append(demo_yaml)
    return _validate(paths)


@pytest.mark.parametrize("name", [*APPS, "demo-yaml"])
def test_document_is_valid(name: str, results: dict[str, dict[str, Any]]) -> None:
    found = [r for file, r in results.items() if file.rsplit(".", 1)[0] == name]
    assert found, f"the parser did not report on {name}"
    assert found[0]["errors"] == []


def test_the_parser_finds_errors(tmp_path: Path) -> None:
    """The check can fail: a reply naming a message of no channel is an error."""
    document = APPS["demo"]().asyncapi()
    reply = document["operations"]["json_box_receive"]["reply"]
    reply["messages"] = [{"$ref": "#/channels/json_box/messages/nothing"}]
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(document))
    assert _validate([path])["broken.json"]["errors"]
