"""Logging users in and out, and what a view may ask of the current login.

Every login a user starts (:func:`login_user`, HTTP Basic) goes through
:func:`start_login`, which writes it with
:meth:`~.session_login.SessionLogin.write`.
"""

from __future__ import annotations

import typing as t
from datetime import timedelta

from flask import abort
from flask import current_app

from . import registry
from . import remember
from .config import remember_seconds
from .config import seconds
from .config import setting
from .lifetime import new_stamp
from .mixins import session_token
from .protection import identify
from .protection import short_identifier
from .realms import get_manager
from .realms import realms
from .request_login import CookieWork
from .request_login import current_login
from .signals import user_logged_in
from .signals import user_logged_out
from .signals import user_login_confirmed
from .signing import keyring

if t.TYPE_CHECKING:
    from .manager import LoginManager
    from .request_login import RequestLogin
    from .session_login import Field


def login_user(
    user: t.Any,
    remember: bool = False,
    duration: timedelta | None = None,
    force: bool = False,
    fresh: bool = True,
    *,
    realm: str | None = None,
) -> bool:
    """Log ``user`` in for the rest of the session.

    :param user: The user to log in.
    :param remember: Also set the remember cookie, so the login outlives the
        session.
    :param duration: How long the remember cookie lasts; defaults to
        ``REMEMBER_COOKIE_DURATION``.
    :param force: Log the user in even if ``user.is_active`` is false.
    :param fresh: Mark the login fresh (for :func:`fresh_login_required`).
    :param realm: The realm to log the user in to; by default the default
        realm. Logins in other realms stay.
    :return: True, or False when the user is inactive and not forced, or
        when the realm's login registry refuses another login of the user
        (``SESSIONAUTH_MAX_SESSIONS_POLICY = "refuse"``).
    :raises TypeError: ``duration`` is not a :class:`~datetime.timedelta`.
    :raises ValueError: ``duration`` is not positive, or over 100 years.
    :raises UnknownRealmError: ``realm`` is not registered on the app.
    :raises werkzeug.exceptions.ServiceUnavailable: The realm's login
        registry cannot be reached (a 503 response).

    Each call starts a new login: a server-side session gets a new id
    (session fixation), what the session held of an earlier login is dropped,
    and a remember cookie is deleted unless ``remember`` renews it. A user
    with a session token (see :ref:`revocation`) has the session bound to it.

    .. versionchanged:: 0.1.0
        Regenerates server-side session ids, drops earlier login state and
        binds the session to the user's session token.

    .. versionchanged:: 0.2.0
        Added ``realm``.
    """
    login = current_login(realm)

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

    return start_login(
        login,
        user,
        fresh=fresh,
        remember_seconds=cookie_seconds,
        set_cookie=remember,
    )


def start_login(
    login: RequestLogin,
    user: t.Any,
    *,
    fresh: bool = True,
    remember_seconds: float | None = None,
    set_cookie: bool = False,
    method: str = "form",
) -> bool:
    """Log ``user`` in to ``login``'s session: end the record of the login
    it replaces, write the login, settle the remember cookie (issue one, or
    delete the one the request sent), make ``user`` the request's user and
    send :data:`~flask_sessionauth.user_logged_in`.

    :param set_cookie: Issue a remember cookie for this login.
    :param method: How the user logged in, for the login's record.
    :return: True, or False when the realm's login registry refuses the
        login (``SESSIONAUTH_MAX_SESSIONS``).
    """
    app = login.app

    if login.manager.registry is not None and login.stored.exists:
        registry.end_session_record(login, "replaced")

    fields = new_login(
        login,
        user,
        fresh=fresh,
        remember_seconds=remember_seconds,
        method=method,
        remember_for=(
            remember.duration(login.config, remember_seconds) if set_cookie else None
        ),
    )

    if fields is None:
        return False

    login.stored.write(app, fields)

    if set_cookie:
        login.settle_cookie(CookieWork.SET)
    elif setting(login.config, "REMEMBER_COOKIE_NAME") in login.request.cookies:
        # Whoever's cookie that is, it must not outlive this login.
        login.settle_cookie(CookieWork.CLEAR)
    else:
        login.settle_cookie(None)

    login.ended = None
    login.set_user(user)
    user_logged_in.send(app, user=user, **login.extra)
    return True


