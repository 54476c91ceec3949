"""Signing in through the form as a browser does: the page first (it sets the login-CSRF cookie and
puts the token in the form), then the post with that token."""

from __future__ import annotations

import re
from typing import Any


def login_token(client: Any) -> str:
    page = client.get("/login", follow_redirects=False)
    if page.status_code == 303:  # signed in already: signing in as someone else starts from a new form
        client.cookies.delete("fk_session")
        page = client.get("/login", follow_redirects=False)
    m = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
    assert m, "the sign-in page carries no login-CSRF token"
    return m.group(1)


def sign_in(client: Any, username: str, password: str, **extra: Any) -> Any:
    """POST /login with the page's token; returns the response (303 on success)."""
    data = {"username": username, "password": password, "login_csrf": login_token(client), **extra}
    return client.post("/login", data=data, follow_redirects=False)


def user_headers(session: Any, username: str, role: str, unit_code: str, *, password: str = "correct-horse-9"
                 ) -> dict[str, str]:
    """A new user of `role` at `unit_code` (signing in with `password`) and the Authorization header of
    an API token of theirs."""
    from fangkong.kernel.auth import service as auth_service
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR

    auth_service.create_user(session, SYSTEM_ACTOR, username=username, role=role, unit_code=unit_code,
                             password=password)
    session.flush()
    _row, token = auth_service.create_token(session, SYSTEM_ACTOR, username=username)
    session.flush()
    return {"Authorization": f"Bearer {token}"}
