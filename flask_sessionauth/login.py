"""Logging users in and out, keeping a login through a change of the user's
session token, and what a view may ask of the current login.
"""

from __future__ import annotations

import hmac
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
from .mixins import session_token
from .protection import identify
from .protection import short_identifier
from .remember import CookieAction
from .remember import KeyMatch
from .session_state import drop_login_keys
from .session_state import fresh_stamp
from .session_state import start_login
from .session_state import write_login
from .signals import user_logged_out
from .signals import user_login_confirmed

if t.TYPE_CHECKING:
    from flask.sansio.app import App

    from .manager import LoginManager
    from .remember import Keyring


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


def rebind_session(user: t.Any = None) -> None:
    """Bind the current session to ``user``'s current session token, by
    default the current user's. Call it after changing the token (after a
    password change, say) so that this session stays logged in while every
    other session and remember cookie of the user is refused. Without a login
    in the session (a user from a request loader, say) it does nothing.

    The session's login is checked first, as on any request: call it in a
    view that has loaded the user (any view under
    :func:`~flask_sessionauth.login_required` has) before the token changed,
    or the change itself revokes the login it was meant to keep.

    The remember cookie the request carries is re-issued, bound to the new
    token and with the duration it was issued for, only when it belongs to
    the same login: a cookie of this user bound to the token the session was
    bound to, or to the new one, or an unbound cookie while
    ``ACCEPT_UNBOUND_SESSIONS`` is true. A cookie of this user bound to an
    older, revoked token is deleted; another user's cookie is left alone. A
    server-side session gets a new id.

    :raises RuntimeError: Nobody is logged in, or ``user`` is not the user
        logged in to this session.

    .. versionadded:: 0.1.0

    .. versionchanged:: 0.2.0
        A remember cookie bound to a revoked token is deleted rather than
        re-issued.
    """
    manager = get_manager()
    app = current_app._get_current_object()  # type: ignore[attr-defined,unused-ignore]
    sess = session._get_current_object()  # type: ignore[attr-defined,unused-ignore]
    claimed = sess.get("_user_id")
    claimed_binding = sess.get("_token_sig")
    # Loads the user if the view has not: the session's login is checked
    # (protection, revocation) before it is bound to anything new.
    current = get_user()

    if user is None:
        user = current

    if not user.is_authenticated:
        raise RuntimeError(
            "rebind_session() needs a logged-in user. Call it after"
            " login_user(), or pass the user."
        )

    user_id = str(getattr(user, manager.id_attribute)())
    bound_id = sess.get("_user_id")

    if bound_id is None:
        if (
            claimed is not None
            and str(claimed) == user_id
            and _token_changed(app, manager.clock, user, claimed_binding)
        ):
            raise RuntimeError(
                "rebind_session() found the session's login already revoked:"
                " the user's session token changed before the login was"
                " checked. Read current_user (or decorate the view with"
                " login_required) before changing the token, then call"
                " rebind_session()."
            )

        # The user came from a request loader or Basic credentials without
        # a login session: there is no session to bind.
        return

    if str(bound_id) != user_id:
        raise RuntimeError(
            "rebind_session() was given a user who is not the one logged in"
            " to this session. Use login_user() to log a user in."
        )

    keyring = remember.keyring(app.config, manager.clock)
    token = session_token(user)
    previous = sess.get("_token_sig")
    keys: dict[str, object] = {
        "_token_sig": None if token is None else keyring.sign_token(token)
    }
    cookie = None

    if cookie_action() is not CookieAction.CLEAR:
        value = request.cookies.get(setting(app.config, "REMEMBER_COOKIE_NAME"))
        cookie = remember.read(app.config, manager.clock, value)

    if cookie is not None and cookie.user_id != str(bound_id):
        cookie = None  # another user's cookie: not this login's to renew

    follows = cookie is not None and _follows(
        app, keyring, cookie.token_signature, previous, token
    )

    if follows:
        assert cookie is not None

        if cookie.seconds is not None:
            keys["_remember_seconds"] = cookie.seconds

    # A credential change is a new login as far as fixation goes.
    write_login(app, sess, keys, replace=False)

    if follows:
        set_cookie_action(CookieAction.SET)
    elif cookie is not None:
        set_cookie_action(CookieAction.CLEAR)


def _token_changed(
    app: App, clock: t.Callable[[], float], user: t.Any, signature: object
) -> bool:
    """Whether a login bound by ``signature`` ended because ``user``'s token
    changed, rather than for another reason (protection, its age).
    """
    token = session_token(user)

    if token is None or not isinstance(signature, str):
        return False

    keyring = remember.keyring(app.config, clock)
    return keyring.verify_token(token, signature) is KeyMatch.NONE


def _follows(
    app: App,
    keyring: Keyring,
    signature: str | None,
    previous: object,
    token: str | None,
) -> bool:
    """Whether a remember cookie bound by ``signature`` belongs to the login
    being rebound: the session's login was bound by ``previous`` and the
    user's token is now ``token``.
    """
    if token is None:
        return True  # nothing to revoke it by

    if signature is None:
        return bool(setting(app.config, "ACCEPT_UNBOUND_SESSIONS"))

    if isinstance(previous, str) and hmac.compare_digest(
        signature.encode(), previous.encode()
    ):
        return True

    return keyring.verify_token(token, signature) is not KeyMatch.NONE
