"""What a login writes into the session, and the one function that writes it.

Every login reaches the session through :func:`write_login`: a login with a
password (:func:`~flask_sessionauth.login_user`, HTTP Basic), a login
restored from the remember cookie, :func:`~flask_sessionauth.rebind_session`
and the test client. It writes the keys first and then renews the session
id, in that order, so that a session id a client held before the login never
carries it.
"""

from __future__ import annotations

import typing as t

from flask import current_app
from flask import g
from flask import request
from flask import session

from . import remember
from .config import lifetime
from .config import LOGIN_SESSION_KEYS
from .config import setting
from .extension import cancel_cookie_action
from .extension import get_manager
from .extension import set_cookie_action
from .extension import USER_KEY
from .mixins import session_token
from .protection import identify
from .protection import short_identifier
from .remember import CookieAction
from .signals import user_logged_in

#: The session key of a login's times while a session timeout is on:
#: ``"<login_at>:<seen_at>"``, when the login was made and when it was last
#: seen (to within the idle granularity), in whole Unix seconds. One string
#: rather than two numbers: every key costs Flask's session decoder a Python
#: call on every request, and this keeps the cookie smaller.
LIFETIME_KEY = "_lifetime"

if t.TYPE_CHECKING:
    from flask import Flask
    from flask import Request
    from flask.sessions import SessionMixin

    from .manager import LoginManager


def write_login(
    app: Flask,
    sess: SessionMixin,
    keys: t.Mapping[str, object],
    *,
    replace: bool = True,
) -> None:
    """Write a login into ``sess``, then give a server-side session a new id.

    :param keys: The login's session keys. A key whose value is None is
        removed.
    :param replace: Drop what the session held of an earlier login first.
        False only when changing the login in place (rebinding it).

    The order matters: Flask-Session does not renew the id of a session it
    counts as empty, and a session is empty just before a login more often
    than not (after :meth:`~dict.clear`, after a logout, after a revoked login
    was dropped). Written first, the login makes it non-empty.
    """
    if replace:
        drop_login_keys(sess)
        # Flask-Session may have been set up after init_app checked this.
        check_store_lifetime(app)

    # One update, and deletions only of keys that are there: each call on a
    # Flask session runs Python code of its own.
    for key, value in keys.items():
        if value is None and key in sess:
            del sess[key]

    sess.update({key: value for key, value in keys.items() if value is not None})
    regenerate_session(app, sess)


def regenerate_session(app: Flask, sess: SessionMixin) -> None:
    """Give a server-side session a new id, where the session interface can
    (Flask-Session 0.7 and later): the old id's stored data is deleted, so an
    id known before a login is useless after it. Signed cookie sessions have
    no id to renew.
    """
    regenerate = getattr(app.session_interface, "regenerate", None)

    if callable(regenerate):
        regenerate(sess)


def check_store_lifetime(app: Flask) -> None:
    """Check that a server-side session store keeps a session for as long as
    the idle timeout needs: Flask-Session stores each session for
    ``PERMANENT_SESSION_LIFETIME`` after it was last written, and a session
    in use is written at least once per idle granularity.

    :raises ValueError: ``PERMANENT_SESSION_LIFETIME`` is shorter than
        ``SESSION_IDLE_TIMEOUT`` plus the idle granularity.
    """
    if not callable(getattr(app.session_interface, "regenerate", None)):
        return

    settings = lifetime(app.config)

    if settings is None or settings.idle is None:
        return

    needed = settings.idle + settings.granularity
    stored_for = app.permanent_session_lifetime.total_seconds()

    if stored_for < needed:
        raise ValueError(
            f"PERMANENT_SESSION_LIFETIME ({stored_for:g} seconds) is shorter"
            f" than SESSION_IDLE_TIMEOUT plus SESSION_IDLE_GRANULARITY"
            f" ({needed:g} seconds): the server-side session store would drop"
            " sessions before the idle timeout ends them. Set"
            f" app.config['PERMANENT_SESSION_LIFETIME'] = timedelta(seconds={needed:g})"
            " or longer (SESSION_ABSOLUTE_TIMEOUT still ends every login on"
            " time, however long the store keeps it)."
        )


def drop_login_keys(sess: SessionMixin) -> None:
    """Remove every key of a login from ``sess``; other keys stay."""
    for key in LOGIN_SESSION_KEYS.intersection(sess):
        del sess[key]


def login_state(
    app: Flask,
    req: Request,
    user: t.Any,
    *,
    fresh: bool,
    remember_seconds: float | None = None,
) -> dict[str, t.Any]:
    """The session keys that a login of ``user`` from ``req`` writes."""
    manager = get_manager(app)
    token = session_token(user)
    settings = lifetime(app.config)
    now = None if settings is None else int(manager.clock())
    return {
        "_user_id": getattr(user, manager.id_attribute)(),
        "_fresh": fresh,
        "_id": short_identifier(identify(req, manager.identifier_generator)),
        "_fresh_at": fresh_stamp(app, manager) if fresh else None,
        "_token_sig": (
            None
            if token is None
            else remember.keyring(app.config, manager.clock).sign_token(token)
        ),
        "_remember_seconds": remember_seconds,
        LIFETIME_KEY: None if now is None else lifetime_stamp(now, now),
    }


def lifetime_stamp(login_at: int, seen_at: int) -> str:
    """The :data:`LIFETIME_KEY` value of a login made at ``login_at`` and last
    seen at ``seen_at``.
    """
    return f"{login_at}:{seen_at}"


def read_lifetime_stamp(value: object) -> tuple[int, int] | None:
    """The ``(login_at, seen_at)`` of a :data:`LIFETIME_KEY` value, or None
    when it is not two whole numbers (the caller judges whether they are
    plausible times).
    """
    if type(value) is not str:
        return None

    login_at, _, seen_at = value.partition(":")

    try:
        return int(login_at), int(seen_at)
    except ValueError:  # not numbers, or too long to be
        return None


def fresh_stamp(app: Flask, manager: LoginManager) -> int | None:
    """The ``_fresh_at`` value of a fresh login made now, or None when the
    app has no freshness window: only such apps pay for the key in every
    session.
    """
    if setting(app.config, "FRESH_LOGIN_MAX_AGE") is None:
        return None

    return int(manager.clock())


def start_login(
    user: t.Any,
    *,
    fresh: bool = True,
    remember_seconds: float | None = None,
    set_cookie: bool = False,
) -> None:
    """Log ``user`` in to the current session: write the login, ask for the
    remember cookie to be set or for a stale one to be deleted, make ``user``
    the current user and send :data:`~flask_sessionauth.user_logged_in`.

    :param set_cookie: Issue a remember cookie for this login.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined,unused-ignore]
    state = login_state(
        app, request, user, fresh=fresh, remember_seconds=remember_seconds
    )
    write_login(app, session, state)

    if set_cookie:
        set_cookie_action(CookieAction.SET)
    elif setting(app.config, "REMEMBER_COOKIE_NAME") in request.cookies:
        # Whoever's cookie that is, it must not outlive this login.
        set_cookie_action(CookieAction.CLEAR)
    else:
        cancel_cookie_action()

    setattr(g, USER_KEY, user)
    user_logged_in.send(app, user=user)