def new_login(
    login: RequestLogin,
    user: t.Any,
    *,
    fresh: bool,
    remember_seconds: float | None = None,
    method: str = "form",
    remember_for: float | None = None,
    login_id: str | None = None,
    resume: bool = False,
) -> dict[Field, object] | None:
    """The session values of a new login of ``user`` from ``login``'s
    request, in its realm, for :meth:`~.session_login.SessionLogin.write`.
    With a login registry, the login's record is made here (see
    :func:`.registry.start`).

    :param fresh: Whether the login is fresh (False for a login restored
        from the remember cookie, written as flask-login writes it).
    :param remember_seconds: The remember cookie's duration to keep in the
        session, when it is not the default.
    :param method: How the user logged in, for the record.
    :param remember_for: How long the remember cookie issued for the login
        lasts, or None when none is, for the record's expiry.
    :param login_id: With a registry, the secret of the login's record:
        with ``resume``, the active record a remember cookie restores the
        login of; without, the secret a new record is made under (a remember
        cookie whose record the store no longer has). None makes a new
        secret.
    :param resume: Go on with the record of ``login_id`` instead of making
        one.
    :return: The values, or None when the registry refuses the login
        (``SESSIONAUTH_MAX_SESSIONS``).
    """
    manager = login.manager
    config = login.config
    token = session_token(user)
    now = manager.clock()
    signature = None if token is None else keyring(config).sign_token(token)

    if manager.registry is None:
        login_id = None
    elif not resume:
        login_id = registry.start(
            login,
            user,
            method=method,
            token_signature=signature,
            remember_seconds=remember_for,
            secret=login_id,
        )

        if login_id is None:
            return None

    return {
        "user_id": getattr(user, manager.id_attribute)(),
        "fresh": fresh,
        "identifier": short_identifier(
            identify(login.request, manager.identifier_generator)
        ),
        "fresh_at": fresh_stamp(config, now) if fresh else None,
        "token_signature": signature,
        "remember_seconds": remember_seconds,
        "lifetime": new_stamp(config, now),
        "login_id": login_id,
    }


def fresh_stamp(config: t.Mapping[str, t.Any], now: float) -> int | None:
    """The ``_fresh_at`` value of a fresh login made at ``now``, or None when
    the app has no freshness window: only such apps pay for the key in every
    session.
    """
    if config.get("SESSIONAUTH_FRESH_LOGIN_MAX_AGE") is None:
        return None

    return int(now)


def logout_user(*, realm: str | None = None) -> bool:
    """Log the current user of ``realm`` (by default the default realm) out:
    remove the realm's login from the session and delete its remember
    cookie. Logins in other realms stay; :func:`logout_all` ends them all.
    Always returns True.

    With ``SESSIONAUTH_LOGOUT_CLEAR_SESSION`` set, the whole session is
    cleared, not only the keys this extension owns, and so every realm is
    logged out, as by :func:`logout_all`.

    :raises UnknownRealmError: ``realm`` is not registered on the app.

    .. versionchanged:: 0.1.0
        Removes every key the extension owns, deletes the remember cookie with
        the attributes it was set with, and cancels a remember cookie that
        :func:`login_user` asked for earlier in the same request.

    .. versionchanged:: 0.2.0
        Deletes the remember cookie whether or not the request carried it:
        a cookie with its own ``REMEMBER_COOKIE_PATH`` is not sent to a
        logout view outside that path.

    .. versionchanged:: 0.2.0
        Added ``realm``.
    """
    login = current_login(realm)

    if setting(login.app.config, "SESSIONAUTH_LOGOUT_CLEAR_SESSION"):
        return logout_all()

    end_login(login)
    return True


