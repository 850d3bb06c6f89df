"""Who the user of a request is.

The first use of :data:`~flask_sessionauth.current_user` in a request runs
:func:`run`, which tries the sources in this order and stops at the first
that gives a user:

1. :func:`from_session`: the login the session holds, after three steps
   that may end it, :func:`protect` (session protection),
   :func:`check_lifetime` (idle timeout and absolute lifetime) and
   :func:`check_binding` (revocation);
2. :func:`from_remember_cookie`: a valid remember cookie, after
   :func:`check_binding`; the login it restores is written to the session by
   :func:`~.session_state.write_login`, which renews the session id;
3. :func:`from_request_loader`: the app's request loader;
4. :func:`from_basic_auth`: HTTP Basic credentials, which log the user in
   through :func:`~.session_state.start_login` unless ``BASIC_AUTH_LOGIN``
   is false;
5. :func:`from_header`: the app's header loader;

and otherwise makes the anonymous user. The user is kept on :data:`flask.g`
for the rest of the request. A step that ends a login asks for the remember
cookie to be deleted, which also keeps source 2 from bringing it back;
:func:`check_lifetime` alone leaves the cookie be, so that "remember me" can
start a new login.

After the view, :func:`after_request` does the remember-cookie work the
request asked for (renewing the cookie is work the pipeline asks for when it
finds a session login while ``REMEMBER_COOKIE_REFRESH_EACH_REQUEST`` is on).
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
import typing as t
from uuid import UUID

from flask import current_app
from flask import g
from flask import request
from flask import session

from . import remember
from .api import basic_credentials
from .config import lifetime
from .config import MAX_CLOCK_SKEW
from .config import MAX_USER_ID_LENGTH
from .config import setting
from .extension import ACTION_KEY
from .extension import cookie_action
from .extension import EXPIRED_KEY
from .extension import get_manager
from .extension import NOT_LOADED
from .extension import set_cookie_action
from .extension import USER_KEY
from .mixins import session_token
from .protection import KEEP
from .protection import Verdict
from .protection import verdict
from .remember import CookieAction
from .remember import RememberCookie
from .revocation import binding
from .revocation import revoke
from .session_state import drop_login_keys
from .session_state import LIFETIME_KEY
from .session_state import lifetime_stamp
from .session_state import login_state
from .session_state import read_lifetime_stamp
from .session_state import start_login
from .session_state import write_login
from .signals import session_expired
from .signals import session_protected
from .signals import user_accessed
from .signals import user_loaded_from_cookie
from .signals import user_loaded_from_header
from .signals import user_loaded_from_request

if t.TYPE_CHECKING:
    from flask import Flask
    from flask import Request
    from flask.ctx import _AppCtxGlobals
    from flask.sessions import SessionMixin
    from werkzeug.wrappers import Response

    from .manager import LoginManager

logger = logging.getLogger("flask_sessionauth")


@dataclasses.dataclass(slots=True)
class Visit:
    """The objects of the current request that the sources work on, looked
    up once through Flask's proxies.
    """

    manager: LoginManager
    app: Flask
    session: SessionMixin
    request: Request
    g: _AppCtxGlobals

    @classmethod
    def current(cls, manager: LoginManager) -> Visit:
        """The visit of the current request."""
        return cls(
            manager,
            current_app._get_current_object(),  # type: ignore[attr-defined,unused-ignore]
            session._get_current_object(),  # type: ignore[attr-defined,unused-ignore]
            request._get_current_object(),  # type: ignore[attr-defined,unused-ignore]
            g._get_current_object(),
        )

    def keyring(self) -> remember.Keyring:
        return remember.keyring(self.app.config, self.manager.clock)

    def call(self, callback: t.Callable[..., t.Any], *args: t.Any) -> t.Any:
        """Call a loader, running it to completion if it is ``async``."""
        try:
            is_async = _known_async[callback]
        except (KeyError, TypeError):  # not seen yet, or not hashable
            is_async = _is_async(callback)

        if is_async:
            _refuse_inside_event_loop()
            return self.app.ensure_sync(callback)(*args)

        return callback(*args)


def find(app: Flask, req: Request, state: _AppCtxGlobals) -> t.Any:
    """The user of ``req``: the one kept on ``state`` (the request's
    :data:`flask.g`), or else the one :func:`run` finds with ``app``'s
    manager. For callers that have already taken these objects from Flask's
    proxies.
    """
    user = state.__dict__.get(USER_KEY, NOT_LOADED)

    if user is NOT_LOADED:
        manager = get_manager(app)
        sess = session._get_current_object()  # type: ignore[attr-defined,unused-ignore]
        user = run(manager, Visit(manager, app, sess, req, state))

    return user


def run(manager: LoginManager, visit: Visit | None = None) -> t.Any:
    """Find the user of the current request, keep it on :data:`flask.g` and
    return it.

    :param visit: The request's objects, if the caller has them; by default
        they are looked up.
    :raises RuntimeError: No loader is registered.
    """
    loader = manager.user_callback

    if (
        loader is None
        and manager.request_callback is None
        and manager.header_callback is None
        and manager.basic_auth_callback is None
    ):
        raise RuntimeError(
            "Missing user_loader or request_loader. Decorate a function with"
            " @login_manager.user_loader that takes a user id and returns"
            " the user, or None (or register a request_loader)."
        )

    if visit is None:
        visit = Visit.current(manager)

    if user_accessed.receivers:
        user_accessed.send(visit.app)

    user = None

    # Protection guards logins; a session that holds none (only flashed
    # messages, say) has nothing to protect.
    if "_user_id" in visit.session:
        user = from_session(visit)

    if user is None and loader is not None:
        user = from_remember_cookie(visit)

    if user is None and manager.request_callback is not None:
        user = from_request_loader(visit)

    if user is None and manager.basic_auth_callback is not None:
        user = from_basic_auth(visit)

    if user is None and manager.header_callback is not None:
        user = from_header(visit)

    if user is None:
        user = manager.anonymous_user()
    elif (
        visit.app.config.get("REMEMBER_COOKIE_REFRESH_EACH_REQUEST")
        and "_user_id" in visit.session
    ):
        if visit.g.get(ACTION_KEY) is None:
            set_cookie_action(CookieAction.REFRESH)

    visit.g.__dict__[USER_KEY] = user
    return user


# The sources


def from_session(visit: Visit) -> t.Any:
    """The user of the login the session holds, if it survives protection,
    has not outlived the session timeouts and is still bound to the user's
    session token.
    """
    loader = visit.manager.user_callback

    if not protect(visit) or loader is None or not check_lifetime(visit):
        return None

    user_id = _valid_user_id(visit.session["_user_id"])

    if user_id is None:
        return None

    # Like flask-login, an int or UUID id that get_id() returned reaches the
    # loader as it was stored.
    user = visit.call(loader, user_id)

    if user is None or not check_binding(visit, user, visit.session.get("_token_sig")):
        return None

    return user


def from_remember_cookie(visit: Visit) -> t.Any:
    """The user a valid remember cookie names, logged in to the session as a
    login that is not fresh.
    """
    value = visit.request.cookies.get(setting(visit.app.config, "REMEMBER_COOKIE_NAME"))

    # A cookie another step has just condemned must not bring its login back.
    if value is None or visit.g.get(ACTION_KEY) is CookieAction.CLEAR:
        return None

    cookie = remember.read(visit.app.config, visit.manager.clock, value)
    loader = visit.manager.user_callback
    user = (
        None if cookie is None or loader is None else visit.call(loader, cookie.user_id)
    )

    if user is None:
        set_cookie_action(CookieAction.CLEAR)
        return None

    assert cookie is not None

    if not check_binding(visit, user, cookie.token_signature, restoring=True):
        return None

    restore(visit, user, cookie)
    return user


def from_request_loader(visit: Visit) -> t.Any:
    """The user the app's request loader finds in the request."""
    assert visit.manager.request_callback is not None
    user = visit.call(visit.manager.request_callback, visit.request)

    if user is not None and user_loaded_from_request.receivers:
        user_loaded_from_request.send(visit.app, user=user)

    return user


