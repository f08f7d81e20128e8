"""Guards, an Origin check and per-connection limits.

- the App only accepts browsers from https://chat.example.com (others get HTTP 403);
- the guard refuses handshakes without the right token (HTTP 401), before any
  dependency runs and before accept;
- each connection may send messages of at most 1 KiB (larger: close 1009) and at
  most 5 messages per second on average, bursts of 5 (faster: close 1008).
"""

from wsactors import App, NotAuthorizedError, WebSocket, websocket_listener


def require_token(socket: WebSocket) -> None:
    if socket.query_params.get("token") != "open-sesame":
        raise NotAuthorizedError("a valid token is required")


@websocket_listener(
    "/chat",
    guards=[require_token],
    max_message_size=1024,
    rate_limit=(5, 1.0),
)
async def chat(data: str) -> str:
    return data


app = App([chat], allowed_origins=["https://chat.example.com"])
