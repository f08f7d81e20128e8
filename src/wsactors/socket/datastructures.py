"""Small read-only views over the ASGI scope: headers, query parameters, state."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import parse_qsl

__all__ = ["Address", "Headers", "QueryParams", "State", "parse_cookies"]


class Address(NamedTuple):
    """A peer's host and port."""

    host: str
    port: int


class _MultiMapping(Mapping[str, str]):
    """A read-only multi-mapping: ``m[key]`` is the first value, ``getall`` all of them."""

    __slots__ = ("_items", "_map")

    def __init__(self, items: list[tuple[str, str]], *, fold_case: bool) -> None:
        self._items = items
        self._map: dict[str, list[str]] = {}
        for key, value in items:
            self._map.setdefault(key.lower() if fold_case else key, []).append(value)

    def _key(self, key: str) -> str:
        return key

    def __getitem__(self, key: str) -> str:
        return self._map[self._key(key)][0]

    def __iter__(self) -> Iterator[str]:
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._map)

    def getall(self, key: str) -> list[str]:
        """Every value given for ``key``, in order (empty list if none)."""
        return list(self._map.get(self._key(key), ()))

    def multi_items(self) -> list[tuple[str, str]]:
        """All pairs, in the order they arrived."""
        return list(self._items)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._items!r})"


class Headers(_MultiMapping):
    """Case-insensitive request headers, decoded as latin-1 (RFC 9110 section 5.5)."""

    __slots__ = ()

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        super().__init__(
            [(name.decode("latin-1"), value.decode("latin-1")) for name, value in raw],
            fold_case=True,
        )

    def _key(self, key: str) -> str:
        return key.lower()


class QueryParams(_MultiMapping):
    """Query string parameters; ``params["a"]`` is the first ``a``."""

    __slots__ = ()

    def __init__(self, query_string: bytes | str) -> None:
        text = query_string.decode("latin-1") if isinstance(query_string, bytes) else query_string
        super().__init__(parse_qsl(text, keep_blank_values=True), fold_case=False)


def parse_cookies(header: str) -> dict[str, str]:
    """Parse a ``Cookie`` header into a dict; malformed pairs are skipped one by one.

    Browsers send ``name=value`` pairs separated by ``"; "`` (RFC 6265 section 4.2.1).
    Not ``http.cookies.SimpleCookie``: it drops the whole header on one odd pair
    (a bare flag, a JSON value set by some script), losing e.g. the session cookie.
    """
    cookies: dict[str, str] = {}
    for pair in header.split(";"):
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        cookies[name] = value
    return cookies


class State:
    """An attribute bag: ``state.user = ...``; also readable as a mapping.

    Used for the App's state (shared) and each connection's state (private to it).
    """

    def __init__(self, initial: Mapping[str, Any] | None = None) -> None:
        self.__dict__.update(initial or {})

    def __getattr__(self, name: str) -> Any:
        # Only called for missing attributes; declared so that `state.anything`
        # type-checks under mypy --strict.
        raise AttributeError(f"State has no attribute {name!r}")

    if TYPE_CHECKING:
        # Only for mypy --strict (`state.user = ...` in users' code); at run time
        # attributes are set the ordinary way.
        def __setattr__(self, name: str, value: Any) -> None: ...

    def __getitem__(self, key: str) -> Any:
        return self.__dict__[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.__dict__[key] = value

    def __contains__(self, key: object) -> bool:
        return key in self.__dict__

    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key``, or ``default``."""
        return self.__dict__.get(key, default)

    def __repr__(self) -> str:
        return f"State({self.__dict__!r})"