def logout_all() -> bool:
    """Log the current users of every realm registered on the app out, as
    :func:`logout_user` does for one. With
    ``SESSIONAUTH_LOGOUT_CLEAR_SESSION`` set, the whole session is cleared
    too. Always returns True.

    .. versionadded:: 0.2.0
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined,unused-ignore]
    logins = [current_login(realm) for realm in realms(app)]

    for login in logins:
        login.user  # noqa: B018 -- the user logging out, for the signal

    if setting(app.config, "SESSIONAUTH_LOGOUT_CLEAR_SESSION") and logins:
        logins[0].session.clear()

    for login in logins:
        end_login(login)

    return True


def end_login(login: RequestLogin) -> None:
    """Log ``login``'s user out: drop the realm's login from the session,
    delete its remember cookie, send
    :data:`~flask_sessionauth.user_logged_out` and make the request's user
    of the realm anonymous.
    """
    user = login.user
    record = login.record

    if record is not None and record.method == "token":
        # The request's login is an API token: it ends; the client's
        # session, another login, is left alone, and no cookie is touched.
        registry.end_current(login, "logout", user)
        user_logged_out.send(login.app, user=user, **login.extra)
        login.set_user(login.manager.anonymous_user())
        return

    if login.manager.registry is not None:
        if login.ended == "unavailable":
            # The login could not be checked, so its record cannot be found
            # to end: a logout now would leave copies of its cookies working.
            abort(503, "The login registry is unavailable. Please try again soon.")

        registry.end_session_record(login, "logout", user)

    login.stored.drop()
    login.settle_cookie(CookieWork.CLEAR)
    user_logged_out.send(login.app, user=user, **login.extra)
    login.set_user(login.manager.anonymous_user())


def confirm_login(*, realm: str | None = None) -> None:
    """Mark the current login of ``realm`` (by default the default realm)
    fresh again, after the user proved who they are (by re-entering their
    password, say).

    .. versionchanged:: 0.2.0
        Added ``realm``.
    """
    login = current_login(realm)
    manager = login.manager
    stored = login.stored
    stored.fresh = True
    stored.fresh_at = fresh_stamp(login.config, manager.clock())
    stored.identifier = short_identifier(
        identify(login.request, manager.identifier_generator)
    )
    user_login_confirmed.send(login.app, **login.extra)


def login_fresh(*, realm: str | None = None) -> bool:
    """Whether the current login is fresh: made by :func:`login_user` with
    ``fresh=True`` or confirmed by :func:`confirm_login`, rather than restored
    from the remember cookie, and not older than
    ``SESSIONAUTH_FRESH_LOGIN_MAX_AGE``.

    The request's user is loaded first, so that the answer is for a login
    that session protection and the session timeouts have judged.

    .. versionchanged:: 0.1.0
        Obeys ``SESSIONAUTH_FRESH_LOGIN_MAX_AGE``.

    .. versionchanged:: 0.2.0
        Loads the user first (review finding N5).

    .. versionchanged:: 0.2.0
        Added ``realm``.
    """
    login = current_login(realm)
    login.user  # noqa: B018 -- loading it runs protection and the timeouts
    record = login.record

    if record is not None and record.method == "token":
        # An API token proves no password now, whatever the client's
        # session holds.
        return False

    stored = login.stored

    if not stored.fresh:
        return False

    max_age = seconds(
        setting(login.config, "SESSIONAUTH_FRESH_LOGIN_MAX_AGE"),
        "SESSIONAUTH_FRESH_LOGIN_MAX_AGE",
    )

    if max_age is None:
        return True

    fresh_at = stored.fresh_at

    if not isinstance(fresh_at, int | float) or isinstance(fresh_at, bool):
        # A login from before the window existed: its age is unknown.
        return False

    return login.manager.clock() - fresh_at <= max_age


def login_remembered(*, realm: str | None = None) -> bool:
    """Whether the request carries a valid remember cookie of ``realm`` (by
    default the default realm): correctly signed, not expired, in an
    accepted format, and not being deleted by this response. As in
    flask-login, the cookie's user is not compared with the logged-in user.

    .. versionchanged:: 0.2.0
        Added ``realm``.
    """
    return remember.sent(current_login(realm)) is not None


def set_login_view(
    login_view: str, blueprint: t.Any = None, *, realm: str | None = None
) -> None:
    """Set the login view of the app, or of ``blueprint``, for ``realm`` (by
    default the default realm).

    Once a blueprint has its own login view, the app's moves into
    :attr:`LoginManager.blueprint_login_views` under the ``None`` key.

    .. versionchanged:: 0.2.0
        Added ``realm``.
    """
    manager: LoginManager = get_manager(realm=realm)

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
