"""``flask_login.utils``: the login functions and decorators, and the private
helpers that libraries built on flask-login call, as thin wrappers over the
public core.
"""

from __future__ import annotations

import typing as t

from flask import current_app
from flask import has_request_context
from flask import request

from ...current import current_user as current_user
from ...current import user_context_processor
from ...decorators import fresh_login_required as fresh_login_required
from ...decorators import login_required as login_required
from ...login import confirm_login as confirm_login
from ...login import login_fresh as login_fresh
from ...login import login_remembered as login_remembered
from ...login import login_user as login_user
from ...login import logout_user as logout_user
from ...login import set_login_view as set_login_view
from ...protection import create_identifier
from ...remember import decode_cookie as decode_cookie
from ...remember import encode_cookie as encode_cookie
from ...request_login import current_login
from ...signing import secret_keys
from ...urls import expand_login_view as expand_login_view
from ...urls import login_url as login_url
from ...urls import make_next_param as make_next_param
from .config import COOKIE_NAME as COOKIE_NAME
from .config import EXEMPT_METHODS as EXEMPT_METHODS
from .signals import user_logged_in as user_logged_in
from .signals import user_logged_out as user_logged_out
from .signals import user_login_confirmed as user_login_confirmed

if t.TYPE_CHECKING:
    from ...mixins import UserProtocol


def _get_user() -> UserProtocol | None:
    """The current user, loaded on first use; None outside a request, as in
    flask-login (where :data:`current_user` itself raises).
    """
    if not has_request_context():
        return None

    return current_login().user


def _create_identifier() -> str:
    """The session-protection identifier of the current request's client,
    from ``request.remote_addr`` and the ``User-Agent`` header.
    """
    return create_identifier()


def _get_remote_addr() -> str | None:
    """``request.remote_addr``. flask-login returned the first address of
    ``X-Forwarded-For`` when a client sent one, which any client can forge;
    behind a proxy, apply :class:`werkzeug.middleware.proxy_fix.ProxyFix`.
    """
    return request.remote_addr


def _user_context_processor() -> dict[str, t.Any]:
    """The template context holding ``current_user``."""
    return user_context_processor()


def _secret_key(key: str | bytes | None = None) -> bytes:
    """``key``, or the app's ``SECRET_KEY``, as bytes: the key flask-login's
    remember-cookie digest (:func:`encode_cookie`) is made with.

    :raises RuntimeError: ``key`` is None and ``SECRET_KEY`` is not set.
    """
    found: str | bytes = secret_keys(current_app.config)[-1] if key is None else key

    if isinstance(found, bytes):
        return found

    # flask-login encodes a str key as latin-1; encode_cookie falls back to
    # UTF-8 for keys latin-1 cannot encode, and so does this.
    try:
        return found.encode("latin-1")
    except UnicodeEncodeError:
        return found.encode("utf-8")


def _cookie_digest(payload: str, key: str | bytes | None = None) -> str:
    """The HMAC-SHA512 hex digest of ``payload`` in flask-login's
    remember-cookie format, the part of :func:`encode_cookie` after ``|``.
    """
    return encode_cookie(payload, _secret_key(key)).rpartition("|")[2]
