"""Pydantic models as messages: pydantic validates what arrives and serializes replies.

Needs ``pip install 'wsactors[pydantic]'``.
"""

from typing import Literal

from pydantic import BaseModel, Field

from wsactors import App, websocket_listener


class Move(BaseModel):
    """One move of a player."""

    player: str = Field(min_length=1)
    x: int = Field(ge=0, le=7)
    y: int = Field(ge=0, le=7)
    kind: Literal["move", "capture"] = "move"


class Board(BaseModel):
    moves: list[Move] = []
    # Read and sent as "nextPlayer": pydantic's alias, as its JSON Schema names it.
    next_player: str = Field(alias="nextPlayer")


@websocket_listener("/play")
async def play(data: Move) -> Board:
    # A message that does not fit closes with 1007 naming the field:
    # "x: Input should be less than or equal to 7".
    other = "b" if data.player == "a" else "a"
    return Board(moves=[data], nextPlayer=other)


app = App([play])
