"""Who is writing: a bearer token (API clients) or a login session (the pages), with CSRF
protection for every write a browser makes with its cookie.

Reading stays public. A write needs a user (``kgart users add``); with no user
configured the server is read-only. Flask signs the session cookie (HttpOnly,
SameSite=Lax) with a key kept in the users file; Flask-WTF checks the CSRF token
of every session-authenticated write and of the login form itself. Requests with
a bearer token carry no cookie authority, so they need no CSRF token.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, current_app, g, redirect, render_template, request, session
from flask_wtf.csrf import CSRFProtect
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Forbidden, Unauthorized

from kgart.errors import ConfigError
from kgart.users import User, Users

csrf = CSRFProtect()
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


def init_app(app: Flask, users: Users) -> None:
    try:
        app.secret_key = users.secret_key()
    except (OSError, ConfigError):
        app.secret_key = secrets.token_bytes(32)  # sessions then last as long as this process
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      WTF_CSRF_CHECK_DEFAULT=False, WTF_CSRF_TIME_LIMIT=12 * 3600,
                      WTF_CSRF_SSL_STRICT=False)
    app.extensions["kgart_users"] = users
    csrf.init_app(app)

    @app.context_processor
    def signed_in() -> dict[str, object]:
        user = session_user()
        return {"user": user, "writable": users.configured}


def users() -> Users:
    return current_app.extensions["kgart_users"]


def session_user() -> User | None:
    name = session.get("user")
    return users().get(name) if isinstance(name, str) else None


def current_user() -> User | None:
    """The user behind this request: its bearer token, else its session; ``None`` when anonymous.

    :raises Unauthorized: for a malformed or unknown bearer token.
    """
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("send Authorization: Bearer <token> (kgart users add NAME prints one)")
        user = users().by_token(token.strip())
        if user is None:
            raise _unauthorized("this token belongs to no user", error="invalid_token")
        g.kgart_auth = "bearer"
        return user
    user = session_user()
    if user is not None:
        g.kgart_auth = "session"
    return user


def require_writer() -> User:
    """The user allowed to write now; a browser session's write must carry its CSRF token.

    :raises Forbidden: when the server has no users (read-only).
    :raises Unauthorized: when nobody is signed in.
    """
    if not users().configured:
        raise Forbidden("this server is read-only: no users are configured (kgart users add NAME)")
    user = current_user()
    if user is None:
        raise _unauthorized("writing needs a user: Authorization: Bearer <token>, or log in at /login")
    if g.get("kgart_auth") == "session" and request.method in UNSAFE:
        csrf.protect()
    return user


def may_change(user: User, creator: str | None) -> None:
    """A user changes their own annotations; an editor anyone's."""
    if not user.editor and creator != user.iri:
        raise Forbidden("only its creator or an editor may change this annotation")


def _unauthorized(message: str, error: str = "invalid_request") -> Unauthorized:
    return Unauthorized(message, www_authenticate=WWWAuthenticate("Bearer", {"realm": "kgart", "error": error}))


def auth_blueprint() -> Blueprint:
    bp = Blueprint("auth", __name__)
    bp.add_url_rule("/login", view_func=login, methods=["GET", "POST"])
    bp.add_url_rule("/logout", view_func=logout, methods=["POST"])
    return bp


def _local(target: str) -> str:
    """Where to go after logging in: a path on this server only (no open redirect)."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/review/"
    return target


def login() -> Response | tuple[str, int]:
    message = ""
    next_page = _local(request.values.get("next", "/review/"))
    if request.method == "POST":
        csrf.protect()
        name = request.form.get("name", "").strip()[:64]
        user = users().login(name, request.form.get("token", "").strip()[:200])
        if user is not None:
            session.clear()
            session["user"] = user.name
            return redirect(next_page, code=303)  # type: ignore[return-value]
        message = "That name and token do not match a user."
    status = 401 if message else 200
    return render_template("login.html", message=message, next=next_page,
                           writable=users().configured), status


def logout() -> Response:
    csrf.protect()
    session.clear()
    return redirect("/", code=303)  # type: ignore[return-value]