def from_basic_auth(visit: Visit) -> t.Any:
    """The active user whose HTTP Basic credentials the request carries,
    logged in to the session unless ``BASIC_AUTH_LOGIN`` is false.
    """
    assert visit.manager.basic_auth_callback is not None
    credentials = basic_credentials(visit.request)

    if credentials is None:
        return None

    user = visit.call(visit.manager.basic_auth_callback, *credentials)

    # The password of a disabled account opens nothing, with or without a
    # login session.
    if user is None or not user.is_active:
        return None

    if user_loaded_from_request.receivers:
        user_loaded_from_request.send(visit.app, user=user)

    if setting(visit.app.config, "BASIC_AUTH_LOGIN"):
        start_login(user)

    return user


def from_header(visit: Visit) -> t.Any:
    """The user the app's header loader finds in ``AUTH_HEADER_NAME``."""
    assert visit.manager.header_callback is not None
    header = visit.request.headers.get(setting(visit.app.config, "AUTH_HEADER_NAME"))

    if header is None:
        return None

    user = visit.call(visit.manager.header_callback, header)

    if user is not None and user_loaded_from_header.receivers:
        user_loaded_from_header.send(visit.app, user=user)

    return user


# The steps


def protect(visit: Visit) -> bool:
    """Session protection: compare the session's identifier with the
    client's.

    :return: Whether the login survives. In "basic" mode, or for a permanent
        session, a mismatch only marks it not fresh; in "strong" mode it ends
        the login and its remember cookie.
    """
    manager = visit.manager
    sess = visit.session
    mode = visit.app.config.get("SESSION_PROTECTION", manager.session_protection)

    if mode is None:
        return True

    found = verdict(
        mode, sess.get("_id"), visit.request, manager.identifier_generator, sess
    )

    if found is KEEP:
        return True

    if found is Verdict.NOT_FRESH:
        if sess.get("_fresh") is not False:
            sess["_fresh"] = False

        session_protected.send(visit.app)
        return True

    drop_login_keys(sess)
    set_cookie_action(CookieAction.CLEAR)
    session_protected.send(visit.app)
    return False


