"""The document as JSON or YAML text."""

from __future__ import annotations

import json
from typing import Any, Literal

from ..exceptions import ImproperlyConfiguredError

__all__ = ["Format", "render"]

Format = Literal["json", "yaml"]


def render(document: dict[str, Any], fmt: Format = "json") -> str:
    """``document`` as indented JSON or block-style YAML, keys in document order.

    Raises:
        ImproperlyConfiguredError: YAML without PyYAML installed, or an unknown format.
    """
    if fmt == "json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if fmt == "yaml":
        try:
            import yaml
        except ImportError:  # pragma: no cover - the extra is installed wherever tests run
            raise ImproperlyConfiguredError(
                "YAML output needs PyYAML: pip install 'wsactors[asyncapi]'"
            ) from None
        text: str = yaml.dump(
            document, Dumper=_dumper(yaml), sort_keys=False, allow_unicode=True, width=100
        )
        return text
    raise ImproperlyConfiguredError(f"format must be 'json' or 'yaml', not {fmt!r}")


def _dumper(yaml: Any) -> Any:
    """PyYAML's safe dumper, writing multi-line strings (descriptions) as ``|`` blocks."""

    class Dumper(yaml.SafeDumper):  # type: ignore[misc]
        pass

    def text(dumper: Any, value: str) -> Any:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    return Dumper
