"""Logging users in and out, and what a view may ask of the current login."""

from __future__ import annotations

import typing as t
from datetime import timedelta

from flask import current_app
from flask import g
from flask import request
from flask import session

from . import remember
from .config import lifetime
from .config import remember_seconds
from .config import seconds
from .config import setting
from .current import current_user as current_user
from .current import get_user
from .extension import cancel_cookie_action
from .extension import cookie_action
from .extension import get_manager
from .extension import set_cookie_action
from .extension import USER_KEY
from .protection import identify
from .protection import short_identifier
from .remember import CookieAction
from .session_state import drop_login_keys
from .session_state import fresh_stamp
from .session_state import start_login
from .signals import user_logged_out
from .signals import user_login_confirmed

if t.TYPE_CHECKING:
    from .manager import LoginManager


def login_user(
    user: t.Any,
    remember: bool = False,
    duration: timedelta | None = None,
    force: bool = False,
    fresh: bool = True,
) -> bool:
    """Log ``user`` in for the rest of the session.

    :param user: The user to log in.
    :param remember: Also set the remember cookie, so the login outlives the
        session.
    :param duration: How long the remember cookie lasts; defaults to
        ``REMEMBER_COOKIE_DURATION``.
    :param force: Log the user in even if ``user.is_active`` is false.
    :param fresh: Mark the login fresh (for :func:`fresh_login_required`).
    :return: True, or False when the user is inactive and not forced.
    :raises TypeError: ``duration`` is not a :class:`~datetime.timedelta`.
    :raises ValueError: ``duration`` is not positive, or over 100 years.

    Each call starts a new login: a server-side session gets a new id
    (session fixation), what the session held of an earlier login is dropped,
    and a remember cookie is deleted unless ``remember`` renews it. A user
    with a session token (see :ref:`revocation`) has the session bound to it.

    .. versionchanged:: 0.1.0
        Regenerates server-side session ids, drops earlier login state and
        binds the session to the user's session token.
    """
    if not force and not user.is_active:
        return False

    cookie_seconds: float | None = None

    if remember and duration is not None:
        # As in flask-login, duration only matters with remember.
        if not isinstance(duration, timedelta):
            # Begins with flask-login's words, which tests match on.
            raise TypeError(
                f"duration must be a datetime.timedelta, instead got: {duration}."
                " Pass, for example, duration=timedelta(days=14)."
            )

        cookie_seconds = remember_seconds(duration, "duration")

    start_login(user, fresh=fresh, remember_seconds=cookie_seconds, set_cookie=remember)
    return True


def logout_user() -> bool:
    """Log the current user out: remove the login from the session and
    delete the remember cookie. Always returns True.

    With ``LOGOUT_CLEAR_SESSION`` set, the whole session is cleared, not only
    the keys this extension owns.

    .. versionchanged:: 0.1.0
        Removes every key the extension owns, deletes the remember cookie with
        the attributes it was set with, and cancels a remember cookie that
        :func:`login_user` asked for earlier in the same request.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined,unused-ignore]
    user = get_user()
    sess = session._get_current_object()  # type: ignore[attr-defined,unused-ignore]

    if setting(app.config, "LOGOUT_CLEAR_SESSION"):
        sess.clear()
    else:
        drop_login_keys(sess)

    if setting(app.config, "REMEMBER_COOKIE_NAME") in request.cookies:
        set_cookie_action(CookieAction.CLEAR)
    else:
        cancel_cookie_action()

    user_logged_out.send(app, user=user)
    setattr(g, USER_KEY, get_manager(app).anonymous_user())
    return True


def confirm_login() -> None:
    """Mark the current login fresh again, after the user proved who they
    are (by re-entering their password, say).
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined,unused-ignore]
    manager = get_manager(app)
    sess = session._get_current_object()  # type: ignore[attr-defined,unused-ignore]
    sess["_fresh"] = True
    stamp = fresh_stamp(app, manager)

    if stamp is None:
        sess.pop("_fresh_at", None)
    else:
        sess["_fresh_at"] = stamp

    sess["_id"] = short_identifier(identify(request, manager.identifier_generator))
    user_login_confirmed.send(app)


def login_fresh() -> bool:
    """Whether the current login is fresh: made by :func:`login_user` with
    ``fresh=True`` or confirmed by :func:`confirm_login`, rather than restored
    from the remember cookie, and not older than ``FRESH_LOGIN_MAX_AGE``.

    .. versionchanged:: 0.1.0
        Obeys ``FRESH_LOGIN_MAX_AGE``.

    .. versionchanged:: 0.2.0
        With ``SESSION_IDLE_TIMEOUT`` or ``SESSION_ABSOLUTE_TIMEOUT`` set, loads
        the user first, so a login that outlived them is not fresh.
    """
    if session.get("_fresh") is not True:
        return False

    # A login that outlived the session timeouts is not fresh: loading the
    # user ends it, if the view has not loaded it yet.
    if lifetime(current_app.config) is not None:
        get_user()

        if session.get("_fresh") is not True:
            return False

    max_age = seconds(
        setting(current_app.config, "FRESH_LOGIN_MAX_AGE"), "FRESH_LOGIN_MAX_AGE"
    )

    if max_age is None:
        return True

    fresh_at = session.get("_fresh_at")

    if not isinstance(fresh_at, int | float) or isinstance(fresh_at, bool):
        # A login from before the window existed: its age is unknown.
        return False

    return get_manager().clock() - fresh_at <= max_age


def login_remembered() -> bool:
    """Whether the request carries a valid remember cookie (correctly
    signed, not expired, in an accepted format) that this response is not
    deleting. As in flask-login, the cookie's user is not compared with the
    logged-in user.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined,unused-ignore]

    if cookie_action() is CookieAction.CLEAR:
        return False

    value = request.cookies.get(setting(app.config, "REMEMBER_COOKIE_NAME"))
    return remember.read(app.config, get_manager(app).clock, value) is not None


def set_login_view(login_view: str, blueprint: t.Any = None) -> None:
    """Set the login view of the app, or of ``blueprint``.

    Once a blueprint has its own login view, the app's moves into
    :attr:`LoginManager.blueprint_login_views` under the ``None`` key.
    """
    manager: LoginManager = get_manager()

    if blueprint is None and not manager.blueprint_login_views:
        manager.login_view = login_view
        return

    if blueprint is not None:
        manager.blueprint_login_views[blueprint.name] = login_view
    else:
        manager.blueprint_login_views[None] = login_view

    if manager.login_view is not None:
        manager.blueprint_login_views.setdefault(None, manager.login_view)

    manager.login_view = None
