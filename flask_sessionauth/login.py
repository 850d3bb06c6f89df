"""The current user, and logging users in and out."""

from __future__ import annotations

import logging
import typing as t
from datetime import timedelta

from flask import current_app
from flask import g
from flask import has_request_context
from flask import request
from flask import session
from werkzeug.local import LocalProxy

from . import _ctx
from .config import remember_seconds
from .config import seconds
from .config import setting
from .manager import ACTION_KEY
from .manager import drop_login_keys
from .manager import get_manager
from .manager import regenerate_session
from .manager import session_token
from .manager import USER_KEY
from .protection import short_identifier
from .remember import CookieAction
from .signals import user_logged_in
from .signals import user_logged_out
from .signals import user_login_confirmed

if t.TYPE_CHECKING:
    from flask import Flask
    from flask import Request

    from .manager import LoginManager
    from .mixins import UserProtocol

logger = logging.getLogger("flask_sessionauth")


def _get_user() -> UserProtocol:
    contexts = _ctx.contexts()

    if contexts is None:
        raise RuntimeError(
            "current_user is only available while handling a request. In a"
            " test, use app.test_request_context() or the test client; in a"
            " CLI command or background job, load the user yourself."
        )

    app_ctx, ctx = contexts

    # A dict lookup, not getattr: the miss on the first call of a request
    # would otherwise cost an AttributeError.
    user = app_ctx.g.__dict__.get(USER_KEY)

    if user is None:
        user = get_manager(ctx.app)._load_user(app_ctx, ctx)

    return user  # type: ignore[no-any-return]


def _user_context_processor() -> dict[str, t.Any]:
    # The proxy, not the user: a template that never looks at current_user
    # costs no user load. Outside a request, flask-login gave None.
    return {"current_user": current_user if has_request_context() else None}


class _CurrentUserProxy(t.Protocol):
    """The type of :data:`current_user`: a user, as a proxy."""

    @property
    def is_authenticated(self) -> bool: ...

    @property
    def is_active(self) -> bool: ...

    @property
    def is_anonymous(self) -> bool: ...

    def get_id(self) -> str | None: ...

    def _get_current_object(self) -> UserProtocol: ...


#: The user of the current request: the logged-in user, or an instance of
#: :attr:`LoginManager.anonymous_user`. The user is loaded on first use and
#: kept for the rest of the request.
#:
#: It is typed as a :class:`UserProtocol`. To see your own user class, cast
#: once: ``current_user = t.cast(User, flask_sessionauth.current_user)``.
#:
#: .. versionchanged:: 0.1.0
#:     Outside a request it raises :exc:`RuntimeError` rather than standing
#:     for None (``bool(current_user)`` is still False there).
current_user: _CurrentUserProxy = LocalProxy(_get_user)  # type: ignore[assignment]


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

    manager = get_manager()
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    cookie_seconds: float | None = None

    if remember and duration is not None:
        # As in flask-login, duration only matters with remember.
        if not isinstance(duration, timedelta):
            raise TypeError(f"duration must be a datetime.timedelta, not {duration!r}.")

        cookie_seconds = remember_seconds(duration, "duration")

    sess = session._get_current_object()  # type: ignore[attr-defined]
    regenerate_session(app, sess)
    drop_login_keys(sess)
    sess.update(login_state(app, request, user, fresh=fresh))

    if remember:
        if cookie_seconds is not None:
            sess["_remember_seconds"] = cookie_seconds

        setattr(g, ACTION_KEY, CookieAction.SET)
    elif setting(app.config, "REMEMBER_COOKIE_NAME") in request.cookies:
        # Whoever's cookie that is, it must not outlive this login.
        setattr(g, ACTION_KEY, CookieAction.CLEAR)
    else:
        g.pop(ACTION_KEY, None)

    manager._update_request_context_with_user(user)
    user_logged_in.send(app, user=user)
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
    manager = get_manager()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    user = _get_user()
    sess = session._get_current_object()  # type: ignore[attr-defined]

    if setting(app.config, "LOGOUT_CLEAR_SESSION"):
        sess.clear()
    else:
        drop_login_keys(sess)

    if setting(app.config, "REMEMBER_COOKIE_NAME") in request.cookies:
        setattr(g, ACTION_KEY, CookieAction.CLEAR)
    else:
        g.pop(ACTION_KEY, None)

    user_logged_out.send(app, user=user)
    manager._update_request_context_with_user()
    return True


