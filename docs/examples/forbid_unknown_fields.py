"""Refuse object keys a message type does not declare: close 1007 naming the key."""

from dataclasses import dataclass

from wsactors import App, Router, websocket_listener


@dataclass
class Settings:
    volume: int
    muted: bool = False


@websocket_listener("/settings")
async def settings(data: Settings) -> Settings:
    # {"volume": 3, "mute": true} closes with 1007 "mute: unknown field".
    return data


@websocket_listener("/legacy/settings")
async def legacy_settings(data: Settings) -> Settings:
    # Old clients send keys that are no longer read: ignored here, as by default.
    return data


app = App(
    [settings, Router("/", [legacy_settings], forbid_unknown_fields=False)],
    forbid_unknown_fields=True,
)