def check_lifetime(visit: Visit) -> bool:
    """Session lifetime: end a login idle for longer than
    ``SESSION_IDLE_TIMEOUT`` or older than ``SESSION_ABSOLUTE_TIMEOUT``.

    The login's times are one session value (see
    :data:`~.session_state.LIFETIME_KEY`). The last-seen time is rewritten
    only once it is a granularity old, so that most requests leave the
    session unmodified and send no ``Set-Cookie``; a login therefore ends
    between the idle timeout and the idle timeout plus the granularity after
    its last request. A login without times (made before a timeout was
    turned on, or by flask-login) is stamped now. Times that are not
    plausible end the login.

    :return: Whether the login survives. An ended login's keys are removed,
        :data:`~flask_sessionauth.session_expired` is sent and the reason is
        kept on :data:`flask.g` for
        :meth:`~flask_sessionauth.LoginManager.unauthorized`; the remember
        cookie is left alone.
    """
    settings = lifetime(visit.app.config)

    if settings is None:
        return True

    sess = visit.session
    now = visit.manager.clock()
    stamp = sess.get(LIFETIME_KEY)

    if stamp is None:
        sess[LIFETIME_KEY] = lifetime_stamp(int(now), int(now))
        return True

    times = read_lifetime_stamp(stamp)

    # Plausible: made no later than last seen, neither before 1970 nor
    # further ahead than the clocks of two servers may differ.
    if times is None or not 0 <= times[0] <= times[1] <= now + MAX_CLOCK_SKEW:
        return _expire(visit, "absolute" if settings.idle is None else "idle")

    login_at, seen_at = times

    if settings.absolute is not None and now - login_at > settings.absolute:
        return _expire(visit, "absolute")

    idle_for = now - seen_at

    if idle_for > settings.idle_limit:
        return _expire(visit, "idle")

    if settings.idle is not None and idle_for >= settings.granularity:
        sess[LIFETIME_KEY] = lifetime_stamp(login_at, int(now))

    return True


def _expire(visit: Visit, reason: str) -> bool:
    sess = visit.session
    user_id = sess.get("_user_id")
    drop_login_keys(sess)
    setattr(visit.g, EXPIRED_KEY, (visit.request, reason))
    logger.debug("Ended a login that outlived the session timeouts (%s).", reason)

    if session_expired.receivers:
        loader = visit.manager.user_callback
        valid_id = _valid_user_id(user_id)
        user = (
            None if loader is None or valid_id is None else visit.call(loader, valid_id)
        )
        session_expired.send(visit.app, user=user, reason=reason)

    return False


def check_binding(
    visit: Visit, user: t.Any, signature: object, *, restoring: bool = False
) -> bool:
    """Revocation: whether a login bound by ``signature`` still holds for
    ``user``'s session token. A revoked login is ended (see
    :func:`~.revocation.revoke`). A session login that was unbound, or bound
    with a retiring key, is bound anew.

    :param restoring: The login comes from the remember cookie, whose
        restore writes the binding itself.
    """
    token = session_token(user)

    if token is None:
        return True

    bound = binding(visit.app, visit.keyring(), token, signature)

    if bound is None:
        revoke(visit.app, visit.session, user)
        return False

    if bound != signature and not restoring:
        write_login(visit.app, visit.session, {"_token_sig": bound}, replace=False)

    return True


