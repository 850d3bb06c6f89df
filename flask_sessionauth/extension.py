"""Where the extension keeps its state: the manager in ``app.extensions``,
and the per-request user and remember-cookie work on :data:`flask.g`.

Every other module finds the manager and the request's state through these
names, never through another module's private attributes.
"""

from __future__ import annotations

import typing as t

from flask import current_app
from flask import g
from flask import request

if t.TYPE_CHECKING:
    from flask.sansio.app import App

    from .manager import LoginManager
    from .remember import CookieAction

#: The key of the manager in ``app.extensions``.
EXTENSION_KEY = "sessionauth"
#: Where the current user is kept on :data:`flask.g` (flask-login's name, which
#: libraries built on flask-login read).
USER_KEY = "_login_user"
#: What a read of :data:`USER_KEY` gives while the request's user is not
#: loaded yet (None is a loaded user: an ``anonymous_user`` factory may
#: return it).
NOT_LOADED: t.Final = object()
#: Where pending remember-cookie work (a :class:`~.remember.CookieAction`) is
#: kept on :data:`flask.g`.
ACTION_KEY = "_sessionauth_cookie_action"
#: Set on :data:`flask.g` to ``(request, reason)``, the reason being
#: ``"idle"`` or ``"absolute"``, when the request's login just ended for its
#: age, so that :meth:`~flask_sessionauth.LoginManager.unauthorized` can say
#: why. With the request, because up to Flask 3.1 one g may serve several
#: requests (an app context pushed around them, in a test say).
EXPIRED_KEY = "_sessionauth_session_expired"


def get_manager(app: App | None = None) -> LoginManager:
    """The :class:`~flask_sessionauth.LoginManager` registered on ``app``, by
    default the current app.

    :raises RuntimeError: No manager is registered on the app.
    """
    if app is None:
        app = current_app._get_current_object()  # type: ignore[attr-defined,unused-ignore]

    try:
        return app.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]
    except KeyError:
        raise RuntimeError(
            "No LoginManager is registered on this app. Create one and call"
            " login_manager.init_app(app) in your app factory."
        ) from None


def set_cookie_action(action: CookieAction) -> None:
    """Ask for the remember cookie to be set, deleted or renewed on this
    request's response (by :func:`~.pipeline.after_request`).
    """
    setattr(g._get_current_object(), ACTION_KEY, action)


def cancel_cookie_action() -> None:
    """Withdraw remember-cookie work asked for earlier in the request."""
    g._get_current_object().pop(ACTION_KEY, None)


def expired_reason() -> str | None:
    """Why the current request's login just ended (``"idle"`` or
    ``"absolute"``), or None if it did not end for its age.
    """
    marked = g._get_current_object().get(EXPIRED_KEY)
    req = request._get_current_object()  # type: ignore[attr-defined,unused-ignore]

    if marked is None or marked[0] is not req:
        return None

    return marked[1]  # type: ignore[no-any-return]


def cookie_action() -> CookieAction | None:
    """The remember-cookie work asked for so far in this request."""
    return g._get_current_object().get(ACTION_KEY)  # type: ignore[no-any-return]
