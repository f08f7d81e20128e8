"""DTOs choose which fields of a dataclass are read from and written to the wire."""

import uuid
from dataclasses import dataclass, field

from wsactors import DTO, App, websocket_listener


@dataclass
class User:
    name: str
    email: str
    password: str
    # A UUID travels as its string form: "12345678-1234-5678-1234-567812345678".
    id: uuid.UUID = field(default_factory=uuid.uuid4)


# Incoming: the client may not choose the id; "email" is called "emailAddress".
CreateUser = DTO(User, exclude={"id"}, rename={"email": "emailAddress"})
# Outgoing: never send the password back.
PublicUser = DTO(User, exclude={"password"}, rename={"email": "emailAddress"})


@websocket_listener("/users", dto=CreateUser, return_dto=PublicUser)
async def create_user(data: User) -> User:
    # `data` was validated: a missing or mistyped field closes the connection with 1007.
    data.id = uuid.uuid4()
    return data


app = App([create_user])
