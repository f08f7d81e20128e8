"""Every file in docs/examples/ is loaded by a test in this directory."""

from __future__ import annotations

import re
from pathlib import Path

from example_helpers import EXAMPLES_DIR

_LOADED = re.compile(r"""load_example\(\s*["'](\w+)["']\s*\)""")


def test_every_example_has_a_test() -> None:
    examples = {path.stem for path in EXAMPLES_DIR.glob("*.py") if path.stem != "__init__"}
    assert examples, f"no examples found in {EXAMPLES_DIR}"
    loaded: set[str] = set()
    for test_file in Path(__file__).parent.glob("test_*.py"):
        loaded.update(_LOADED.findall(test_file.read_text(encoding="utf-8")))
    untested = sorted(examples - loaded)
    assert not untested, f"examples without an end-to-end test: {untested}"
    unknown = sorted(loaded - examples)
    assert not unknown, f"tests load examples that do not exist: {unknown}"
