"""A small JSON API under ``/api``.

A client authenticates with the session cookie, the remember cookie, HTTP
Basic credentials, or an API token from the API tokens page
(``api_tokens.py``) sent as ``Authorization: Bearer <token>``. A successful
Basic request also sets the session cookie (``SESSIONAUTH_BASIC_AUTH_LOGIN``),
so a client may send its password once and the cookie after that; a token
request sets no cookie, and is decided by the token alone.

An unauthenticated request gets a 401 JSON body with two challenges,
``WWW-Authenticate: Basic realm="example_app"`` and ``Bearer
realm="example_app"`` (the realm is ``SESSIONAUTH_BASIC_AUTH_REALM``),
because this blueprint is listed in :attr:`LoginManager.api_blueprints`; an
unknown, expired or revoked token gets 401 ``invalid_token``.

Scopes
------

A token does only what its scopes allow: ``GET /api/me`` needs ``read``,
``POST /api/deploy`` needs ``deploy`` (:func:`scope_required`). A token
without the scope gets 403 ``insufficient_scope``. Scopes limit tokens, not
users: a session or Basic login passes every scope check.

Why the API needs no CSRF token
-------------------------------

The blueprint is exempt from :class:`~flask_wtf.csrf.CSRFProtect`, because
API clients have no form to take a token from. What stops another site from
making a logged-in browser change something here is that every request that
changes state must say ``Content-Type: application/json``:

- A cross-site HTML form can only send ``application/x-www-form-urlencoded``,
  ``multipart/form-data`` or ``text/plain``. Those get 415 here, before the
  view runs.
- A script on another site can set ``application/json`` only through
  ``fetch`` or ``XMLHttpRequest``, and for that content type the browser first
  sends a CORS preflight (``OPTIONS``). This app answers no preflight with
  ``Access-Control-Allow-Origin``, so the browser never sends the real
  request.

The session and remember cookies are also ``SameSite=Lax``, so browsers leave
them off cross-site POSTs anyway. The content-type rule still matters: it
also covers Basic credentials, which browsers cache and send on their own.

If you add CORS to this app, allow only origins you trust, or this reasoning
no longer holds.
"""

from __future__ import annotations

import typing as t

from flask import Blueprint
from flask import jsonify
from flask import request

from flask_sessionauth import current_user
from flask_sessionauth import login_required
from flask_sessionauth import logout_user
from flask_sessionauth import rebind_session
from flask_sessionauth import scope_required

from .devices import sends_api_token
from .models import get_current_user
from .models import password_problem

if t.TYPE_CHECKING:
    from flask import Response
    from flask.typing import ResponseReturnValue

bp = Blueprint("api", __name__, url_prefix="/api")

#: Methods that change state, and so must send a JSON body.
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def error(status: int, code: str, message: str) -> tuple[Response, int]:
    """A JSON error response in the shape flask-sessionauth uses for 401."""
    return jsonify(error=code, message=message), status


@bp.before_request
def require_json() -> ResponseReturnValue | None:
    """Refuse a state-changing request whose body is not JSON. This is the
    CSRF defence of the API; see the module docstring.
    """
    if request.method in UNSAFE_METHODS and not request.is_json:
        return error(
            415,
            "unsupported_media_type",
            "Send the request with Content-Type: application/json.",
        )

    return None


#: The longest ``ref`` a deploy takes.
MAX_REF_LENGTH = 100


@bp.get("/me")
@login_required
@scope_required("read")
def me() -> ResponseReturnValue:
    user = get_current_user()
    return {"id": user.id, "username": user.username}


@bp.post("/deploy")
@login_required
@scope_required("deploy")
def deploy() -> ResponseReturnValue:
    """Start a deploy (pretend to): ``{"ref": "v1.2"}``, ``"main"`` by
    default. A token needs the ``deploy`` scope.
    """
    data = request.get_json(silent=True)

    if not isinstance(data, dict):
        return error(400, "bad_request", "Send a JSON object.")

    ref = data.get("ref", "main")

    if not isinstance(ref, str) or not 0 < len(ref) <= MAX_REF_LENGTH:
        return error(
            400, "bad_request", f"ref: a string of 1 to {MAX_REF_LENGTH} characters."
        )

    return {"status": "deploying", "ref": ref, "by": get_current_user().username}, 202


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """Log out: clears the session login and the remember cookie. Logging out
    while logged out is not an error. A request that sends an API token ends
    that token: it is revoked, as on the API tokens page.
    """
    if current_user.is_authenticated:
        logout_user()

    return "", 204


@bp.post("/password")
@login_required
def change_password() -> ResponseReturnValue:
    """Change the password: ``{"old_password": ..., "new_password": ...}``.

    Asking for the old password is the proof of presence here that a fresh
    login is on the settings page. Every other session and remember cookie of
    the user stops working, and so does every API token; this session is
    rebound and stays logged in. An API token may not change the password
    (403), whatever its scopes: that is for the user, not for a script.
    """
    if sends_api_token():
        return error(403, "forbidden", "An API token cannot change the password.")

    data = request.get_json(silent=True)

    if not isinstance(data, dict):
        return error(400, "bad_request", "Send a JSON object.")

    old_password = data.get("old_password")
    new_password = data.get("new_password")

    if not isinstance(old_password, str) or not isinstance(new_password, str):
        return error(
            400,
            "bad_request",
            "Send old_password and new_password, both strings.",
        )

    problem = password_problem(new_password)

    if problem is not None:
        return error(400, "bad_request", f"new_password: {problem}")

    user = get_current_user()

    if not user.check_password(old_password):
        return error(403, "forbidden", "old_password is not the current password.")

    user.set_password(new_password)
    rebind_session()
    return "", 204
