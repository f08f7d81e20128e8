"""DTOs choose which fields of a dataclass are read from and written to the wire."""

import itertools
from dataclasses import dataclass

from wsactors import DTO, App, websocket_listener


@dataclass
class User:
    name: str
    email: str
    password: str
    id: int = 0


# Incoming: the client may not choose the id; "email" is called "emailAddress".
CreateUser = DTO(User, exclude={"id"}, rename={"email": "emailAddress"})
# Outgoing: never send the password back.
PublicUser = DTO(User, exclude={"password"}, rename={"email": "emailAddress"})

_ids = itertools.count(1)


@websocket_listener("/users", dto=CreateUser, return_dto=PublicUser)
async def create_user(data: User) -> User:
    # `data` was validated: a missing or mistyped field closes the connection with 1007.
    data.id = next(_ids)
    return data


app = App([create_user])
