"""The Apps whose documents these tests check: the typed test App, the App of pydantic
models and msgspec Structs, the demo, and every docs example (``docs/examples/*.py``)."""

from __future__ import annotations

from collections.abc import Callable

from example_helpers import EXAMPLES_DIR, load_example
from foreign_app import create_app as create_foreign_app
from typed_app import create_app

from wsactors import App
from wsactors.demo import create_app as create_demo_app

#: Every docs example that serves an App (a few only show an API, such as a
#: Channels subscription read in plain Python, and have none).
EXAMPLE_NAMES = sorted(
    path.stem for path in EXAMPLES_DIR.glob("*.py") if "\napp = " in path.read_text()
)


def _example(name: str) -> Callable[[], App]:
    def make() -> App:
        app = load_example(name).app
        assert isinstance(app, App), f"docs/examples/{name}.py: `app` is not an App"
        return app

    return make


#: name -> a function building a fresh App.
APPS: dict[str, Callable[[], App]] = {
    "typed": create_app,
    "foreign": create_foreign_app,
    "demo": create_demo_app,
    **{f"example-{name}": _example(name) for name in EXAMPLE_NAMES},
}