def confirm_login() -> None:
    """Mark the current login fresh again, after the user proved who they
    are (by re-entering their password, say).
    """
    manager = get_manager()
    sess = session._get_current_object()  # type: ignore[attr-defined]
    sess["_fresh"] = True
    stamp = _fresh_stamp(current_app, manager)

    if stamp is None:
        sess.pop("_fresh_at", None)
    else:
        sess["_fresh_at"] = stamp
    sess["_id"] = short_identifier(manager._identifier(request))
    user_login_confirmed.send(current_app._get_current_object())  # type: ignore[attr-defined]


def login_state(
    app: Flask, request: Request, user: t.Any, *, fresh: bool
) -> dict[str, t.Any]:
    """The session keys that a login of ``user`` from ``request`` writes."""
    manager = get_manager(app)
    state: dict[str, t.Any] = {
        "_user_id": getattr(user, manager.id_attribute)(),
        "_fresh": fresh,
        "_id": short_identifier(manager._identifier(request)),
    }

    stamp = _fresh_stamp(app, manager) if fresh else None

    if stamp is not None:
        state["_fresh_at"] = stamp

    token = session_token(user)

    if token is not None:
        state["_token_sig"] = manager._keyring(app).sign_token(token)

    return state


def _fresh_stamp(app: Flask, manager: LoginManager) -> int | None:
    """The ``_fresh_at`` value of a fresh login made now, or None when the
    app has no freshness window: only such apps pay for the key in every
    session.
    """
    if setting(app.config, "FRESH_LOGIN_MAX_AGE") is None:
        return None

    return int(manager.clock())


def login_fresh() -> bool:
    """Whether the current login is fresh: made by :func:`login_user` with
    ``fresh=True`` or confirmed by :func:`confirm_login`, rather than restored
    from the remember cookie, and not older than ``FRESH_LOGIN_MAX_AGE``.

    .. versionchanged:: 0.1.0
        Obeys ``FRESH_LOGIN_MAX_AGE``.
    """
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
    manager = get_manager()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    value = request.cookies.get(setting(app.config, "REMEMBER_COOKIE_NAME"))

    if g.get(ACTION_KEY) is CookieAction.CLEAR:
        return False

    return manager._read_remember_cookie(app, value) is not None


def rebind_session(user: t.Any = None) -> None:
    """Bind the current session to ``user``'s current session token, by
    default the current user's. Call it after changing the token (after a
    password change, say) so that this session stays logged in while every
    other session and remember cookie of the user is refused. Without a login
    in the session (a user from a request loader, say) it does nothing.

    A valid remember cookie of the same user that this request carries is
    re-issued bound to the new token, with its duration; any other cookie is
    left alone. A server-side session gets a new id.

    :raises RuntimeError: Nobody is logged in, or ``user`` is not the user
        logged in to this session.

    .. versionadded:: 0.1.0
    """
    if user is None:
        user = _get_user()

    if not user.is_authenticated:
        raise RuntimeError(
            "rebind_session() needs a logged-in user. Call it after"
            " login_user(), or pass the user."
        )

    manager = get_manager()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    sess = session._get_current_object()  # type: ignore[attr-defined]
    user_id = getattr(user, manager.id_attribute)()

    bound_id = sess.get("_user_id")

    if bound_id is None:
        # The user came from a request loader or Basic credentials without
        # a login session: there is no session to bind.
        return

    if str(bound_id) != str(user_id):
        raise RuntimeError(
            "rebind_session() was given a user who is not the one logged in"
            " to this session. Use login_user() to log a user in."
        )

    # A credential change is a new login as far as fixation goes.
    regenerate_session(app, sess)
    token = session_token(user)

    if token is None:
        sess.pop("_token_sig", None)
    else:
        sess["_token_sig"] = manager._keyring(app).sign_token(token)

    if g.get(ACTION_KEY) is CookieAction.CLEAR:
        return

    # Re-issue the client's remember cookie, bound to the new token, but only
    # a valid one of this user's: any other cookie must not become one.
    value = request.cookies.get(setting(app.config, "REMEMBER_COOKIE_NAME"))
    cookie = manager._read_remember_cookie(app, value)

    if cookie is not None and cookie.user_id == str(bound_id):
        if cookie.seconds is not None:
            sess["_remember_seconds"] = cookie.seconds

        setattr(g, ACTION_KEY, CookieAction.SET)


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
