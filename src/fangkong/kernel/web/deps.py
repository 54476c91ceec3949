"""Request-scoped database session: the request owns the transaction (commit after the handler,
rollback on error).

`scope="function"` makes the commit happen before the response is sent: a client that receives a
2xx can rely on the write being stored (and a failed commit becomes an error response, not a lie).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData


def get_db(request: Request) -> Iterator[Session]:
    session: Session = request.app.state.session_factory()
    # the page renderer reads the header (user, unit) through the same session
    request.state.db = session
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
        request.state.db = None


DbSession = Annotated[Session, Depends(get_db, scope="function")]


def parse_cursor(value: str | None, field: str = "cursor") -> int | None:
    """A page cursor from a previous answer (`next_cursor`): the last id seen. Anything else is a 422."""
    from fangkong.kernel.errors import INVALID_CURSOR, NOT_A_CURSOR, FieldError, ValidationFailed

    if value is None or value == "":
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 18:  # '¹'.isdigit() is True
        raise ValidationFailed(INVALID_CURSOR(), [FieldError(field, NOT_A_CURSOR())])
    return int(value)


async def read_form(request: Request) -> FormData:
    """The submitted form, read on the event loop (reading a body is I/O) so that the handler that
    uses it can be a plain `def` running in a worker thread (handlers that touch the database never
    block the event loop). Starlette caches the parsed form: the CSRF check reads the same one."""
    return await request.form()


def _reads_only(session: DbSession) -> None:
    from fangkong.kernel.db import read_only

    read_only(session)


#: `dependencies=[ReadsOnly]` on a route that only reads: its transaction begins as a reader (SQLite:
#: deferred), so it answers while a long import holds the write lock (a progress poll)
ReadsOnly = Depends(_reads_only)

#: the request's form fields, for handlers whose fields are not fixed `Form(...)` parameters
FormFields = Annotated[FormData, Depends(read_form)]

#: a row id in a path: bounded so an absurd number is a 422, never a database overflow
RowId = Annotated[int, Path(ge=1, le=2_147_483_647)]