def restore(visit: Visit, user: t.Any, cookie: RememberCookie) -> None:
    """Log the user a remember cookie names in to the session: a login that
    is not fresh, keeping the duration the cookie was issued for.
    """
    config = visit.app.config
    seconds = cookie.seconds

    if seconds == remember.duration(config, None):
        seconds = None  # the default needs no key in every session

    state = login_state(
        visit.app, visit.request, user, fresh=False, remember_seconds=seconds
    )
    write_login(visit.app, visit.session, state)

    # Replace a flask-login cookie or one signed with a retiring key, and
    # bind an unbound one.
    if cookie.legacy or cookie.stale or state["_token_sig"] != cookie.token_signature:
        set_cookie_action(CookieAction.SET)

    if user_loaded_from_cookie.receivers:
        user_loaded_from_cookie.send(visit.app, user=user)


# After the view


def after_request(response: Response) -> Response:
    """Do the remember-cookie work the request asked for: set the cookie,
    delete it, or renew the one the client sent.

    Registered once per app as an ``after_request`` hook, before the app's
    own hooks, so that it runs after them: cookie work one of them asks for
    (a logout in a hook) is done, and on the response they return. A request
    that asked for nothing costs one lookup.
    """
    action = g._get_current_object().__dict__.pop(ACTION_KEY, None)

    if action is None:
        return response

    app = current_app._get_current_object()  # type: ignore[attr-defined,unused-ignore]
    config = app.config

    if action is CookieAction.REFRESH:
        if config.get("REMEMBER_COOKIE_REFRESH_EACH_REQUEST"):
            refresh_cookie(app, response)

        return response

    if action is CookieAction.CLEAR:
        remember.clear_cookie(response, config)
        return response

    remember.set_login_cookie(
        response,
        config,
        get_manager(app).clock,
        session._get_current_object(),  # type: ignore[attr-defined,unused-ignore]
    )
    return response


def refresh_cookie(app: Flask, response: Response) -> None:
    """Re-issue the remember cookie the client sent, so that it lasts another
    full duration from now, if it is valid, names the user logged in to the
    session, and its own binding to the user's session token still holds. A
    cookie of that user whose binding is revoked is deleted.

    flask-login sets a remember cookie for every logged-in user under
    ``REMEMBER_COOKIE_REFRESH_EACH_REQUEST`` (flask-login #424); this
    refreshes only cookies that exist.
    """
    config = app.config
    sess = session._get_current_object()  # type: ignore[attr-defined,unused-ignore]
    user_id = sess.get("_user_id")

    if user_id is None:
        return

    manager = get_manager(app)
    value = request.cookies.get(setting(config, "REMEMBER_COOKIE_NAME"))
    cookie = remember.read(config, manager.clock, value)

    if cookie is None or cookie.user_id != str(user_id):
        return

    # The session's login must hold before its cookie is renewed: load the
    # user, which checks protection and revocation, if the view did not.
    user = find(
        app,
        request._get_current_object(),  # type: ignore[attr-defined,unused-ignore]
        g._get_current_object(),
    )

    if cookie_action() is CookieAction.CLEAR or "_user_id" not in sess:
        remember.clear_cookie(response, config)
        return

    if str(getattr(user, manager.id_attribute)()) != cookie.user_id:
        # Not the session's user (its loader found nobody, and a request
        # loader found someone else): that user's token says nothing of
        # this cookie.
        return

    keyring = remember.keyring(config, manager.clock)
    token = session_token(user)
    signature = None

    if token is not None:
        signature = binding(app, keyring, token, cookie.token_signature)

        if signature is None:
            # Bound to a token that has changed since: a revoked cookie is
            # deleted, never renewed.
            remember.clear_cookie(response, config)
            return

    remember.set_cookie(
        response,
        config,
        keyring,
        manager.clock(),
        cookie.user_id,
        remember.duration(config, cookie.seconds),
        signature,
    )


def _valid_user_id(user_id: object) -> object | None:
    if type(user_id) is str:
        if not user_id or len(user_id) > MAX_USER_ID_LENGTH:
            return None
    elif isinstance(user_id, bool) or not isinstance(user_id, int | UUID):
        logger.debug("Ignored a session user id of %s.", type(user_id))
        return None

    return user_id


# Asked on every call of a loader; the answer for a given callable never
# changes, and inspecting it costs many times more than a dict lookup. Bounded,
# in case an app makes a new callable for every request.
_known_async: dict[t.Callable[..., t.Any], bool] = {}
_KNOWN_ASYNC_LIMIT = 64


def _is_async(callback: t.Callable[..., t.Any]) -> bool:
    is_async = inspect.iscoroutinefunction(callback)

    try:
        if len(_known_async) >= _KNOWN_ASYNC_LIMIT:
            _known_async.clear()

        _known_async[callback] = is_async
    except TypeError:  # a callable object need not be hashable
        pass

    return is_async


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
