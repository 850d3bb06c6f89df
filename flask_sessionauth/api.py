"""API clients: telling API requests from browsers, their JSON 401
responses, and reading HTTP Basic credentials.
"""

from __future__ import annotations

import functools
import logging
import typing as t

from flask import current_app
from flask import jsonify
from flask import request
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from .realms import realms

if t.TYPE_CHECKING:
    from flask import Request
    from werkzeug.wrappers import Response

logger = logging.getLogger("flask_sessionauth")

C = t.TypeVar("C", bound=t.Callable[..., t.Any])

#: Basic credentials longer than these are ignored unread, so that no client
#: makes a password check hash megabytes.
MAX_USERNAME_LENGTH = 1024
MAX_PASSWORD_LENGTH = 4096


def is_api_request() -> bool:
    """Whether the current request should get JSON errors rather than
    redirects: its view was marked with :func:`api_view`, its blueprint is in
    the :attr:`LoginManager.api_blueprints` of any realm, or it prefers JSON
    to HTML.

    .. versionadded:: 0.1.0
    """
    req = request._get_current_object()  # type: ignore[attr-defined,unused-ignore]
    app = current_app._get_current_object()  # type: ignore[attr-defined,unused-ignore]
    view = app.view_functions.get(req.endpoint or "")

    if view is not None and getattr(view, "_sessionauth_api", False):
        return True

    for manager in realms(app).values():
        api_blueprints = manager.api_blueprints

        if api_blueprints and any(name in api_blueprints for name in req.blueprints):
            return True

    accept = req.headers.get("Accept")

    if not accept:
        return False

    if len(accept) > MAX_REMEMBERED_ACCEPT_LENGTH:
        return _prefers_json.__wrapped__(accept)

    return _prefers_json(accept)


#: Accept headers longer than this are parsed every time rather than
#: remembered, so that no client can fill the memory with large keys.
MAX_REMEMBERED_ACCEPT_LENGTH = 512


# Browsers and API clients each send one of a few Accept headers, request
# after request, and parsing one costs more than the rest of a refused
# request's login work (benchmarks/README.md, "anonymous to a login_required
# view"); the answer depends on the header's text alone.
@functools.lru_cache(maxsize=256)
def _prefers_json(accept: str) -> bool:
    parsed = parse_accept_header(accept, MIMEAccept)
    return parsed.quality("application/json") > parsed.quality("text/html")


def api_view(view: C) -> C:
    """Mark a view as an API view: when its user must log in, it answers 401
    with a JSON body rather than redirecting to the login page.

    .. versionadded:: 0.1.0
    """
    view._sessionauth_api = True  # type: ignore[attr-defined]
    return view


def json_401(
    error: str,
    message: str,
    *,
    basic_realm: str | None,
    bearer_realm: str | None = None,
    bearer_error: str | None = None,
    status: int = 401,
    scope: str | None = None,
) -> Response:
    """A JSON error response, ``{"error": ..., "message": ...}``, 401 by
    default.

    :param basic_realm: Add ``WWW-Authenticate: Basic realm="..."`` with
        this realm (``SESSIONAUTH_BASIC_AUTH_REALM``), quoted.
    :param bearer_realm: Add an RFC 6750 challenge, ``WWW-Authenticate:
        Bearer realm="..."``, for an app that takes API tokens.
    :param bearer_error: The challenge's ``error``: ``"invalid_token"`` or
        ``"insufficient_scope"``.
    :param scope: The scopes the request lacked, for ``insufficient_scope``
        (also in the body).
    """
    body: dict[str, str] = {"error": error, "message": message}

    if scope is not None:
        body["scope"] = scope

    response = jsonify(body)
    response.status_code = status

    if basic_realm is not None:
        response.headers.add("WWW-Authenticate", f"Basic realm={_quote(basic_realm)}")

    if bearer_realm is not None:
        challenge = f"Bearer realm={_quote(bearer_realm)}"

        if bearer_error is not None:
            challenge += f", error={_quote(bearer_error)}"

        if scope is not None:
            challenge += f", scope={_quote(scope)}"

        response.headers.add("WWW-Authenticate", challenge)

    return response


def _quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def basic_credentials(req: Request) -> tuple[str, str] | None:
    """The username and password of the request's HTTP Basic
    ``Authorization`` header, parsed by Werkzeug, or None when there are
    none. A malformed header, an empty username and over-long values count
    as none.
    """
    try:
        auth = req.authorization
    except Exception:  # a malformed header is no header
        logger.debug("Ignored a malformed Authorization header.")
        return None

    if auth is None or auth.type != "basic":
        return None

    username = auth.username
    password = auth.password

    if not username or password is None:
        return None

    if len(username) > MAX_USERNAME_LENGTH or len(password) > MAX_PASSWORD_LENGTH:
        logger.debug("Ignored over-long Basic credentials.")
        return None

    return username, password
