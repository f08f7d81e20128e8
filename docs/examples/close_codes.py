"""How handlers end, and the close code the client sees for each."""

from dataclasses import dataclass

from wsactors import App, WebSocketException, websocket_listener


@dataclass
class Order:
    item: str
    quantity: int


@websocket_listener("/orders")
async def orders(data: Order, max_quantity: int = 10) -> dict[str, str | int]:
    # Malformed JSON or a payload that is not an Order never gets here: close 1007.
    if data.quantity > max_quantity:
        # Your own code (3000-4999) and reason.
        raise WebSocketException(f"at most {max_quantity} per order", code=4001)
    if data.item == "bug":
        # Any other exception: close 1011 "Internal Server Error", logged with traceback.
        raise RuntimeError("a bug in the handler")
    return {"ordered": data.item, "quantity": data.quantity}


app = App([orders])
