"""Registration mistakes found when the App is built (issue 13, items 1, 2 and 7).

This module uses ``from __future__ import annotations`` on purpose, with types
imported only under ``if TYPE_CHECKING:``, as a linted Litestar project often does:
such annotations cannot be resolved, and must be refused, not dropped.
"""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from wsactors import (
    App,
    ImproperlyConfiguredError,
    Provide,
    WebSocketDisconnect,
    WebSocketException,
    WebSocketListener,
    websocket,
    websocket_listener,
    websocket_stream,
)

if TYPE_CHECKING:
    from fractions import Fraction

    from wsactors import WebSocket


@dataclass
class Order:
    quantity: int


# ---------------------------------------------------------------- item 1: annotations
def test_a_data_annotation_that_does_not_resolve_is_refused_naming_handler_and_name() -> None:
    @websocket_listener("/")
    async def take(data: Fraction) -> str:
        return "ok"

    with pytest.raises(ImproperlyConfiguredError) as caught:
        App([take])
    message = str(caught.value)
    assert "take" in message
    assert "parameter 'data'" in message
    assert "'Fraction'" in message
    assert "TYPE_CHECKING" in message


def test_a_return_annotation_that_does_not_resolve_is_refused() -> None:
    @websocket_listener("/")
    async def give(data: Order) -> Fraction:
        raise AssertionError

    with pytest.raises(ImproperlyConfiguredError, match=r"give: .*the return annotation"):
        App([give])


def test_a_hook_annotation_that_does_not_resolve_is_refused() -> None:
    def on_connect(socket: WebSocket) -> None:
        pass

    @websocket_listener("/", on_connect=on_connect)
    async def handler(data: Order) -> None:
        pass

    with pytest.raises(ImproperlyConfiguredError, match=r"on_connect: .*parameter 'socket'"):
        App([handler])


def test_a_dependency_annotation_that_does_not_resolve_is_refused_when_the_app_is_built() -> None:
    def ratio(scale: Fraction) -> int:
        return 1

    @websocket("/", dependencies={"ratio": Provide(ratio)})  # Provide() itself is fine
    async def handler(socket: Any, ratio: int) -> None:
        pass

    with pytest.raises(
        ImproperlyConfiguredError,
        match=r"ratio: cannot resolve the annotation 'Fraction' of parameter 'scale'",
    ):
        App([handler])


def test_a_stream_item_annotation_that_does_not_resolve_is_refused() -> None:
    @websocket_stream("/")
    async def ticks() -> AsyncIterator[Fraction]:
        yield 1  # type: ignore[misc]

    with pytest.raises(ImproperlyConfiguredError, match=r"ticks: .*the return annotation"):
        App([ticks])


def test_provide_reads_a_dependency_defined_before_its_types() -> None:
    # Provide() runs at import, before `Later` below exists; reading the signature
    # there would have to drop or refuse the annotation.
    provider = Provide(_uses_later)

    @websocket("/", dependencies={"later": provider})
    async def handler(socket: Any, later: Later) -> None:
        pass

    App([handler])
    assert [p.name for p in provider.params] == ["socket"]


def _uses_later(socket: Later) -> Later:  # resolved when App() runs: Later exists then
    return Later()


@dataclass
class Later:
    pass


# ---------------------------------------------------------------- item 2: field types
@dataclass
class Complex:
    value: complex


@dataclass
class Span:
    length: datetime.timedelta


def test_data_of_a_type_cattrs_cannot_read_is_refused_at_build() -> None:
    @websocket_listener("/")
    async def handler(data: Span) -> None:
        pass

    with pytest.raises(ImproperlyConfiguredError, match=r"messages cannot be read as Span"):
        App([handler])


def test_an_unsupported_member_of_an_optional_is_refused_at_build() -> None:
    # cattrs looks an Optional member's hook up per message; not here.
    @websocket_listener("/")
    async def handler(data: list[complex | None]) -> None:
        pass

    with pytest.raises(ImproperlyConfiguredError, match=r"complex"):
        App([handler])


@pytest.mark.parametrize("returns", ["Complex", "dict[str, complex]", "list[Span]"])
def test_a_return_type_without_a_json_form_is_refused_at_build(returns: str) -> None:
    @websocket_listener("/")
    async def handler(data: str) -> Any:
        raise AssertionError

    handler.fn.__annotations__["return"] = returns
    with pytest.raises(ImproperlyConfiguredError, match=r"has no JSON form"):
        App([handler])


def test_a_dict_keyed_by_tuples_is_refused_at_build() -> None:
    @websocket_listener("/")
    async def handler(data: str) -> dict[tuple[int, int], str]:
        raise AssertionError

    with pytest.raises(ImproperlyConfiguredError, match=r"as an object key"):
        App([handler])


# ---------------------------------------------------------------- item 7: Litestar names
def test_a_listener_class_defining_on_accept_is_told_to_use_on_connect() -> None:
    class Chat(WebSocketListener):
        path = "/"

        def on_accept(self, socket: Any) -> None:
            pass

        def on_receive(self, data: str) -> str:
            return data

    with pytest.raises(ImproperlyConfiguredError, match=r"'on_accept'.*use on_connect"):
        App([Chat])


def test_a_listener_class_inheriting_on_accept_is_told_too() -> None:
    class Base(WebSocketListener):
        path = "/"

        async def on_accept(self, socket: Any) -> None:
            pass

    class Chat(Base):
        def on_receive(self, data: str) -> str:
            return data

    with pytest.raises(ImproperlyConfiguredError, match=r"use on_connect"):
        App([Chat])


def test_a_listener_class_with_litestars_name_attribute_is_told_to_use_route_name() -> None:
    class Chat(WebSocketListener):
        path = "/"
        name = "chat"

        def on_receive(self, data: str) -> str:
            return data

    with pytest.raises(ImproperlyConfiguredError, match=r"'name'.*use route_name"):
        App([Chat])


def test_the_on_accept_keyword_is_told_to_use_on_connect() -> None:
    with pytest.raises(ImproperlyConfiguredError, match=r"'on_accept'.*use on_connect"):

        @websocket_listener("/", on_accept=lambda: None)  # type: ignore[call-arg]
        async def handler(data: str) -> None:
            pass


@pytest.mark.parametrize(
    "option", ["exception_handlers", "middleware", "opt", "signature_namespace", "type_encoders"]
)
def test_litestar_only_keywords_are_refused_with_advice(option: str) -> None:
    with pytest.raises(ImproperlyConfiguredError, match=f"'{option}' is Litestar's; wsactors"):
        websocket_listener("/", **{option: None})(_noop)  # type: ignore[arg-type]


def test_a_listener_class_with_litestars_exception_handlers_is_refused() -> None:
    class Chat(WebSocketListener):
        path = "/"
        exception_handlers: dict[Any, Any] = {}  # noqa: RUF012

        def on_receive(self, data: str) -> str:
            return data

    with pytest.raises(ImproperlyConfiguredError, match=r"'exception_handlers' is Litestar's"):
        App([Chat])


async def _noop(data: str) -> None:
    pass


# ---------------------------------------------------------------- item 8: detail=
def test_websocket_exception_takes_litestars_detail_keyword() -> None:
    error = WebSocketException(detail="members only", code=4001)
    assert (error.reason, error.detail, error.code) == ("members only", "members only", 4001)


def test_websocket_disconnect_has_a_detail() -> None:
    gone = WebSocketDisconnect("bye", 1001)
    assert gone.detail == "bye"
    assert WebSocketDisconnect(detail="left").reason == "left"


def test_reason_and_a_different_detail_together_are_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"not both"):
        WebSocketException("one", detail="two")
