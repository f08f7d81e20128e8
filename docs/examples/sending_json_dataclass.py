"""Send a dataclass: it is unstructured by cattrs and sent as a JSON object."""

import time
from dataclasses import dataclass

from wsactors import App, websocket_listener


@dataclass
class Message:
    content: str
    timestamp: float


@websocket_listener("/")
async def handler(data: str) -> Message:
    return Message(content=data, timestamp=time.time())


app = App([handler])
