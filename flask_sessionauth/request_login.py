"""The login of one request: :class:`RequestLogin`.

One object holds everything the extension knows about the current request's
login: the request's objects (taken from Flask's proxies once), the user once
loaded, the remember-cookie work the response owes and why a login ended. The
pipeline, the login functions, the decorators and the ``after_request`` hook
all read and write it; nothing else of the extension lives on :data:`flask.g`.

It belongs to its request. Up to Flask 3.1 one :data:`flask.g` may serve
several requests (an app context pushed at import, or around a test); the
object knows its request, and a request never takes over another's.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import typing as t
from uuid import UUID

from flask import current_app
from flask import g
from flask import request
from flask import session

from .config import MAX_USER_ID_LENGTH
from .config import realm_config
from .realms import get_manager
from .realms import NO_EXTRA
from .realms import signal_extra
from .session_login import SessionKeys
from .session_login import SessionLogin

if t.TYPE_CHECKING:
    from flask import Flask
    from flask import Request
    from flask.ctx import _AppCtxGlobals
    from flask.sessions import SessionMixin

    from .config import Config
    from .manager import Callback
    from .manager import LoginManager
    from .mixins import UserProtocol
    from .stores import LoginRecord

logger = logging.getLogger("flask_sessionauth")

#: Where the current request's user is kept on :data:`flask.g`: flask-login's
#: name, which code written for flask-login reads, and sometimes writes to
#: make someone the current user. A named realm's user is kept under this
#: name followed by ``.<realm>``.
USER_KEY = "_login_user"
#: Where the current request's :class:`RequestLogin` of the default realm
#: is kept on :data:`flask.g`.
LOGIN_KEY = "_sessionauth_login"
#: Where the current request's logins of named realms are kept on
#: :data:`flask.g`: a dict by realm, made when the request first touches a
#: named realm, so that a request that touches none pays nothing for them.
REALM_LOGINS_KEY = "_sessionauth_realm_logins"


class _NotLoaded:
    pass


#: What a read of the user gives while it is not loaded yet (None is a
#: loaded user: an ``anonymous_user`` factory may return it).
NOT_LOADED: t.Final = _NotLoaded()


class CookieWork(enum.IntEnum):
    """Remember-cookie work the response owes, weakest first.

    A login or a logout settles the cookie outright
    (:meth:`RequestLogin.settle_cookie`): what was asked before it no longer
    applies. Otherwise the strongest work asked for wins
    (:meth:`RequestLogin.owe_cookie`): deleting beats issuing, issuing beats
    re-issuing, re-issuing beats renewing.
    """

    #: Renew the cookie the client sent for another full duration, if it is
    #: still valid and the login's own (``REMEMBER_COOKIE_REFRESH_EACH_REQUEST``).
    REFRESH = 1
    #: Sign the cookie the client sent again (with the current key, bound to
    #: the current session token), keeping the expiry it had.
    REISSUE = 2
    #: Issue a cookie for the login the session holds, for the duration it
    #: asked for.
    SET = 3
    #: Delete the cookie.
    CLEAR = 4


class RequestLogin:
    """The login of one request. Get the current request's with
    :func:`current_login`.
    """

    __slots__ = (
        "app",
        "config",
        "cookie",
        "cookie_expires_at",
        "ended",
        "extra",
        "g",
        "loaded",
        "manager",
        "realm",
        "record",
        "request",
        "session",
        "stored",
        "user_key",
    )

    def __init__(
        self,
        manager: LoginManager,
        app: Flask,
        req: Request,
        sess: SessionMixin,
        state: _AppCtxGlobals,
    ) -> None:
        realm = manager.realm
        #: The login manager of the realm.
        self.manager = manager
        #: The realm's name, None for the default realm.
        self.realm = realm
        #: The app.
        self.app = app
        #: The app's config as the realm sees it (see
        #: ``realm_config``).
        self.config: Config = (
            app.config if realm is None else realm_config(app.config, realm)
        )
        #: The request this login belongs to.
        self.request = req
        #: The request's session.
        self.session = sess
        #: The request's :data:`flask.g`.
        self.g = state
        if realm is None:
            #: The realm's login the session holds.
            self.stored = SessionLogin(sess)
            #: Where the user is kept on ``g``.
            self.user_key = USER_KEY
            #: What signals about this login carry besides their own
            #: arguments: the realm, for a named realm; nothing for the
            #: default realm, whose signals are sent as flask-login sends them.
            self.extra = NO_EXTRA
        else:
            self.stored = SessionLogin(sess, SessionKeys.for_realm(realm))
            self.user_key = f"{USER_KEY}.{realm}"
            self.extra = signal_extra(realm)
        #: The user this object made the current user, for telling it from
        #: a user that code written for flask-login put on ``g`` itself.
        self.loaded: t.Any = NOT_LOADED
        #: The remember-cookie work the response owes, or None.
        self.cookie: CookieWork | None = None
        #: For :attr:`CookieWork.REISSUE`: when the re-issued cookie expires,
        #: in Unix seconds (the expiry of the cookie it replaces).
        self.cookie_expires_at: float | None = None
        #: Why the session's login ended in this request: ``"idle"`` or
        #: ``"absolute"`` (session lifetime), ``"protection"``,
        #: ``"revoked"``, ``"expired"`` (its login record is gone), or
        #: ``"unavailable"`` (the login registry could not be reached, and
        #: the login was not honoured); None if it did not.
        self.ended: str | None = None
        #: The login's record in the realm's login registry, once checked or
        #: made in this request; None without a registry.
        self.record: LoginRecord | None = None

    @property
    def user(self) -> UserProtocol:
        """The user of the request, found on first use by
        :meth:`LoginManager.find_user` and kept for the rest of the request.
        """
        user = self.g.__dict__.get(self.user_key, NOT_LOADED)

        if user is NOT_LOADED:
            user = self.manager.find_user(self)

        return user  # type: ignore[no-any-return]

    def set_user(self, user: t.Any) -> None:
        """Make ``user`` the user of the request."""
        self.loaded = user
        self.g.__dict__[self.user_key] = user

    def owe_cookie(self, work: CookieWork, expires_at: float | None = None) -> None:
        """Ask for remember-cookie work on the response, unless stronger work
        is already owed (see :class:`CookieWork`).

        :param expires_at: For :attr:`CookieWork.REISSUE`, the expiry to keep.
        """
        if self.cookie is None or work >= self.cookie:
            self.cookie = work
            self.cookie_expires_at = expires_at

    def settle_cookie(
        self, work: CookieWork | None, expires_at: float | None = None
    ) -> None:
        """Decide the remember-cookie work outright, whatever was asked
        before: a login or a logout states the login anew.
        """
        self.cookie = work
        self.cookie_expires_at = expires_at

    def end(self, reason: str) -> None:
        """End the session's login: remove it from the session, and make the
        request remember why.
        """
        self.stored.drop()
        self.ended = reason

    def load_user(self, user_id: object) -> t.Any:
        """The user the user loader gives for a stored ``user_id``, or None
        when there is no loader, the id is not one a session may hold (a
        str, or the int or UUID a ``get_id()`` returned), or nobody has it.
        """
        loader = self.manager.loaders.user

        if loader is None:
            return None

        if type(user_id) is str:
            if not user_id or len(user_id) > MAX_USER_ID_LENGTH:
                return None
        elif isinstance(user_id, bool) or not isinstance(user_id, int | UUID):
            logger.debug("Ignored a stored user id of %s.", type(user_id))
            return None

        # Like flask-login, an int or UUID id that get_id() returned reaches
        # the loader as it was stored.
        return self.call(loader, user_id)

    def call(self, callback: Callback, *args: t.Any) -> t.Any:
        """Call a loader, running it to completion if it is ``async``."""
        if callback.is_async:
            _refuse_inside_event_loop()
            return self.app.ensure_sync(callback.function)(*args)

        return callback.function(*args)


def current_login(realm: str | None = None) -> RequestLogin:
    """The :class:`RequestLogin` of ``realm`` (by default the default realm)
    in the current request, made on first use.

    :raises RuntimeError: Called outside a request, or no manager is
        registered on the app for the default realm.
    :raises UnknownRealmError: No manager is registered for ``realm``.
    """
    try:
        req = request._get_current_object()  # type: ignore[attr-defined,unused-ignore]
    except RuntimeError:
        raise RuntimeError(
            "current_user is only available while handling a request. In a"
            " test, use app.test_request_context() or the test client; in a"
            " CLI command or background job, load the user yourself."
        ) from None

    state = g._get_current_object()

    if realm is None:
        login: RequestLogin | None = state.__dict__.get(LOGIN_KEY)
    else:
        login = state.__dict__.get(REALM_LOGINS_KEY, _NO_LOGINS).get(realm)

    if login is not None and login.request is req:
        return login

    app = current_app._get_current_object()  # type: ignore[attr-defined,unused-ignore]

    if login is not None:
        # This g served another request (an app context pushed around
        # several): the user that request loaded is not this one's.
        if state.__dict__.get(login.user_key, NOT_LOADED) is login.loaded:
            state.__dict__.pop(login.user_key, None)

    login = RequestLogin(
        get_manager(app, realm),
        app,
        req,
        session._get_current_object(),  # type: ignore[attr-defined,unused-ignore]
        state,
    )
    if realm is None:
        state.__dict__[LOGIN_KEY] = login
    else:
        state.__dict__.setdefault(REALM_LOGINS_KEY, {})[realm] = login

    return login


_NO_LOGINS: t.Mapping[str, RequestLogin] = {}


def _refuse_inside_event_loop() -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return

    raise RuntimeError(
        "An async loader cannot run inside a running event loop, such as the"
        " body of an async view. Decorate the view with login_required or"
        " fresh_login_required, which load the user before the view runs, or"
        " read current_user in a before_request function."
    )
