"""A ``{name:path}`` parameter arrives as the client sent it: validate it before use.

``/files/../../etc/passwd`` gives ``name == "../../etc/passwd"`` (and so do
``%2e%2e/%2e%2e/etc/passwd`` and ``..%2F..%2Fetc%2Fpasswd``: the server
percent-decodes the path). Here a dependency resolves the name inside ``BASE`` and
refuses anything that leaves it with HTTP 403, before the connection is accepted.
"""

from pathlib import Path

from wsactors import App, PermissionDeniedError, Provide, websocket_listener

BASE = Path("/srv/files").resolve()


def file_in_base(name: str) -> Path:
    # A NUL byte cannot be in a file name (and makes Path.resolve() raise).
    if "\x00" in name:
        raise PermissionDeniedError("not a file name")
    # resolve() applies "..", "." and symbolic links; what is left must be inside BASE.
    target = (BASE / name).resolve()
    if not target.is_relative_to(BASE):
        raise PermissionDeniedError("outside the shared files")
    return target


# resolve() reads the file system (symbolic links): in a worker thread, not the event loop.
@websocket_listener(
    "/files/{name:path}", dependencies={"file": Provide(file_in_base, sync_to_thread=True)}
)
async def files(data: str, file: Path) -> str:
    # A real handler would open `file`; this one says which file it would be.
    return f"{data} {file.relative_to(BASE)}"


app = App([files])
