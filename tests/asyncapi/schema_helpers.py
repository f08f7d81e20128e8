"""The receive schemas of an App's routes, standalone, beside the decoders they describe.

Imported as ``schema_helpers`` by the tests in this folder.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wsactors import App
from wsactors.asyncapi.introspect import RouteInfo, routes_of
from wsactors.asyncapi.schema import REF_PREFIX
from wsactors.codec.codec import Codec

DEFINITIONS = "#/definitions/"


@dataclass(frozen=True)
class ReceivedSchema:
    """One route's received JSON message: its schema and the route's own decoder."""

    route: RouteInfo
    schema: dict[str, Any]  # standalone draft 07: components under "definitions"
    decode: Callable[[str | bytes], Any]

    @property
    def id(self) -> str:
        return self.route.template


def _standalone(payload: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps({"allOf": [payload], "definitions": components})
    return json.loads(text.replace(f'"{REF_PREFIX}', f'"{DEFINITIONS}'))  # type: ignore[no-any-return]


def received_schemas(app: App) -> list[ReceivedSchema]:
    """Every route of ``app`` that receives JSON, with its schema from ``app.asyncapi()``."""
    document = app.asyncapi()
    components = document.get("components", {}).get("schemas", {})
    by_address = {channel["address"]: channel for channel in document["channels"].values()}
    found = []
    for route in routes_of(app):
        message = by_address[route.address]["messages"].get("received")
        if route.kind != "listener" or message is None:
            continue
        if message.get("contentType") != "application/json" or route.receives is None:
            continue
        # The decoder the listener builds: the route's codec, through the route's DTO.
        dto = route.receives.dto
        base = app.codec.variant(route.receives.forbid_unknown_fields)
        codec = Codec(dto.input_converter(base.converter)) if dto else base
        found.append(
            ReceivedSchema(
                route,
                _standalone(message["payload"], components),
                codec.decoder(route.receives.annotation),
            )
        )
    return found
